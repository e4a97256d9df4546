"""The cite stage: passages with highlights inside their text and citations of their chunks."""

from __future__ import annotations

import pytest

from service.ranking.candidates import ranked
from service.ranking.cite import Cite
from service.ranking.stages import Candidate, StageError
from tests.service.ranking.ranking_helpers import PROTOCOL_4


def test_passages_are_ranked_scored_highlighted_and_cited(context, searcher):
    ctx = context("Can aliens be expelled collectively?", k=3)
    chunk_ids = [c.id for c in searcher.chunks.document_chunks(PROTOCOL_4)][:4]
    candidates = [Candidate(cid, 0.1234567 - i / 100) for i, cid in enumerate(chunk_ids)]
    out = Cite().run(ctx, candidates)
    assert [c.chunk_id for c in out] == chunk_ids[:3]  # the first k
    titles = {d.id: d.title for d in searcher.documents}
    for rank, c in enumerate(out, 1):
        p = c.passage
        assert p is not None and p.rank == rank and p.text == c.chunk.text
        assert p.score == round(c.score, 6)
        assert p.citation.document_id == p.citation.source_path == PROTOCOL_4
        assert p.citation.title == titles[PROTOCOL_4]
        assert p.citation.section == c.chunk.section_label
        assert (p.citation.char_start, p.citation.char_end) == (c.chunk.char_start,
                                                                c.chunk.char_end)
        assert 1 <= len(p.highlights) <= 3
        assert all(0 <= s < e <= len(p.text) for s, e in p.highlights)
    assert out[0].passage.score == 0.123457


def test_the_collective_expulsion_sentence_is_highlighted(context, searcher):
    ctx = context("collective expulsion of aliens is prohibited", k=1)
    article_4 = next(c for c in searcher.chunks.document_chunks(PROTOCOL_4)
                     if c.section[-1].startswith("Article 4 "))
    p = Cite().run(ctx, [Candidate(article_4.id, 1.0)])[0].passage
    marked = " ".join(p.text[s:e] for s, e in p.highlights).lower()
    assert "collective expulsion of aliens is prohibited" in marked


def test_highlights_per_passage_is_a_parameter(context):
    ctx = context("Protocol expulsion movement territory Convention", k=5)
    candidates = ranked("lexical", ctx.searcher.lexical_ids(ctx.bm25_scores, 5))
    one = Cite.from_dict({"name": "cite", "highlights": 1}).run(ctx, candidates)
    assert one and all(len(c.passage.highlights) == 1 for c in one)
    assert Cite(highlights=2).to_dict() == {"name": "cite", "highlights": 2}
    with pytest.raises(StageError):
        Cite.from_dict({"highlights": -1})
