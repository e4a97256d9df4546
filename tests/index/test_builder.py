"""Index builds over real documents: incremental updates, skipped files, and crash safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index.builder import IndexBuilder
from index.generations import current_generation, read_manifest
from index.searcher import IndexSearcher
from ingest.chunker import ChunkSettings
from service.ranking.pipeline import rank
from tests.support import REPO, copy_documents

SMALL = ["treaties/echr_protocol4_1963.md", "treaties/smuggling_of_migrants_protocol_2000.md",
         "articles/cross_border_enforcement_of_immigration_laws.txt"]


@pytest.fixture()
def corpus(shared_corpus, tmp_path) -> Path:
    return copy_documents(shared_corpus, tmp_path / "corpus", SMALL)


def _builder(index_dir: Path, embedder) -> IndexBuilder:
    return IndexBuilder(index_dir, embedder, ChunkSettings())


def test_build_then_unchanged_rebuild_embeds_nothing(corpus, tmp_path, embedder):
    builder = _builder(tmp_path / "idx", embedder)
    first = builder.build(corpus)
    assert first.documents == 3 and first.chunks == first.embedded_chunks > 20
    assert first.truncated_chunks == 0 and first.skipped == []
    second = builder.build(corpus)
    assert second.generation == first.generation + 1
    assert second.embedded_chunks == 0 and second.unchanged_documents == 3
    assert second.chunks == first.chunks
    searcher = IndexSearcher.open(tmp_path / "idx", embedder)
    hits = rank(searcher, "collective expulsion of aliens is prohibited", k=3)
    assert hits[0].chunk.document_id == "treaties/echr_protocol4_1963.md"
    assert searcher.store.count() == searcher.chunk_count == second.chunks


def test_one_changed_document_re_embeds_only_its_new_chunks(corpus, tmp_path, embedder):
    builder = _builder(tmp_path / "idx", embedder)
    first = builder.build(corpus)
    changed = corpus / "treaties/smuggling_of_migrants_protocol_2000.md"
    changed.write_text(changed.read_text() + "\n\n### Article  99  \n\n####Lighthouses\n\n"
                       "States Parties shall maintain lighthouses for stranded vessels at sea.\n")
    second = builder.build(corpus)
    assert second.read_documents == 1 and second.unchanged_documents == 2
    assert 1 <= second.embedded_chunks <= 3
    assert second.reused_chunks >= 20
    assert second.chunks == first.chunks + second.embedded_chunks - second.deleted_chunks
    searcher = IndexSearcher.open(tmp_path / "idx", embedder)
    top = rank(searcher, "maintaining lighthouses for ships in distress", k=1, mode="dense")
    assert "lighthouses" in top[0].chunk.text
    assert top[0].chunk.section[-1].startswith("Article 99")


def test_removed_document_loses_its_chunks(corpus, tmp_path, embedder):
    builder = _builder(tmp_path / "idx", embedder)
    builder.build(corpus)
    (corpus / "treaties/echr_protocol4_1963.md").unlink()
    report = builder.build(corpus)
    assert report.removed_documents == 1 and report.embedded_chunks == 0
    searcher = IndexSearcher.open(tmp_path / "idx", embedder)
    assert {d.id for d in searcher.documents} == {SMALL[1], SMALL[2]}
    assert searcher.store.count() == searcher.chunk_count


def test_corrupt_files_are_reported_and_skipped(corpus, tmp_path, embedder):
    (corpus / "pdf").mkdir()
    (corpus / "pdf/broken.pdf").write_bytes(os.urandom(4096))
    (corpus / "empty.md").write_text("   \n")
    outside = tmp_path / "secret.txt"
    outside.write_text("a secret outside the corpus")
    (corpus / "link.txt").symlink_to(outside)
    report = _builder(tmp_path / "idx", embedder).build(corpus)
    reasons = {s["path"]: s["reason"] for s in report.skipped}
    assert set(reasons) == {"pdf/broken.pdf", "empty.md", "link.txt"}
    assert "outside the corpus" in reasons["link.txt"]
    assert report.documents == 3


def test_a_file_that_turns_corrupt_keeps_its_previous_version(corpus, tmp_path, embedder):
    builder = _builder(tmp_path / "idx", embedder)
    first = builder.build(corpus)
    (corpus / SMALL[2]).write_bytes(b"\xff\xfe" + os.urandom(10))  # undecodable noise
    (corpus / SMALL[0]).chmod(0)
    try:
        report = builder.build(corpus)
    finally:
        (corpus / SMALL[0]).chmod(0o644)
    if os.geteuid() != 0:  # root reads anything: the chmod only bites for other users
        assert any(s["path"] == SMALL[0] and s.get("kept") for s in report.skipped)
    assert report.documents == first.documents


@pytest.mark.parametrize("delay", [0.0, 1.5, 4.0])
def test_killed_build_leaves_previous_generation_live(shared_corpus, corpus, tmp_path,
                                                      embedder, delay):
    index_dir = tmp_path / "idx"
    builder = _builder(index_dir, embedder)
    first = builder.build(corpus)
    copy_documents(shared_corpus, corpus, ["treaties/refugee_convention_1951.md"])
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "index", "build", "--corpus",
                             str(corpus), "--index-dir", str(index_dir), "--json"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(index_dir.glob("building-*")) and proc.poll() is None:
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.02)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    live = current_generation(index_dir)
    if read_manifest(live).generation == first.generation:
        searcher = IndexSearcher(live, embedder)
        assert searcher.chunk_count == first.chunks == searcher.store.count()
        assert rank(searcher, "smuggling of migrants by sea", k=1)
    again = builder.build(corpus)
    assert again.documents == 4 and again.skipped == []
    searcher = IndexSearcher.open(index_dir, embedder)
    assert searcher.store.count() == searcher.chunk_count == again.chunks
    assert not list(index_dir.glob("building-*"))
    vectors_ok = rank(searcher, "expel or return a refugee to the frontiers", k=3)
    assert any("refugee_convention" in h.chunk.document_id for h in vectors_ok)
    assert np.isfinite([h.score for h in vectors_ok]).all()


def test_new_chunking_rechunks_every_document_but_keeps_unchanged_vectors(corpus, tmp_path,
                                                                          embedder):
    first = IndexBuilder(tmp_path / "idx", embedder, ChunkSettings()).build(corpus)
    changed = IndexBuilder(tmp_path / "idx", embedder, ChunkSettings(tiny_tokens=12))
    second = changed.build(corpus)
    assert second.read_documents == 3 and second.unchanged_documents == 0
    assert second.reused_chunks >= first.chunks // 2
    assert second.embedded_chunks == second.chunks - second.reused_chunks
    searcher = IndexSearcher.open(tmp_path / "idx", embedder)
    assert searcher.store.count() == searcher.chunk_count == second.chunks
