"""PDF reader: per-page text via pypdf, cleaned of running heads, with page labels and headings."""

from __future__ import annotations

from ingest.readers.pdf.reader import PdfReader

__all__ = ["PdfReader"]
