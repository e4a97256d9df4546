"""Shared by the staged build tests on FAISS (test_workers.py) and Milvus (test_milvus_workers.py):
real builds, answers to compare, and a coordinator or worker process that SIGKILLs itself at an
exact step."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from index import staged
from index.builder import BuildReport, IndexBuilder
from index.chunk_store import DB_FILE, ChunkStore
from index.generations import current_generation
from index.searcher import ChunkFilter, IndexSearcher
from index.stores.base import StoreConfig
from ingest.chunker import ChunkSettings
from service.ranking.pipeline import rank
from service.settings import load_settings
from tests.support import child_environ

DOCUMENTS = ["treaties/echr_protocol4_1963.md", "treaties/refugee_protocol_1967.md",
             "treaties/udhr_1948.md", "treaties/palermo_trafficking_protocol_2000.md"]
QUESTIONS = ["collective expulsion of aliens is prohibited",
             "who is a refugee under the protocol",
             "everyone has the right to freedom of movement",
             "protection of victims of trafficking in persons"]
# Unfiltered, and filtered (on Milvus, by the fields the workers wrote beside the vectors).
FILTERS = [None, ChunkFilter.of(fields={"jurisdiction": ["international"]}),
           ChunkFilter.of([DOCUMENTS[0]])]
LIGHTHOUSE = ("\n\n## Article 99\n\nStates Parties shall maintain lighthouses for stranded "
              "vessels at sea.\n")

# Runs one step of a staged build in its own process and kills it with SIGKILL at an exact point:
#   argv: index_dir corpus step (plan|work|finish) point count
#   points: read (the count-th file about to be read), encode (inside the count-th encode call),
#   batch-file (after the count-th vector file is in place), batch-partial (the count-th vector
#   file written but not renamed), stored (after the count-th insert into the store), renamed
#   (the generation renamed into place, the staged folder not yet removed).
DRIVER = r"""
import os, signal, sys
from pathlib import Path
import index.generations as generations
import index.staged as staged
from index.builder import IndexBuilder
from index.stores.milvus_store import MilvusStore
from ingest.chunker import ChunkSettings
from service.engine import load_embedder
from service.settings import load_settings

index_dir, corpus, step, point, count = (Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3],
                                         sys.argv[4], int(sys.argv[5]))
settings = load_settings()
embedder = load_embedder(settings)
seen = {"n": 0}

def die():
    os.kill(os.getpid(), signal.SIGKILL)

def hook(owner, name, after, when=lambda *a: True):
    real = getattr(owner, name)
    def wrapped(*a, **k):
        hit = False
        if when(*a):
            seen["n"] += 1
            hit = seen["n"] == count
        if hit and not after:
            die()
        result = real(*a, **k)
        if hit:
            die()
        return result
    setattr(owner, name, wrapped)

npz = lambda src, dst: str(dst).endswith(".npz")
if point == "encode":
    hook(embedder, "encode", after=False)
elif point == "batch-file":
    hook(staged.os, "replace", after=True, when=npz)
elif point == "batch-partial":
    hook(staged.os, "replace", after=False, when=npz)
elif point == "stored":
    hook(MilvusStore, "add", after=True)
elif point == "renamed":
    hook(generations.os, "rename", after=True)

def progress(stage, done, total):
    if point == stage and done == count:
        die()

builder = IndexBuilder(index_dir, embedder, ChunkSettings(), store_config=settings.store_config(),
                       progress=progress)
if step == "plan":
    staged.plan(builder, corpus, shards=2)
elif step == "work":
    staged.work(index_dir, embedder, settings.store_config(), 0, 1, embed_batch=8)
else:
    staged.finish(builder)
"""


def env(**extra: str) -> dict[str, str]:
    return child_environ(PYTHONDONTWRITEBYTECODE="1", POLICYQA_THREADS="1", **extra)


def run_killed(index_dir: Path, corpus: Path, step: str, point: str, count: int,
               environment: dict[str, str]) -> None:
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(index_dir), str(corpus), step, point,
                           str(count)], env=environment, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == -signal.SIGKILL, f"never reached {point}: {proc.stderr[-2000:]}"


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.texts = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def encode(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.encode(texts)


def store_config(kind: str = "faiss") -> StoreConfig:
    """The settings' store configuration (a Milvus test's server and prefix), for `kind`."""
    return load_settings().store_config().for_kind(kind)


def builder(index_dir: Path, embedder, store_kind: str = "faiss") -> IndexBuilder:
    return IndexBuilder(index_dir, embedder, ChunkSettings(), store_config=store_config(store_kind))


def staged_build(index_dir: Path, corpus: Path, embedder, workers: int = 2,
                 store_kind: str = "faiss") -> BuildReport:
    """Plan, `workers` workers one after the other (in this process), finish."""
    coordinator = builder(index_dir, embedder, store_kind)
    staged.plan(coordinator, corpus, shards=workers)
    for i in range(workers):
        staged.work(index_dir, embedder, store_config(store_kind), i, workers, embed_batch=16)
    return staged.finish(coordinator)


def chunk_rows(index_dir: Path) -> list[tuple]:
    chunks = ChunkStore(current_generation(index_dir) / DB_FILE, readonly=True)
    rows = chunks.db.execute("SELECT * FROM chunks ORDER BY id").fetchall()
    chunks.close()
    return rows


def answers(index_dir: Path, embedder) -> list[list[tuple[int, float]]]:
    searcher = IndexSearcher.open(index_dir, embedder, store_config())
    try:
        assert searcher.store.count() == searcher.chunk_count
        found = [[(h.chunk.id, h.score) for h in rank(searcher, q, k=5, mode=mode, where=where)]
                 for q in QUESTIONS for mode in ("dense", "hybrid") for where in FILTERS]
        assert all(found), "a search found nothing"
        return found
    finally:
        searcher.close()


def same_answers(a: list[list[tuple[int, float]]], b: list[list[tuple[int, float]]]) -> bool:
    """At every rank the same passage, or one with the same score: the reference documents hold
    chunks that embed alike, and equal scores come back in the order the vectors were added."""
    return all(i == j or abs(s - t) < 1e-3
               for x, y in zip(a, b, strict=True) for (i, s), (j, t) in zip(x, y, strict=True))


def plan_ids(index_dir: Path) -> list[int]:
    pending = staged.read_plan(index_dir)
    assert pending is not None
    return [cid for s in range(pending.shards)
            for cid in staged._shard_ids(staged.staged_dir(index_dir), s)]
