"""Benchmarks: build throughput, HTTP vs in-process query latency at 10k-1M chunks, memory, recall."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil

from eval.server import ServeProcess

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_OUT = Path("/tmp/bench-out")
QUESTIONS = REPO / "eval" / "sets" / "treaties.jsonl"
SEARCH_DEPTH = 100  # candidates per retriever, as IndexSearcher.search asks for
CHANGED_PARAGRAPH = ("\n\nArticle 99 - Review\n\nThe States Parties shall review the operation of "
                     "this instrument every five years and report to the depositary on the "
                     "measures taken to give effect to its provisions.\n")


# -- measuring -------------------------------------------------------------------------------

class PeakRss:
    """Samples a process's RSS in a thread; `peak` is the highest seen (bytes)."""

    def __init__(self, pid: int | None = None, every: float = 0.05) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.every, self.peak = every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def peak_rss_of(pid: int) -> int:
    """A process's high-water RSS (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def mb(n: float) -> float:
    return round(n / 2**20, 1)


def load_questions(limit: int | None = None) -> list[str]:
    lines = QUESTIONS.read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    return questions[:limit] if limit else questions


def machine_note() -> str:
    load = os.getloadavg()
    return (f"{os.cpu_count()} cores, {mb(psutil.virtual_memory().total) / 1024:.0f} GiB; "
            f"SHARED machine (load average {load[0]:.1f} / {load[1]:.1f} at this point): "
            "compare figures only side by side within this run")


# -- corpora and embedders -------------------------------------------------------------------

def prepare_corpus(source: Path, target: Path, subset: str, docs: int | None) -> Path:
    """A writable copy of (a subset of) the corpus, so one document can be changed."""
    shutil.rmtree(target, ignore_errors=True)
    files = sorted(p for p in source.glob(subset) if p.is_file() and p.name != "MANIFEST.tsv")
    for path in files[:docs] if docs else files:
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, dest)
    for extra in ("MANIFEST.tsv", "catalogue.toml"):
        if (source / extra).is_file():
            shutil.copy2(source / extra, target / extra)
    return target


def settings_for(backend: str, index_dir: Path, corpus: Path):
    from service.settings import load_settings

    return load_settings(embedder_backend=backend, index_dir=index_dir, corpus_dir=corpus)


# -- ingest and incremental rebuild ----------------------------------------------------------

@dataclass
class IngestResult:
    backend: str
    documents: int
    chunks: int
    build_s: float
    inline_encode_s: float
    bare_s: float
    incremental_s: float
    incremental_embedded: int
    build_peak_rss: int
    generation: Path
    batch: int

    @property
    def ratio(self) -> float:
        return self.bare_s / self.build_s  # (chunks/build_s) / (chunks/bare_s)

    @property
    def inline_ratio(self) -> float:
        return self.inline_encode_s / self.build_s


class TimedEmbedder:
    """The build's own embedder, timing each encode call: the embedding share of the same build.

    Measured over the same seconds as the build itself, so load from other jobs on a shared
    machine cannot make the build look slower than its embedding, as a separate pass can.
    """

    def __init__(self, embedder) -> None:
        self._embedder, self.seconds = embedder, 0.0

    def __getattr__(self, name: str):
        return getattr(self._embedder, name)

    def encode(self, texts: list[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self._embedder.encode(texts)
        finally:
            self.seconds += time.perf_counter() - started


def bare_encode_seconds(embedder, texts: list[str]) -> float:
    """What embedding alone costs: one `encode` of all the build's chunk texts, with the
    embedder's batch size (the build's), which sorts them by length as the build does."""
    started = time.perf_counter()
    embedder.encode(texts)
    return time.perf_counter() - started


def chunk_texts(generation: Path) -> list[str]:
    from index.chunk_store import DB_FILE, ChunkStore

    store = ChunkStore(generation / DB_FILE, readonly=True)
    texts = [text for _, text in store.iter_chunk_texts()]
    store.close()
    return texts


def change_one_document(corpus: Path) -> Path:
    target = sorted(corpus.rglob("*.md"))[0]
    with target.open("a", encoding="utf-8") as f:
        f.write(CHANGED_PARAGRAPH)
    return target


def run_ingest(backend: str, corpus: Path, work: Path) -> IngestResult:
    from index.builder import IndexBuilder
    from index.generations import current_generation
    from service.engine import load_embedder

    index_dir = work / f"ingest-{backend}"
    shutil.rmtree(index_dir, ignore_errors=True)
    settings = settings_for(backend, index_dir, corpus)
    embedder = load_embedder(settings)
    embedder.encode(["warm-up: the model is loaded and its first call is not timed"])
    batch = max(settings.embed_batch_size, 64)  # as service.cli.build_index does
    timed = TimedEmbedder(embedder)
    builder = IndexBuilder(index_dir, timed, settings.chunk_settings(),
                           store_config=settings.store_config(), embed_batch=batch,
                           ocr=settings.ocr_settings())
    with PeakRss() as rss:
        report = builder.build(corpus, full=True)
    inline = timed.seconds
    generation = current_generation(index_dir)
    if embedder.batch_size != batch:
        raise RuntimeError(f"embedder batch size {embedder.batch_size} is not the build's {batch}")
    bare = bare_encode_seconds(embedder, chunk_texts(generation))
    change_one_document(corpus)
    incremental = builder.build(corpus)
    return IngestResult(backend, report.documents, report.chunks, report.seconds, inline, bare,
                        incremental.seconds, incremental.embedded_chunks, rss.peak,
                        current_generation(index_dir), batch)


# -- the server ------------------------------------------------------------------------------

class Server(ServeProcess):
    """`policyqa serve` over an index folder, on a free loopback port."""

    def __init__(self, index_dir: Path, log: Path, backend: str) -> None:
        # Explicit: the index was embedded with this backend, whatever the default is.
        # --no-update: a scaled index matches no corpus folder, and must be timed as built.
        super().__init__(index_dir, log, env={"POLICYQA_EMBEDDER_BACKEND": backend},
                         extra_args=["--no-update"], ready_timeout=1800)
        self.backend = backend


def http_sequential(url: str, questions: list[str], served: list[float] | None = None
                    ) -> list[float]:
    """POST /v1/ask one question at a time over one keep-alive connection, timed per request.

    The client is the standard library's: httpx spends 1.1-1.5 ms of its own per request on
    these machines, which would be charged to the server. `served` collects each answer's own
    took_ms, timed inside the server around the same request's AnswerEngine.ask.
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Content-Type": "application/json"}
    times = []
    try:
        for q in questions:
            body = json.dumps({"question": q, "k": 5})
            started = time.perf_counter()
            connection.request("POST", "/v1/ask", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            times.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise RuntimeError(f"POST /v1/ask answered {response.status}: {data[:300]!r}")
            if served is not None:
                served.append(json.loads(data)["took_ms"])
    finally:
        connection.close()
    return times


async def _concurrent(url: str, questions: list[str], clients: int) -> tuple[list[float], float]:
    import httpx

    queue: asyncio.Queue[str] = asyncio.Queue()
    for q in questions:
        queue.put_nowait(q)
    times: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            q = queue.get_nowait()
            started = time.perf_counter()
            r = await http.post("/v1/ask", json={"question": q, "k": 5})
            times.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()

    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        return times, time.perf_counter() - started


def http_concurrent(url: str, questions: list[str], clients: int) -> tuple[list[float], float]:
    return asyncio.run(_concurrent(url, questions, clients))


# -- in-process costs ------------------------------------------------------------------------

@dataclass
class BareTimes:
    total: list[float] = field(default_factory=list)
    encode: list[float] = field(default_factory=list)
    vector: list[float] = field(default_factory=list)
    bm25: list[float] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)  # the whole AnswerEngine.ask, in-process


