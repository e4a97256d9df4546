"""Reciprocal rank fusion and sentence highlights, on hand-checked cases."""

from __future__ import annotations

import pytest

from index.fusion import reciprocal_rank_fusion
from ingest.sentences import line_sentence_spans
from service.highlights import highlight


def test_rrf_scores_and_order():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    scores = dict(fused)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)
    assert [i for i, _ in fused] == [1, 3, 2]


def test_rrf_ties_keep_first_seen_order_and_weights_apply():
    assert [i for i, _ in reciprocal_rank_fusion([[7, 8], [8, 7]])] == [7, 8]
    weighted = reciprocal_rank_fusion([[7, 8], [8, 7]], weights=[1.0, 2.0])
    assert [i for i, _ in weighted] == [8, 7]
    assert reciprocal_rank_fusion([]) == []


def test_highlight_prefers_rare_shared_terms():
    text = ("Article 33 – Prohibition of expulsion. 1. No Contracting State shall expel or "
            "return a refugee to territories where his life would be threatened. 2. The "
            "benefit may not be claimed by a refugee who is a danger to security.")
    idf = {"refoul": 5.0, "threaten": 4.0, "life": 3.0, "refuge": 0.5}.get
    spans = highlight("Can a refugee be sent where his life is threatened?", text,
                      lambda t: idf(t, 1.0))
    chosen = [text[s:e] for s, e in spans]
    assert chosen[0].startswith("1. No Contracting State")
    assert all(0 <= s < e <= len(text) for s, e in spans)
    assert len(spans) <= 3


def test_highlight_falls_back_to_the_first_sentence():
    text = "First sentence here. Second one."
    assert highlight("zebra", text, lambda t: 1.0) == [(0, 20)]
    assert highlight("zebra", "", lambda t: 1.0) == []
    text = "Heading\n1. No State shall expel. 2. The benefit. See Art. 12 of the Convention."
    assert [text[s:e] for s, e in line_sentence_spans(text)] == [
        "Heading", "1. No State shall expel.", "2. The benefit.", "See Art. 12 of the Convention."]


def test_a_highlight_is_a_whole_sentence_across_column_line_breaks():
    # Dublin III Art. 21(1) as the PDF's text layer gives it: column lines, then a list item.
    text = ("1. The requested Member State may give its reply after the time limit requested, "
            "but in any\nevent within one month from the receipt of the request.\n"
            "(a) a first item\nof the list;\n2. Where the request is not made, the State "
            "shall be responsible.")
    idf = {"month": 5.0, "item": 4.0}.get
    spans = highlight("within one month", text, lambda t: idf(t, 0.0))
    assert [text[s:e] for s, e in spans] == [
        "1. The requested Member State may give its reply after the time limit requested, but "
        "in any\nevent within one month from the receipt of the request."]
    spans = highlight("item", text, lambda t: idf(t, 0.0))
    assert [text[s:e] for s, e in spans] == ["(a) a first item\nof the list;"]
