"""Reflowed passage text: offsets shared with the stored text, column breaks joined, structure kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.display import citation_text, printed_pages, reflow

LINE = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=60)


@given(st.lists(LINE, max_size=12).map("\n".join))
def test_only_line_breaks_change_so_every_offset_is_shared(text: str) -> None:
    shown = reflow(text)
    assert len(shown) == len(text)
    for i, (a, b) in enumerate(zip(text, shown)):
        assert a == b or (a == "\n" and b == " "), i
    assert reflow(shown) == shown  # what is joined stays joined


@given(st.lists(LINE, min_size=2, max_size=12))
def test_paragraph_breaks_stay(lines: list[str]) -> None:
    text = "\n\n".join(line.replace("\n", " ") for line in lines)
    assert reflow(text).count("\n\n") == text.count("\n\n")


def test_a_pdf_column_reads_as_a_paragraph() -> None:
    text = ("2. The requested Member State shall give a decision on the request within two\n"
            "months. It may give its reply after the time limit requested, but in any\n"
            "event within one month.\n"
            "(a) where the applicant is a minor;\n"
            "(b) where the applicant has a family member:\n"
            "- a spouse,\n"
            "Article 22\n"
            "Replying to a take charge request")
    assert reflow(text) == (
        "2. The requested Member State shall give a decision on the request within two "
        "months. It may give its reply after the time limit requested, but in any "
        "event within one month.\n"
        "(a) where the applicant is a minor;\n"
        "(b) where the applicant has a family member:\n"
        "- a spouse,\n"
        "Article 22 Replying to a take charge request")
    highlight = text.index("but in any"), text.index("one month.") + len("one month.")
    assert reflow(text)[slice(*highlight)] == "but in any event within one month."


def test_printed_pages_join_labels_and_spreads() -> None:
    assert printed_pages("38", "38") == "38"
    assert printed_pages("38", "39") == "38–39"
    assert printed_pages("36–37", "36–37") == "36–37"  # one spread
    assert printed_pages("36–37", "38–39") == "36–39"  # across two spreads
    assert printed_pages(None, None) is None
    assert printed_pages(None, "5") == "5"


def test_a_citation_line_leads_with_the_short_title() -> None:
    assert citation_text("Dublin III Regulation (EU) No 604/2013",
                         "Chapter III > Article 7 Hierarchy of criteria", "38", 8, 8) == (
        "Dublin III Regulation (EU) No 604/2013, Chapter III > Article 7 Hierarchy of "
        "criteria, p. 38 (PDF page 8)")
    assert citation_text("ECHR", "Article 4", "36–39", 20, 21) == \
        "ECHR, Article 4, pp. 36–39 (PDF pages 20–21)"
    assert citation_text("UDHR", "", None, 3, 3) == "UDHR, PDF page 3 (no printed page number)"
    assert citation_text("IRPA", "s. 97", None, None, None) == "IRPA, s. 97"