def answer_queries(engine, questions: list[str], into: BareTimes) -> None:
    """What the server does per request, without HTTP: AnswerEngine.ask (k=5, hybrid)."""
    for q in questions:
        started = time.perf_counter()
        engine.ask(q, k=5)
        into.answer.append((time.perf_counter() - started) * 1000)


def bare_queries(searcher, questions: list[str], into: BareTimes) -> None:
    """Query encode + vector search + BM25 search, as the candidates ranking stage does them."""
    for q in questions:
        t0 = time.perf_counter()
        vector = searcher.embedder.encode_query(q)
        t1 = time.perf_counter()
        searcher.store.search(vector, SEARCH_DEPTH)
        t2 = time.perf_counter()
        searcher.lexical.search(q, SEARCH_DEPTH)
        t3 = time.perf_counter()
        into.encode.append((t1 - t0) * 1000)
        into.vector.append((t2 - t1) * 1000)
        into.bm25.append((t3 - t2) * 1000)
        into.total.append((t3 - t0) * 1000)


def vector_search_ms(store, queries: np.ndarray) -> float:
    started = time.perf_counter()
    for q in queries:
        store.search(q, SEARCH_DEPTH)
    return (time.perf_counter() - started) * 1000 / len(queries)


EF_SWEEP = (64, 128, 256, 512)


