"""Printed page labels of a PDF: its /PageLabels when meaningful, else inferred from printed numbers."""

from __future__ import annotations

import re
from collections import Counter

import pypdf

EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running heads or numbers
_LABEL_MIN_PAGES = 3
_LABEL_MIN_SHARE = 0.50

PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+)?(\d{1,4}|[ivxlcdm]{1,7}|[IVXLCDM]{1,7})(?:\s*[-–—])?$",
    re.IGNORECASE,
)
_ARABIC_PAGE_NUMBER = re.compile(r"^(?:[-–—]\s*)?(?:page\s+)?(\d{1,4})(?:\s*[-–—])?$", re.IGNORECASE)


def page_labels(reader: pypdf.PdfReader, pages: list[list[str]]) -> list[str]:
    """Printed page labels: /PageLabels when meaningful, else inferred from printed numbers."""
    count = len(pages)
    declared = _declared_labels(reader, count)
    if declared is not None:
        return declared
    offset = _infer_offset(pages)
    if offset is None:
        return [str(i) for i in range(1, count + 1)]
    return [str(i + offset) if i + offset > 0 else str(i) for i in range(1, count + 1)]


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


def edge_lines(lines: list[str]) -> list[str]:
    if len(lines) <= 2 * EDGE_LINES:
        return list(lines)
    return lines[:EDGE_LINES] + lines[-EDGE_LINES:]
