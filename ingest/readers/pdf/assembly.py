"""Assembly of cleaned PDF pages into one text with its page map and section paths."""

from __future__ import annotations

from collections import Counter

from ingest.document import TextBuilder
from ingest.readers.pdf.headings import (
    Heading,
    SectionPath,
    hoist_page_end_heading,
    next_path,
    parse_heading,
)
from ingest.readers.pdf.instruments import place_instruments
from ingest.readers.pdf.normalize import SOFT_HYPHEN, merge
from ingest.readers.pdf.preambles import headless_preambles, hoist_side_preamble
from ingest.readers.pdf.side_labels import number_side_labels


def build_text(pages: list[list[str]], labels: list[str | None], vocab: Counter[str],
               soft_breaks: bool, ocr_pages: frozenset[int] = frozenset()) -> TextBuilder:
    """`ocr_pages`: the (1-based) pages whose text came from OCR, marked so in the page map."""
    builder = TextBuilder()
    pages, side_labels = number_side_labels(
        [hoist_side_preamble(hoist_page_end_heading(lines)) for lines in pages])
    pages, instruments = place_instruments(pages)
    # Headings found from their context, by position, before what the line alone would say.
    placed: dict[tuple[int, int], Heading] = {**headless_preambles(pages), **instruments}
    path: SectionPath = ()
    glue = False  # the previous page with text ended inside a word: no break before this one
    for index, (lines, label) in enumerate(zip(pages, labels), start=1):
        # Every page gets a span, even an empty one, so the page map is complete.
        builder.start_page(index, label, index in ocr_pages)
        i = 0
        while i < len(lines):
            heading = (placed.get((index - 1, i)) or _side_label(side_labels, index - 1, lines[i])
                       or parse_heading(lines, i))
            separator = _separator(builder, i, heading is not None, glue)
            if heading:
                path = next_path(path, heading)
                # Before the heading's own text, so the heading line belongs to its section.
                builder.set_path(tuple(label_ for _, label_ in path))
                for _ in range(heading.title_lines):
                    builder.append(separator + lines[i])
                    separator, i = "\n", i + 1
            line = lines[i]
            if i == len(lines) - 1:
                line, glue = _page_end_break(line, index, pages, vocab, soft_breaks)
            builder.append(separator + line)
            i += 1
    return builder


def _side_label(labels: dict[int, Heading], page: int, line: str) -> Heading | None:
    heading = labels.get(page)
    return heading if heading is not None and line == heading.label else None


def _separator(builder: TextBuilder, i: int, is_heading: bool, glue: bool) -> str:
    if builder.length == 0:
        return ""
    if i == 0:
        return "" if glue and not is_heading else "\n\n"
    return "\n\n" if is_heading else "\n"


def _page_end_break(line: str, index: int, pages: list[list[str]], vocab: Counter[str],
                    soft_breaks: bool) -> tuple[str, bool]:
    """A word broken across the page turn: drop the break hyphen and glue the next page on.

    `pages` are as written, banner headings already moved to their page's start."""
    following = next((p for p in pages[index:] if p), None)
    if not following or not following[0][:1].islower():
        return line.rstrip(SOFT_HYPHEN), False
    merged = merge(line, following[0], vocab, soft_breaks)
    if merged is None:
        return line, False
    # The merge tells us whether the hyphen stays; keep only this page's part of the result.
    return merged[: len(merged) - len(following[0])], True
