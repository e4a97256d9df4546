"""The PDF reader: runs a file through extraction, OCR, cleaning, page labelling and assembly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest.document import DocumentReadError, ParsedText
from ingest.ocr import OCR_SUMMARY, OcrSettings, Tesseract, tesseract_version
from ingest.readers.pdf.assembly import build_text
from ingest.readers.pdf.extract import (
    extract_page,
    metadata_title,
    open_pdf,
    page_count,
    quiet_pypdf,
    scrambled,
)
from ingest.readers.pdf.labels import page_labels, page_ranges
from ingest.readers.pdf.normalize import WORD_BREAK_SOFT, join_lines, normalize_lines, vocabulary
from ingest.readers.pdf.ocr_pages import ocr_pages
from ingest.readers.pdf.running_heads import strip_running_heads

# In a document whose text layer is scrambled on some page, a page this short is judged too
# (a cover's title in the same unmapped font): the 200 characters scrambled() wants by
# default are there so that one odd line in a sound document is not taken for glyph codes.
_SHORT_PAGE_CHARS = 20


class PdfReader:
    """Reads a PDF's text layer page by page, and by OCR the pages that have none or whose
    text layer is scrambled; raises DocumentReadError for unreadable files."""

    format = "pdf"
    suffixes = (".pdf",)

    def __init__(self, ocr: OcrSettings | None = None) -> None:
        self.ocr = ocr if ocr is not None else OcrSettings()

    def read(self, path: Path) -> ParsedText:
        with quiet_pypdf():
            try:
                # The cache root is looked up per read: it follows POLICYQA_CACHE_DIR as it is now.
                return _read(Path(path), Tesseract(self.ocr))
            except DocumentReadError:
                raise
            except Exception as exc:  # pypdf raises many types on malformed input
                raise DocumentReadError(f"could not read PDF: {type(exc).__name__}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class _OcrOutcome:
    pages: frozenset[int]  # 1-based pages whose text is now OCR's
    problem: str | None  # why OCR could not run, when pages needed it


def _read(path: Path, tesseract: Tesseract) -> ParsedText:
    reader = open_pdf(path)
    count = page_count(reader)
    warnings_: list[str] = []
    raw_pages = [extract_page(reader, i, warnings_) for i in range(count)]
    pages = [normalize_lines(text) for text in raw_pages]
    del raw_pages
    ocr = _ocr_where_needed(path, pages, tesseract, warnings_)
    if not any(pages):
        reason = f" and {ocr.problem}" if ocr.problem else ", and OCR found none"
        raise DocumentReadError(f"no extractable text on any of {count} pages (no text "
                                f"layer{reason})")
    garbled = [i for i, lines in enumerate(pages, 1) if scrambled(lines)]
    if len(garbled) * 2 > sum(1 for lines in pages if lines):
        unread = f" and {ocr.problem}" if ocr.problem else ""
        raise DocumentReadError(
            f"the text layer is scrambled on {len(garbled)} of {count} pages (fonts "
            f"without a Unicode map?){unread}; indexing it would only add noise")
    warnings_.extend(f"page {i}: text layer looks scrambled" for i in garbled)
    labels, label_warnings = page_labels(reader, pages)
    warnings_.extend(label_warnings)
    pages = strip_running_heads(pages)
    vocab = vocabulary(pages)
    soft_breaks = any(WORD_BREAK_SOFT.search(line) for lines in pages for line in lines)
    pages = [join_lines(lines, vocab, soft_breaks) for lines in pages]
    builder = build_text(pages, labels, vocab, soft_breaks, ocr.pages)
    return builder.build(title=metadata_title(reader), warnings=warnings_, paged=True)


def _ocr_where_needed(path: Path, pages: list[list[str]], tesseract: Tesseract,
                      warnings_: list[str]) -> _OcrOutcome:
    """Replaces, in `pages`, the text of every page with no text or a scrambled text layer by
    what OCR reads on it; one warning line says what was read, one which pages stay empty.

    A document whose every page has a sound text layer is not touched, so it reads exactly as
    it did before OCR existed."""
    suspect = any(scrambled(lines) for lines in pages)
    wanted = [i for i, lines in enumerate(pages)
              if not lines or scrambled(lines, _SHORT_PAGE_CHARS if suspect else 200)]
    if not wanted:
        return _OcrOutcome(frozenset(), None)
    problem = tesseract.problem()
    if problem is not None:
        blank = [i + 1 for i in wanted if not pages[i]]
        if blank:
            warnings_.append(f"{_page_list(blank)}: no text layer and {problem}")
        return _OcrOutcome(frozenset(), problem)
    texts = ocr_pages(path, wanted, tesseract, warnings_)
    read: set[int] = set()
    for i, text in texts.items():
        # Through the same cleaning as a text layer's lines; a scrambled layer on which OCR
        # finds no trusted word is dropped too, since it is glyph codes either way.
        pages[i] = normalize_lines(text)
        if pages[i]:
            read.add(i + 1)
    if read:
        settings = tesseract.settings
        warnings_.append(
            f"{OCR_SUMMARY}{len(read)} of {len(pages)} pages ({_page_list(sorted(read))}; Tesseract "
            f"{tesseract_version(settings.tesseract_cmd)}, {settings.languages}, "
            f"{settings.dpi} dpi)")
    blank = [i + 1 for i in wanted if not pages[i]]
    if blank:
        warnings_.append(f"{_page_list(blank)}: no extractable text (no usable text layer, and "
                         "OCR found none: drawings or blank pages?)")
    return _OcrOutcome(frozenset(read), None)


def _page_list(numbers: list[int]) -> str:
    """'page 4' or 'pages 1, 3-5, 9': sorted page numbers with runs collapsed."""
    return f"page{'s' * (len(numbers) != 1)} {page_ranges(numbers)}"
