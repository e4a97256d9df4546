"""The reader seam: one reader per file format, chosen by file suffix through a registry."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from ingest.document import ParsedText


class DocumentReader(Protocol):
    """Turns one file into normalized text with its heading and page maps.

    Raises `ingest.document.DocumentReadError` with a reason a person can act on when the file
    cannot be read; never anything else for bad input.
    """

    format: str
    suffixes: tuple[str, ...]

    def read(self, path: Path) -> ParsedText: ...
