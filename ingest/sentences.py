"""Sentence boundaries in legal text, shared by the chunker and the highlighter."""

from __future__ import annotations

import re

# A boundary is end punctuation, optional closing quote or bracket, then white space and
# something that can start a sentence.
_BOUNDARY = re.compile(r"[.;:!?][\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9§])")
# Tokens ending in a full stop that do not end a sentence: enumerators ("1.", "(a).", "iv.")
# and the abbreviations of legal citations.
_NOT_AN_END = re.compile(
    r"(?:^|[\s(])(?:\(?\d{1,3}|\(?[a-zA-Z]|[ivxlcIVXLC]{1,6}|art|arts|no|nos|para|paras|"
    r"s|ss|sec|ch|cf|e\.g|i\.e|u\.s\.c|u\.s|mr|mrs|ms|dr|st|v|vol|p|pp|op|cit|ibid)\.$",
    re.IGNORECASE)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as (start, end) offsets, trimmed of white space."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    begin = start
    for m in _BOUNDARY.finditer(text, start, end):
        stop = m.start() + 1
        if _NOT_AN_END.search(text, max(0, stop - 12), stop):
            continue
        _add(text, begin, m.end(), spans)
        begin = m.end()
    _add(text, begin, end, spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def line_sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences that never cross a line break (list items and headings stand alone)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in text.split("\n"):
        spans.extend(sentence_spans(text, pos, pos + len(line)))
        pos += len(line) + 1
    return spans
