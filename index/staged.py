"""Staged builds: a coordinator plans, ingest workers embed shards of the plan, a finish step publishes.

Embedding is what a build spends its time on, so a staged build runs it as several worker
processes, on one machine or on several that share the index folder (NFS or the like) and,
for the Milvus store, one Milvus server or cluster:

    plan     (coordinator, under the build lock) reads and chunks the changed documents and
             assigns chunk ids exactly like IndexBuilder.build, writes the chunk store, creates
             or forks the vector store and deletes what is stale, then deals the chunks that
             need a vector into S shard files and writes plan.json, last and atomically.
    work     (worker I of N, any number of them at once) embeds the shards s with s % N == I.
             Milvus: straight into the build's collection. FAISS: into vector files in the
             staged folder. Killed at any point, it is run again and embeds only what is
             missing: it asks the store (or reads its vector files) which ids of the shard
             already have a vector. One shard is embedded by one process at a time (a lock file).
    finish   (coordinator, under the build lock) checks that every chunk has exactly one vector,
             adds the vector files to a FAISS store, builds BM25 and publishes the generation
             like IndexBuilder.build (the same code).

A coordinator killed while planning leaves no plan.json: its folder is freed (its Milvus
collection dropped) by the next plan or build. Killed while finishing, it is run again.

Layout of <index_dir>/staged/:
    plan.json                         the plan; its presence means a staged build is pending
    generation/                       chunks.sqlite, milvus.json (named as soon as the collection
                                      exists), later BM25, vectors, manifest: the next gen-*
    base/                             file stores: the forked store, stale vectors deleted
    shards/shard-NNNN.jsonl           one {"id", "text", "tokens", "fields"} line per chunk to
                                      embed (fields: what a store may keep beside the vector)
    shards/shard-NNNN.lock            held by the process embedding that shard
    progress/shard-NNNN.json          done/total, host, pid, time: for `policyqa index status`
    vectors/shard-NNNN/batch-*.npz    file stores: one file per embedded batch, written atomically
    logs/worker-I.log                 output of the workers `policyqa index build --workers` starts
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from index.build_steps import ToEmbed, write_failures
from index.builder import (
    BuildBase,
    BuildError,
    BuildReport,
    CorpusRead,
    IndexBuilder,
    VectorWriter,
    embed_sorted,
    locked,
    not_written,
    remove_staged,
)
from index.chunk_store import DB_FILE, ChunkStore
from index.embedder import Embedder
from index.generations import (
    MANIFEST_FILE,
    PLAN_FILE,
    STAGED_DIR,
    STAGED_GENERATION,
    current_generation,
    read_manifest,
)
from index.manifest import (
    Fingerprint,
    Manifest,
    ManifestError,
    StagedBuild,
    check_version,
    known_fields,
)
from index.stores.base import ChunkFields, StoreConfig, VectorStore
from index.stores.factory import (
    create_store,
    load_store,
    reopen_store,
    store_format,
    stored_in_files,
)
from ingest.catalogue import Catalogue
from ingest.files import PARTIAL_SUFFIX, AtomicFile, atomic_file, write_atomic

BASE_DIR = "base"
# A shard is the unit of resumable work and of locking: at least one per worker; more make the
# last worker to finish wait less.
ShardProgress = Callable[[int, int, int], None]  # shard, done, total


@dataclass
class WorkerReport:
    worker: int
    of: int
    shards: list[int]
    chunks: int = 0  # chunks in this worker's shards
    already_done: int = 0  # found with a vector when the worker started (a resumed worker)
    embedded: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


# Of plan.json. 1: the plans written before the field existed, read unchanged.
PLAN_VERSION = 2


@dataclass(frozen=True, slots=True)
class Plan:
    """plan.json: what the coordinator planned, for the workers and for finish."""

    build_id: str
    created: float
    corpus: str
    fingerprint: Fingerprint
    shards: int
    shard_sizes: list[int]
    chunks_to_embed: int
    next_chunk_id: int
    report: BuildReport  # of the reading: finish completes it
    version: int = PLAN_VERSION

    def to_dict(self) -> dict:
        return {"plan_version": self.version, "build_id": self.build_id,
                "created": self.created, "corpus": self.corpus,
                "fingerprint": self.fingerprint.to_dict(), "shards": self.shards,
                "shard_sizes": self.shard_sizes, "chunks_to_embed": self.chunks_to_embed,
                "next_chunk_id": self.next_chunk_id, "report": self.report.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        data = dict(data)
        version = check_version("plan", data.pop("plan_version", 1), PLAN_VERSION)
        known, _ = known_fields(cls, data)
        known.pop("version", None)
        if "fingerprint" not in known:
            raise ManifestError("the staged build plan has no fingerprint")
        known["fingerprint"] = Fingerprint.from_dict(known["fingerprint"])
        try:
            known["report"] = BuildReport(**known["report"])
            return cls(**known, version=version)
        except (TypeError, KeyError) as exc:  # a field missing
            raise ManifestError(f"incomplete staged build plan: {exc!r}") from None

    def build_report(self) -> BuildReport:
        """The plan's report of the reading, with the chunks the workers embedded."""
        report = BuildReport(**self.report.to_dict())  # a copy: finish fills it in
        report.embedded_chunks = self.chunks_to_embed
        return report


