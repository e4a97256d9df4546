"""The boost stage: a named provision's chunks first, in ranked order, scored above the rest."""

from __future__ import annotations

import pytest

from service.ranking.boost import BOOSTED, STEP, Boost, boost
from service.ranking.stages import Candidate, StageError
from tests.service.ranking.ranking_helpers import fetched, ids


def fused(*pairs: tuple[int, float]) -> list[Candidate]:
    return [Candidate(cid, score) for cid, score in pairs]


def test_provision_chunks_go_first_in_the_order_the_ranking_had_them():
    ranking = fused((1, 0.05), (2, 0.04), (3, 0.03), (4, 0.02))
    out = boost(ranking, [4, 2])
    assert ids(out) == [2, 4, 1, 3]
    assert [c.score for c in out] == [pytest.approx(1.05), pytest.approx(1.05 - STEP), 0.05, 0.03]
    assert [c.source for c in out[:2]] == [BOOSTED, BOOSTED]


def test_provision_chunks_the_ranking_lacked_come_after_those_it_had_in_their_order():
    out = boost(fused((1, 0.05), (2, 0.04)), [9, 2, 8])
    assert ids(out) == [2, 9, 8, 1]
    assert out[0].score > out[1].score > out[2].score > out[3].score


def test_chunks_outside_the_request_filter_are_not_boosted():
    out = boost(fused((1, 0.05), (2, 0.04)), [2, 7], allowed={1, 2})
    assert ids(out) == [2, 1]
    assert ids(boost(fused((1, 0.05)), [7], allowed=set())) == [1]


def test_a_boosted_candidate_keeps_its_fetched_chunk():
    ranking = [fetched(1, 0.05), fetched(2, 0.04, text="Article 33")]
    out = boost(ranking, [2])
    assert out[0].chunk is ranking[1].chunk


def test_an_empty_ranking_still_gets_the_provision_first():
    assert [(c.chunk_id, c.score) for c in boost([], [5])] == [(5, 1.0)]


def test_without_provisions_nothing_moves():
    ranking = fused((1, 0.05), (2, 0.04))
    assert boost(ranking, []) == ranking


def test_boost_has_no_parameters():
    assert Boost.from_dict({"name": "boost"}).to_dict() == {"name": "boost"}
    with pytest.raises(StageError, match="'boost' takes no parameters, not 'weight'"):
        Boost.from_dict({"name": "boost", "weight": 2})
