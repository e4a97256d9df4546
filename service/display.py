"""Passage text for reading: PDF column line breaks joined, paragraphs and list items kept.

The reflowed text has the stored text's length and differs from it only where a line break
became a space, so `char_start`/`char_end` and highlight offsets point into both alike: the
offset map is the identity, which no later edit of these rules can silently break (the tests
check it on arbitrary text).
"""

from __future__ import annotations

import re

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


def reflow(text: str) -> str:
    """`text` with each line break inside a paragraph replaced by a space.

    A break stays where a blank line separates paragraphs, where the next line starts a list
    item, numbered paragraph or provision heading, and where the line before ends a heading-like
    short line with a colon. Every other character is unchanged, so offsets are shared.
    """
    if "\n" not in text:
        return text
    lines = text.split("\n")
    out = [lines[0]]
    for previous, line in zip(lines, lines[1:]):
        out.append("\n" if _keeps_break(previous, line) else " ")
        out.append(line)
    return "".join(out)


def _keeps_break(previous: str, line: str) -> bool:
    if not previous.strip() or not line.strip():
        return True  # a blank line: a paragraph break (both of its newlines stay)
    if previous.rstrip().endswith(":"):
        return True  # "... the following:" introduces a list
    return bool(_STARTS_UNIT.match(line))
