"""Staged builds on Milvus: workers insert straight into the build's collection, resume without
duplicate vectors, and killed builds leave no collection behind. Needs a server:
POLICYQA_MILVUS_URI (see .ci/milvus-tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

from index import staged
from index.generations import STAGED_GENERATION, current_generation
from index.searcher import IndexSearcher
from index.stores.milvus_store import META_FILE, client_for, server_problem
from service.ranking.pipeline import rank
from tests.index import staged_helpers as h
from tests.support import REPO, copy_documents

URI = os.environ.get("POLICYQA_MILVUS_URI")
_problem = server_problem(URI) if URI else "POLICYQA_MILVUS_URI is not set (.ci/milvus-tests runs a server)"
if _problem:
    pytest.skip(_problem, allow_module_level=True)


@pytest.fixture()
def prefix(monkeypatch):
    """Collections made by the test carry its own prefix; all are dropped afterwards."""
    name = f"policyqa_test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("POLICYQA_MILVUS_PREFIX", name)
    yield name
    for collection in _collections(name):
        client_for(URI).drop_collection(collection)


@pytest.fixture()
def corpus(shared_corpus, tmp_path):
    return copy_documents(shared_corpus, tmp_path / "corpus", h.DOCUMENTS)


def _collections(prefix: str) -> set[str]:
    return {c for c in client_for(URI).list_collections() if c.startswith(prefix)}


def _named(*folders) -> set[str]:
    return {json.loads((f / META_FILE).read_text())["collection"] for f in folders}


def _milvus_env(prefix: str) -> dict[str, str]:
    return h.env(POLICYQA_VECTOR_STORE="milvus", POLICYQA_MILVUS_URI=URI,
               POLICYQA_MILVUS_PREFIX=prefix)


def test_cli_two_workers_match_the_sequential_build(prefix, corpus, tmp_path, embedder):
    h.builder(tmp_path / "seq", embedder, "milvus").build(corpus)
    done = subprocess.run([sys.executable, "-m", "service.cli", "index", "build", "--workers", "2",
                           "--corpus", str(corpus), "--index-dir", str(tmp_path / "staged"),
                           "--json"], env=_milvus_env(prefix), cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["generation"] == 1 and report["chunks"] == report["embedded_chunks"] > 50
    assert h.chunk_rows(tmp_path / "staged") == h.chunk_rows(tmp_path / "seq")
    assert h.same_answers(h.answers(tmp_path / "staged", embedder), h.answers(tmp_path / "seq", embedder))
    lives = [current_generation(tmp_path / d) for d in ("seq", "staged")]
    assert _collections(prefix) == _named(*lives)  # one collection each, nothing left over


def test_killed_worker_resumes_without_duplicate_vectors(prefix, corpus, tmp_path, embedder):
    index_dir = tmp_path / "idx"
    h.builder(index_dir, embedder, "milvus").build(corpus)
    changed = corpus / h.DOCUMENTS[2]
    changed.write_text(changed.read_text().replace("Article", "Art.") + h.LIGHTHOUSE)
    staged.plan(h.builder(index_dir, embedder, "milvus"), corpus, shards=2)  # forks generation 1
    planned = h.plan_ids(index_dir)
    assert len(planned) > 20
    # Killed right after its second insert was acknowledged: Milvus would keep a second copy of
    # any id inserted again, so the resumed worker must ask which ids are there.
    h.run_killed(index_dir, corpus, "work", "stored", 2, _milvus_env(prefix))
    store = staged.reopen_store(h.store_config("milvus"),
                                staged.staged_dir(index_dir) / STAGED_GENERATION)
    before = store.existing_ids(np.asarray(planned))
    assert 0 < len(before) < len(planned)
    counting = h.CountingEmbedder(embedder)
    again = staged.work(index_dir, counting, h.store_config("milvus"), 0, 1, embed_batch=8)
    assert again.already_done == len(before)
    assert counting.texts == again.embedded == len(planned) - len(before)
    report = staged.finish(h.builder(index_dir, embedder, "milvus"))
    assert report.generation == 2 and report.embedded_chunks == len(planned)
    searcher = IndexSearcher.open(index_dir, embedder, h.store_config("milvus"))
    assert searcher.store.count() == searcher.chunk_count == report.chunks
    ids = np.asarray([cid for cid, _ in searcher.chunks.iter_chunk_texts()])
    assert len(searcher.store.existing_ids(ids)) == len(ids)  # exactly one vector per chunk
    top = rank(searcher, "maintaining lighthouses for ships in distress", k=1, mode="dense")
    assert "lighthouses" in top[0].chunk.text
    searcher.close()
    live = current_generation(index_dir)
    assert _collections(prefix) == _named(live, *[g for g in index_dir.glob("gen-*")])


def test_killed_builds_leave_no_collection_behind(prefix, shared_corpus, tmp_path, embedder):
    corpus = copy_documents(shared_corpus, tmp_path / "corpus", h.DOCUMENTS[:2])
    index_dir = tmp_path / "idx"
    h.builder(index_dir, embedder, "milvus").build(corpus)
    changed = corpus / h.DOCUMENTS[1]
    changed.write_text(changed.read_text() + h.LIGHTHOUSE)
    environment = _milvus_env(prefix)
    # A one-process build killed while embedding: its forked collection is named in its folder.
    run_killed_build(index_dir, corpus, environment)
    stale = list(index_dir.glob("building-*"))
    assert len(stale) == 1 and _named(stale[0]) <= _collections(prefix)
    # A coordinator killed while planning: its forked collection is named in staged/generation.
    h.run_killed(index_dir, corpus, "plan", "read", 2, environment)
    dead = staged.staged_dir(index_dir) / STAGED_GENERATION
    assert _named(dead) <= _collections(prefix) and staged.read_plan(index_dir) is None
    leaked = _named(stale[0], dead)
    report = h.builder(index_dir, embedder, "milvus").build(corpus)  # frees both
    assert report.generation == 2 and not list(index_dir.glob("building-*"))
    assert not staged.staged_dir(index_dir).exists()
    assert not leaked & _collections(prefix)
    assert _collections(prefix) == _named(*index_dir.glob("gen-*"))
    # An abandoned staged build drops its collection too.
    staged.plan(h.builder(index_dir, embedder, "milvus"), corpus, shards=2)
    assert len(_collections(prefix)) == 3
    assert staged.abandon(index_dir, h.store_config("milvus"))
    assert _collections(prefix) == _named(*index_dir.glob("gen-*"))


KILLED_BUILD = r"""
import os, signal, sys
from pathlib import Path
from index.builder import IndexBuilder
from ingest.chunker import ChunkSettings
from service.engine import load_embedder
from service.settings import load_settings

def progress(stage, done, total):
    if stage == "embed":
        os.kill(os.getpid(), signal.SIGKILL)

settings = load_settings()
IndexBuilder(Path(sys.argv[1]), load_embedder(settings), ChunkSettings(),
             store_config=settings.store_config().for_kind("milvus"), embed_batch=8,
             progress=progress).build(Path(sys.argv[2]))
"""


def run_killed_build(index_dir, corpus, environment) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_BUILD, str(index_dir), str(corpus)],
                          env=environment, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
