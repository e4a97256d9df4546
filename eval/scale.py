"""Scaled index generations for benchmarks: a real generation replicated to N chunks, without embedding.

How a generation of N chunks is made from a real one of B chunks (the shared corpus, built by
the real IndexBuilder): chunk j is a copy of real chunk j % B in replica r = j // B.

- Replica 0 is the real chunk: its row, its vector, its text, unchanged.
- Replica r > 0 gets its own document (`<document id>#r<r>`, same text and metadata), its own
  chunk id, the real chunk's displayed `text` (so citations stay true), an `embed_text` with
  ~15% of its words replaced by words of another random real chunk (so BM25 posting lists are
  not exact multiples), and a vector mixed from the real one, another random real one and
  Gaussian noise, renormalized (embedding-like: it lies near the real data, unlike random
  Gaussian vectors, whose HNSW recall means nothing).
- Then the same classes as a build write the generation: ChunkStore (SQLite), FaissStore (the
  `faiss_index` setting decides flat or HNSW; fields from the chunk store), Bm25Index, and
  `publish` with the real manifest's fingerprint, so `policyqa serve` opens it like any other.

Run as `python -m eval.scale --source GEN_FOLDER --index-dir DIR --chunks N`; prints JSON.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.chunk_store import DB_FILE, ChunkStore
from index.generations import new_build_folder, publish, read_manifest
from index.lexical import Bm25Index
from index.stores.base import StoreConfig
from index.stores.faiss_store import FaissStore

REPLICA_SEPARATOR = "#r"
WORD_SWAP_RATE = 0.15
MIX_MAX = 0.3  # how far towards another real vector a copy may move
NOISE_NORM = 0.25  # norm of the Gaussian noise added to a copy before renormalizing
BATCH = 50_000


def embedding_like(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """n unit vectors: the first len(base) are `base`, the rest mixed copies of it with noise."""
    return np.concatenate(list(embedding_like_batches(base, n, seed))) if n else \
        np.zeros((0, base.shape[1]), dtype=np.float32)


def embedding_like_batches(base: np.ndarray, n: int, seed: int = 0,
                           batch: int = BATCH) -> Iterator[np.ndarray]:
    """The rows of `embedding_like` in batches, so a million never needs two copies in memory."""
    rng = np.random.default_rng(seed)
    count, dim = base.shape
    for start in range(0, n, batch):
        rows = np.arange(start, min(start + batch, n))
        out = base[rows % count].astype(np.float32, copy=True)
        copies = rows >= count
        m = int(copies.sum())
        if m:
            other = base[rng.integers(0, count, m)]
            t = rng.uniform(0.0, MIX_MAX, (m, 1)).astype(np.float32)
            noise = rng.normal(size=(m, dim)).astype(np.float32) * (NOISE_NORM / np.sqrt(dim))
            mixed = (1 - t) * out[copies] + t * other + noise
            out[copies] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
        yield out


def perturb_text(text: str, donor: str, rng: np.random.Generator,
                 rate: float = WORD_SWAP_RATE) -> str:
    """`text` with about `rate` of its words replaced by words of `donor`."""
    words = text.split()
    spare = donor.split()
    if not words or not spare:
        return text
    swap = np.flatnonzero(rng.random(len(words)) < rate)
    picks = rng.integers(0, len(spare), len(swap))
    for i, p in zip(swap, picks):
        words[i] = spare[p]
    return " ".join(words)


def _source_rows(source: Path) -> tuple[list[tuple], list[tuple], list[str]]:
    db = sqlite3.connect(f"file:{source / DB_FILE}?mode=ro", uri=True)
    documents = db.execute("SELECT * FROM documents ORDER BY id").fetchall()
    columns = [r[1] for r in db.execute("PRAGMA table_info(chunks)")]
    chunks = db.execute(f"SELECT {', '.join(columns)} FROM chunks ORDER BY id").fetchall()
    db.close()
    return documents, chunks, columns


def _source_vectors(source: Path, chunk_ids: list[int]) -> np.ndarray:
    """The real generation's vectors in chunk-id order (a copy)."""
    # live_vectors() is a view of the store's own FAISS array: the store must outlive the copy
    # (a temporary store was freed before the indexing below, which read freed memory).
    store = FaissStore.load(StoreConfig(), source)
    stored, vectors = store.live_vectors()
    order = np.argsort(stored)
    positions = order[np.searchsorted(stored, np.asarray(chunk_ids), sorter=order)]
    copied = np.ascontiguousarray(vectors[positions])
    del store
    return copied