def exact_top(store, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force top k ids and scores over the store's live vectors, per query."""
    ids, vectors = store.live_vectors()
    scores = queries @ vectors.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return ids[top], np.take_along_axis(scores, top, axis=1)


def recall_at_10(found: list[tuple[np.ndarray, np.ndarray]], exact: tuple[np.ndarray, np.ndarray]
                 ) -> dict[str, float]:
    """Two recalls of approximate top-10 lists against the exact ones.

    `ids`: share of the exact top 10 ids found. `scores`: share of found results scoring at least
    the exact 10th best (less 1e-5), i.e. as close as the true neighbours; it differs from `ids`
    only where several vectors tie or nearly tie, as the scaled replicas do.
    """
    exact_ids, exact_scores = exact
    by_id = by_score = 0
    for (ids, scores), want_ids, want_scores in zip(found, exact_ids, exact_scores):
        by_id += len(set(ids[:10].tolist()) & set(want_ids.tolist()))
        by_score += int((scores[:10] >= want_scores[-1] - 1e-5).sum())
    n = 10 * len(exact_ids)
    return {"ids": round(by_id / n, 4), "scores": round(by_score / n, 4)}


def hnsw_sweep(store, queries: np.ndarray) -> list[dict]:
    """HNSW recall@10 and search time per efSearch value, on the same vectors and queries."""
    import faiss

    exact = exact_top(store, queries)
    rows = []
    for ef in EF_SWEEP:
        params = faiss.SearchParametersHNSW(efSearch=ef)
        found, started = [], time.perf_counter()
        for q in queries:
            scores, ids = store.index.search(q.reshape(1, -1), 10, params=params)
            found.append((ids[0], scores[0]))
        ms = (time.perf_counter() - started) * 1000 / len(queries)
        # What a served search sees: 100 candidates (efSearch at least 100) go on to the fusion.
        served = faiss.SearchParametersHNSW(efSearch=max(ef, SEARCH_DEPTH))
        in_depth = sum(len(set(store.index.search(q.reshape(1, -1), SEARCH_DEPTH,
                                                  params=served)[1][0].tolist())
                           & set(want.tolist())) for q, want in zip(queries, exact[0]))
        rows.append({"ef_search": ef, "ms": round(ms, 3), **recall_at_10(found, exact),
                     "10@100": round(in_depth / (10 * len(queries)), 4)})
    return rows


def flat_vs_hnsw(store, queries: np.ndarray) -> dict:
    """Vector search alone on both index types over the same vectors, side by side."""
    from index.stores.faiss_store import FaissStore

    other_type = "flat" if store.current_type == "hnsw" else "hnsw"
    other = FaissStore(store.dimension, index_type=other_type)
    ids, vectors = store.live_vectors()
    fields = store.fields_of(ids)
    started = time.perf_counter()
    other.add(ids, vectors, fields)
    built = time.perf_counter() - started
    del vectors
    stores = {store.current_type: store, other_type: other}
    result = {f"{t}_ms": round(vector_search_ms(s, queries), 3) for t, s in stores.items()}
    result["hnsw_sweep"] = hnsw_sweep(stores["hnsw"], queries)
    result[f"{other_type}_build_s"] = round(built, 1)
    return result


# -- one size --------------------------------------------------------------------------------

def build_scaled(source: Path, index_dir: Path, chunks: int, log: Path, reuse: bool
                 ) -> tuple[dict, str]:
    """Runs eval.scale in its own process (its peak RSS is the build's); or reuses its output."""
    from eval.scale import folder_sizes
    from index.generations import current_generation, read_manifest

    argv = [sys.executable, "-m", "eval.scale", "--source", str(source), "--index-dir",
            str(index_dir), "--chunks", str(chunks)]
    command = shlex.join(["python", *argv[1:]])
    saved, live = index_dir / "scale.json", current_generation(index_dir)
    if reuse and saved.exists():
        return json.loads(saved.read_text()), command
    if reuse and live is not None and read_manifest(live).chunks == chunks:
        # Built by an earlier run that stopped before saving its report: sizes only.
        return {"chunks": chunks, "generation": str(live), "bytes": folder_sizes(live),
                "peak_rss_mb": None, "seconds": {"total": None}}, command
    shutil.rmtree(index_dir, ignore_errors=True)
    with log.open("w") as err:
        out = subprocess.run(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True,
                             check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    saved.write_text(json.dumps(result))
    return result, command


def run_size(size: int, source: Path, work: Path, embedder, backend: str, questions: list[str],
             rounds: int, clients: int, compare_types: bool, reuse: bool = False) -> dict:
    from index.searcher import IndexSearcher
    from service.engine import AnswerEngine

    index_dir = work / f"scaled-{size}"
    scaled, scale_cmd = build_scaled(source, index_dir, size, work / f"scale-{size}.log", reuse)
    print(f"  built {size}: {json.dumps(scaled)}", file=sys.stderr, flush=True)
    server = Server(index_dir, work / f"server-{size}.log", backend)
    try:
        server.wait_ready()
        searcher = IndexSearcher.open(index_dir, embedder)
        if searcher.store.count() != scaled["chunks"]:
            raise RuntimeError(f"{index_dir} holds {searcher.store.count()} vectors, not the "
                               f"{scaled['chunks']} built: something changed it before timing")
        engine = AnswerEngine(settings_for(backend, index_dir, index_dir), embedder=embedder)
        engine.refresh()
        bare, http, served = BareTimes(), [], []
        bare_queries(searcher, questions[:10], BareTimes())  # warm-up, all three
        answer_queries(engine, questions[:10], BareTimes())
        http_sequential(server.url, questions[:10])
        for _ in range(rounds):  # interleaved, so load from other jobs hits them alike
            bare_queries(searcher, questions, bare)
            answer_queries(engine, questions, bare)
            http += http_sequential(server.url, questions, served)
        concurrent, wall = http_concurrent(server.url, questions * rounds, clients)
        server_peak = peak_rss_of(server.process.pid)
        server_rss = psutil.Process(server.process.pid).memory_info().rss
    finally:
        server.stop()
    result = {"size": size, "chunks": scaled["chunks"], "scale": scaled,
              "scale_command": scale_cmd, "server_command": server.command,
              "index_type": searcher.store.current_type, "bare": bare.__dict__, "http": http,
              "http_served": served,
              "concurrent": concurrent, "concurrent_wall_s": wall, "clients": clients,
              "server_peak_rss": server_peak, "server_rss": server_rss}
    queries = np.stack([embedder.encode_query(q) for q in questions])
    if searcher.store.current_type == "hnsw":
        result["hnsw_sweep"] = hnsw_sweep(searcher.store, queries)
    if compare_types:
        result["flat_vs_hnsw"] = flat_vs_hnsw(searcher.store, queries)
    searcher.close()
    return result


# -- tables ----------------------------------------------------------------------------------

def table(title: str, command: str, header: list[str], rows: list[list[object]],
          notes: list[str] = ()) -> str:
    lines = [f"### {title}", "", f"`{command}`", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def ingest_tables(results: list[IngestResult], command: str) -> str:
    rows = [[r.backend, r.documents, r.chunks, round(r.build_s, 1),
             round(r.chunks / r.build_s, 1), round(r.inline_encode_s, 1),
             f"{r.inline_ratio:.3f}", "yes" if r.inline_ratio >= 0.9 else "NO",
             round(r.bare_s, 1), round(r.chunks / r.bare_s, 1), f"{r.ratio:.3f}",
             mb(r.build_peak_rss)] for r in results]
    ingest = table("Ingest: whole build vs bare embedder.encode (same run, same texts, same "
                   f"batches of {results[0].batch})", command,
                   ["backend", "docs", "chunks", "build s", "build chunks/s",
                    "encode s inside build", "ratio build/encode", ">= 0.9",
                    "separate bare encode s", "bare chunks/s", "ratio build/separate bare",
                    "build peak RSS MB"], rows,
                   ["build = IndexBuilder.build(full=True): read, chunk, count tokens, embed, "
                    "FAISS add, BM25, SQLite, save, publish; model load and first call excluded",
                    "encode inside build = wall time of the build's own embedder.encode calls "
                    "(same texts, same batches, same seconds as the build): the robust ratio "
                    "on a shared machine",
                    "separate bare = one embedder.encode of all the built chunks' embed_text "
                    "(the embedder sorts them by length into batches of the build's size), "
                    "right after the build in the same process (exposed to load changes "
                    "between the two passes)",
                    "peak RSS is the benchmark process (embedder loaded) during the build"])
    inc_rows = [[r.backend, round(r.build_s, 2), round(r.incremental_s, 2),
                 r.incremental_embedded, f"{100 * r.incremental_s / r.build_s:.2f}%",
                 "yes" if r.incremental_s <= 0.05 * r.build_s else "NO"] for r in results]
    incremental = table("Incremental rebuild after one document changes", command,
                        ["backend", "full build s", "incremental s", "chunks embedded",
                         "fraction of full", "<= 5%"], inc_rows,
                        ["change: a paragraph appended to the first Markdown file of the "
                         "corpus copy; then IndexBuilder.build() (incremental)"])
    return ingest + "\n" + incremental


def query_table(results: list[dict], command: str) -> str:
    rows = []
    for r in results:
        bare50, http50 = percentile(r["bare"]["total"], 50), percentile(r["http"], 50)
        bare99, http99 = percentile(r["bare"]["total"], 99), percentile(r["http"], 99)
        answer50 = percentile(r["bare"].get("answer", []), 50)
        # Per request, the round trip against the same request's answer inside the server: the
        # HTTP layer's own share, unmoved by load that slows the benchmark process's answers.
        served = r.get("http_served") or []
        layer = [h - a for h, a in zip(r["http"], served)]
        layer_ratio = [h / a for h, a in zip(r["http"], served) if a > 0]
        rows.append([f"{r['chunks']:,}", r["index_type"], f"{bare50:.2f}", f"{bare99:.2f}",
                     f"{percentile(r['bare']['encode'], 50):.2f}",
                     f"{percentile(r['bare']['vector'], 50):.2f}",
                     f"{percentile(r['bare']['bm25'], 50):.2f}", f"{answer50:.2f}",
                     f"{http50:.2f}", f"{http99:.2f}", f"{http50 / bare50:.2f}",
                     f"{http50 / answer50:.2f}", f"{percentile(layer, 50):.2f}",
                     f"{percentile(layer_ratio, 50):.2f}",
                     f"{percentile(r['concurrent'], 50):.1f}",
                     f"{percentile(r['concurrent'], 99):.1f}",
                     f"{len(r['concurrent']) / r['concurrent_wall_s']:.1f}"])
    server = results[0]["server_command"] if results else ""
    return table("Query latency: HTTP end to end vs bare in-process (ms)", command,
                 ["chunks", "index", "bare p50", "bare p99", "encode p50", "vector p50",
                  "bm25 p50", "answer p50", "HTTP p50", "HTTP p99", "HTTP/bare p50",
                  "HTTP/answer p50", "HTTP - served answer p50", "HTTP/served answer p50",
                  "8 clients p50",
                  "8 clients p99", "8 clients req/s"], rows,
                 [f"server: `{server}` (port varies), otherwise default settings, "
                  "POST /v1/ask k=5 hybrid; questions: eval/sets/treaties.jsonl; sequential "
                  "client: http.client on one keep-alive connection; 8 clients: httpx async",
                  "bare = encode_query + vector store search(k=100) + BM25 search(k=100) in "
                  "the benchmark process on the same generation; answer = the whole "
                  "AnswerEngine.ask in-process (also the second rankings for a named "
                  "instrument, fusion, passages from SQLite, highlights, citations); bare, "
                  "answer and sequential HTTP rounds are interleaved",
                  "served answer = the took_ms of the same request, timed in the server around "
                  "its AnswerEngine.ask: HTTP - served answer is the HTTP layer's own time "
                  "(client, loopback, uvicorn, FastAPI, the hop to a worker thread, JSON), and "
                  "the p50 of the per-request ratio the figure least moved by load on a shared "
                  "machine",
                  "scaled corpora: see `python -m eval.scale` commands in the memory table "
                  "and the eval/scale.py docstring (real generation replicated with perturbed "
                  "BM25 texts and embedding-like vectors; no re-embedding)"])


def memory_table(results: list[dict], command: str) -> str:
    rows = []
    for r in results:
        b, n = r["scale"]["bytes"], r["chunks"]
        per_m = {k: mb(v / n * 1e6) for k, v in b.items()}
        peak = r["scale"]["peak_rss_mb"]
        rows.append([f"{n:,}", r["index_type"], "n/a (reused)" if peak is None else peak,
                     r["scale"]["seconds"]["total"] or "n/a", mb(r["server_peak_rss"]),
                     mb(b["vectors"]), mb(b["metadata"]), mb(b["bm25"]),
                     f"{per_m['vectors']} / {per_m['metadata']} / {per_m['bm25']}",
                     f"`{r['scale_command']}`"])
    notes = ["build = the eval.scale process (rows + vectors + HNSW conversion + BM25), "
             "its ru_maxrss; server = VmHWM of `policyqa serve` after the query runs"]
    if len(results) >= 2:
        lo, hi = results[0], results[-1]
        slope = (hi["server_peak_rss"] - lo["server_peak_rss"]) / (hi["chunks"] - lo["chunks"])
        notes.append(f"server peak RSS grows {mb(slope * 1e6)} MB per million chunks "
                     f"({lo['chunks']:,} -> {hi['chunks']:,})")
    return table("Memory and disk", command,
                 ["chunks", "index", "build peak RSS MB", "build s", "server peak RSS MB",
                  "vectors MB", "SQLite MB", "BM25 MB", "per 1M chunks MB (vec / sqlite / bm25)",
                  "how built"], rows, notes)


def recall_table(results: list[dict], command: str) -> str:
    from index.stores.faiss_store import HNSW_EF_SEARCH, HNSW_M, HNSW_THRESHOLD

    rows = []
    for r in results:
        cmp = r.get("flat_vs_hnsw", {})
        sweep = r.get("hnsw_sweep") or cmp.get("hnsw_sweep") or []
        rows.extend([f"{r['chunks']:,}", r["index_type"], s["ef_search"], s["ids"], s["scores"],
                     s["10@100"], s["ms"], cmp.get("flat_ms", ""), cmp.get("hnsw_ms", ""),
                     cmp.get("hnsw_build_s", cmp.get("flat_build_s", ""))] for s in sweep)
    return table(f"HNSW (M {HNSW_M}) vs exact search, by efSearch (default {HNSW_EF_SEARCH})",
                 command, ["chunks", "served index", "efSearch", "recall@10 ids",
                           "recall@10 scores", "recall 10@100", "HNSW ms (k=10)",
                           "flat ms (k=100)",
                           "HNSW ms (k=100)", "other type build s"], rows,
                 [f"auto = flat below {HNSW_THRESHOLD:,} vectors, HNSW at or above; efSearch is "
                  "the `faiss_ef_search` setting (POLICYQA_FAISS_EF_SEARCH); a served search "
                  "asks for 100 candidates, so it uses max(efSearch, 100)",
                  "recall@10 ids = share of the brute-force top 10 ids that HNSW returns; "
                  "recall@10 scores = share of HNSW's top 10 scoring at least the exact 10th "
                  "best (they differ where vectors tie or nearly tie); recall 10@100 = share "
                  "of the exact top 10 among the 100 candidates a served search passes to the "
                  "fusion (efSearch at least 100); real query vectors of "
                  "the eval questions, one query at a time, in-process, same vectors"])


# -- entry point -----------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="policyqa bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="10k only, 5 Markdown treaties, torch "
                   "only, 1 round: under 3 minutes")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    p.add_argument("--subset", default="**/*", help="glob of corpus files to use")
    p.add_argument("--docs", type=int, help="use only the first N files of the subset")
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000],
                   help="chunk counts for the query benchmark (none: ingest only)")
    p.add_argument("--skip-ingest", action="store_true", help="no ingest or incremental "
                   "benchmark; needs --source")
    p.add_argument("--source", type=Path, help="a published generation to scale for the query "
                   "benchmark (default: the one the first ingest backend built)")
    p.add_argument("--backends", nargs="+", default=None,
                   choices=["torch", "onnx", "onnx-int8"], help="ingest backends (default torch "
                   "onnx-int8; --quick: torch); queries use the first")
    p.add_argument("--rounds", type=int, default=3, help="passes over the 117 questions")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--reuse", action="store_true", help="reuse scaled generations already "
                   "in --out (from an earlier run with the same --source)")
    p.add_argument("--no-compare", action="store_true", help="skip flat-vs-HNSW side by side")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    if args.quick:
        args.subset, args.docs, args.sizes = "treaties/*.md", args.docs or 5, [10_000]
        args.backends, args.rounds = args.backends or ["torch"], 1
    args.backends = args.backends or ["torch", "onnx-int8"]
    if args.skip_ingest and not args.source:
        p.error("--skip-ingest needs --source")
    if not 1 <= args.clients <= 64:
        p.error("--clients must be 1..64")
    return args


