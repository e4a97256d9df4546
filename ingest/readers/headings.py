"""Heading ranking and text emission shared by the markdown, HTML and plain-text readers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.document import TextBuilder

TITLE_SEPARATOR = " \u2013 "  # en dash: "Article 33 – Prohibition of expulsion ..."

_KEYWORD = re.compile(
    r"^(?:(?P<sect>§§?)|(?P<kw>title|subtitle|part|subpart|book|chapter|subchapter|section|article"
    r"|paragraph|schedule|annex|appendix)\b)\.?\s*"
    r"(?P<num>\d+[0-9A-Za-z.\-]*|(?-i:[IVXLCDM]+)\b|(?-i:[A-Z])\b)?",
    re.IGNORECASE,
)
_BARE_ROMAN = re.compile(r"^[IVXLCDM]+\.?$")
_BARE_NUMBER = re.compile(r"^\d+\.?$")
_STANDALONE = {"schedule", "annex", "appendix"}
_LEADING_MARKER = re.compile(r"^\(\w{1,6}\)")
# Headings that are really the opening words of a provision ("(C) An alien ... unless the alien").
_SENTENCE_WORDS = re.compile(
    r"\b(shall|must|unless)\b|\b(of|the|means|that|is|are|and|or|to|by|which|who|if|for|an?)\s*$")

# Treaties nest Part > Chapter > Section > Article; the US Code nests Chapter > Subchapter > Part.
TREATY_RANKS: dict[str, float] = {
    "title": 0, "part": 0, "book": 0, "schedule": 0, "annex": 0, "appendix": 0,
    "subtitle": 0.5, "subpart": 0.5, "chapter": 1, "roman": 1, "subchapter": 2, "section": 3,
    "article": 4, "§": 4, "paragraph": 5, "number": 5.5,
}
US_CODE_RANKS: dict[str, float] = {
    "title": 0, "book": 0, "schedule": 0, "annex": 0, "appendix": 0, "subtitle": 1,
    "chapter": 2, "subchapter": 3, "roman": 3, "part": 4, "subpart": 5, "section": 6,
    "article": 6, "§": 6, "paragraph": 7, "number": 7.5,
}
# Headings without a keyword rank by their level, always below any keyword heading.
UNKEYED_BASE = 10.0


@dataclass(slots=True)
class Block:
    """A heading (level = its # count or h-level) or, with level None, a paragraph."""

    text: str
    level: int | None = None

    @property
    def is_heading(self) -> bool:
        return self.level is not None


def normalize(text: str) -> str:
    return " ".join(text.split())


def keyword_of(text: str) -> str | None:
    """The structural keyword a heading starts with ("article", "§", "roman", ...), if any."""
    text = text.strip()
    if TITLE_SEPARATOR in text:
        text = text.split(TITLE_SEPARATOR, 1)[0]
    if _BARE_ROMAN.match(text):
        return "roman"
    if _BARE_NUMBER.match(text):
        return "number"
    m = _KEYWORD.match(text)
    if not m:
        return None
    if m.group("sect"):
        return "§"
    kw = m.group("kw").lower()
    if m.group("num") is None and not (kw in _STANDALONE and _titled_standalone(text, m)):
        return None
    return kw


def _is_marker_only(text: str, m: re.Match[str]) -> bool:
    return not text[m.end():].strip(" .:")


def _titled_standalone(text: str, m: re.Match[str]) -> bool:
    # "ANNEX – Specimen Travel Document": a standalone keyword with a title after a dash.
    rest = text[m.end():].lstrip()
    return not rest.strip(" .:") or rest[:1] in "\u2013\u2014-:"


def is_marker(text: str) -> bool:
    """True for a bare structural marker ("Article 33", "CHAPTER V", "IV") with no title of its own."""
    text = text.strip()
    if _BARE_ROMAN.match(text) or _BARE_NUMBER.match(text):
        return True
    m = _KEYWORD.match(text)
    return bool(m and keyword_of(text) is not None and _is_marker_only(text, m))


def choose_ranks(blocks: list[Block]) -> dict[str, float]:
    keys = {keyword_of(b.text) for b in blocks if b.is_heading}
    return US_CODE_RANKS if keys & {"§", "subchapter"} else TREATY_RANKS


def rank_of(block: Block, ranks: dict[str, float]) -> float:
    key = keyword_of(block.text)
    if key is not None:
        return ranks[key]
    return UNKEYED_BASE + (block.level or 0)


def path_label(text: str) -> str:
    """The label a heading gets in section paths; body-like headings shrink to their marker."""
    if keyword_of(text) is not None:
        return text
    if len(text) > 100 or _SENTENCE_WORDS.search(text):
        marker = _LEADING_MARKER.match(text)
        if marker:
            return marker.group(0)
        if len(text) > 200:
            return text[:120].rsplit(" ", 1)[0] + "\u2026"
    return text


def merge_titles(blocks: list[Block]) -> list[Block]:
    """Fold a title heading into the marker heading right above it ("Article 33" + its title).

    Sources put an article's title on its own deeper heading line; it is the article's name,
    not a child section.
    """
    out: list[Block] = []
    merged_prev = False
    for block in blocks:
        prev = out[-1] if out else None
        if (block.is_heading and prev is not None and prev.is_heading and not merged_prev
                and keyword_of(block.text) is None and (block.level or 0) > (prev.level or 0)
                and block.text):
            if is_marker(prev.text):
                title = block.text.lstrip("-\u2013\u2014: ") or block.text
                prev.text = f"{prev.text}{TITLE_SEPARATOR}{title}"
                merged_prev = True
                continue
            if block.text[0].islower():
                prev.text = f"{prev.text} {block.text}"
                merged_prev = True
                continue
        merged_prev = False
        out.append(block)
    return out


class HeadingStack:
    """The open headings, each with its rank; a new heading closes every one not above it."""

    def __init__(self) -> None:
        self._items: list[tuple[float, str]] = []

    def push(self, rank: float, label: str) -> tuple[str, ...]:
        while self._items and self._items[-1][0] >= rank:
            self._items.pop()
        self._items.append((rank, label))
        return self.path

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(label for _, label in self._items)


def emit_blocks(builder: TextBuilder, blocks: list[Block],
                ranks: dict[str, float] | None = None) -> None:
    """Write blocks as text: a heading's line then "\\n", paragraphs separated by blank lines.

    Block texts must already be clean; headings are normalized here.
    """
    ranks = ranks or choose_ranks(blocks)
    stack = HeadingStack()
    prev: Block | None = None
    for block in blocks:
        text = normalize(block.text) if block.is_heading else block.text.strip()
        if not text:
            continue
        sep = "" if prev is None else ("\n" if prev.is_heading else "\n\n")
        if block.is_heading:
            # The separator stays with the previous section so a section starts at its heading.
            builder.append(sep)
            builder.set_path(stack.push(rank_of(Block(text, block.level), ranks), path_label(text)))
            builder.append(text)
        else:
            builder.append(sep + text)
        prev = block
