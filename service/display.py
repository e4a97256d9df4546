"""Passage text for reading: PDF column line breaks joined, paragraphs and list items kept.

The reflowed text has the stored text's length and differs from it only where a line break
became a space, so `char_start`/`char_end` and highlight offsets point into both alike: the
offset map is the identity, which no later edit of these rules can silently break (the tests
check it on arbitrary text).
"""

from __future__ import annotations

import re
from collections.abc import Collection

# A line that starts a unit of its own: a numbered paragraph or list item ("1.", "2)", "(a)",
# "(iii)", "a)", "(1)(b)"), a bullet, or a provision heading ("Article 5", "Section 3", "§ 12").
_STARTS_UNIT = re.compile(
    r"""^\s*(?:
        \(?[0-9]{1,3}[.)](?:\s|$)           # 1.  2)  (3)
      | \([0-9a-zA-Z]{1,5}\)                # (a) (iii) (1) (A)
      | [a-z][.)]\s                          # a)  b.
      | [ivxlcIVXLC]{1,6}[.)]\s              # iv. XII)
      | [•·▪◦*–—-]\s                         # bullets and dashes
      | (?:article|art\.|section|chapter|part|annex|recital|rule|schedule|§)\s*[0-9ivxlcIVXLC]
    )""", re.VERBOSE | re.IGNORECASE)


def reflow(text: str, headings: Collection[str] = ()) -> str:
    """`text` with each line break inside a paragraph replaced by a space.

    A break stays where a blank line separates paragraphs, where the next line starts a list
    item, numbered paragraph or provision heading, where the line before ends a heading-like
    short line with a colon, and after a line that is one of `headings` (the passage's heading
    path). Every other character is unchanged, so offsets are shared.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    heading_lines = {h.strip() for h in headings}
    out = [lines[0]]
    for previous, line in zip(lines, lines[1:]):
        out.append("\n" if _keeps_break(previous, line, heading_lines) else " ")
        out.append(line)
    return "".join(out)


def _keeps_break(previous: str, line: str, headings: Collection[str] = ()) -> bool:
    if not previous.strip() or not line.strip():
        return True  # a blank line: a paragraph break (both of its newlines stay)
    if previous.strip() in headings:
        return True  # "Eurodac fingerprints and transfers" does not run into its text
    if previous.rstrip().endswith(":"):
        return True  # "... the following:" introduces a list
    return bool(_STARTS_UNIT.match(line))


PAGE_RANGE = "\u2013"  # en dash, as PDF spreads print it ("36–37") and as citations write ranges


def printed_pages(start: str | None, end: str | None) -> str | None:
    """The printed page numbers from a passage's first page label to its last: "12", "12–13",
    "36–39" from the spreads "36–37" and "38–39"; None when its pages print no number."""
    if not start and not end:
        return None
    if not start or not end or start == end:
        return start or end
    first, last = start.split(PAGE_RANGE)[0], end.split(PAGE_RANGE)[-1]
    return first if first == last else f"{first}{PAGE_RANGE}{last}"


def page_reference(printed: str | None, page_start: int | None, page_end: int | None) -> str:
    """ "p. 38 (PDF page 8)", "pp. 36–39 (PDF pages 20–21)", "PDF page 3 (no printed page
    number)", or "" for a document without pages."""
    if page_start is None:
        return ""
    many = page_end is not None and page_end != page_start
    pdf = (f"PDF pages {page_start}{PAGE_RANGE}{page_end}" if many
           else f"PDF page {page_start}")
    if printed is None:
        return f"{pdf} (no printed page number)"
    return f"{'pp.' if PAGE_RANGE in printed else 'p.'} {printed} ({pdf})"


def citation_text(short_title: str, section: str, printed: str | None,
                  page_start: int | None, page_end: int | None) -> str:
    """One line a reader can paste: the instrument's short name, the provision, the pages."""
    return ", ".join(part for part in (short_title, section,
                                       page_reference(printed, page_start, page_end)) if part)