def staged_dir(index_dir: Path) -> Path:
    return index_dir / STAGED_DIR


def read_plan(index_dir: Path) -> Plan | None:
    """The pending staged build's plan, or None when there is none."""
    try:
        return Plan.from_dict(json.loads((staged_dir(index_dir) / PLAN_FILE).read_text()))
    except FileNotFoundError:
        return None
    except ValueError as exc:  # written atomically, so only a foreign hand makes this
        raise BuildError(f"unreadable staged build plan in {staged_dir(index_dir)}: {exc}; "
                         "drop it with `policyqa index abandon`") from exc


def _shard_name(shard: int) -> str:
    return f"shard-{shard:04d}"


# -- the coordinator ---------------------------------------------------------------------------


class _ShardWriter:
    """The staged build's chunk sink: deals chunks round-robin into S shard files."""

    def __init__(self, root: Path, shards: int) -> None:
        folder = root / "shards"
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = [folder / f"{_shard_name(s)}.jsonl" for s in range(shards)]
        self.files = [AtomicFile(p, text=True) for p in self.paths]
        self.sizes = [0] * shards
        self.count = 0

    def add(self, item: ToEmbed) -> None:
        shard = self.count % len(self.files)
        self.files[shard].file.write(json.dumps(
            {"id": item.id, "text": item.text, "tokens": item.tokens,
             "fields": asdict(item.fields)}, ensure_ascii=False) + "\n")
        self.sizes[shard] += 1
        self.count += 1

    def after_document(self) -> None:
        pass

    def close(self) -> int:
        for f in self.files:
            f.commit()
        return 0  # nothing embedded here: the workers do it


def plan(builder: IndexBuilder, corpus_dir: Path, shards: int, full: bool = False,
         catalogue: Catalogue | None = None) -> Plan:
    """The coordinator's first step; returns the plan. A plan already pending over the same
    corpus is returned as it is, so that running the same command again resumes it."""
    if shards < 1:
        raise BuildError(f"a staged build needs at least one shard, got {shards}")
    catalogue = builder.catalogue(corpus_dir, catalogue)
    started = time.time()
    with builder.locked():
        pending = read_plan(builder.index_dir)
        if pending is not None:
            _check_same_corpus(pending, corpus_dir)
            return pending
        builder.refuse_pending_staged()  # frees a killed coordinator's folder
        root = staged_dir(builder.index_dir)
        with write_failures(not_written(builder.index_dir),
                            lambda: remove_staged(root, builder.store_config)):
            folder = root / STAGED_GENERATION
            folder.mkdir(parents=True)
            base: BuildBase = builder.base(full)
            store = builder.open_store(base, folder)
            writer = _ShardWriter(root, shards)
            read = builder.read_corpus(folder, corpus_dir, catalogue, base, store, writer)
            read.chunks.close()
            if stored_in_files(builder.store_kind):
                store.save(root / BASE_DIR)
            result = Plan(build_id=uuid.uuid4().hex, created=started,
                          corpus=str(corpus_dir.resolve()), fingerprint=builder.fingerprint(),
                          shards=shards, shard_sizes=writer.sizes, chunks_to_embed=writer.count,
                          next_chunk_id=read.next_id, report=read.report)
            write_atomic(root / PLAN_FILE, json.dumps(result.to_dict(), indent=2))
        return result


