"""OCR of PDF pages with no text layer or a scrambled one, with the real Tesseract binary: on
image-only PDFs made here with Pillow, and on the reference corpus's two booklets that need it."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from ingest.document import DocumentReadError, ParsedText, span_at
from ingest.ocr import INSTALL_HINT, OcrSettings, text_from_tsv
from ingest.readers.pdf import PdfReader
from tests.scans import image_pdf, page_reads, require_tesseract, tesseract_wrapper


@pytest.fixture()
def tesseract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The real Tesseract behind a wrapper that counts its calls; OCR cached under tmp_path."""
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    return tesseract_wrapper(tmp_path)


def _text_page_pdf(lines: list[str]) -> pypdf.PdfReader:
    writer = pypdf.PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    stream = DecodedStreamObject()
    stream.set_data(("BT /F1 11 Tf 14 TL 72 750 Td " + " ".join(
        f"({line}) Tj T*" for line in lines) + " ET").encode("latin-1"))
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return pypdf.PdfReader(buffer)


def _page_of(parsed: ParsedText, needle: str) -> int:
    offset = parsed.text.find(needle)
    assert offset >= 0, f"{needle!r} not in {parsed.text!r}"
    return span_at(parsed.pages, offset).index


SCAN = [
    ["Article 1", "Every lighthouse keeper shall record", "the passing of each cormorant."],
    [],
    ["Article 2", "Fishing boats shall carry two lanterns", "between sunset and sunrise."],
]


def test_image_only_pages_are_read_by_ocr_at_their_page(tesseract: Path, tmp_path: Path) -> None:
    path = image_pdf(tmp_path / "scan.pdf", SCAN)
    parsed = PdfReader(OcrSettings(tesseract_cmd=str(tesseract))).read(path)
    assert _page_of(parsed, "lighthouse keeper shall record") == 1
    assert _page_of(parsed, "Fishing boats shall carry two lanterns") == 3
    assert [(p.index, p.ocr) for p in parsed.pages] == [(1, True), (2, False), (3, True)]
    # OCR text takes the text layer's path: headings open sections.
    assert span_at(parsed.sections, parsed.text.find("Fishing")).path[-1].startswith("Article 2")
    assert "OCR read 2 of 3 pages (pages 1, 3; Tesseract" in parsed.warnings[0]
    assert any(w.startswith("page 2: no extractable text") for w in parsed.warnings)
    assert page_reads(tesseract) == 3


def test_an_unchanged_file_is_never_read_by_tesseract_twice(tesseract: Path,
                                                             tmp_path: Path) -> None:
    path = image_pdf(tmp_path / "scan.pdf", SCAN)
    reader = PdfReader(OcrSettings(tesseract_cmd=str(tesseract)))
    first = reader.read(path)
    calls = page_reads(tesseract)
    again = reader.read(path)
    assert page_reads(tesseract) == calls == 3
    assert again.text == first.text and again.pages == first.pages
    # Another resolution is another rendering: read again, and cached beside the first.
    PdfReader(OcrSettings(tesseract_cmd=str(tesseract), dpi=200)).read(path)
    assert page_reads(tesseract) == 6
    assert len(list((tmp_path / "cache" / "ocr").glob("*/*.txt"))) == 6
    assert not list((tmp_path / "cache" / "ocr").glob("*/*.partial"))


def _mixed_pdf(tmp_path: Path) -> Path:
    """A PDF of a text page, then a scanned page (Article 1 of SCAN)."""
    writer = pypdf.PdfWriter()
    writer.append(_text_page_pdf(["Preamble of the Convention on Harbour Lights."]))
    writer.append(str(image_pdf(tmp_path / "scan.pdf", SCAN[:1])))
    path = tmp_path / "mixed.pdf"
    with path.open("wb") as f:
        writer.write(f)
    return path


def test_pages_with_a_text_layer_are_not_ocr_read(tesseract: Path, tmp_path: Path) -> None:
    path = _mixed_pdf(tmp_path)
    parsed = PdfReader(OcrSettings(tesseract_cmd=str(tesseract))).read(path)
    assert _page_of(parsed, "Convention on Harbour Lights") == 1
    assert _page_of(parsed, "passing of each cormorant") == 2
    assert [p.ocr for p in parsed.pages] == [False, True]
    assert page_reads(tesseract) == 1


