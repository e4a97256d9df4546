"""The fuse stage: the retrievers' candidate rankings combined by reciprocal rank fusion, the
dense rankings weighed by the question's shape."""

from __future__ import annotations

import pytest

from index.fusion import reciprocal_rank_fusion
from service.ranking.candidates import ranked
from service.ranking.fuse import DENSE_WEIGHTS, Fuse, fuse
from service.ranking.stages import FUSED, StageError
from tests.service.ranking.ranking_helpers import ids


def test_fusion_is_rrf_over_one_ranking_per_source():
    candidates = ranked("dense", [1, 2, 3]) + ranked("lexical", [3, 1])
    fused = fuse(candidates)
    assert [(c.chunk_id, c.score) for c in fused] == reciprocal_rank_fusion([[1, 2, 3], [3, 1]])
    assert ids(fused) == [1, 3, 2]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62)
    assert {c.source for c in fused} == {FUSED}


def test_ties_follow_the_order_sources_first_appear():
    # 7 and 8 score alike; whichever ranking came first decides.
    assert ids(fuse(ranked("dense", [7]) + ranked("lexical", [8]))) == [7, 8]
    assert ids(fuse(ranked("lexical", [8]) + ranked("dense", [7]))) == [8, 7]


def test_sources_need_not_be_contiguous():
    mixed = [*ranked("dense", [1]), *ranked("lexical", [2]), *ranked("dense", [5, 6])[1:]]
    # dense is [1, 6] (rank 2 for 6), lexical [2]
    assert dict((c.chunk_id, c.score) for c in fuse(mixed)) == pytest.approx(
        {1: 1 / 61, 2: 1 / 61, 6: 1 / 62})


def test_the_constant_is_a_parameter(context):
    candidates = ranked("dense", [1, 2]) + ranked("lexical", [2, 1])
    assert fuse(candidates, k=1)[0].score == pytest.approx(1 / 2 + 1 / 3)
    stage = Fuse.from_dict({"name": "fuse", "k": 10})
    assert stage.to_dict() == {"name": "fuse", "k": 10, **{
        f"dense_{shape}": weight for shape, weight in DENSE_WEIGHTS.items()}}
    keyword = DENSE_WEIGHTS["keyword"]  # "asylum" is a keyword query: 2 (lexical 1st) wins
    assert stage.run(context("asylum"), candidates)[0].score == pytest.approx(
        1 / 11 + keyword / 12)
    with pytest.raises(StageError, match="k must be a positive integer"):
        Fuse.from_dict({"k": "sixty"})


def test_dense_rankings_weigh_more_for_a_natural_language_question(context):
    dense, lexical = [1, 2, 3], [3, 2, 1]
    candidates = (ranked("dense", dense) + ranked("lexical", lexical)
                  + ranked("dense:named", [2]) + ranked("lexical:named", [3]))
    question = context("Who may be expelled from a territory?")
    keyword = context("expulsion territory nationals")
    provision = context("Article 3 of Protocol No. 4")
    assert (question.shape, keyword.shape, provision.shape) == ("question", "keyword",
                                                                 "provision")
    stage = Fuse(dense_question=2.0, dense_keyword=1.0, dense_provision=0.5)
    assert dict((c.chunk_id, c.score) for c in stage.run(question, candidates)) == pytest.approx(
        {1: 2 / 61 + 1 / 63, 2: 2 / 62 + 1 / 62 + 2 / 61, 3: 2 / 63 + 1 / 61 + 1 / 61})
    # Equal weights: the lexical first place and its named vote carry 3 over 2.
    assert ids(stage.run(keyword, candidates)) == [3, 2, 1]
    assert ids(stage.run(provision, candidates)) == [3, 2, 1]
    # Weighed up, dense's first place overtakes the lexical one: 1 before 3 without the votes.
    unnamed = ranked("dense", dense) + ranked("lexical", lexical)
    assert ids(fuse(unnamed, dense_weight=1.0)) == [1, 3, 2]  # tie broken by first appearance
    assert ids(fuse(unnamed, dense_weight=2.0)) == [1, 2, 3]
    assert ids(fuse(unnamed, dense_weight=0.5)) == [3, 2, 1]


@pytest.mark.parametrize("value", [0, -1.0, "2", True, float("nan"), float("inf")])
def test_a_dense_weight_is_a_positive_finite_number(value):
    with pytest.raises(StageError, match="dense_question must be a positive number"):
        Fuse.from_dict({"name": "fuse", "dense_question": value})


def test_weights_read_back_from_settings():
    stage = Fuse.from_dict({"name": "fuse", "dense_keyword": 3, "dense_provision": 0.25})
    assert stage.dense_weights == {"question": DENSE_WEIGHTS["question"], "keyword": 3.0,
                                   "provision": 0.25}
    assert Fuse.from_dict(stage.to_dict()).to_dict() == stage.to_dict()


def test_nothing_fuses_to_nothing():
    assert fuse([]) == []
