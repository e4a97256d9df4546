"""FAISS vs Milvus at scale: insert rate, query latency (p50/p99) and Milvus server memory.

Vectors: real all-MiniLM-L6-v2 embeddings of chunks of the shared corpus (--real of them),
replicated and perturbed up to --chunks: vector i is normalize(real[i % R] + eps * g) with
g ~ N(0, I/d), eps = 0.3 (cosine to its source about 0.96), so the collection has the real
vectors' clustered geometry without embedding --chunks texts. Queries are the real questions of
eval/sets/treaties.jsonl, embedded. Both stores are exact (FAISS flat IP, Milvus FLAT IP).

Every chunk has fields like a real one: a document of CHUNKS_PER_DOCUMENT chunks, whose
jurisdiction cycles through five values and year through seventy. Filtered searches: by
random documents holding about --allowed chunks, and by jurisdiction (a fifth of the chunks):
Milvus filters its own fields with an expression, FAISS its field codes (exactly among few
passing vectors, through an IDSelector among many). Milvus writes with upsert (as the service
does).

Needs a Milvus server: run it through the script that starts one in a loopback-only namespace:
    bash .ci/milvus-tests .venv/bin/python -m eval.milvus_bench --chunks 100000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
QUESTIONS = Path(__file__).resolve().parent / "sets" / "treaties.jsonl"
EPS = 0.3
CHUNKS_PER_DOCUMENT = 200
JURISDICTIONS = ("international", "eu", "us", "canada", "council-of-europe")


def real_vectors(corpus: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of up to `count` real chunks (a few per document in turn) and of the questions."""
    from index.embedder import SentenceTransformerEmbedder
    from ingest.catalogue import catalogue_for
    from ingest.chunker import ChunkSettings, StructureChunker
    from ingest.document import Document
    from ingest.pipeline import iter_documents

    embedder = SentenceTransformerEmbedder()
    chunker = StructureChunker(ChunkSettings(), embedder.count_tokens, embedder.max_tokens)
    per_doc: list[list[str]] = []
    for _, doc in iter_documents(corpus, catalogue_for(corpus)):
        if isinstance(doc, Document):
            per_doc.append([c.embed_text for c in chunker.chunk(doc)])
            if sum(map(len, per_doc)) >= 3 * count and len(per_doc) >= 5:
                break
    texts: list[str] = []
    while len(texts) < count and any(per_doc):
        for chunks in per_doc:
            if chunks and len(texts) < count:
                texts.append(chunks.pop(0))
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text().splitlines()
                 if line.strip()]
    chunks = embedder.encode(texts)
    queries = np.stack([embedder.encode_query(q) for q in questions])
    return chunks.astype(np.float32), queries.astype(np.float32)


def replicate(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 50_000):
        stop = min(n, start + 50_000)
        v = real[np.arange(start, stop) % len(real)]
        v = v + (EPS / np.sqrt(real.shape[1])) * rng.standard_normal(v.shape, dtype=np.float32)
        out[start:stop] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def milvus_rss_mb() -> float | None:
    """RSS of the Milvus server's process group (MILVUS_SERVER_PID, set by .ci/milvus-tests)."""
    pgid = os.environ.get("MILVUS_SERVER_PID")
    if not pgid:
        return None
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            if fields[2] != pgid:  # field 5 (pgrp), counted after the command name
                continue
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return round(total / 1024, 1)


def chunk_fields(ids: np.ndarray) -> list:
    from index.stores.base import ChunkFields

    documents = ids // CHUNKS_PER_DOCUMENT
    return [ChunkFields(f"doc-{d}.md", JURISDICTIONS[d % len(JURISDICTIONS)], "treaty",
                        1950 + d % 70) for d in documents.tolist()]


