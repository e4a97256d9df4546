"""Staged builds on FAISS: ingest workers over shards, resumed after SIGKILL, and the CLI path."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from index import staged
from index.generations import current_generation, read_manifest
from index.manifest import Fingerprint
from index.searcher import IndexSearcher
from service.ranking.pipeline import rank
from tests.index import staged_helpers as h
from tests.support import REPO, copy_documents


@pytest.fixture()
def corpus(shared_corpus, tmp_path) -> Path:
    return copy_documents(shared_corpus, tmp_path / "corpus", h.DOCUMENTS)


def _vector_file_ids(index_dir: Path) -> list[int]:
    files = sorted((staged.staged_dir(index_dir) / "vectors").rglob("batch-*.npz"))
    ids: list[int] = []
    for path in files:
        with np.load(path, allow_pickle=False) as data:
            ids.extend(int(i) for i in data["ids"])
    return ids


def test_two_workers_give_the_sequential_builds_chunks_and_answers(corpus, tmp_path, embedder):
    sequential = h.builder(tmp_path / "seq", embedder).build(corpus)
    report = h.staged_build(tmp_path / "staged", corpus, embedder, workers=2)
    assert report.generation == 1 and report.full
    assert (report.documents, report.chunks) == (sequential.documents, sequential.chunks)
    assert report.embedded_chunks == sequential.embedded_chunks == report.chunks > 50
    assert h.chunk_rows(tmp_path / "staged") == h.chunk_rows(tmp_path / "seq")
    assert h.same_answers(h.answers(tmp_path / "staged", embedder), h.answers(tmp_path / "seq", embedder))
    manifest = read_manifest(current_generation(tmp_path / "staged"))
    assert manifest.chunks == report.chunks and manifest.staged_build is not None \
        and manifest.staged_build.shards == 2
    assert not staged.staged_dir(tmp_path / "staged").exists()


@pytest.mark.parametrize("point, count", [("batch-file", 2), ("batch-partial", 3), ("encode", 4)])
def test_worker_killed_mid_shard_embeds_only_the_missing_chunks(corpus, tmp_path, embedder,
                                                               point, count):
    index_dir = tmp_path / "idx"
    staged.plan(h.builder(index_dir, embedder), corpus, shards=2)
    planned = h.plan_ids(index_dir)
    h.run_killed(index_dir, corpus, "work", point, count, h.env())
    before = _vector_file_ids(index_dir)
    assert 0 < len(before) < len(planned) and len(set(before)) == len(before)
    progress = staged.status(index_dir)
    assert progress is not None and progress["chunks_to_embed"] == len(planned)
    assert progress["per_shard"][0]["state"] == "partial"
    assert progress["per_shard"][1]["state"] == "waiting"
    counting = h.CountingEmbedder(embedder)
    again = staged.work(index_dir, counting, h.store_config(), 0, 1, embed_batch=8)
    assert again.already_done == len(before)
    assert counting.texts == again.embedded == len(planned) - len(before)
    after = _vector_file_ids(index_dir)
    assert sorted(after) == sorted(planned)  # every planned chunk exactly once
    report = staged.finish(h.builder(index_dir, embedder))
    searcher = IndexSearcher.open(index_dir, embedder)
    assert searcher.store.count() == searcher.chunk_count == report.chunks
    assert len(searcher.store.existing_ids(np.asarray(planned))) == len(planned)
    assert rank(searcher, "collective expulsion of aliens", k=1)[0].chunk.document_id == h.DOCUMENTS[0]
    searcher.close()


@pytest.mark.parametrize("step, point, count", [("plan", "read", 3), ("finish", "renamed", 1)])
def test_killed_coordinator_resumes_with_the_same_command(corpus, tmp_path, embedder, step,
                                                          point, count):
    index_dir = tmp_path / "idx"
    if step == "finish":
        staged.plan(h.builder(index_dir, embedder), corpus, shards=2)
        for i in range(2):
            staged.work(index_dir, embedder, h.store_config(), i, 2)
    h.run_killed(index_dir, corpus, step, point, count, h.env())
    assert staged.staged_dir(index_dir).exists()
    if step == "plan":
        assert staged.read_plan(index_dir) is None  # no plan: a dead coordinator's folder
        staged.plan(h.builder(index_dir, embedder), corpus, shards=2)
        for i in range(2):
            staged.work(index_dir, embedder, h.store_config(), i, 2)
    report = staged.finish(h.builder(index_dir, embedder))
    assert report.generation == 1 and report.chunks > 50
    assert not staged.staged_dir(index_dir).exists()
    searcher = IndexSearcher.open(index_dir, embedder)
    assert searcher.store.count() == searcher.chunk_count == report.chunks
    searcher.close()


def test_incremental_staged_build_after_one_document_changes(corpus, tmp_path, embedder):
    h.builder(tmp_path / "staged", embedder).build(corpus)
    shutil.copytree(tmp_path / "staged", tmp_path / "seq")
    changed = corpus / h.DOCUMENTS[1]
    changed.write_text(changed.read_text() + h.LIGHTHOUSE)
    sequential = h.builder(tmp_path / "seq", embedder).build(corpus)
    report = h.staged_build(tmp_path / "staged", corpus, embedder, workers=2)
    assert not report.full and report.generation == 2
    assert report.read_documents == 1 and report.unchanged_documents == 3
    assert 1 <= report.embedded_chunks <= 3 and report.reused_chunks >= 10
    for field in ("chunks", "embedded_chunks", "reused_chunks", "deleted_chunks"):
        assert getattr(report, field) == getattr(sequential, field), field
    assert h.chunk_rows(tmp_path / "staged") == h.chunk_rows(tmp_path / "seq")
    assert h.same_answers(h.answers(tmp_path / "staged", embedder), h.answers(tmp_path / "seq", embedder))
    searcher = IndexSearcher.open(tmp_path / "staged", embedder)
    top = rank(searcher, "maintaining lighthouses for ships in distress", k=1, mode="dense")
    assert "lighthouses" in top[0].chunk.text
    searcher.close()


def _cli(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "service.cli", *args], env=h.env(), cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    if check:
        assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_cli_workers_killed_resumed_and_step_by_step(corpus, tmp_path, embedder):
    index_dir = tmp_path / "idx"
    where = ["--index-dir", str(index_dir)]
    build = ["index", "build", "--corpus", str(corpus), *where, "--json", "--workers", "2"]
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", *build], env=h.env(), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    progress = staged.staged_dir(index_dir) / "progress"
    deadline = time.monotonic() + 120
    while not (progress.exists() and any(progress.glob("*.json"))) and proc.poll() is None:
        assert time.monotonic() < deadline, "the workers never started"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and both workers
    proc.wait()
    assert current_generation(index_dir) is None

    # A plain build refuses to destroy the pending staged build, and says what to do instead.
    refused = _cli(["index", "build", "--corpus", str(corpus), *where], check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("policyqa: error: a staged build is pending")
    assert "--workers N" in refused.stderr and "index abandon" in refused.stderr
    status = json.loads(_cli(["index", "status", *where, "--json"]).stdout)
    assert status["generation"] is None and status["staged_build"]["shards"] == 2
    assert len(status["staged_build"]["per_shard"]) == 2

    first = json.loads(_cli(build).stdout)  # the same command again: resumes
    assert first["generation"] == 1 and first["chunks"] == first["embedded_chunks"] > 50
    assert not staged.staged_dir(index_dir).exists()

    # Step by step, as on several machines: plan, each worker, finish.
    changed = corpus / h.DOCUMENTS[1]
    changed.write_text(changed.read_text() + h.LIGHTHOUSE)
    _cli(["index", "plan", "--corpus", str(corpus), *where, "--shards", "3"])
    not_yet = _cli(["index", "finish", *where], check=False)
    assert not_yet.returncode == 2 and "not fully embedded" in not_yet.stderr
    bad = _cli(["index", "work", "--worker", "2", "--of", "2", *where], check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("policyqa: error: --worker")
    workers = [json.loads(_cli(["index", "work", "--worker", str(i), "--of", "2", *where,
                                "--json"]).stdout) for i in range(2)]
    assert [w["shards"] for w in workers] == [[0, 2], [1]]
    assert sum(w["embedded"] for w in workers) >= 1
    second = json.loads(_cli(["index", "finish", *where, "--json"]).stdout)
    assert second["generation"] == 2 and second["embedded_chunks"] == sum(
        w["embedded"] for w in workers)
    searcher = IndexSearcher.open(index_dir, embedder)
    assert searcher.store.count() == searcher.chunk_count == second["chunks"]
    searcher.close()


def _as_planned_before_fields(index_dir: Path) -> None:
    """Rewrites a pending plan as the version before store formats and chunk fields wrote it."""
    root = staged.staged_dir(index_dir)
    plan = json.loads((root / "plan.json").read_text())
    del plan["fingerprint"]["store_format"]
    (root / "plan.json").write_text(json.dumps(plan))
    for path in (root / "shards").glob("shard-*.jsonl"):
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({k: v for k, v in row.items() if k != "fields"}) + "\n"
                                for row in rows))


def test_a_plan_from_before_chunk_fields_still_completes_on_faiss(corpus, tmp_path, embedder):
    coordinator = h.builder(tmp_path / "idx", embedder)
    staged.plan(coordinator, corpus, shards=2)
    _as_planned_before_fields(tmp_path / "idx")
    for i in range(2):
        staged.work(tmp_path / "idx", embedder, h.store_config(), i, 2, embed_batch=16)
    report = staged.finish(coordinator)
    assert report.embedded_chunks == report.chunks > 50


def test_a_milvus_worker_refuses_a_plan_of_another_store_format():
    planned = Fingerprint.from_dict({"model": "m", "dimension": 384, "chunking": "c",
                                     "store": "milvus"})
    mine = replace(planned, store_format=2)
    with pytest.raises(staged.BuildError, match="store_format 1.*index abandon"):
        staged._check_fingerprint(planned, mine, "worker")
    staged._check_fingerprint(mine, mine, "worker")  # the same: accepted
