"""Markdown and plain-text readers on the real corpus files and on hand-made edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.document import DocumentReadError, ParsedText, span_at
from ingest.readers.markdown import MarkdownReader
from ingest.readers.text import TextReader, decode_text

REFOULEMENT = ("CHAPTER V \u2013 Administrative Measures",
               'Article 33 \u2013 Prohibition of Expulsion or Return ("Refoulement")')


def assert_well_formed(parsed: ParsedText, name: str) -> None:
    assert parsed.text.strip(), name
    assert parsed.pages is None, name
    prev_end = 0
    for span in parsed.sections:
        assert 0 <= span.start < span.end <= len(parsed.text), (name, span)
        assert span.start >= prev_end, (name, span)
        assert all(label.strip() for label in span.path), (name, span)
        prev_end = span.end


def path_of(parsed: ParsedText, needle: str) -> tuple[str, ...]:
    offset = parsed.text.find(needle)
    assert offset >= 0, f"{needle!r} not in text"
    return span_at(parsed.sections, offset).path


@pytest.fixture(scope="module")
def refugee(shared_corpus: Path) -> ParsedText:
    return MarkdownReader().read(shared_corpus / "treaties" / "refugee_convention_1951.md")


@pytest.fixture(scope="module")
def uscode12(shared_corpus: Path) -> ParsedText:
    return MarkdownReader().read(shared_corpus / "legislation" / "us" / "usc_title8_chapter12.md")


def test_refoulement_sits_in_article_33_of_chapter_v(refugee: ParsedText) -> None:
    assert path_of(refugee, "No Contracting State shall expel or return") == REFOULEMENT
    assert refugee.title == "CONVENTION RELATING TO THE STATUS OF REFUGEES"


def test_article_1_is_in_chapter_i_and_headings_start_their_sections(refugee: ParsedText) -> None:
    path = path_of(refugee, "the term \"refugee\" shall apply to any person who")
    assert path == ("CHAPTER I \u2013 General Provisions",
                    'Article 1 \u2013 Definition of the Term "Refugee"')
    span = next(s for s in refugee.sections if s.path == REFOULEMENT)
    assert refugee.text[span.start:].startswith(REFOULEMENT[1] + "\n")


def test_markdown_syntax_is_stripped_and_glued_sentences_spaced(refugee: ParsedText) -> None:
    assert "](" not in refugee.text and "#" not in refugee.text and "*" not in refugee.text
    assert "Preamble The High Contracting Parties, Considering that the Charter" in refugee.text
    assert "(1) Has been considered a refugee" in refugee.text


def test_articles_never_nest_in_articles(shared_corpus: Path) -> None:
    for path in sorted((shared_corpus / "treaties").glob("*.md")):
        parsed = MarkdownReader().read(path)
        for span in parsed.sections:
            articles = [label for label in span.path if label.lower().startswith("article")]
            assert len(articles) <= 1, (path.name, span.path)


def test_malformed_article_heading_without_space(shared_corpus: Path) -> None:
    # crc_1989.md has "###Article 35 " and echr_1950.md "###Article  19 " + "####- Establishment ..."
    crc = MarkdownReader().read(shared_corpus / "treaties" / "crc_1989.md")
    assert path_of(crc, "to prevent the abduction of, the sale of or traffic in children") == (
        "PART I", "Article 35")
    echr = MarkdownReader().read(shared_corpus / "treaties" / "echr_1950.md")
    assert path_of(echr, "To ensure the observance of the engagements undertaken") == (
        "SECTION II \u2013 European Court of Human Rights",
        "Article 19 \u2013 Establishment of the Court")


def test_asylum_section_of_us_code(uscode12: ParsedText) -> None:
    path = path_of(uscode12, "Any alien who is physically present in the United States")
    assert path[-2:] == ("\u00a7 1158. Asylum", "(a) Authority to apply for asylum")
    assert "SUBCHAPTER II\u2014 IMMIGRATION" in path and "Part I\u2014 Selection System" in path
    assert uscode12.title == (
        "Title 8\u2014 ALIENS AND NATIONALITY, CHAPTER 12\u2014 IMMIGRATION AND NATIONALITY")


def test_body_like_heading_is_labelled_by_its_marker(uscode12: ParsedText) -> None:
    sentence = ("(C) An alien lawfully admitted for permanent residence in the United States shall "
                "not be regarded as seeking an admission")
    path = path_of(uscode12, sentence)
    assert path[-3:] == ("\u00a7 1101. Definitions", "(a) As used in this chapter", "(C)")


def test_every_corpus_markdown_file_is_well_formed(shared_corpus: Path) -> None:
    files = sorted(shared_corpus.glob("**/*.md"))
    assert files
    for path in files:
        parsed = MarkdownReader().read(path)
        assert_well_formed(parsed, path.name)
        assert parsed.title, path.name


def test_inline_markup_is_removed(tmp_path: Path) -> None:
    source = tmp_path / "doc.md"
    source.write_text(
        "# Guide\n\n<!-- hidden\nnote -->\n### Article  2  \n\n#### Scope\n\n"
        "See [the Charter](http://x/y.md) and ![logo](img.png) **bold** _it_ *em*.\n\n"
        "##### Paragraph 1\n\nDetail.\n", encoding="utf-8")
    parsed = MarkdownReader().read(source)
    assert parsed.text == ("Guide\nArticle 2 \u2013 Scope\nSee the Charter and  bold it em.\n\n"
                           "Paragraph 1\nDetail.")
    assert path_of(parsed, "Detail.") == ("Article 2 \u2013 Scope", "Paragraph 1")
    assert parsed.title == "Guide"


def test_keyword_heading_closes_deeper_levels(tmp_path: Path) -> None:
    source = tmp_path / "doc.md"
    source.write_text("### CHAPTER  I\n\n### Article  1\n\nOne.\n\n### CHAPTER II\n\nIntro.\n"
                      "\n#### Article 2\n\nTwo.\n", encoding="utf-8")
    parsed = MarkdownReader().read(source)
    assert path_of(parsed, "Intro.") == ("CHAPTER II",)
    assert path_of(parsed, "Two.") == ("CHAPTER II", "Article 2")


def test_invalid_utf8_markdown_reads_with_warning(tmp_path: Path) -> None:
    source = tmp_path / "bad.md"
    source.write_bytes(b"\xef\xbb\xbf# Title\r\n\r\nCaf\xe9 and na\xefve\r\n")
    parsed = MarkdownReader().read(source)
    assert parsed.warnings == ["invalid UTF-8 replaced at 2 places"]
    assert parsed.text == "Title\nCaf\ufffd and na\ufffdve"


def test_size_limit_is_enforced(tmp_path: Path) -> None:
    source = tmp_path / "big.md"
    source.write_bytes(b"x" * 3 * 1024 * 1024)
    with pytest.raises(DocumentReadError, match=r"file is 3.0 MB, over the 2 MB limit"):
        MarkdownReader(max_bytes=2 * 1024 * 1024).read(source)


def test_empty_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "empty.md"
    source.write_text("\n\n<!-- nothing -->\n", encoding="utf-8")
    with pytest.raises(DocumentReadError, match="no text"):
        MarkdownReader().read(source)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("#*_[]()!- \nAa1IV§.,<>!-")), max_size=200))
def test_arbitrary_markdown_keeps_span_invariants(tmp_path_factory: pytest.TempPathFactory,
                                                  source_text: str) -> None:
    source = tmp_path_factory.mktemp("md") / "x.md"
    source.write_text(source_text, encoding="utf-8")
    try:
        parsed = MarkdownReader().read(source)
    except DocumentReadError as exc:
        assert "no text" in str(exc)
        return
    assert_well_formed(parsed, repr(source_text))


def test_article_txt_title_and_subheads(shared_corpus: Path) -> None:
    parsed = TextReader().read(
        shared_corpus / "articles" / "cross_border_enforcement_of_immigration_laws.txt")
    assert parsed.title == ("Understanding the Cross-Border Enforcement of Immigration Laws and "
                            "Its Legal Implications")
    assert path_of(parsed, "Balancing enforcement and human rights is a fundamental") == (
        "Balancing Enforcement and Human Rights",)
    assert path_of(parsed, "Risk of arbitrary detention") != ()


def test_every_corpus_text_file_is_well_formed(shared_corpus: Path) -> None:
    files = sorted(shared_corpus.glob("**/*.txt"))
    assert files
    for path in files:
        assert_well_formed(TextReader().read(path), path.name)


def test_invalid_utf8_text_reads_with_warning(tmp_path: Path) -> None:
    source = tmp_path / "bad.txt"
    source.write_bytes(b"Short title\n\nArticle 12\n\nBody \xff\xfe text.\r\nMore.\n")
    parsed = TextReader().read(source)
    assert parsed.warnings == ["invalid UTF-8 replaced at 2 places"]
    assert parsed.title == "Short title"
    assert path_of(parsed, "Body") == ("Article 12",)
    assert "Body \ufffd\ufffd text.\nMore." in parsed.text


def test_decode_counts_only_replacements() -> None:
    text, warnings = decode_text("ok \ufffd".encode() + b" \x80")
    assert text == "ok \ufffd \ufffd" and warnings == ["invalid UTF-8 replaced at 1 places"]
    assert decode_text(b"a\rb\r\nc") == ("a\nb\nc", [])
