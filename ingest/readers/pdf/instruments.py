"""Instrument titles in PDFs holding several instruments (a Convention and its Protocols).

Each instrument numbers its articles afresh, so "Article 4" means nothing without the
instrument: its title heading starts a new top-level section, above its parts and chapters.
"""

from __future__ import annotations

import bisect
import re

from ingest.readers.pdf.headings import LEVELS, Heading, is_article, parse_heading

INSTRUMENT_LEVEL = min(LEVELS.values()) - 1  # above every part, chapter and article
_INSTRUMENT = re.compile(r"^(protocol|convention|agreement|covenant|treaty|charter)\b", re.IGNORECASE)
_FIRST_ARTICLE = re.compile(r"^Article (1|I)\b")
_MAX_TITLE_LINES = 8
_MAX_BANNER_LINES = 3
_MAX_WORDS = 12
_MAX_LABEL_CHARS = 120
_DOT_LEADER = re.compile(r"\.{3,}|…")  # a table of contents line: "Protocol No. 4 ....... 36"

Position = tuple[int, int]  # (page, line) in the pages as assembled, both 0-based


def place_instruments(pages: list[list[str]]) -> tuple[list[list[str]], dict[Position, Heading]]:
    """The pages with page-end instrument banners moved to their page's start, and the title
    headings of the instruments after the first, by position.

    A title counts when it opens a block of text and the next article after it is Article 1
    (or I). The first instrument is the one the document is named for: its passages keep their
    cites; every later one starts a new top-level section, so its "Article 4" is not read as
    the first instrument's.
    """
    placed: list[list[str]] = []
    found: dict[Position, Heading] = {}
    hoisted: dict[int, int] = {}  # page -> banner lines moved to its start
    for p, lines in enumerate(pages):
        moved, banner = _hoist_banner(lines)
        placed.append(moved)
        if banner is not None:
            found[(p, 0)] = banner
            hoisted[p] = banner.title_lines + 1
        for i in range(1 if banner is not None else 0, len(moved)):
            heading = _title_at(moved, i)
            if heading is not None:
                found[(p, i)] = heading
    # Of several titles before the same Article 1 (a cover, a title page, the banner), the one
    # nearest the articles starts the instrument.
    articles = _articles(placed)
    nearest: dict[Position, Position] = {}
    for position in sorted(found):
        following = bisect.bisect_right(articles, (position, True))
        if following < len(articles) and articles[following][1]:
            nearest[articles[following][0]] = position
    later = sorted(nearest.values())[1:]
    starts = {position: found[position] for position in later}
    for p, take in hoisted.items():
        if (p, 0) not in starts:  # the banner starts no later instrument: the page stays as read
            placed[p] = pages[p]
            starts = {(q, i - take if q == p else i): h for (q, i), h in starts.items()}
    return placed, starts


def _is_title_line(line: str) -> bool:
    return (len(line.split()) <= _MAX_WORDS and line[:1].isalpha() and not _DOT_LEADER.search(line)
            and not re.search(r"[,;]", line) and not line.endswith((".", ":"))
            and parse_heading([line], 0) is None)


def _starts_instrument(line: str) -> bool:
    return bool(_INSTRUMENT.match(line)) and _is_title_line(line)


def _title_at(lines: list[str], i: int) -> Heading | None:
    """An instrument title starting at lines[i] in the page's flow, or None."""
    if not _starts_instrument(lines[i]):
        return None
    # A title opens a block: a line continuing a sentence ("... by means of the" /
    # "Convention for the Protection ...") is running text.
    if i > 0 and not lines[i - 1].endswith((".", ":", ";")):
        return None
    extra = 0
    while (extra < _MAX_TITLE_LINES - 1 and i + extra + 1 < len(lines)
           and _is_title_line(lines[i + extra + 1])):
        extra += 1
    return _heading(lines[i:i + extra + 1])


def _hoist_banner(lines: list[str]) -> tuple[list[str], Heading | None]:
    """Move an instrument title printed atop the page but last in its content stream.

    Booklets print the instrument's banner at the top of its first page; some put it last in
    the content stream, after text that belongs under it.
    """
    for take in range(_MAX_BANNER_LINES, 0, -1):
        if len(lines) <= take:
            continue
        tail = lines[-take:]
        if _starts_instrument(tail[0]) and all(_is_title_line(line) for line in tail[1:]):
            return tail + lines[:-take], _heading(tail)
    return lines, None


def _heading(title: list[str]) -> Heading:
    """The title's lines as one heading; its label is as much of the title as reads well."""
    label = title[0]
    for line in title[1:]:
        if len(f"{label} {line}") > _MAX_LABEL_CHARS:
            break
        label = f"{label} {line}"
    if label.isupper() or label[:1].islower():
        label = label[:1].upper() + label[1:].lower()
    return Heading(INSTRUMENT_LEVEL, label, len(title) - 1)


def _articles(pages: list[list[str]]) -> list[tuple[Position, bool]]:
    """Every article heading's position, in order, and whether it is Article 1 (or I)."""
    found: list[tuple[Position, bool]] = []
    for p, lines in enumerate(pages):
        for i in range(len(lines)):
            heading = parse_heading(lines, i)
            if is_article(heading):
                found.append(((p, i), bool(_FIRST_ARTICLE.match(heading.label))))
    return found
