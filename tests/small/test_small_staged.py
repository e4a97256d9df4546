"""Staged builds (plan, two workers, finish) over the inline corpus match the one-process build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from index import staged
from index.builder import BuildError
from tests.inline_corpus import DOCUMENTS, EXTRADITION_ACT, REFUGEE
from tests.small import helpers as h
from tests.small_embedder import RecordingEmbedder
from tests.small_store import StoreConfig
from tests.support import REPO

MODES = ("hybrid", "dense", "lexical")
STORE = StoreConfig()  # the builder's default store (FAISS), which the workers must name too

# A worker in its own process, as `policyqa index work` runs one, with the small embedder.
WORKER = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from index.staged import work\n"
    "from index.stores.base import StoreConfig\n"
    "from tests.small_embedder import HashingEmbedder\n"
    "r = work(Path(sys.argv[1]), HashingEmbedder(), StoreConfig(kind=sys.argv[2]),\n"
    "         int(sys.argv[3]), int(sys.argv[4]))\n"
    "print(json.dumps({'shards': r.shards, 'chunks': r.chunks, 'embedded': r.embedded,\n"
    "                  'already_done': r.already_done}))\n")


def _answers(index_dir: Path, corpus: Path, embedder) -> dict[tuple[str, str], list]:
    """Every question's ranked citations and scores in every mode: what must not change."""
    engine = h.engine(index_dir, corpus, embedder)
    answers = {}
    for question, _ in h.QUESTIONS:
        for mode in MODES:
            answer = engine.ask(question, k=5, mode=mode)
            answers[question, mode] = list(zip(h.ranked(answer),
                                               [p.score for p in answer.passages]))
    return answers


def _one_process_answers(corpus: Path, index_dir: Path, embedder) -> dict:
    report = h.build(index_dir, corpus, embedder)
    assert report.chunks == report.embedded_chunks
    return _answers(index_dir, corpus, embedder)


def test_plan_two_workers_finish_gives_the_one_process_index(inline_corpus, tmp_path,
                                                             small_embedder):
    index_dir = tmp_path / "staged"
    builder = h.builder(index_dir, small_embedder)
    staged.plan(builder, inline_corpus, shards=3)
    assert not (index_dir / "CURRENT").exists()  # nothing is live before finish

    first = staged.work(index_dir, small_embedder, STORE, 0, 2)
    second = staged.work(index_dir, small_embedder, STORE, 1, 2)
    assert (first.shards, second.shards) == ([0, 2], [1])
    assert first.embedded + second.embedded == h.INLINE_CHUNKS
    assert first.already_done == second.already_done == 0
    assert first.embedded == first.chunks and second.embedded == second.chunks > 0

    # Run again (as after a crash), a worker finds every vector of its shards and embeds none.
    recorder = RecordingEmbedder()
    again = staged.work(index_dir, recorder, STORE, 0, 2)
    assert again.embedded == 0 and again.already_done == first.chunks
    assert recorder.encoded == []

    report = staged.finish(builder)
    assert report.documents == len(DOCUMENTS) and report.chunks == h.INLINE_CHUNKS
    assert report.embedded_chunks == h.INLINE_CHUNKS and report.generation == 1
    assert h.current_name(index_dir) == "gen-000001"
    assert not (index_dir / "staged").exists()

    expected = _one_process_answers(inline_corpus, tmp_path / "one", small_embedder)
    got = _answers(index_dir, inline_corpus, small_embedder)
    assert got == expected
    assert all(got[q, mode][0][0][0] == doc for q, doc in h.QUESTIONS for mode in MODES)


def test_finish_refuses_a_plan_whose_shards_are_not_all_embedded(inline_corpus, tmp_path,
                                                                 small_embedder):
    index_dir = tmp_path / "staged"
    builder = h.builder(index_dir, small_embedder)
    staged.plan(builder, inline_corpus, shards=2)
    staged.work(index_dir, small_embedder, STORE, 0, 2)
    with pytest.raises(BuildError, match="shard 1 misses"):
        staged.finish(builder)
    assert not (index_dir / "CURRENT").exists()
    staged.work(index_dir, small_embedder, STORE, 1, 2)
    assert staged.finish(builder).chunks == h.INLINE_CHUNKS


def test_staged_rebuild_after_an_edit_embeds_only_the_edited_chunk(inline_corpus, tmp_path,
                                                                   small_embedder):
    index_dir = tmp_path / "staged"
    h.build(index_dir, inline_corpus, small_embedder)  # generation 1, in one process
    act = inline_corpus / EXTRADITION_ACT
    act.write_text(act.read_text().replace("a maximum term of two years",
                                           "a maximum term of three years"))
    (inline_corpus / REFUGEE).unlink()

    builder = h.builder(index_dir, small_embedder)
    staged.plan(builder, inline_corpus, shards=2)
    recorders = [RecordingEmbedder(), RecordingEmbedder()]
    reports = [staged.work(index_dir, recorders[i], STORE, i, 2) for i in range(2)]
    encoded = recorders[0].encoded + recorders[1].encoded
    assert sum(r.embedded for r in reports) == 1 == len(encoded)
    assert "three years" in encoded[0]

    report = staged.finish(builder)
    assert report.generation == 2 and h.current_name(index_dir) == "gen-000002"
    assert report.removed_documents == 1 and report.documents == len(DOCUMENTS) - 1
    expected = _one_process_answers(inline_corpus, tmp_path / "one", small_embedder)
    assert _answers(index_dir, inline_corpus, small_embedder) == expected


def test_workers_in_their_own_processes_at_once(inline_corpus, tmp_path, small_embedder):
    index_dir = tmp_path / "staged"
    builder = h.builder(index_dir, small_embedder)
    staged.plan(builder, inline_corpus, shards=4)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(index_dir), STORE.kind, str(i),
                                 "2"],
                                cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for i in range(2)]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["shards"] for r in results] == [[0, 2], [1, 3]]
    assert sum(r["embedded"] for r in results) == h.INLINE_CHUNKS
    assert all(r["already_done"] == 0 and r["embedded"] == r["chunks"] for r in results)

    assert staged.finish(builder).chunks == h.INLINE_CHUNKS
    expected = _one_process_answers(inline_corpus, tmp_path / "one", small_embedder)
    assert _answers(index_dir, inline_corpus, small_embedder) == expected
