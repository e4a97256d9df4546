"""Understanding a question: named instruments, provision references and their chunks, once."""

from __future__ import annotations

import pytest

from index.searcher import ChunkFilter
from service.ranking.understand import understand
from tests.service.ranking.ranking_helpers import PROTOCOL_4, USC_13


def sections_of(searcher, chunk_ids):
    found = searcher.chunks.chunks(chunk_ids)
    return [(found[c].document_id, found[c].section) for c in chunk_ids]


def test_a_named_article_points_at_its_chunks_in_the_named_instrument(context, searcher):
    ctx = context("Article 4 of Protocol No. 4: collective expulsion")
    assert ctx.named == (PROTOCOL_4,)
    assert [r.text for r in ctx.references] == ["Article 4"]
    assert ctx.provision_chunk_ids
    for document_id, section in sections_of(searcher, ctx.provision_chunk_ids):
        assert document_id == PROTOCOL_4 and section[-1].startswith("Article 4 ")


def test_an_article_without_an_instrument_points_nowhere(context):
    ctx = context("What does Article 4 say about expulsion?")
    assert ctx.named == () and len(ctx.references) == 1
    assert ctx.provision_chunk_ids == ()
    assert ctx.preferred is None


def test_a_code_section_alone_is_looked_for_in_us_documents(context, searcher):
    ctx = context("§ 1574 reports to Congress")
    assert ctx.named == () and ctx.references[0].statute_only
    found = sections_of(searcher, ctx.provision_chunk_ids)
    assert found and all(d == USC_13 and any(p.startswith("§ 1574") for p in s)
                         for d, s in found)


def test_the_preferred_subset_is_the_named_instruments_within_the_request_filter(context):
    asked = ChunkFilter.of(fields={"year": [1963]})
    ctx = context("Protocol No. 4 freedom of movement", where=asked)
    assert ctx.where is asked
    assert ctx.preferred == ChunkFilter.of([PROTOCOL_4]).within(asked)


def test_vector_and_bm25_scores_are_computed_once_and_allowed_ids_resolved_once(context,
                                                                                 searcher):
    ctx = context("freedom of movement")
    assert ctx.vector is ctx.vector and ctx.bm25_scores is ctx.bm25_scores
    assert ctx.vector.shape == (searcher.embedder.dimension,)
    where = ChunkFilter.of([PROTOCOL_4])
    assert ctx.allowed(where) is ctx.allowed(where)
    assert sorted(ctx.allowed(where).tolist()) == sorted(
        c.id for c in searcher.chunks.document_chunks(PROTOCOL_4))
    assert ctx.allowed(None) is None


def test_depth_grows_with_a_token_budget(context):
    assert context("x", k=5).depth == 5
    assert context("x", k=3, max_context_tokens=500).depth == 20
    assert context("x", k=10, max_context_tokens=500).depth == 40


def test_fetch_reads_chunks_once_and_drops_ids_not_in_the_store(context, searcher):
    from service.ranking.stages import Candidate

    ctx = context("x")
    some = [c.id for c in searcher.chunks.document_chunks(PROTOCOL_4)][:2]
    got = ctx.fetch([Candidate(some[0], 1.0), Candidate(10**9, 0.5), Candidate(some[1], 0.2)])
    assert [c.chunk_id for c in got] == some
    assert all(c.chunk is not None and c.chunk.id == c.chunk_id for c in got)
    again = ctx.fetch([Candidate(some[1], 0.1)])
    assert again[0].chunk is got[1].chunk  # from the request's cache, not read again


def test_unknown_modes_are_refused(searcher, catalogue):
    with pytest.raises(ValueError, match="unknown mode 'fuzzy'"):
        understand("x", searcher, catalogue, mode="fuzzy")
