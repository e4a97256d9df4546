"""Tolerant quote location and offset alignment between a reader's text and its file."""

from __future__ import annotations

from pathlib import Path

from eval.matching import OffsetAligner, QuoteLocator, locate_quote, skeleton
from ingest.readers.text import TextReader

DOC = ("Article 1\n\nFor the purposes of this Convention, the term \u201crefugee\u201d shall "
       "apply to any person who, owing to well-founded fear of being perse-\ncuted for reasons "
       "of race, religion, nationality, member\u00adship of a particular social group.\n")


def _found(text: str, quote: str) -> str:
    m = locate_quote(text, quote)
    assert m is not None, quote
    return text[m.start:m.end]


def test_exact_and_whitespace_differences() -> None:
    got = _found(DOC, "the term  \u201crefugee\u201d\nshall apply")
    assert got == "the term \u201crefugee\u201d shall apply"


def test_curly_versus_straight_quotes() -> None:
    assert _found(DOC, 'the term "refugee" shall') == "the term \u201crefugee\u201d shall"


def test_line_break_hyphenation_and_soft_hyphens() -> None:
    assert _found(DOC, "being persecuted for reasons").startswith("being perse-\ncuted")
    assert _found(DOC, "membership of a particular social group") \
        == "member\u00adship of a particular social group"


def test_markdown_markup_and_case() -> None:
    assert _found(DOC, "**For the purposes** of _this_ Convention") \
        == "For the purposes of this Convention"
    assert _found(DOC, "FOR THE PURPOSES OF THIS CONVENTION") == "For the purposes of this Convention"


def test_ligatures_are_normalized() -> None:
    text = "The State shall notify the Secretary-General of the de\ufb01nition adopted."
    assert _found(text, "notify the Secretary-General of the definition") \
        == "notify the Secretary-General of the de\ufb01nition"


def test_fuzzy_fallback_for_a_footnote_marker() -> None:
    text = ("Preamble. " * 50 + "a structured group of three or more persons,12 existing for a "
            "period of time and acting in concert" + " Other words." * 50)
    m = QuoteLocator(text).locate("a structured group of three or more persons, existing for a "
                                  "period of time and acting in concert")
    assert m is not None and m.method == "fuzzy" and m.coverage >= 0.9
    assert text[m.start:m.end].startswith("a structured group")
    assert text[m.start:m.end].endswith("acting in concert")


def test_unrelated_quote_is_not_found() -> None:
    assert locate_quote(DOC, "the extradition of nationals is refused by every State") is None
    assert locate_quote(DOC, "...") is None


def test_occurrences_are_counted() -> None:
    m = locate_quote("one two. one two.", "one two")
    assert m is not None and m.occurrences == 2 and m.start == 0


def test_skeleton_offsets_point_into_the_source() -> None:
    s = skeleton("A-b  c")
    assert s.text == "abc" and s.offsets == [0, 2, 5]


def test_offset_aligner_maps_the_text_reader_back_to_file_offsets(tmp_path: Path) -> None:
    raw = ("\ufeffNON-DISCLOSURE AGREEMENT\r\n\r\n\r\n  1. Definitions   \r\n"
           "Confidential Information means   all data.\r\n\r\n2. Term\r\nThis lasts two years.  ")
    path = tmp_path / "nda.txt"
    path.write_bytes(raw.encode("utf-8"))
    extracted = TextReader().read(path).text
    assert extracted != raw  # the reader does move offsets
    original = path.read_bytes().decode("utf-8")
    aligner = OffsetAligner(extracted, original)
    assert aligner.identical_skeleton
    for phrase in ("Confidential Information means", "This lasts two years.", "2. Term"):
        s = extracted.index(phrase)
        start, end = aligner.span(s, s + len(phrase))
        assert original[start:end] == phrase
    # A span over a collapsed gap maps to the whole gap in the file.
    s, e = extracted.index("all data."), extracted.index("2. Term") + 2
    start, end = aligner.span(s, e)
    assert original[start:end] == "all data.\r\n\r\n2."


def test_offset_aligner_counts_changed_characters() -> None:
    aligner = OffsetAligner("abXd", "abcd")
    assert aligner.mismatches == 1 and not aligner.identical_skeleton