def test_without_tesseract_image_pages_are_skipped_with_the_reason(tmp_path: Path) -> None:
    path = _mixed_pdf(tmp_path)
    absent = OcrSettings(tesseract_cmd=str(tmp_path / "no-such-tesseract"))
    parsed = PdfReader(absent).read(path)
    assert "Harbour Lights" in parsed.text and not any(p.ocr for p in parsed.pages)
    assert f"page 2: no text layer and Tesseract is not installed ({INSTALL_HINT})" \
        in parsed.warnings
    with pytest.raises(DocumentReadError, match="no text layer and Tesseract is not installed"):
        PdfReader(absent).read(image_pdf(tmp_path / "only.pdf", SCAN))


def test_ocr_switched_off_reads_no_image(tmp_path: Path) -> None:
    with pytest.raises(DocumentReadError, match=r"OCR is switched off \(POLICYQA_OCR=false\)"):
        PdfReader(OcrSettings(enabled=False)).read(image_pdf(tmp_path / "scan.pdf", SCAN))


def test_drawings_read_as_letters_are_dropped() -> None:
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"

    def row(line: int, conf: float, word: str) -> str:
        return f"5\t1\t1\t1\t{line}\t1\t0\t0\t9\t9\t{conf}\t{word}"

    drawing = [header, row(1, 0, "emfift"), row(1, 33.6, "FAL."), row(2, 28.0, "PECLARAT"),
               row(2, 90.9, "OF"), row(3, 34.4, "HUBS")]
    assert text_from_tsv("\n".join(drawing)) == ""
    cover = [header, row(1, 95.9, "DECLARATION"), row(2, 14.1, "es"), row(2, 0.0, "}"),
             row(3, 96.0, "United"), row(3, 70.2, "Nations")]
    assert text_from_tsv("\n".join(cover)) == "DECLARATION\nUnited Nations"


# --- the reference corpus ------------------------------------------------------------------------


def test_the_scrambled_crc_booklet_is_read_by_ocr(shared_corpus: Path) -> None:
    """The UNICEF CRC print's fonts have no Unicode map: every page is read from its image.

    PDF page 5 (printed 6) carries Article 16; checked by eye on the page rendered at 300 dpi."""
    require_tesseract()
    parsed = PdfReader().read(shared_corpus / "pdf" / "crc_unicef_uk.pdf")
    offset = parsed.text.find("No child shall be subjected to arbitrary or unlawful interference")
    assert offset >= 0
    page = span_at(parsed.pages, offset)
    assert (page.index, page.label, page.ocr) == (5, "6", True)
    assert span_at(parsed.sections, offset).path[-1].startswith("Article 16")
    assert sum(p.ocr for p in parsed.pages) == 14
    assert not any("scrambled" in w for w in parsed.warnings)


def test_the_udhr_booklets_image_only_cover_is_read_by_ocr(shared_corpus: Path) -> None:
    """The UN illustrated UDHR has 33 pages with no text layer: the cover (PDF page 1, its
    title in large letters) and 32 drawings, in which OCR finds no trusted word."""
    require_tesseract()
    parsed = PdfReader().read(shared_corpus / "pdf" / "udhr_un_illustrated_booklet.pdf")
    cover = parsed.pages[0]
    assert cover.ocr and "DECLARATION" in parsed.text[cover.start:cover.end]
    assert _page_of(parsed, "DECLARATION") == 1
    assert [p.index for p in parsed.pages if p.ocr] == [1]
    assert any(w.startswith("pages 3, 9, 14, 16, 18,") and "OCR found none" in w
               for w in parsed.warnings)


def test_a_file_pdfium_cannot_open_keeps_its_text_layer(tesseract: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise pypdfium2.PdfiumError("Failed to load document")

    path = _mixed_pdf(tmp_path)
    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)
    parsed = PdfReader(OcrSettings(tesseract_cmd=str(tesseract))).read(path)
    assert "Harbour Lights" in parsed.text
    assert any("could not be rendered for OCR" in w for w in parsed.warnings)


def test_a_language_tesseract_has_no_data_for_is_named(tesseract: Path, tmp_path: Path) -> None:
    settings = OcrSettings(tesseract_cmd=str(tesseract), languages="eng+xxq")
    with pytest.raises(DocumentReadError, match=r"Tesseract has no data for xxq \(apt-get "
                       r"install tesseract-ocr-xxq, or set POLICYQA_OCR_LANGUAGES\)"):
        PdfReader(settings).read(image_pdf(tmp_path / "scan.pdf", SCAN))
    assert page_reads(tesseract) == 0
