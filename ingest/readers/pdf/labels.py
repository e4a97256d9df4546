"""Printed page labels of a PDF: its /PageLabels when meaningful, else read from printed numbers.

A PDF page that is a two-page spread (a booklet scanned or exported open) prints two numbers
and is labelled with both ("36–37"). A page on which no printed number can be read or inferred
gets no label (None) rather than its PDF index, which would read as a printed page number.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

import pypdf

EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running heads or numbers
_LABEL_MIN_PAGES = 3
_LABEL_MIN_SHARE = 0.50
# A spread is as wide as two of the document's single pages, give or take trimming.
_SPREAD_WIDTH_TOLERANCE = 0.10
RANGE_DASH = "\u2013"  # en dash: "36–37"

PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+)?(\d{1,4}|[ivxlcdm]{1,7}|[IVXLCDM]{1,7})(?:\s*[-–—])?$",
    re.IGNORECASE,
)
_ARABIC_PAGE_NUMBER = re.compile(r"^(?:[-–—]\s*)?(?:page\s+)?(\d{1,4})(?:\s*[-–—])?$", re.IGNORECASE)
# Both numbers of a spread on one line, as text extraction joins them: "36 37".
_NUMBER_PAIR = re.compile(r"^(\d{1,4})\s+(\d{1,4})$")


@dataclass(frozen=True, slots=True)
class _Geometry:
    width: float
    height: float

    @property
    def landscape(self) -> bool:
        return self.width > self.height


def page_labels(reader: pypdf.PdfReader, pages: list[list[str]]) -> tuple[list[str | None], list[str]]:
    """Each page's printed label (None where none is known), and warnings about missing ones."""
    count = len(pages)
    declared = _declared_labels(reader, count)
    if declared is not None:
        return list(declared), []
    geometry = [_page_geometry(reader, i) for i in range(count)]
    doubled = _doubled_pages(geometry)
    spreads = _spread_labels(pages, geometry, doubled)
    singles = [lines if i not in spreads and not doubled[i] else [] for i, lines in enumerate(pages)]
    offset = _infer_offset(singles)
    labels: list[str | None] = []
    for i in range(count):
        if i in spreads:
            labels.append(spreads[i])
        elif doubled[i] or offset is None or i + 1 + offset <= 0:
            # A sheet twice the page width with no number (a wraparound cover) is outside the
            # numbered run, and so is a page before the printed numbering starts.
            labels.append(None)
        else:
            labels.append(str(i + 1 + offset))
    return labels, _missing_label_warnings(labels)


def is_page_number_pair(line: str) -> bool:
    """Whether a line is the two printed numbers of a spread ("36 37")."""
    match = _NUMBER_PAIR.match(line)
    return bool(match) and int(match.group(2)) == int(match.group(1)) + 1


def _declared_labels(reader: pypdf.PdfReader, count: int) -> list[str] | None:
    try:
        if "/PageLabels" not in reader.trailer["/Root"]:
            return None
        labels = list(reader.page_labels)
    except Exception:  # a broken /PageLabels tree is no reason to fail the document
        return None
    trivial = [str(i) for i in range(1, count + 1)]
    if len(labels) != count or labels == trivial or not all(labels):
        return None
    return labels


def _page_geometry(reader: pypdf.PdfReader, i: int) -> _Geometry | None:
    """The page's size as displayed (rotation applied), or None when the page tree is broken."""
    try:
        page = reader.pages[i]
        box = page.mediabox
        width, height = abs(float(box.width)), abs(float(box.height))
        if int(page.get("/Rotate", 0) or 0) % 180 == 90:
            width, height = height, width
    except Exception:
        return None
    return _Geometry(width, height) if width > 0 and height > 0 else None


