"""Structural headings of PDF text (Part, Chapter, Section, Article, Annex, Preamble) and their paths."""

from __future__ import annotations

import re
from dataclasses import dataclass

LEVELS = {"part": 0, "annex": 0, "chapter": 1, "section": 2, "article": 3}
_MAX_HEADING_WORDS = 12
_MAX_TITLE_CHARS = 120
_HEADING = re.compile(
    r"^(?P<kw>article|chapter|part|section|annex)"
    r"(?:\s+(?P<num>\d{1,3}[a-z]?|[ivxlc](?:\s?[ivxlc]){0,6})\b)?"
    r"(?:\s+(?P<suffix>bis|ter|quater|quinquies|sexies)\b)?"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_HEADING_SEPARATOR = re.compile(r"^\s*[:.–—-]\s*")
_ROMAN = re.compile(r"^[ivxlc]+$", re.IGNORECASE)
PREAMBLE = "Preamble"
PREAMBLE_LINE = re.compile(r"^\s*preamble\s*$", re.IGNORECASE)

SectionPath = tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class Heading:
    level: int
    label: str
    title_lines: int  # lines after the heading that are its title and belong to it


def parse_heading(lines: list[str], i: int) -> Heading | None:
    """A structural heading at the start of `lines[i]`, or None for running text and references."""
    line = lines[i]
    if PREAMBLE_LINE.match(line):
        # At article level: the first article or chapter closes it.
        return Heading(LEVELS["article"], PREAMBLE, 0)
    match = _HEADING.match(line)
    if not match or len(line.split()) > _MAX_HEADING_WORDS:
        return None
    keyword = match.group("kw").lower()
    number = match.group("num")
    if number is None and keyword != "annex":
        return None
    if keyword == "annex" and not (line.startswith("ANNEX") or line.startswith("Annex")):
        return None
    title = _inline_title(match.group("rest"), number)
    if title is None:
        return None
    label = _heading_label(keyword, number, match.group("suffix"))
    title_lines = 0
    if not title:
        title_lines = _title_lines(lines, i + 1)
        title = " ".join(lines[i + 1:i + 1 + title_lines])
    if title:
        label = f"{label} {_clean_title(title)}"
    return Heading(LEVELS[keyword], label, title_lines)


def is_article(heading: Heading | None) -> bool:
    """Whether `heading` is a numbered article's (a preamble stands at article level too)."""
    return heading is not None and heading.level == LEVELS["article"] and heading.label != PREAMBLE


def _inline_title(rest: str, number: str | None) -> str | None:
    """The title after the number: "" when none, None when the line is not a heading at all."""
    if not rest.strip():
        return ""
    separator = _HEADING_SEPARATOR.match(rest)
    if separator:
        title = rest[separator.end():].strip()
        return title if title and _is_title_text(title) else None
    if not rest.startswith(" "):  # "Article 13(4)", "Article 5,"
        return None
    title = rest.strip()
    if not title[:1].isupper() or _parse_number_only(title):
        return None
    return title if _is_title_text(title) else None


def _parse_number_only(text: str) -> bool:
    match = _HEADING.match(text)
    return bool(match and match.group("num"))


def _is_title_text(title: str) -> bool:
    return len(title) <= _MAX_TITLE_CHARS and not title.endswith((",", ";", "."))


def _title_lines(lines: list[str], i: int) -> int:
    """How many lines from `lines[i]` title a bare heading (0-2), not the start of its text.

    A title is short, and what follows it starts a new block; a line followed by lowercase text
    is the first line of a sentence ("Article 4" / "States Parties shall ... other" / "measures").
    """
    if not _is_title_line(lines, i):
        return 0
    if _starts_block(lines, i + 1):
        return 1
    wrapped = i + 1 < len(lines) and lines[i + 1][:1].islower() and _is_title_line(lines, i + 1)
    if wrapped and len(f"{lines[i]} {lines[i + 1]}") <= _MAX_TITLE_CHARS and _starts_block(lines, i + 2):
        return 2
    return 0


def _is_title_line(lines: list[str], i: int) -> bool:
    if i >= len(lines):
        return False
    line = lines[i]
    if len(line.split()) > _MAX_HEADING_WORDS or not line[:1].isalpha():
        return False
    if re.match(r"^[(\[]?[0-9A-Za-z]{1,5}[.)\]]\s", line):  # "A. The ...": a list item
        return False
    if _parse_number_only(line):
        return False
    return _is_title_text(line) and not line.endswith(":")


def _starts_block(lines: list[str], i: int) -> bool:
    """Whether `lines[i]` can begin a new paragraph (or the page ends before it)."""
    return i >= len(lines) or not lines[i][:1].islower()


def _heading_label(keyword: str, number: str | None, suffix: str | None) -> str:
    parts = [keyword.capitalize()]
    if number:
        compact = number.replace(" ", "")
        parts.append(compact.upper() if _ROMAN.match(compact) else compact)
    if suffix:
        parts.append(suffix.lower())
    return " ".join(parts)


def _clean_title(title: str) -> str:
    """Sentence case for all-caps or lowercase titles; others as printed."""
    title = title.strip()
    if title.isupper() or title[:1].islower():
        return title[:1].upper() + title[1:].lower()
    return title


def next_path(path: SectionPath, heading: Heading) -> SectionPath:
    """A heading replaces its level and clears every deeper one."""
    kept = tuple(entry for entry in path if entry[0] < heading.level)
    return kept + ((heading.level, heading.label),)


def hoist_page_end_heading(lines: list[str]) -> list[str]:
    """Move a chapter/part heading found at the very end of a page to its start.

    Some layouts (the UNHCR booklet) print the chapter banner at the top of the page but put it
    last in the content stream; a chapter heading with nothing under it on its page is that case.
    """
    for take in (1, 2):
        if len(lines) <= take:
            continue
        tail = lines[-take:]
        heading = parse_heading(tail, 0)
        if heading and heading.level < LEVELS["article"] and heading.title_lines == take - 1:
            return tail + lines[:-take]
    return lines
