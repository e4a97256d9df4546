"""A treaty's preamble as a section of its own, with or without a printed "Preamble" heading.

The preamble ("The High Contracting Parties, Considering ... Have agreed as follows:") is part
of the instrument, not front matter: a lawyer cites it. Some texts head it "Preamble" (the CRC,
the UDHR, the EU Charter, the UNHCR booklet); others open it with no heading, straight after the
title (the Council of Europe's ECHR texts). Both become a "Preamble" section, at article level,
so the first article or chapter closes it and a later instrument's preamble sits under its title.
"""

from __future__ import annotations

import re

from ingest.readers.pdf.headings import LEVELS, PREAMBLE, PREAMBLE_LINE, Heading, parse_heading

# How a headless preamble opens: the parties, named before their considerations. Matched
# case-insensitively, since booklets set these words in small capitals that text extraction
# returns in mixed case ("The GovernmenTs siGnaTory hereto").
_OPENING = re.compile(
    r"^the (?:governments signatory|member states of the council of europe|high contracting "
    r"parties|states parties to (?:the present|this) (?:convention|covenant|protocol))\b",
    re.IGNORECASE,
)
# ... and how it closes, before the first article.
_CLOSING = re.compile(r"^have agreed\b", re.IGNORECASE)
_MAX_PREAMBLE_LINES = 120
_MAX_BANNER_WORDS = 4

Position = tuple[int, int]  # (page, line) in the pages as assembled, both 0-based


def preamble_heading() -> Heading:
    return Heading(LEVELS["article"], PREAMBLE, 0)


def hoist_side_preamble(lines: list[str]) -> list[str]:
    """Move a "Preamble" label printed beside the text, but last in the page's content stream
    (the UDHR booklet: only the document's short title banner after it), to the page's start."""
    for i in range(len(lines) - 1, 0, -1):
        if PREAMBLE_LINE.match(lines[i]):
            if all(_is_banner_line(line) for line in lines[i + 1:]):
                return [lines[i], *lines[:i], *lines[i + 1:]]
            return lines
    return lines


def _is_banner_line(line: str) -> bool:
    return (len(line.split()) <= _MAX_BANNER_WORDS and line[:1].isupper()
            and not re.search(r"[.,;:]", line))


def headless_preambles(pages: list[list[str]]) -> dict[Position, Heading]:
    """The positions where a preamble without a heading opens.

    A line opens one when it starts a block with the parties' formula and a line starting
    "Have agreed" follows before the next heading, and that heading is a provision's (an
    article, section, chapter or part): a sentence in running text that happens to start so
    is not enough.
    """
    found: dict[Position, Heading] = {}
    flat = [(p, i, line) for p, lines in enumerate(pages) for i, line in enumerate(lines)]
    for k, (p, i, line) in enumerate(flat):
        previous = pages[p][i - 1] if i > 0 else ""
        if not _OPENING.match(line) or PREAMBLE_LINE.match(previous) or not _ends_block(previous):
            continue
        if _closes_before_a_provision(flat, pages, k + 1):
            found[(p, i)] = preamble_heading()
    return found


def _ends_block(line: str) -> bool:
    return not line.endswith((",", "the", "of", "and"))


def _closes_before_a_provision(flat: list[tuple[int, int, str]], pages: list[list[str]],
                               start: int) -> bool:
    closed = False
    for p, i, line in flat[start:start + _MAX_PREAMBLE_LINES]:
        heading = parse_heading(pages[p], i)
        if heading is not None:
            return closed and heading.label != PREAMBLE
        closed = closed or bool(_CLOSING.match(line))
    return False
