"""Tests for the PDF reader on the reference corpus and on PDFs generated here."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pypdf
import pytest
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from ingest.document import DocumentReadError, ParsedText, span_at
from ingest.ocr import OcrSettings
from ingest.readers.pdf import PdfReader

# Read by OCR (tests/ingest/test_pdf_ocr.py), refused without it: see
# test_scrambled_text_layer_is_refused_without_ocr.
SCRAMBLED = "crc_unicef_uk.pdf"


def _corpus_dir() -> Path:
    override = os.environ.get("POLICYQA_SHARED_CORPUS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpus"


CORPUS = _corpus_dir()
PDF_DIR = CORPUS / "pdf"
needs_corpus = pytest.mark.skipif(
    not PDF_DIR.is_dir(), reason=f"reference corpus not found at {CORPUS} (set POLICYQA_SHARED_CORPUS)"
)

DUBLIN = "eu_dublin_iii_regulation_604_2013_oj_l180.pdf"
UNHCR = "refugee_convention_and_protocol_unhcr.pdf"
UDHR_BOOKLET = "udhr_un_illustrated_booklet.pdf"
ECTHR = "echr_court_booklet_prot15_16.pdf"  # PDF pages 3-33 are two-page spreads

_cache: dict[str, ParsedText] = {}


def _read_corpus(name: str) -> ParsedText:
    if name not in _cache:
        _cache[name] = PdfReader().read(PDF_DIR / name)
    return _cache[name]


def _assert_maps_consistent(parsed: ParsedText) -> None:
    assert parsed.pages, "a PDF always has a page map"
    position = 0
    for page in parsed.pages:
        assert page.start == position, f"gap or overlap before page {page.index}"
        assert page.end >= page.start
        position = page.end
    assert position == len(parsed.text)
    assert [p.index for p in parsed.pages] == list(range(1, len(parsed.pages) + 1))
    previous_end = 0
    for section in parsed.sections:
        assert 0 <= section.start < section.end <= len(parsed.text)
        assert section.start >= previous_end
        previous_end = section.end


def _locate(parsed: ParsedText, needle: str) -> tuple[int, str, tuple[str, ...]]:
    offset = parsed.text.find(needle)
    assert offset >= 0, f"{needle!r} not in text"
    page = span_at(parsed.pages, offset)
    return page.index, page.label, span_at(parsed.sections, offset).path


# --- generated PDFs ------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _text_pdf(path: Path, pages: list[list[str] | None], password: str | None = None) -> Path:
    """A PDF with one Helvetica line per string; None makes a blank page."""
    writer = pypdf.PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"),
        NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    }))
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        if lines is None:
            continue
        ops = ["BT /F1 11 Tf 14 TL 72 750 Td"]
        ops += [f"({_escape(line)}) Tj T*" for line in lines]
        ops.append("ET")
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        page[NameObject("/Contents")] = writer._add_object(stream)
    if password is not None:
        writer.encrypt(user_password=password, owner_password="owner-secret", algorithm="RC4-128")
    with path.open("wb") as fh:
        writer.write(fh)
    return path


def _booklet_pages(count: int = 6, offset: int = 4) -> list[list[str] | None]:
    """Pages with a running header, a printed page number (PDF index + offset) and body text."""
    topics = ["asylum", "borders", "courts", "detention", "education", "family", "labour", "visas"]
    pages: list[list[str] | None] = []
    for index in range(1, count + 1):
        topic = topics[index % len(topics)]
        pages.append([
            "Handbook of Procedures - edition 2024",
            f"This page is about {topic} and the appli-",
            "cation of the rules and of well-",
            "founded fear, which is well-founded in law.",
            f"Closing remarks on {topic} follow here.",
            str(index + offset),
        ])
    return pages


def test_generated_pdf_labels_headers_and_hyphens(tmp_path: Path) -> None:
    parsed = PdfReader().read(_text_pdf(tmp_path / "booklet.pdf", _booklet_pages()))
    _assert_maps_consistent(parsed)
    assert [p.label for p in parsed.pages] == [str(i + 4) for i in range(1, 7)]
    assert "Handbook of Procedures" not in parsed.text
    assert "application of the rules" in parsed.text
    assert "appli-" not in parsed.text
    assert "well-founded fear" in parsed.text  # a real compound keeps its hyphen
    page_three = parsed.pages[2]
    assert "about detention" in parsed.text[page_three.start:page_three.end]
    assert "\n7\n" not in parsed.text and not parsed.text.rstrip().endswith("10")


def test_pages_without_a_printed_number_get_no_label(tmp_path: Path) -> None:
    pages = [[f"Plain text about topic {n} without any page number."] for n in range(1, 5)]
    parsed = PdfReader().read(_text_pdf(tmp_path / "plain.pdf", pages))
    assert [p.label for p in parsed.pages] == [None] * 4  # not "1".."4": nothing printed says so
    assert "no printed page number on PDF pages 1-4: their page labels are left empty" in parsed.warnings


def test_generated_pdf_headings(tmp_path: Path) -> None:
    lines = [
        "CHAPTER II",
        "GENERAL PRINCIPLES",
        "Article 3",
        "Access to the procedure",
        "1. Member States shall examine any application in accordance with",
        "Article 12 of this Regulation.",
        "Article 4 - Right to information",
        "Everyone has rights under Article 3, as set out.",
        "Article 5",
        "States Parties shall undertake all appropriate legislative and other",
        "measures for the implementation of this Article.",
    ]
    parsed = PdfReader().read(_text_pdf(tmp_path / "headings.pdf", [lines]))
    _assert_maps_consistent(parsed)
    assert _locate(parsed, "1. Member States")[2] == (
        "Chapter II General principles", "Article 3 Access to the procedure")
    assert _locate(parsed, "Article 12 of this")[2][-1] == "Article 3 Access to the procedure"
    assert _locate(parsed, "Everyone has rights")[2][-1] == "Article 4 Right to information"
    assert _locate(parsed, "measures for the")[2][-1] == "Article 5"
    # The heading line itself belongs to its section.
    assert _locate(parsed, "Article 4 - Right")[2][-1] == "Article 4 Right to information"


def test_blank_pages_warn(tmp_path: Path) -> None:
    pages = [["Some words on the first page."], None, ["More words on the third page."]]
    parsed = PdfReader().read(_text_pdf(tmp_path / "gap.pdf", pages))
    _assert_maps_consistent(parsed)
    # "no extractable text" after OCR found none; "no text layer and ..." where OCR cannot run.
    assert any(w.startswith("page 2: no ") for w in parsed.warnings)
    assert parsed.text.count("\n\n") >= 1


def test_random_bytes_raise(tmp_path: Path) -> None:
    path = tmp_path / "noise.pdf"
    path.write_bytes(random.Random(7).randbytes(4096))
    with pytest.raises(DocumentReadError):
        PdfReader().read(path)


def test_empty_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(DocumentReadError):
        PdfReader().read(path)


def test_zero_page_pdf_raises(tmp_path: Path) -> None:
    path = tmp_path / "zero.pdf"
    with path.open("wb") as fh:
        pypdf.PdfWriter().write(fh)
    with pytest.raises(DocumentReadError, match="no pages"):
        PdfReader().read(path)


def test_blank_only_pdf_raises(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "blank.pdf", [None, None])
    with pytest.raises(DocumentReadError, match="no extractable text on any of 2 pages"):
        PdfReader().read(path)


def test_encrypted_with_password_raises(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "locked.pdf", [["Secret treaty text."]], password="hunter2")
    with pytest.raises(DocumentReadError, match="encrypted"):
        PdfReader().read(path)


def test_encrypted_with_empty_password_reads(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "open.pdf", [["Open treaty text here."]], password="")
    parsed = PdfReader().read(path)
    assert "Open treaty text here." in parsed.text


def test_title_filters_file_names(tmp_path: Path) -> None:
    path = _text_pdf(tmp_path / "t.pdf", [["Words."]])
    for raw, expected in [("Microsoft Word - draft.doc", None), ("report.docx", None),
                          ("", None), ("Convention on Things", "Convention on Things")]:
        writer = pypdf.PdfWriter(clone_from=path)
        writer.add_metadata({"/Title": raw})
        target = tmp_path / "titled.pdf"
        with target.open("wb") as fh:
            writer.write(fh)
        assert PdfReader().read(target).title == expected


# --- the reference corpus --------------------------------------------------------------------------


@needs_corpus
def test_unhcr_article_33_label_inferred() -> None:
    parsed = _read_corpus(UNHCR)
    _assert_maps_consistent(parsed)
    index, label, path = _locate(parsed, "No Contracting State shall expel or return")
    assert (index, label) == (32, "30")
    assert path and path[-1].startswith("Article 33")
    assert "c o n v e n t i o n" not in parsed.text  # the letter-spaced running header


@needs_corpus
def test_ecthr_spreads_are_labelled_with_both_printed_numbers() -> None:
    parsed = _read_corpus(ECTHR)
    _assert_maps_consistent(parsed)
    labels = {page.index: page.label for page in parsed.pages}
    # Both numbers on one line at the top of the spread ("36 37").
    assert (labels[20], labels[24], labels[5]) == ("36\u201337", "44\u201345", "6\u20137")
    # The two numbers extracted as two lines, right page first ("59", "58").
    assert labels[31] == "58\u201359"
    # Only one half numbered: the spreads' sequence says which half it is.
    assert (labels[3], labels[4], labels[33]) == ("2\u20133", "4\u20135", "62\u201363")
    # Single pages (covers) print no number: no label, and the warnings say so.
    assert (labels[1], labels[2], labels[34]) == (None, None, None)
    assert "no printed page number on PDF pages 1-2, 34: their page labels are left empty" \
        in parsed.warnings
    index, label, _ = _locate(parsed, "Collective expulsion of aliens is prohibited.")
    assert (index, label) == (20, "36\u201337")
    assert "\n36 37\n" not in parsed.text and "\n6 7\n" not in parsed.text


@needs_corpus
@pytest.mark.parametrize("name", sorted(p.name for p in PDF_DIR.glob("*.pdf")
                                        if p.name not in (ECTHR, SCRAMBLED)))
def test_no_other_corpus_pdf_is_taken_for_spreads(name: str) -> None:
    parsed = _read_corpus(name)
    assert not [p.label for p in parsed.pages if p.label and "\u2013" in p.label]
    if name == UNHCR:
        # Portrait pages numbered from PDF page 3; the wraparound covers (twice as wide, no
        # number) and the blank page before the numbering get no label.
        labels = [p.label for p in parsed.pages]
        assert labels[:4] == [None, None, "1", "2"] and labels[-1] is None
        assert labels[53] == "52"


def test_a_later_instrument_starts_its_own_top_level_section(tmp_path: Path) -> None:
    pages = [
        ["Convention on Widgets", "Done at Geneva, 1 May 1990", "The Parties agree as follows.",
         "CHAPTER I", "General provisions", "Article 1", "Scope", "Widgets shall be round.",
         "Article 2", "Sizes", "Widgets shall be small."],
        ["Protocol to the Convention on Widgets", "Done at Geneva, 2 May 1995",
         "The Parties agree as follows.", "Article 1", "Colour", "Widgets shall be blue.",
         "Article 2", "Sizes", "Widgets shall be smaller than before."],
    ]
    parsed = PdfReader().read(_text_pdf(tmp_path / "two.pdf", pages))
    assert _locate(parsed, "smaller than before")[2] == (
        "Protocol to the Convention on Widgets", "Article 2 Sizes")
    # The first instrument is the one the document is named for: its cites stay as they were.
    assert _locate(parsed, "be small.")[2] == ("Chapter I General provisions", "Article 2 Sizes")
    # A lone instrument's title is the document's own and starts no section.
    single = PdfReader().read(_text_pdf(tmp_path / "one.pdf", pages[:1]))
    assert _locate(single, "be small.")[2] == ("Chapter I General provisions", "Article 2 Sizes")


@needs_corpus
def test_ecthr_protocol_articles_are_cited_under_their_protocol() -> None:
    parsed = _read_corpus(ECTHR)
    _, _, path = _locate(parsed, "Collective expulsion of aliens is prohibited.")
    assert path[0].startswith("Protocol No. 4 to the Convention") and path[-1].startswith("Article 4")
    _, _, path = _locate(parsed, "No one shall be deprived of his possessions")
    assert path[0].startswith("Protocol to the Convention") and path[-1].startswith("Article 1")
    _, _, path = _locate(parsed, "No one shall be deprived of his liberty merely on the ground")
    assert path[0].startswith("Protocol No. 4") and path[-1].startswith("Article 1")
    _, _, path = _locate(parsed, "The death penalty shall be abolished.")  # first: Protocol No. 6
    assert path[0].startswith("Protocol No. 6") and path[-1].startswith("Article 1")
    # The Convention's own Article 4 is not a Protocol's.
    _, _, path = _locate(parsed, "No one shall be held in slavery or servitude.")
    assert path == ("Section I Rights and freedoms", "Article 4 Prohibition of slavery and forced labour")


@needs_corpus
def test_unhcr_1967_protocol_articles_are_cited_under_the_protocol() -> None:
    parsed = _read_corpus(UNHCR)
    _assert_maps_consistent(parsed)
    _, _, path = _locate(parsed, "The States Parties to the present Protocol undertake to apply")
    assert path == ("Protocol relating to the status of refugees", "Article I General provision")
    _, _, path = _locate(parsed, "the StAteS pArtieS to the present protocol")
    # Its preamble, which has no heading: it opens with the parties' formula.
    assert path == ("Protocol relating to the status of refugees", "Preamble")
    # The banner, last in the page's content stream, now opens the page.
    page = next(p for p in parsed.pages if p.index == 48)
    assert parsed.text[page.start:page.end].lstrip().startswith("protocol relating to the status")
    _, _, path = _locate(parsed, "No Contracting State shall expel or return")
    assert path[0] == "Chapter V Administrative Measures"


@needs_corpus
def test_dublin_article_21_page_label_and_text() -> None:
    parsed = _read_corpus(DUBLIN)
    _assert_maps_consistent(parsed)
    index, label, path = _locate(parsed, "Article 21\nSubmitting a take charge request")
    assert (index, label) == (13, "43")
    assert path[-1] == "Article 21 Submitting a take charge request"
    first = "1. Where a Member State with which an application for"
    heading_at = parsed.text.find("Article 21\nSubmitting")
    assert parsed.text.find(first, heading_at) > heading_at
    body_index, body_label, body_path = _locate(parsed, "examining the application, it may, as quickly")
    assert (body_index, body_label) == (13, "43")
    assert body_path[-1].startswith("Article 21")


@needs_corpus
def test_dublin_hyphenation_and_soft_hyphens() -> None:
    parsed = _read_corpus(DUBLIN)
    # The PDF breaks "appli-" / "cation" with a soft hyphen on page 13 (Article 21(1)).
    assert "responsible for examining the application, it may" in parsed.text
    assert "appli\n" not in parsed.text and "appli-" not in parsed.text and "appli " not in parsed.text
    assert "\u00ad" not in parsed.text
    assert "principle of non-refoulement" in parsed.text  # a real hyphen at line end stays


@needs_corpus
def test_dublin_running_footer_removed() -> None:
    parsed = _read_corpus(DUBLIN)
    assert "Official Journal of the European Union L 180/" not in parsed.text
    assert "EN L 180/" not in parsed.text and "EN 29.6.2013" not in parsed.text
    assert parsed.title and parsed.title.startswith("Regulation (EU) No 604/2013")


@needs_corpus
def test_udhr_booklet_image_pages_warned_without_ocr() -> None:
    parsed = PdfReader(OcrSettings(enabled=False)).read(PDF_DIR / UDHR_BOOKLET)
    _assert_maps_consistent(parsed)
    assert parsed.text.strip()
    # One line for the document's 33 image-only pages, not one per page.
    image_only = [w for w in parsed.warnings if "no text layer" in w]
    assert image_only == ["pages 1, 3, 9, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, "
                          "40, 42, 44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 64, 66, 68, 70, 72: "
                          "no text layer and OCR is switched off (POLICYQA_OCR=false)"]


@needs_corpus
def test_truncated_pdf_never_leaks_other_errors(tmp_path: Path) -> None:
    data = (PDF_DIR / DUBLIN).read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) * 3 // 10])
    try:
        parsed = PdfReader().read(path)
    except DocumentReadError:
        return
    _assert_maps_consistent(parsed)


@needs_corpus
@pytest.mark.parametrize("name", sorted(p.name for p in PDF_DIR.glob("*.pdf")
                                         if p.name != SCRAMBLED) if PDF_DIR.is_dir() else [])
def test_every_corpus_pdf_has_consistent_maps(name: str) -> None:
    parsed = _read_corpus(name)
    _assert_maps_consistent(parsed)
    assert "\u00ad" not in parsed.text
    assert "  " not in parsed.text


def test_scrambled_text_layer_is_refused_without_ocr(shared_corpus) -> None:
    """The UNICEF CRC print has fonts without a Unicode map: its text is glyph codes."""
    with pytest.raises(DocumentReadError, match=r"scrambled on 12 of 14 pages .* and OCR is "
                       r"switched off"):
        PdfReader(OcrSettings(enabled=False)).read(shared_corpus / "pdf" / SCRAMBLED)
