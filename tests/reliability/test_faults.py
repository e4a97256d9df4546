"""Crashes and broken disks: kill -9 at chosen build steps, unwritable and full index folders, restarts."""

from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from index.builder import IndexBuilder
from index.generations import current_generation, read_manifest
from index.manifest import Manifest
from index.searcher import IndexSearcher
from ingest.chunker import ChunkSettings
from service.ranking.pipeline import rank
from tests.support import ADMIN_KEY, ServeProcess, child_environ, copy_documents

BASE = ["treaties/echr_protocol4_1963.md", "treaties/refugee_protocol_1967.md"]
ADDED = "treaties/smuggling_of_migrants_protocol_2000.md"
BASE_QUESTION = "collective expulsion of aliens is prohibited"
ADDED_QUESTION = "smuggling of migrants by sea"

# The build runs in its own process and SIGKILLs itself at one exact step, so every kill point is
# deterministic: hooks wrap the step's function instead of guessing when it runs.
DRIVER = r"""
import os, signal, sys
from pathlib import Path
import index.stores.faiss_store as faiss_store, index.generations as generations, index.lexical as lexical
from index.builder import IndexBuilder
from service.engine import load_embedder
from service.settings import load_settings
from ingest.chunker import ChunkSettings

index_dir, corpus, point = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]

def die(*_a, **_k):
    os.kill(os.getpid(), signal.SIGKILL)

def after(owner, name, when=lambda *a: True):
    real = getattr(owner, name)
    def wrapped(*a, **k):
        result = real(*a, **k)
        if when(*a):
            die()
        return result
    setattr(owner, name, wrapped)

def before(owner, name, when=lambda *a: True):
    real = getattr(owner, name)
    def wrapped(*a, **k):
        if when(*a):
            die()
        return real(*a, **k)
    setattr(owner, name, wrapped)

def half_drop(index_dir, live, keep, *_):
    oldest = min(p for p in index_dir.glob("gen-*") if p != live)
    (oldest / "chunks.sqlite").unlink()
    die()

stage, _, count = point.partition(":")
hooks = {
    "bm25-saved": lambda: after(lexical.Bm25Index, "save"),
    "faiss-partial": lambda: after(faiss_store.faiss, "write_index"),
    "faiss-saved": lambda: after(faiss_store.FaissStore, "save"),
    "manifest-written": lambda: before(generations, "_fsync_tree"),
    "renamed": lambda: after(generations.os, "rename"),
    "pointer-tmp": lambda: before(generations.os, "replace",
                                  lambda src, dst: str(dst).endswith("CURRENT")),
    "pointer-switched": lambda: after(generations.os, "replace",
                                      lambda src, dst: str(dst).endswith("CURRENT")),
    "dropping-old": lambda: setattr(generations, "_drop_old", half_drop),
}
if point in hooks:
    hooks[point]()

def progress(s, done, total):
    if s == stage and str(done) == count:
        die()

IndexBuilder(index_dir, load_embedder(load_settings()), ChunkSettings(), embed_batch=8,
             progress=progress).build(corpus)
"""

# (kill point, whether the new generation is live afterwards). Reading, embedding, writing,
# publishing and cleaning up are all covered.
KILL_POINTS = [
    ("read:1", False),             # before the first file is read
    ("read:3", False),             # two unchanged documents copied, the new one not yet read
    ("embed:8", False),            # first batch of the new document's chunks embedded
    ("embed:32", False),           # in the middle of embedding
    ("lexical:0", False),          # chunk store committed, BM25 not yet built
    ("bm25-saved", False),         # BM25 on disk, vectors not yet
    ("faiss-partial", False),      # vectors.faiss.partial written, not yet renamed
    ("faiss-saved", False),        # all data files written, no manifest
    ("manifest-written", False),   # manifest written, nothing fsynced
    ("renamed", False),            # building-* renamed to gen-*, CURRENT not yet written
    ("pointer-tmp", False),        # CURRENT.partial written, not yet moved over CURRENT
    ("pointer-switched", True),    # CURRENT names the new generation; old ones not yet dropped
    ("dropping-old", True),        # the oldest generation half deleted
]


def _env() -> dict[str, str]:
    return child_environ(PYTHONDONTWRITEBYTECODE="1")


@pytest.fixture(scope="module")
def base_index(shared_corpus, tmp_path_factory, embedder) -> tuple[Path, Manifest]:
    """Two generations over two documents: the second build drops none and embeds nothing."""
    root = tmp_path_factory.mktemp("faults")
    corpus = copy_documents(shared_corpus, root / "corpus", BASE)
    builder = IndexBuilder(root / "index", embedder, ChunkSettings())
    builder.build(corpus)
    builder.build(corpus)
    return root / "index", read_manifest(current_generation(root / "index"))


@pytest.fixture()
def workspace(base_index, shared_corpus, tmp_path) -> tuple[Path, Path]:
    index_dir = tmp_path / "index"
    shutil.copytree(base_index[0], index_dir)
    corpus = copy_documents(shared_corpus, tmp_path / "corpus", [*BASE, ADDED])
    return index_dir, corpus


