"""Article headings printed as a side label "Article" with the number drawn as artwork.

The UN's illustrated UDHR booklet prints each article on a page of its own, labelled "Article"
in the margin, the big number beside it drawn partly or wholly as vector outlines: the text
layer holds the bare word, and of the number at most the digits set in a font ("02", or glued
to the text's last line, "in all their forms.04"). Such labels are numbered in order, from 1;
the numbering is used only when every number the text layer does print agrees with it, and
those printed digits, being the heading, are taken out of the article's text.
"""

from __future__ import annotations

import re

from ingest.readers.pdf.headings import LEVELS, Heading, is_article, parse_heading

_BARE_LABEL = re.compile(r"^\s*article\s*$", re.IGNORECASE)
_MIN_LABELS = 3
# The printed article number: two digits on a line of their own, or after the sentence's end.
_OWN_LINE = re.compile(r"^\s*(\d{2})\s*$")
_GLUED = re.compile(r"(?<=[.;])\s?(\d{2})\s*$")


def number_side_labels(pages: list[list[str]]) -> tuple[list[list[str]], dict[int, Heading]]:
    """The pages with each side label written out ("Article 14") and its printed digits
    removed, and the heading each labelled page (0-based) opens; the pages unchanged and no
    headings when the document has no such labels or its printed numbers disagree."""
    labelled = [p for p, lines in enumerate(pages) if _is_label_page(lines)]
    if len(labelled) < _MIN_LABELS:
        return pages, {}
    out = list(pages)
    headings: dict[int, Heading] = {}
    confirmed = 0
    for number, p in enumerate(labelled, start=1):
        lines, printed = _rewrite(pages[p], number)
        if printed is None:
            return pages, {}
        confirmed += printed
        out[p] = lines
        headings[p] = Heading(LEVELS["article"], f"Article {number}", 0)
    return (out, headings) if confirmed else (pages, {})


def _is_label_page(lines: list[str]) -> bool:
    """One bare label and no numbered article heading on the page."""
    bare = sum(1 for line in lines if _BARE_LABEL.match(line))
    numbered = any(is_article(parse_heading(lines, i)) for i in range(len(lines)))
    return bare == 1 and not numbered


def _rewrite(lines: list[str], number: int) -> tuple[list[str], int | None]:
    """The page with its label numbered and the matching printed digits dropped, and how many
    printed numbers confirmed `number`; None for that count when one contradicts it."""
    out: list[str] = []
    confirmed = 0
    for line in lines:
        if _BARE_LABEL.match(line):
            out.append(f"Article {number}")
            continue
        found = _OWN_LINE.match(line) or _GLUED.search(line)
        if found is None:
            out.append(line)
            continue
        if int(found.group(1)) != number:
            return lines, None
        confirmed += 1
        kept = line[:found.start()].rstrip()
        if kept:
            out.append(kept)
    return out, confirmed
