"""The fuse stage: the retrievers' candidate rankings combined by reciprocal rank fusion."""

from __future__ import annotations

import pytest

from index.fusion import reciprocal_rank_fusion
from service.ranking.candidates import ranked
from service.ranking.fuse import Fuse, fuse
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
    assert stage.to_dict() == {"name": "fuse", "k": 10}
    assert stage.run(context("x"), candidates)[0].score == pytest.approx(1 / 11 + 1 / 12)
    with pytest.raises(StageError, match="k must be a positive integer"):
        Fuse.from_dict({"k": "sixty"})


def test_nothing_fuses_to_nothing():
    assert fuse([]) == []
