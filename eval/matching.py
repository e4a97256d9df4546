"""Tolerant location of gold quotes in extracted text, and offset alignment between two texts."""

from __future__ import annotations

import bisect
import difflib
import unicodedata
from dataclasses import dataclass

# A quote is accepted by the fuzzy fallback when matching blocks cover this share of it.
FUZZY_MIN_COVERAGE = 0.9


@dataclass(frozen=True, slots=True)
class Skeleton:
    """Text reduced to case-folded letters and digits, with each kept char's original offset.

    Comparing skeletons ignores whitespace, punctuation, hyphens (line-break hyphenation and
    soft hyphens alike), quote styles and leftover markdown markup, all the ways an extracted
    text and a hand-copied quote may differ without differing in words.
    """

    text: str
    offsets: list[int]  # offsets[i] = index in the source text of skeleton char i


def skeleton(text: str) -> Skeleton:
    chars: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            if ch.isalnum():
                chars.append(ch.lower())
                offsets.append(i)
            continue
        # NFKC turns ligatures ("ﬁ") and full-width forms into plain letters.
        for part in unicodedata.normalize("NFKC", ch).casefold():
            if part.isalnum():
                chars.append(part)
                offsets.append(i)
    return Skeleton("".join(chars), offsets)


@dataclass(frozen=True, slots=True)
class QuoteMatch:
    start: int
    end: int
    method: str  # "exact" or "fuzzy"
    coverage: float
    occurrences: int = 1


class QuoteLocator:
    """Finds quotes in one document text; builds the document's skeleton once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.skel = skeleton(text)
        self._matcher: difflib.SequenceMatcher | None = None

    def _span(self, first: int, last: int) -> tuple[int, int]:
        """Source span from skeleton char `first` through skeleton char `last` inclusive."""
        return self.skel.offsets[first], self.skel.offsets[last] + 1

    def locate(self, quote: str) -> QuoteMatch | None:
        q = skeleton(quote).text
        if not q:
            return None
        at = self.skel.text.find(q)
        if at >= 0:
            count = self.skel.text.count(q)
            start, end = self._span(at, at + len(q) - 1)
            return QuoteMatch(start, end, "exact", 1.0, count)
        return self._fuzzy(q)

    def _fuzzy(self, q: str) -> QuoteMatch | None:
        doc = self.skel.text
        if self._matcher is None:
            # b = the document: SequenceMatcher indexes b once and reuses it for every quote.
            self._matcher = difflib.SequenceMatcher(None, autojunk=False)
            self._matcher.set_seq2(doc)
        self._matcher.set_seq1(q)
        anchor = self._matcher.find_longest_match(0, len(q), 0, len(doc))
        if anchor.size == 0:
            return None
        # Align the whole quote against a window around its longest exact piece.
        lo = max(anchor.b - anchor.a - len(q) // 5, 0)
        hi = min(anchor.b + (len(q) - anchor.a) + len(q) // 5, len(doc))
        window = difflib.SequenceMatcher(None, q, doc[lo:hi], autojunk=False)
        blocks = [b for b in window.get_matching_blocks() if b.size >= 3]
        covered = sum(b.size for b in blocks)
        coverage = covered / len(q)
        if coverage < FUZZY_MIN_COVERAGE:
            return None
        first = lo + blocks[0].b
        last = lo + blocks[-1].b + blocks[-1].size - 1
        start, end = self._span(first, last)
        return QuoteMatch(start, end, "fuzzy", round(coverage, 4))


def locate_quote(text: str, quote: str) -> QuoteMatch | None:
    return QuoteLocator(text).locate(quote)


class OffsetAligner:
    """Maps offsets in a derived text (e.g. a reader's output) to offsets in its source text.

    The derived text must keep the source's non-whitespace characters in order, changing only
    whitespace (newline normalization, stripped lines, collapsed blank lines, BOM removal):
    true of the plain-text reader. Non-whitespace characters are paired in order; pairs that
    differ are counted in `mismatches` (zero means the offsets map exactly).
    """

    def __init__(self, derived: str, source: str) -> None:
        self.derived_len = len(derived)
        self.source_len = len(source)
        anchors_d: list[int] = []
        anchors_s: list[int] = []
        self.mismatches = 0
        j = 0
        n = len(source)
        for i, ch in enumerate(derived):
            if ch.isspace():
                continue
            while j < n and (source[j].isspace() or source[j] == "\ufeff"):
                j += 1
            if j >= n:
                self.mismatches += 1
                continue
            if source[j] != ch:
                # Paired anyway, as a substitution (e.g. a replaced undecodable byte), so
                # one changed character does not throw every later pairing off.
                self.mismatches += 1
            anchors_d.append(i)
            anchors_s.append(j)
            j += 1
        self._d = anchors_d
        self._s = anchors_s

    @property
    def identical_skeleton(self) -> bool:
        return self.mismatches == 0

    def start(self, offset: int) -> int:
        """Source offset for a span starting at derived `offset` (its first paired char)."""
        i = bisect.bisect_left(self._d, offset)
        if i >= len(self._d):
            return self.source_len
        return self._s[i]

    def end(self, offset: int) -> int:
        """Source offset for a span ending (exclusive) at derived `offset`."""
        i = bisect.bisect_left(self._d, offset) - 1
        if i < 0:
            return 0
        return self._s[i] + 1

    def span(self, start: int, end: int) -> tuple[int, int]:
        s, e = self.start(start), self.end(end)
        return (s, max(s, e))
