"""The candidates stage: one ranking per retriever, over the filter and the named instruments."""

from __future__ import annotations

import pytest

from index.searcher import ChunkFilter
from service.ranking.candidates import Candidates
from service.ranking.stages import StageError
from tests.service.ranking.ranking_helpers import PROTOCOL_4, REFUGEE_PROTOCOL


def rankings(candidates):
    out: dict[str, list[int]] = {}
    for c in candidates:
        out.setdefault(c.source, []).append(c.chunk_id)
    return out


def test_hybrid_ranks_dense_then_lexical_as_the_searcher_does(context, searcher):
    ctx = context("collective expulsion of aliens")
    found = Candidates(depth=10).run(ctx, [])
    by_source = rankings(found)
    assert list(by_source) == ["dense", "lexical"]
    assert by_source["dense"] == searcher.dense(ctx.vector, 10)
    assert by_source["lexical"] == searcher.lexical_ids(ctx.bm25_scores, 10)
    assert [c.score for c in found[:3]] == [1.0, 0.5, pytest.approx(1 / 3)]


@pytest.mark.parametrize("mode, sources", [("dense", ["dense"]), ("lexical", ["lexical"])])
def test_single_modes_use_one_retriever(context, mode, sources):
    assert list(rankings(Candidates().run(context("expulsion", mode=mode), []))) == sources


def test_named_instruments_get_their_own_rankings_within_the_filter(context, searcher):
    ctx = context("Protocol No. 4 freedom of movement")
    by_source = rankings(Candidates().run(ctx, []))
    assert list(by_source) == ["dense", "lexical", "dense:named", "lexical:named"]
    named = {c.id for c in searcher.chunks.document_chunks(PROTOCOL_4)}
    assert set(by_source["dense:named"]) == set(by_source["lexical:named"]) == named
    assert set(by_source["dense"]) - named  # the whole index still ranks too


def test_the_request_filter_holds_in_every_ranking(context, searcher):
    ctx = context("Protocol No. 4 expulsion", where=ChunkFilter.of([REFUGEE_PROTOCOL]))
    allowed = {c.id for c in searcher.chunks.document_chunks(REFUGEE_PROTOCOL)}
    by_source = rankings(Candidates().run(ctx, []))
    assert by_source["dense"] and set(by_source["dense"]) <= allowed
    assert set(by_source["lexical"]) <= allowed
    # named, but outside the filter: its rankings are empty, not a way around the filter
    assert not by_source.get("dense:named") and not by_source.get("lexical:named")


def test_depth_is_at_least_what_the_answer_needs(context):
    assert len(rankings(Candidates(depth=3).run(context("expulsion", mode="dense"), []))["dense"]) == 5
    assert len(rankings(Candidates(depth=7).run(context("expulsion", mode="dense"), []))["dense"]) == 7


def test_parameters_round_trip_and_are_checked():
    assert Candidates.from_dict(Candidates(depth=40).to_dict()).depth == 40
    assert Candidates.from_dict({"name": "candidates"}).depth == 100
    with pytest.raises(StageError, match="depth must be a positive integer"):
        Candidates.from_dict({"depth": 0})
    with pytest.raises(StageError, match="takes depth, expand, not 'width'"):
        Candidates.from_dict({"width": 3})
    assert Candidates.from_dict({"expand": True}).to_dict() == {
        "name": "candidates", "depth": 100, "expand": True}
    with pytest.raises(StageError, match="expand must be true or false, not 1"):
        Candidates.from_dict({"expand": 1})


def test_expansion_adds_the_other_names_of_a_legal_term(context):
    ctx = context("Can a minor be deported?", mode="lexical")
    assert ctx.expanded_bm25_scores is not ctx.bm25_scores
    added = ctx.expanded_bm25_scores - ctx.bm25_scores
    assert (added >= 0).all() and added.max() > 0  # chunks saying "expulsion", "child", ...
    plain = context("collective expulsion of aliens", mode="lexical")
    assert plain.expanded_bm25_scores is not plain.bm25_scores  # "aliens" has other names
    none = context("the weather in Strasbourg", mode="lexical")
    assert none.expanded_bm25_scores is none.bm25_scores
    # Protocol No. 4 says "expulsion", never "deported" or "minor": only the expansion finds it.
    unexpanded = rankings(Candidates().run(context("Can a minor be deported?", mode="lexical"),
                                           [])).get("lexical", [])
    expanded = rankings(Candidates(expand=True).run(ctx, []))["lexical"]
    assert len(expanded) > len(unexpanded)
