"""The diversify stage (not in the default pipeline): one document does not fill the top."""

from __future__ import annotations

import pytest

from service.ranking.diversify import Diversify, spread
from service.ranking.pipeline import Pipeline
from service.ranking.stages import Candidate, StageError
from tests.service.ranking.ranking_helpers import fetched, ids


def test_a_documents_candidates_beyond_the_limit_move_behind_the_others():
    ranking = [fetched(1, document_id="a"), fetched(2, document_id="a"),
               fetched(3, document_id="a"), fetched(4, document_id="b"),
               fetched(5, document_id="a"), fetched(6, document_id="c")]
    assert ids(spread(ranking, 2)) == [1, 2, 4, 6, 3, 5]
    assert ids(spread(ranking, 1)) == [1, 4, 6, 2, 3, 5]
    assert ids(spread(ranking, 5)) == [1, 2, 3, 4, 5, 6]


def test_spread_needs_fetched_candidates():
    with pytest.raises(ValueError, match="not fetched"):
        spread([Candidate(1, 1.0)], 1)


def test_parameters_round_trip():
    stage = Diversify.from_dict({"name": "diversify", "per_document": 1})
    assert stage.to_dict() == {"name": "diversify", "per_document": 1, "window": 50}
    with pytest.raises(StageError, match="per_document must be a positive integer"):
        Diversify.from_dict({"per_document": True})


def test_on_a_real_index_the_top_spans_documents(context):
    ctx = context("expulsion of aliens", k=3)
    plain = Pipeline.default().run(ctx)
    diverse = Pipeline.from_settings(["candidates", "fuse", "boost",
                                      {"name": "diversify", "per_document": 1}, "budget", "cite"])
    spread_out = diverse.run(context("expulsion of aliens", k=3))
    assert len({c.chunk.document_id for c in plain}) < 3  # one document fills the plain top
    assert len({c.chunk.document_id for c in spread_out}) == 3
