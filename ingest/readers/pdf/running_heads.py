"""Removal of running headers, footers and bare page numbers repeated at the edges of PDF pages."""

from __future__ import annotations

import re
from collections import Counter

from ingest.readers.pdf.labels import EDGE_LINES, PAGE_NUMBER, edge_lines, is_page_number_pair

_HEADER_MIN_PAGES = 3
_HEADER_MIN_SHARE = 0.30
# A repeated line this distinctive (non-digit characters) is removed wherever it sits on a page:
# footnotes can push an Official Journal footer above the last two lines.
_DISTINCTIVE_HEADER_CHARS = 12


def _head_key(line: str) -> str:
    return re.sub(r"\d", "#", line.replace(" ", "").lower())


def strip_running_heads(pages: list[list[str]]) -> list[list[str]]:
    """Drop lines repeated at page edges across many pages, and bare page numbers at edges
    (a spread's pair "36 37" included)."""
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_head_key(line) for line in edge_lines(lines)})
    threshold = max(_HEADER_MIN_PAGES, _HEADER_MIN_SHARE * len(pages))
    repeated = {key for key, n in counts.items() if n >= threshold}
    return [_strip_page(lines, repeated) for lines in pages]


def _strip_page(lines: list[str], repeated: set[str]) -> list[str]:
    edge = set(range(min(EDGE_LINES, len(lines)))) | set(range(max(len(lines) - EDGE_LINES, 0), len(lines)))
    kept = []
    for i, line in enumerate(lines):
        key = _head_key(line)
        distinctive = len(key.replace("#", "")) >= _DISTINCTIVE_HEADER_CHARS
        at_edge = i in edge
        if key in repeated and (at_edge or distinctive):
            continue
        if at_edge and (PAGE_NUMBER.match(line) or is_page_number_pair(line)):
            continue
        kept.append(line)
    return kept
