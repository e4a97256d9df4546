"""The document model every reader produces: normalized text with its structure and page maps."""

from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ingest.errors import PolicyQAError


class DocumentReadError(PolicyQAError):
    """A file could not be read as a document; the message says why, for the build report."""


@dataclass(frozen=True, slots=True)
class SectionSpan:
    """Characters [start, end) of a document's text sit under this heading path."""

    start: int
    end: int
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PageSpan:
    """Characters [start, end) of a document's text come from this page.

    `index` is the 1-based page number in the PDF; `label` is the number printed on the page
    (from /PageLabels or read from the page itself; both numbers, "36–37", for a two-page
    spread), or None when no printed number is known (the document's warnings say which pages).
    `ocr` says the page's text was read from its image by OCR, not from a text layer.
    """

    start: int
    end: int
    index: int
    label: str | None
    ocr: bool = False


IN_FORCE = ("true", "false", "unknown")  # a chunk's in_force: law in force, not, or not said


@dataclass(frozen=True, slots=True)
class ForceSpan:
    """Characters [start, end) are law in force (`in_force`) or not, as the source says;
    `since` is the date (ISO, "2018-07-31") it says that text came into force, if it gives one.
    Spans may nest (a section inside the whole Act); text not in force is never inside a span
    that says it is."""

    start: int
    end: int
    in_force: bool
    since: str | None = None


@dataclass(slots=True)
class ParsedText:
    """What a reader returns: the text and its maps, before the pipeline gives it an identity."""

    text: str
    sections: list[SectionSpan]
    pages: list[PageSpan] | None = None
    title: str | None = None
    warnings: list[str] = field(default_factory=list)
    # In-force status, where the source records it (Justice Canada XML); none: unknown.
    force: list[ForceSpan] = field(default_factory=list)
    last_amended: str | None = None  # the date the source says it was last amended


@dataclass(slots=True)
class Document:
    id: str  # path relative to the corpus root, with forward slashes
    title: str
    format: str
    text: str
    content_hash: str  # sha256 of the file's bytes
    sections: list[SectionSpan]
    pages: list[PageSpan] | None = None
    warnings: list[str] = field(default_factory=list)
    metadata: dict[str, str | int | None] = field(default_factory=dict)
    force: list[ForceSpan] = field(default_factory=list)  # see ParsedText
    last_amended: str | None = None

    def in_force_at(self, start: int, end: int) -> tuple[str, str | None]:
        """The in-force status of characters [start, end) and the date it began: "false" when
        any of it is not in force; else "true" with the latest date among the spans it
        touches; "unknown" where the source says nothing."""
        touched = [f for f in self.force if f.start < end and f.end > start]
        if not touched:
            return "unknown", None
        if any(not f.in_force for f in touched):
            return "false", None
        dates = [f.since for f in touched if f.since]
        return "true", max(dates) if dates else None

    def section_at(self, offset: int) -> tuple[str, ...]:
        return span_at(self.sections, offset).path if self.sections else ()

    def page_at(self, offset: int) -> PageSpan | None:
        return span_at(self.pages, offset) if self.pages else None


S = TypeVar("S", SectionSpan, PageSpan)


def span_at(spans: list[S], offset: int) -> S:
    """The span holding `offset` (spans sorted by start); the nearest one before it in a gap."""
    starts = [s.start for s in spans]
    i = max(bisect.bisect_right(starts, offset) - 1, 0)
    return spans[i]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class TextBuilder:
    """Accumulates a document's text while recording which heading path and page each piece has.

    Readers call `set_path` when a heading changes, `start_page` when a page begins, and `append`
    for text. Adjacent pieces with the same path merge into one section span.
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._length = 0
        self._path: tuple[str, ...] = ()
        self._sections: list[SectionSpan] = []
        self._section_start = 0
        self._section_path: tuple[str, ...] = ()
        self._pages: list[PageSpan] = []
        self._page: tuple[int, str | None, bool] | None = None
        self._page_start = 0

    @property
    def length(self) -> int:
        return self._length

    @property
    def path(self) -> tuple[str, ...]:
        return self._path

    def set_path(self, path: tuple[str, ...]) -> None:
        self._path = tuple(path)

    def start_page(self, index: int, label: str | None, ocr: bool = False) -> None:
        self._close_page()
        self._page = (index, label, ocr)
        self._page_start = self._length

    def append(self, text: str) -> None:
        if not text:
            return
        if self._path != self._section_path:
            self._close_section()
            self._section_path = self._path
            self._section_start = self._length
        self._parts.append(text)
        self._length += len(text)

    def _close_section(self) -> None:
        if self._length > self._section_start:
            self._sections.append(SectionSpan(self._section_start, self._length, self._section_path))

    def _close_page(self) -> None:
        if self._page is not None:
            index, label, ocr = self._page
            self._pages.append(PageSpan(self._page_start, self._length, index, label, ocr))

    def build(self, title: str | None = None, warnings: list[str] | None = None,
              paged: bool = False) -> ParsedText:
        self._close_section()
        self._close_page()
        return ParsedText(
            text="".join(self._parts),
            sections=self._sections,
            pages=self._pages if paged else None,
            title=title,
            warnings=list(warnings or []),
        )