def document_filter(ids: np.ndarray, chunks: int):
    """Random whole documents holding about `chunks` of `ids`."""
    from index.stores.base import ChunkFilter

    documents = np.unique(ids // CHUNKS_PER_DOCUMENT)
    wanted = min(max(chunks // CHUNKS_PER_DOCUMENT, 1), len(documents))
    picked = np.random.default_rng(1).choice(documents, size=wanted, replace=False)
    return ChunkFilter.of([f"doc-{d}.md" for d in picked.tolist()])


def field_filter():
    """The jurisdiction filter (a fifth of the chunks)."""
    from index.stores.base import ChunkFilter

    return ChunkFilter.of(fields={"jurisdiction": [JURISDICTIONS[1]]})


def timed_searches(store, queries: np.ndarray, k: int, filters: dict) -> dict:
    """p50/p99 and the hits of every query, unfiltered and with each filter (search kwargs)."""
    result = {}
    for label, kwargs in filters.items():
        store.search(queries[0], k, **kwargs)  # warm-up
        latencies, found = [], []
        for q in queries:
            t = time.perf_counter()
            hit_ids, _ = store.search(q, k, **kwargs)
            latencies.append((time.perf_counter() - t) * 1000)
            found.append(hit_ids.tolist())
        result[f"{label}p50_ms"] = round(float(np.percentile(latencies, 50)), 2)
        result[f"{label}p99_ms"] = round(float(np.percentile(latencies, 99)), 2)
        result[f"{label}found"] = found
    return result


def search_filters(ids: np.ndarray, allowed: int) -> dict:
    return {"": {}, "filtered_": {"where": document_filter(ids, allowed)},
            "fields_": {"where": field_filter()}}


def measure(store, ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int,
            allowed: int, batch: int) -> dict:
    started = time.perf_counter()
    for start in range(0, len(ids), batch):
        part = ids[start:start + batch]
        store.add(part, vectors[start:start + batch], chunk_fields(part))
    insert_s = time.perf_counter() - started
    result = {"insert_s": round(insert_s, 2), "insert_per_s": round(len(ids) / insert_s)}
    result.update(timed_searches(store, queries, k, search_filters(ids, allowed)))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000])
    parser.add_argument("--real", type=int, default=1000, help="real chunks to embed")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--batch", type=int, default=10_000, help="vectors per add() call")
    parser.add_argument("--allowed", type=int, default=2000,
                        help="chunks of the document-filtered searches (whole random documents)")
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPUS)
    args = parser.parse_args(argv)

    from dataclasses import replace

    from index.stores.factory import create_store, load_store
    from service.settings import load_settings

    settings = load_settings()
    config = settings.store_config()
    if "milvus_prefix" not in settings.model_fields_set:  # the bench's own collections
        config = replace(config, milvus_prefix=f"policyqa_bench_{uuid.uuid4().hex[:8]}")
    t = time.perf_counter()
    real, queries = real_vectors(args.corpus, args.real)
    print(f"embedded {len(real)} real chunks and {len(queries)} questions in "
          f"{time.perf_counter() - t:.0f} s; Milvus at {config.milvus_uri}; "
          f"server RSS idle {milvus_rss_mb()} MB", flush=True)
    rows = []
    for n in args.chunks:
        vectors = replicate(real, n)
        ids = np.arange(1, n + 1, dtype=np.int64)
        report = {"chunks": n}
        for kind in ("faiss", "milvus"):
            store = create_store(config.for_kind(kind), real.shape[1])
            report[kind] = measure(store, ids, vectors, queries, args.k, args.allowed, args.batch)
            if kind == "milvus":
                report["milvus"]["rss_after_insert_mb"] = milvus_rss_mb()
                with tempfile.TemporaryDirectory() as folder:
                    t = time.perf_counter()
                    store.save(Path(folder))  # flushes: the data moves to sealed segments
                    report["milvus"]["save_s"] = round(time.perf_counter() - t, 2)
                    # What the service searches: a published generation, loaded from its folder.
                    published = load_store(config.for_kind("milvus"), Path(folder))
                    searched = timed_searches(published, queries, args.k,
                                              search_filters(ids, args.allowed))
                    report["milvus"].update({f"published_{key}": value
                                             for key, value in searched.items()
                                             if not key.endswith("found")})
                report["milvus"]["rss_mb"] = milvus_rss_mb()
                store.drop()
            del store
        for label in ("", "filtered_", "fields_"):
            ff = report["faiss"].pop(f"{label}found")
            mf = report["milvus"].pop(f"{label}found")
            report[f"{label}top_k_agreement"] = round(float(np.mean(
                [len(set(a) & set(b)) / max(len(a), 1) for a, b in zip(ff, mf)])), 4)
        rows.append(report)
        print(json.dumps(report), flush=True)
    print()
    print("Milvus 'build' = a store being built (Strong reads); 'published' = a saved and "
          "loaded generation (reads as of its last write), which is what the service searches.")
    print(f"| chunks | store | insert/s | p50 / p99 ms | ~{args.allowed} chunks' documents "
          "p50 / p99 ms | "
          f"jurisdiction p50 / p99 ms | server RSS MB |")
    print("|---|---|---|---|---|---|---|")

    def times(row: dict, prefix: str = "") -> str:
        return " | ".join(f"{row[f'{prefix}{label}p50_ms']} / {row[f'{prefix}{label}p99_ms']}"
                          for label in ("", "filtered_", "fields_"))

    for r in rows:
        f, m = r["faiss"], r["milvus"]
        print(f"| {r['chunks']:,} | faiss | {f['insert_per_s']:,} | {times(f)} | |")
        print(f"| {r['chunks']:,} | milvus build | {m['insert_per_s']:,} | {times(m)} | "
              f"{m['rss_after_insert_mb']} |")
        print(f"| {r['chunks']:,} | milvus published | (save {m['save_s']} s) | "
              f"{times(m, 'published_')} | {m['rss_mb']} |")
    print(f"top-{args.k} agreement FAISS vs Milvus: "
          + ", ".join(f"{r['chunks']:,}: {r['top_k_agreement']:.2%} "
                      f"(documents {r['filtered_top_k_agreement']:.2%}, "
                      f"jurisdiction {r['fields_top_k_agreement']:.2%})" for r in rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