def emit(out: Path, text: str) -> None:
    print(text, flush=True)
    with (out / "bench.md").open("a") as f:
        f.write(text + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = shlex.join(["policyqa", "bench", *(argv if argv is not None
                                                          else sys.argv[1:])])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench.md").write_text("")
    emit(args.out, f"## PolicyQA benchmark\n\n`{command}`\n\n{machine_note()}\n")
    ingests = []
    for backend in [] if args.skip_ingest else args.backends:
        corpus = prepare_corpus(args.corpus, args.out / f"corpus-{backend}", args.subset,
                                args.docs)
        ingests.append(run_ingest(backend, corpus, args.out))
        print(f"  ingest {backend}: {ingests[-1]}", file=sys.stderr, flush=True)
    if ingests:
        emit(args.out, ingest_tables(ingests, command))
    if not args.sizes:
        return 0
    from service.engine import load_embedder

    source = args.source or ingests[0].generation
    embedder = load_embedder(settings_for(args.backends[0], args.out / "unused", args.corpus))
    questions = load_questions()
    sizes: list[dict] = []
    for size in args.sizes:
        sizes.append(run_size(size, source, args.out, embedder, args.backends[0], questions,
                              args.rounds, args.clients, not args.no_compare, args.reuse))
        (args.out / "sizes.json").write_text(json.dumps(sizes, default=str))
        emit(args.out, f"(after {size:,}: {machine_note()})\n")
    emit(args.out, query_table(sizes, command))
    emit(args.out, memory_table(sizes, command))
    emit(args.out, recall_table(sizes, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