def assert_serves(index_dir: Path, embedder, generation: int, documents: int) -> None:
    live = current_generation(index_dir)
    assert live is not None and read_manifest(live).generation == generation
    searcher = IndexSearcher(live, embedder)
    assert searcher.document_count == documents
    assert searcher.store.count() == searcher.chunk_count == read_manifest(live).chunks
    hits = rank(searcher, BASE_QUESTION, k=3)
    assert hits[0].chunk.document_id == BASE[0]
    searcher.close()


def assert_next_build_completes(index_dir: Path, corpus: Path, embedder) -> None:
    report = IndexBuilder(index_dir, embedder, ChunkSettings()).build(corpus)
    assert report.documents == 3 and report.skipped == []
    assert not list(index_dir.glob("building-*"))
    searcher = IndexSearcher.open(index_dir, embedder)
    assert searcher.store.count() == searcher.chunk_count == report.chunks
    assert rank(searcher, ADDED_QUESTION, k=1)[0].chunk.document_id == ADDED
    searcher.close()


@pytest.mark.parametrize("point, switched", KILL_POINTS, ids=[p for p, _ in KILL_POINTS])
def test_kill_9_during_build(point, switched, base_index, workspace, embedder):
    index_dir, corpus = workspace
    previous = base_index[1].generation
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(index_dir), str(corpus), point],
                          env={**_env(), "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == -signal.SIGKILL, f"never reached {point}: {proc.stderr[-2000:]}"
    if switched:
        assert_serves(index_dir, embedder, previous + 1, 3)
    else:
        assert_serves(index_dir, embedder, previous, 2)
    assert_next_build_completes(index_dir, corpus, embedder)


def _drop_dac_override() -> None:
    """In the child only: root loses the power to write where file modes forbid it."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP: gone from the exec'd program


def _cli_build(index_dir: Path, corpus: Path, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", "index", "build", "--corpus",
                           str(corpus), "--index-dir", str(index_dir), "--json"],
                          env=_env(), capture_output=True, text=True, timeout=180,
                          preexec_fn=preexec)


def assert_clear_error(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "policyqa: error:" in proc.stderr, proc.stderr[-3000:]


def test_unwritable_index_folder(base_index, workspace, embedder):
    index_dir, corpus = workspace
    previous = base_index[1].generation
    index_dir.chmod(0o500)
    try:
        proc = _cli_build(index_dir, corpus, _drop_dac_override)
    finally:
        index_dir.chmod(0o755)
    if proc.returncode == 0:
        pytest.skip("this root keeps CAP_DAC_OVERRIDE (no CAP_SETPCAP?): modes do not bind it")
    assert_clear_error(proc)
    assert "cannot write" in proc.stderr
    assert_serves(index_dir, embedder, previous, 2)
    assert_next_build_completes(index_dir, corpus, embedder)


def test_index_path_is_a_regular_file(tmp_path, workspace):
    _, corpus = workspace
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    proc = _cli_build(blocker, corpus)
    assert blocker.read_text() == "a file where the index folder should be"
    assert_clear_error(proc)


def _full_disk(limit: int):
    def apply() -> None:
        # Past `limit` bytes a write fails with EFBIG, like ENOSPC on a full disk; SIGXFSZ would
        # kill the process instead, so it is ignored.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_full_disk(base_index, workspace, embedder):
    index_dir, corpus = workspace
    previous = base_index[1].generation
    proc = _cli_build(index_dir, corpus, _full_disk(48 * 1024))
    assert proc.returncode != 0
    assert_serves(index_dir, embedder, previous, 2)
    assert_next_build_completes(index_dir, corpus, embedder)
    assert_clear_error(proc)


def _snapshot(server: ServeProcess) -> dict:
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        answers = [client.post("/v1/ask", json={"question": q, "k": 5, "mode": mode}).json()
                   for q in (BASE_QUESTION, ADDED_QUESTION) for mode in ("hybrid", "lexical")]
        documents = client.get("/v1/documents").json()
    for answer in answers:
        answer.pop("took_ms")
    return {"answers": answers, "documents": documents}


def test_server_restart_loses_nothing(shared_corpus, tmp_path):
    corpus = copy_documents(shared_corpus, tmp_path / "corpus", [*BASE, ADDED])
    env = {"PYTHONDONTWRITEBYTECODE": "1", "POLICYQA_ADMIN_KEY": ADMIN_KEY, "POLICYQA_THREADS": "2"}
    snapshots = []
    for _ in range(2):
        server = ServeProcess(tmp_path / "index", tmp_path / "server.log", corpus=corpus, env=env)
        try:
            server.wait_ready(timeout=300)
            snapshots.append(_snapshot(server))
        finally:
            server.stop()
    first, second = snapshots
    assert first["answers"][0]["index"]["generation"] == 1
    assert [a["index"] for a in second["answers"]] == [a["index"] for a in first["answers"]]
    assert second["documents"] == first["documents"] and len(first["documents"]) == 3
    for before, after in zip(first["answers"], second["answers"]):
        assert [p["citation"] for p in after["passages"]] == [p["citation"] for p in before["passages"]]
        assert [p["text"] for p in after["passages"]] == [p["text"] for p in before["passages"]]
        assert [p["score"] for p in after["passages"]] == pytest.approx(
            [p["score"] for p in before["passages"]], abs=1e-4)
    assert sorted(p.name for p in (tmp_path / "index").glob("gen-*")) == ["gen-000001"]