def _write_chunks(new: ChunkStore, documents: list[tuple], chunks: list[tuple],
                  columns: list[str], n: int, stride: int, seed: int) -> Iterator[tuple[int, str]]:
    """Writes documents and chunk rows for n chunks; yields (chunk id, embed_text) in order."""
    rng = np.random.default_rng(seed + 1)
    at = {name: i for i, name in enumerate(columns)}
    base = len(chunks)
    replicas = (n + base - 1) // base
    for r in range(replicas):
        suffix = f"{REPLICA_SEPARATOR}{r}" if r else ""
        new.db.executemany("INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           [(d[0] + suffix, *d[1:]) for d in documents])
        rows = []
        for j in range(r * base, min((r + 1) * base, n)):
            row = list(chunks[j - r * base])
            if r:
                row[at["id"]] = row[at["id"]] + r * stride
                row[at["document_id"]] += suffix
                donor = chunks[int(rng.integers(0, base))][at["embed_text"]]
                row[at["embed_text"]] = perturb_text(row[at["embed_text"]], donor, rng)
            rows.append(row)
            yield row[at["id"]], row[at["embed_text"]]
        marks = ",".join("?" * len(columns))
        new.db.executemany(f"INSERT INTO chunks ({', '.join(columns)}) VALUES ({marks})", rows)
    new.commit()


def write_scaled_generation(source: Path, index_dir: Path, n: int, seed: int = 0,
                            store_config: StoreConfig | None = None) -> dict:
    """Publishes a generation of n chunks made from `source` (see the module docstring), with a
    FAISS store as `store_config` (the settings') asks."""
    started = time.perf_counter()
    documents, chunks, columns = _source_rows(source)
    stride = max(r[0] for r in chunks) + 1
    base_ids = [r[0] for r in chunks]
    vectors = _source_vectors(source, base_ids)
    folder = new_build_folder(index_dir)
    new = ChunkStore(folder / DB_FILE)
    ids: list[int] = []
    texts: list[str] = []
    for cid, text in _write_chunks(new, documents, chunks, columns, n, stride, seed):
        ids.append(cid)
        texts.append(text)
    rows_done = time.perf_counter()
    store = FaissStore.create(store_config or StoreConfig(), vectors.shape[1])
    fields = new.chunk_fields()
    done = 0
    for batch in embedding_like_batches(vectors, n, seed):
        batch_ids = np.asarray(ids[done:done + len(batch)], dtype=np.int64)
        store.add(batch_ids, batch, fields.fields_of(batch_ids))
        done += len(batch)
    store.save(folder)  # converts to HNSW here when the setting says so at this size
    vectors_done = time.perf_counter()
    Bm25Index.build(ids, texts).save(folder)
    del texts
    lexical_done = time.perf_counter()
    documents_count, chunks_count = new.counts()
    new.close()
    original = read_manifest(source)
    manifest = replace(original, documents=documents_count, chunks=chunks_count,
                       next_chunk_id=(n // len(chunks) + 1) * stride + 1, created=time.time(),
                       skipped=[], warnings=[],
                       extra={**original.extra, "scaled_from": str(source)})
    live = publish(index_dir, folder, manifest)
    return {"generation": str(live), "chunks": chunks_count, "documents": documents_count,
            "index_type": store.current_type,
            "seconds": {"rows": round(rows_done - started, 2),
                        "vectors": round(vectors_done - rows_done, 2),
                        "bm25": round(lexical_done - vectors_done, 2),
                        "total": round(time.perf_counter() - started, 2)},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "bytes": folder_sizes(live)}


def folder_sizes(generation: Path) -> dict[str, int]:
    """Bytes on disk of a generation's vectors, chunk metadata and BM25 index."""
    def size(path: Path) -> int:
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() \
            else 0

    vectors = ("vectors.faiss", "tombstones.npy", "fields.npy", "fields.json")
    return {"vectors": sum(size(generation / name) for name in vectors),
            "metadata": size(generation / DB_FILE), "bm25": size(generation / "bm25")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.scale", description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path, required=True, help="a published generation folder")
    p.add_argument("--index-dir", type=Path, required=True, help="new index folder to publish in")
    p.add_argument("--chunks", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.index_dir.mkdir(parents=True, exist_ok=True)
    from service.settings import load_settings

    print(json.dumps(write_scaled_generation(args.source, args.index_dir, args.chunks, args.seed,
                                             load_settings().store_config())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
