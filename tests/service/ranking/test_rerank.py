"""The rerank slot: a Reranker subclass reorders the best candidates by its own scores."""

from __future__ import annotations

import pytest

from service.ranking.candidates import Candidates
from service.ranking.fuse import fuse
from service.ranking.pipeline import Pipeline
from service.ranking.rerank import Reranker
from service.ranking.stages import Candidate, QueryContext, StageError


class ShortestFirst(Reranker):
    """A real (if naive) reranker: shorter passages first."""

    name = "shortest-first"

    def scores(self, ctx: QueryContext, candidates: list[Candidate]) -> list[float]:
        return [-len(c.chunk.text) for c in candidates]


class Miscounting(Reranker):
    name = "miscounting"

    def scores(self, ctx: QueryContext, candidates: list[Candidate]) -> list[float]:
        return [1.0]


def fused_ranking(ctx):
    return fuse(Candidates().run(ctx, []))


def test_the_head_is_reordered_by_the_new_scores_and_the_tail_kept(context):
    ctx = context("expulsion of aliens", k=3)
    before = fused_ranking(ctx)
    after = ShortestFirst(depth=6).run(ctx, before)
    head = after[:6]
    assert {c.chunk_id for c in head} == {c.chunk_id for c in before[:6]}
    lengths = [len(c.chunk.text) for c in head]
    assert lengths == sorted(lengths)
    assert [c.score for c in head] == [-n for n in lengths]
    assert {c.source for c in head} == {"shortest-first"}
    assert after[6:] == before[6:]


def test_a_reranker_in_the_pipeline_decides_the_answer(context):
    pipeline = Pipeline([*Pipeline.default().stages[:3], ShortestFirst(),
                         *Pipeline.default().stages[3:]])
    ctx = context("expulsion of aliens", k=3)
    got = pipeline.run(ctx)
    lengths = [len(c.chunk.text) for c in got]
    assert lengths == sorted(lengths) and len(got) == 3


def test_a_reranker_must_score_every_candidate(context):
    ctx = context("expulsion", k=2)
    with pytest.raises(StageError, match="gave 1 scores for"):
        Miscounting(depth=4).run(ctx, fused_ranking(ctx))


def test_depth_round_trips():
    assert ShortestFirst.from_dict({"name": "shortest-first", "depth": 9}).to_dict() == {
        "name": "shortest-first", "depth": 9}