def _check_same_corpus(pending: Plan, corpus_dir: Path) -> None:
    if pending.corpus != str(corpus_dir.resolve()):
        raise BuildError(f"a staged build over {pending.corpus} is pending: complete it "
                         "(`policyqa index work`, then `policyqa index finish`) or drop it "
                         "with `policyqa index abandon`")


def abandon(index_dir: Path, store_config: StoreConfig) -> bool:
    """Drops a pending (or dead) staged build and its store (reached with `store_config`);
    False when there was none."""
    with locked(index_dir):
        root = staged_dir(index_dir)
        if not root.exists():
            return False
        remove_staged(root, store_config)
        return True


def finish(builder: IndexBuilder) -> BuildReport:
    """The coordinator's last step: every chunk has exactly one vector, then publish."""
    with builder.locked():
        pending = read_plan(builder.index_dir)
        if pending is None:
            raise BuildError(f"no staged build is pending in {builder.index_dir}: start one with "
                             "`policyqa index plan` or `policyqa index build --workers N`")
        _check_fingerprint(pending.fingerprint, builder.fingerprint(), "finish")
        root = staged_dir(builder.index_dir)
        folder = root / STAGED_GENERATION
        if not folder.exists():
            published = _published(builder, pending, root)
            if published is not None:
                return published
        missing = {s: n for s, n in _missing_per_shard(builder.store_config, root, pending).items()
                   if n}
        if missing:
            raise BuildError("the staged build is not fully embedded: " + ", ".join(
                f"shard {s} misses {n} of {pending.shard_sizes[s]}"
                for s, n in sorted(missing.items())) + "; run `policyqa index work` for them")
        with write_failures(lambda reason: (
                f"the staged build could not be finished ({reason}); the previous generation "
                "is still live: run `policyqa index finish` again, or drop the staged build "
                "with `policyqa index abandon`")):
            store = _finished_store(builder.store_config, root, pending)
            chunks = ChunkStore(folder / DB_FILE)
            _check_one_vector_each(store, chunks)
            read = CorpusRead(pending.build_report(), pending.next_chunk_id, chunks,
                              Path(pending.corpus))
            report = builder.publish(folder, read, store,
                                     StagedBuild(pending.build_id, pending.shards))
        shutil.rmtree(root, ignore_errors=True)
        report.seconds = round(time.time() - pending.created, 3)
        return report


def _published(builder: IndexBuilder, pending: Plan, root: Path) -> BuildReport | None:
    """A finish killed while publishing: once the generation is live, only the staged folder is
    left to remove; a generation renamed into place but never made live is moved back, to be
    published again (None)."""
    ours = [g for g in builder.index_dir.glob("gen-*") if (g / MANIFEST_FILE).exists()
            and _built_by(read_manifest(g), pending)]
    if not ours:
        raise BuildError(f"the staged build in {root} has lost its generation folder; drop it "
                         "with `policyqa index abandon`")
    if ours[0] != current_generation(builder.index_dir):
        os.rename(ours[0], root / STAGED_GENERATION)
        return None
    manifest = read_manifest(ours[0])
    shutil.rmtree(root, ignore_errors=True)
    report = pending.build_report()
    report.generation = manifest.generation
    report.documents, report.chunks = manifest.documents, manifest.chunks
    return report


def _built_by(manifest: Manifest, pending: Plan) -> bool:
    return manifest.staged_build is not None and \
        manifest.staged_build.build_id == pending.build_id


def _check_fingerprint(planned: Fingerprint, mine: Fingerprint, who: str) -> None:
    differs = planned.differences(mine)
    if planned.store == mine.store and stored_in_files(mine.store):
        # Workers of a store kept in files write vector files whatever its format, and the
        # finish step reads a base store of an older format and writes the current one.
        differs = [k for k in differs if k != "store_format"]
    if differs:
        theirs = ", ".join(f"{k} {getattr(planned, k)!r}" for k in differs)
        ours = ", ".join(f"{k} {getattr(mine, k)!r}" for k in differs)
        advice = ("drop the plan with `policyqa index abandon` and plan again"
                  if differs == ["store_format"] else "use the same settings as the coordinator")
        raise BuildError(f"the pending staged build was planned with {theirs}, but this {who} "
                         f"has {ours}: {advice}")


def _check_one_vector_each(store: VectorStore, chunks: ChunkStore) -> None:
    ids = np.fromiter((cid for cid, _ in chunks.iter_chunk_texts()), dtype=np.int64)
    have = store.existing_ids(ids)
    if len(have) != len(ids) or store.count() != len(ids):
        raise BuildError(f"the staged build's store holds {store.count()} vectors, for "
                         f"{len(have)} of its {len(ids)} chunks; refusing to publish: drop it "
                         "with `policyqa index abandon`")