def _doubled_pages(geometry: list[_Geometry | None]) -> list[bool]:
    """Landscape pages as wide as two of the document's portrait pages side by side."""
    portrait = [g.width for g in geometry if g is not None and not g.landscape]
    if not portrait:
        return [False] * len(geometry)
    single = statistics.median(portrait)
    return [g is not None and g.landscape
            and abs(g.width - 2 * single) <= _SPREAD_WIDTH_TOLERANCE * g.width for g in geometry]


def _printed_numbers(lines: list[str]) -> tuple[list[int], tuple[int, int] | None]:
    """Single page numbers and a spread's number pair found on a page's edge lines."""
    singles: list[int] = []
    pair: tuple[int, int] | None = None
    for line in edge_lines(lines):
        match = _ARABIC_PAGE_NUMBER.match(line)
        if match:
            singles.append(int(match.group(1)))
        elif is_page_number_pair(line):
            first, second = line.split()
            pair = (int(first), int(second))
    if pair is None:
        # The two numbers of a spread can also come out as two lines, in either order.
        for n in singles:
            if n + 1 in singles:
                pair = (n, n + 1)
                break
    return singles, pair


def _spread_labels(pages: list[list[str]], geometry: list[_Geometry | None],
                   doubled: list[bool]) -> dict[int, str]:
    """Labels ("36–37") of the pages (0-based) that are two-page spreads.

    A landscape page printing two consecutive numbers is a spread; so is a page of twice the
    document's page width. Spreads advance two printed pages per PDF page, so the left page's
    number is 2 x index + c; c, voted by the pairs, places a spread on which only one of its
    numbers is printed (a blank or unnumbered half).
    """
    found: dict[int, tuple[list[int], tuple[int, int] | None]] = {}
    for i, lines in enumerate(pages):
        g = geometry[i]
        if g is None or not g.landscape:
            continue
        singles, pair = _printed_numbers(lines)
        if pair is not None or singles:
            found[i] = (singles, pair)
    votes = Counter(pair[0] - 2 * (i + 1) for i, (_, pair) in found.items() if pair is not None)
    shift = votes.most_common(1)[0][0] if votes else None
    labels: dict[int, str] = {}
    for i, (singles, pair) in found.items():
        if pair is None:
            left = None if shift is None else 2 * (i + 1) + shift
            n = singles[0]
            if left is not None and n in (left, left + 1):
                pair = (left, left + 1)
            elif not doubled[i]:
                continue  # one number on a landscape page that is no spread: a single page
            else:
                labels[i] = str(n)
                continue
        labels[i] = f"{pair[0]}{RANGE_DASH}{pair[1]}"
    return labels


def _infer_offset(pages: list[list[str]]) -> int | None:
    """The constant (printed number - PDF index) shared by enough pages, if there is one."""
    votes: Counter[int] = Counter()
    with_text = 0
    for index, lines in enumerate(pages, start=1):
        if not lines:
            continue
        with_text += 1
        offsets = set()
        for line in edge_lines(lines):
            match = _ARABIC_PAGE_NUMBER.match(line)
            if match:
                offsets.add(int(match.group(1)) - index)
        votes.update(offsets)
    if not votes:
        return None
    offset, support = votes.most_common(1)[0]
    if support >= _LABEL_MIN_PAGES and support >= _LABEL_MIN_SHARE * with_text:
        return offset
    return None


def _missing_label_warnings(labels: list[str | None]) -> list[str]:
    missing = [i for i, label in enumerate(labels, start=1) if label is None]
    if not missing:
        return []
    if len(missing) == 1:
        return [f"no printed page number on PDF page {missing[0]}: its page label is left empty"]
    return [f"no printed page number on PDF pages {page_ranges(missing)}: their page labels are "
            "left empty"]


def page_ranges(numbers: list[int]) -> str:
    """ "1-3, 7, 9-10" for [1, 2, 3, 7, 9, 10]."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def edge_lines(lines: list[str]) -> list[str]:
    if len(lines) <= 2 * EDGE_LINES:
        return list(lines)
    return lines[:EDGE_LINES] + lines[-EDGE_LINES:]
