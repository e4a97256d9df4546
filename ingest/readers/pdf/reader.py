"""The PDF reader: runs a file through extraction, cleaning, page labelling and assembly."""

from __future__ import annotations

from pathlib import Path

from ingest.document import DocumentReadError, ParsedText
from ingest.readers.pdf.assembly import build_text
from ingest.readers.pdf.extract import (
    extract_page,
    metadata_title,
    open_pdf,
    page_count,
    quiet_pypdf,
    scrambled,
)
from ingest.readers.pdf.labels import page_labels
from ingest.readers.pdf.normalize import WORD_BREAK_SOFT, join_lines, normalize_lines, vocabulary
from ingest.readers.pdf.running_heads import strip_running_heads


class PdfReader:
    """Reads a PDF's text layer page by page; raises DocumentReadError for unreadable files."""

    format = "pdf"
    suffixes = (".pdf",)

    def read(self, path: Path) -> ParsedText:
        with quiet_pypdf():
            try:
                return _read(Path(path))
            except DocumentReadError:
                raise
            except Exception as exc:  # pypdf raises many types on malformed input
                raise DocumentReadError(f"could not read PDF: {type(exc).__name__}: {exc}") from exc


def _read(path: Path) -> ParsedText:
    reader = open_pdf(path)
    count = page_count(reader)
    warnings_: list[str] = []
    raw_pages = [extract_page(reader, i, warnings_) for i in range(count)]
    pages = [normalize_lines(text) for text in raw_pages]
    del raw_pages
    if not any(pages):
        raise DocumentReadError(
            f"no extractable text on any of {count} pages (scanned PDF? OCR is not supported)"
        )
    for index, lines in enumerate(pages, start=1):
        if not lines:
            warnings_.append(f"page {index}: no extractable text (image-only?)")
    garbled = [i for i, lines in enumerate(pages, 1) if scrambled(lines)]
    if len(garbled) * 2 > sum(1 for lines in pages if lines):
        raise DocumentReadError(
            f"the text layer is scrambled on {len(garbled)} of {count} pages (fonts "
            "without a Unicode map?); indexing it would only add noise")
    warnings_.extend(f"page {i}: text layer looks scrambled" for i in garbled)
    labels, label_warnings = page_labels(reader, pages)
    warnings_.extend(label_warnings)
    pages = strip_running_heads(pages)
    vocab = vocabulary(pages)
    soft_breaks = any(WORD_BREAK_SOFT.search(line) for lines in pages for line in lines)
    pages = [join_lines(lines, vocab, soft_breaks) for lines in pages]
    builder = build_text(pages, labels, vocab, soft_breaks)
    return builder.build(title=metadata_title(reader), warnings=warnings_, paged=True)