# -- the shards and their vectors ----------------------------------------------------------------


def _read_shard(root: Path, shard: int) -> list[ToEmbed]:
    with (root / "shards" / f"{_shard_name(shard)}.jsonl").open(encoding="utf-8") as f:
        # Plans from before fields have none: only file-kept stores (which take them from the
        # chunk store when finishing) can still take them, as _check_fingerprint makes sure.
        return [ToEmbed(int(row["id"]), row["text"], int(row["tokens"]),
                        ChunkFields(**row.get("fields", {"document_id": ""})))
                for row in map(json.loads, f)]


def _shard_ids(root: Path, shard: int) -> list[int]:
    return [item.id for item in _read_shard(root, shard)]


class _VectorFiles:
    """Where workers of a file-kept store (FAISS) put vectors: one .npz per batch and shard."""

    def __init__(self, root: Path) -> None:
        self.root = root / "vectors"

    def _files(self, shard: int) -> list[Path]:
        return sorted((self.root / _shard_name(shard)).glob("batch-*.npz"))

    def batches(self, shard: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for path in self._files(shard):
            with np.load(path, allow_pickle=False) as data:
                yield data["ids"], data["vectors"]

    def done(self, shard: int, ids: list[int]) -> set[int]:
        found: set[int] = set()
        for batch_ids, _ in self.batches(shard):
            found.update(int(i) for i in batch_ids)
        return found & set(ids)

    def writer(self, shard: int) -> VectorWriter:
        """Fields are not written: the finish step takes them from the chunk store."""
        folder = self.root / _shard_name(shard)
        folder.mkdir(parents=True, exist_ok=True)
        for partial in folder.glob("*" + PARTIAL_SUFFIX):  # a batch being written when a worker died
            partial.unlink()
        numbers = [int(p.stem.removeprefix("batch-")) for p in self._files(shard)]
        counter = iter(range(max(numbers, default=-1) + 1, 1 << 62))

        def write(ids: np.ndarray, vectors: np.ndarray, _fields: list[ChunkFields]) -> None:
            with atomic_file(folder / f"batch-{next(counter):06d}.npz") as f:
                np.savez(f, ids=ids, vectors=np.asarray(vectors, dtype=np.float32))

        return write


class _StoreOutput:
    """Where workers of a server store (Milvus) put vectors: into the build's collection."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store

    def done(self, shard: int, ids: list[int]) -> set[int]:
        return {int(i) for i in self.store.existing_ids(np.asarray(ids, dtype=np.int64))}

    def writer(self, shard: int) -> VectorWriter:
        return self.store.add


def _output(config: StoreConfig, root: Path) -> _VectorFiles | _StoreOutput:
    store = reopen_store(config, root / STAGED_GENERATION)
    return _VectorFiles(root) if store is None else _StoreOutput(store)


def _missing_per_shard(config: StoreConfig, root: Path, pending: Plan) -> dict[int, int]:
    output = _output(config.for_kind(pending.fingerprint.store), root)
    missing = {}
    for shard in range(pending.shards):
        ids = _shard_ids(root, shard)
        missing[shard] = len(ids) - len(output.done(shard, ids))
    return missing


def _finished_store(config: StoreConfig, root: Path, pending: Plan) -> VectorStore:
    """Milvus: the collection the workers wrote. FAISS: the base store plus every vector file,
    each planned id once (a batch written twice by two runs of a worker counts once), with the
    fields the plan's chunk store gives them (vector files hold none; a base store planned
    before FAISS kept fields gets them the same way)."""
    store = reopen_store(config, root / STAGED_GENERATION)
    if store is not None:
        return store
    chunks = ChunkStore(root / STAGED_GENERATION / DB_FILE, readonly=True)
    try:
        fields = chunks.chunk_fields()
    finally:
        chunks.close()
    store = (load_store(config, root / BASE_DIR, lambda: fields) if (root / BASE_DIR).exists()
             else create_store(config, pending.fingerprint.dimension))
    files = _VectorFiles(root)
    for shard in range(pending.shards):
        wanted = set(_shard_ids(root, shard))
        for ids, vectors in files.batches(shard):
            keep = np.fromiter((int(i) in wanted for i in ids), dtype=bool, count=len(ids))
            wanted.difference_update(int(i) for i in ids)
            store.add(ids[keep], vectors[keep], fields.fields_of(ids[keep]))
    return store


# -- the workers ---------------------------------------------------------------------------------


@contextmanager
def _shard_lock(root: Path, shard: int) -> Iterator[None]:
    path = root / "shards" / f"{_shard_name(shard)}.lock"
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _progress_of(root, shard)
            raise BuildError(f"shard {shard} is being embedded by another process"
                             f"{' (' + who['host'] + ' pid ' + str(who['pid']) + ')' if who else ''}"
                             "; wait for it, or stop it and run this worker again") from None
        yield


def _progress_of(root: Path, shard: int) -> dict | None:
    try:
        return json.loads((root / "progress" / f"{_shard_name(shard)}.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def _record_progress(root: Path, shard: int, done: int, total: int) -> None:
    folder = root / "progress"
    folder.mkdir(exist_ok=True)
    write_atomic(folder / f"{_shard_name(shard)}.json", json.dumps(
        {"shard": shard, "done": done, "total": total, "host": socket.gethostname(),
         "pid": os.getpid(), "updated": time.time()}))


def shards_of(worker: int, of: int, shards: int) -> list[int]:
    """Static assignment: worker I of N embeds shards I, I + N, I + 2N, ..."""
    return list(range(worker, shards, of))


def work(index_dir: Path, embedder: Embedder, store_config: StoreConfig, worker: int, of: int,
         embed_batch: int = 256, progress: ShardProgress | None = None) -> WorkerReport:
    """Embeds this worker's shards of the pending plan; run again after a crash, it embeds only
    the chunks that have no vector yet."""
    store_kind = store_config.kind
    if of < 1 or not 0 <= worker < of:
        raise BuildError(f"--worker must be between 0 and {of - 1} for --of {of}, got {worker}")
    started = time.perf_counter()
    pending = read_plan(index_dir)
    if pending is None:
        raise BuildError(f"no staged build is pending in {index_dir}: plan one first "
                         "(`policyqa index plan --shards S`)")
    # A worker does not chunk: the coordinator's chunking is the one that counts.
    _check_fingerprint(pending.fingerprint, Fingerprint(
        model=embedder.name, dimension=embedder.dimension, chunking=pending.fingerprint.chunking,
        store=store_kind, store_format=store_format(store_kind)), "worker")
    root = staged_dir(index_dir)
    report = WorkerReport(worker, of, shards_of(worker, of, pending.shards))
    if not report.shards:
        return report
    with write_failures(lambda reason: f"worker {worker} of {of} failed: {reason}; run it "
                        "again to resume"):
        output = _output(store_config, root)
        for shard in report.shards:
            with _shard_lock(root, shard):
                items = _read_shard(root, shard)
                done = output.done(shard, [item.id for item in items])
                todo = [item for item in items if item.id not in done]
                report.chunks += len(items)
                report.already_done += len(items) - len(todo)

                def step(n: int, _total: int, shard: int = shard,
                         base: int = len(items) - len(todo), total: int = len(items)) -> None:
                    _record_progress(root, shard, base + n, total)
                    if progress is not None:
                        progress(shard, base + n, total)

                step(0, len(todo))
                report.embedded += embed_sorted(embedder, todo, embed_batch,
                                                output.writer(shard), step)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


# -- status ----------------------------------------------------------------------------------------


def status(index_dir: Path) -> dict | None:
    """A pending staged build's plan and per-shard progress (from the workers' progress files),
    or None when there is none."""
    pending = read_plan(index_dir)
    if pending is None:
        return None
    root = staged_dir(index_dir)
    shards = []
    for shard, size in enumerate(pending.shard_sizes):
        seen = _progress_of(root, shard) or {}
        done = int(seen.get("done", 0))
        shards.append({"shard": shard, "chunks": size, "done": done,
                       "state": "done" if done >= size else "partial" if seen else "waiting",
                       "host": seen.get("host"), "pid": seen.get("pid"),
                       "updated": seen.get("updated")})
    return {"build_id": pending.build_id, "created": pending.created,
            "corpus": pending.corpus, "store": pending.fingerprint.store,
            "shards": pending.shards, "chunks_to_embed": pending.chunks_to_embed,
            "done": sum(s["done"] for s in shards), "per_shard": shards}
