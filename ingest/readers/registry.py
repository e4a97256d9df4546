"""The readers the pipeline knows, and the choice of one by file suffix."""

from __future__ import annotations

from pathlib import Path

from ingest.ocr import OcrSettings
from ingest.readers.base import DocumentReader
from ingest.readers.docx import DocxReader
from ingest.readers.html import HtmlReader
from ingest.readers.justice_canada_xml import JusticeCanadaXmlReader
from ingest.readers.markdown import MarkdownReader
from ingest.readers.pdf import PdfReader
from ingest.readers.text import TextReader


def readers(ocr: OcrSettings | None = None) -> tuple[DocumentReader, ...]:
    """One reader per format; the PDF reader reads pages without a text layer as `ocr` says."""
    return (
        PdfReader(ocr),
        MarkdownReader(),
        TextReader(),
        HtmlReader(),
        JusticeCanadaXmlReader(),
        DocxReader(),
    )


READERS: tuple[DocumentReader, ...] = readers()


def reader_for(path: Path, available: tuple[DocumentReader, ...] = READERS
               ) -> DocumentReader | None:
    suffix = path.suffix.lower()
    for reader in available:
        if suffix in reader.suffixes:
            return reader
    return None


def supported_suffixes() -> tuple[str, ...]:
    return tuple(suffix for reader in READERS for suffix in reader.suffixes)
