"""How statutes name their own subdivisions: Canada's "subsection 37(1)" and "paragraph
36(1)(a)", and references relative to the section a passage is in ("subsection (2)", the U.S.
Code's "paragraph (2)" and "subparagraph (A)").

Drafting conventions make these certain: in a Canadian Act "paragraph 36(1)(a)" is paragraph
(a) of subsection (1) of section 36; in the U.S. Code, "paragraph (2)" is paragraph (2) of the
subsection it is written in, and "subparagraph (A)" subparagraph (A) of the same paragraph. A
reference is resolved only where the passage's heading path (or, for the U.S. paragraph, the
numbered lines above it) says which subsection and paragraph those are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_LEVEL = r"\(\w{1,4}(?:\.\d+)?\)"
# "subsection 37(1)", "paragraph 36(1)(a)", "subparagraph 117(9)(d)(i)": a section number and a
# numbered subsection first. ("paragraph 2(a)" of a treaty names an article's paragraph.)
CANADIAN_NUMBERED = re.compile(
    rf"\b(?:sub)?(?:sections?|paragraphs?|subparagraphs?)\s+(\d+(?:\.\d+)*)(\(\d+(?:\.\d+)?\)"
    rf"(?:{_LEVEL})*)(?!\w|\.\d)", re.I)
# "subsection (2)", "paragraph (2)", "subparagraphs (B) and (C)": no section number.
_RELATIVE = re.compile(rf"\b(subsection|subparagraph|paragraph)s?\s+\((\w{{1,4}}(?:\.\d+)?)\)"
                       rf"((?:{_LEVEL})*)(?!\w)", re.I)
_MORE = re.compile(rf"(?:\s*,\s*|\s*,?\s+(?:and|or)\s+)\((\w{{1,4}}(?:\.\d+)?)\)((?:{_LEVEL})*)"
                   r"(?!\w)")
# What follows a reference that is not relative: "of section 1184", "of such subsection" (a
# footnote mark may stand between: "(p) 1 of section 1184"). Only the unit it is written in
# may be named: "subsection (b) of this section", "paragraph (2) of this subsection".
_OF = re.compile(r"(?:[ \t\u202f]+\d{1,2}(?!\d))?\s*,?\s*of\s+(?P<unit>this\s+\w+)?", re.I)
_OWN_UNIT = {"subsection": "this section", "paragraph": "this subsection",
             "subparagraph": "this paragraph"}
_MARKER = re.compile(r"^\((\w{1,4}(?:\.\d+)?)\)")
_LOWER = re.compile(r"^[a-z]$")
_CA_PARAGRAPH = re.compile(r"^[a-z](?:\.\d+)?$")  # "(a)", "(h.2)"
_UPPER = re.compile(r"^[A-Z]$")
_DIGITS = re.compile(r"^\d+(?:\.\d+)?$")
_ROMAN = re.compile(r"^[ivxl]+$")
# How each kind of section numbers its subsections, paragraphs and subparagraphs.
_LEVELS = {"§": (_LOWER, _DIGITS, _UPPER), "s.": (_DIGITS, _CA_PARAGRAPH, _ROMAN)}


@dataclass(frozen=True, slots=True)
class RelativeSpan:
    """"paragraph (2)" as written: `level` the word ("subsection", "paragraph",
    "subparagraph"), `path` the parenthesized levels written ("2",) or ("2", "A")."""

    text: str
    start: int
    end: int
    level: str
    path: tuple[str, ...]


def levels(written: str) -> tuple[str, ...]:
    return tuple(re.findall(r"\(([^)]*)\)", written))


def find_relative(text: str) -> list[RelativeSpan]:
    """The relative references in `text`, each item of a list ("(B) and (C)") its own span."""
    out: list[RelativeSpan] = []
    for m in _RELATIVE.finditer(text):
        level = m.group(1).lower()
        items = [(m.start(), m.end(), (m.group(2), *levels(m.group(3))))]
        end = m.end()
        while more := _MORE.match(text, end):
            items.append((more.start(1) - 1, more.end(), (more.group(1), *levels(more.group(2)))))
            end = more.end()
        of = _OF.match(text, end)
        if of is not None and (of.group("unit") or "").lower() != _OWN_UNIT[level]:
            continue  # "paragraph (1) of subsection (b)", "of section 1101(a)": not relative
        out.extend(RelativeSpan(text[s:e], s, e, level, path) for s, e, path in items)
    return out


def markers(section: Sequence[str]) -> list[str]:
    """The subdivision markers of heading path components ("(a) Authority to apply" -> "a")."""
    found = []
    for part in section:
        m = _MARKER.match(part.strip())
        if m is None:
            break
        found.append(m.group(1))
    return found


def relative_path(kind: str, level: str, path: tuple[str, ...], below: Sequence[str],
                  paragraph_above: str | None) -> tuple[str, ...] | None:
    """The subdivision of the passage's section a relative reference names, or None where the
    passage's place does not say it for certain.

    `kind`: the section's kind ("§" for the U.S. Code, "s." for a Canadian Act); `level` and
    `path` the reference's word and levels ("paragraph", ("2",)); `below`: the
    markers of the heading path under the section; `paragraph_above`: for the U.S. Code, the
    number of the last paragraph line above the reference in its subsection."""
    patterns = _LEVELS.get(kind)
    if patterns is None:
        return None
    subsection_form, paragraph_form, subparagraph_form = patterns
    first = path[0]
    # Written from the subsection down: "subsection (b)(1)", Canada's "paragraph (1)(b)".
    if subsection_form.match(first) and (level == "subsection" or kind == "s."):
        return path
    form = {"paragraph": paragraph_form, "subparagraph": subparagraph_form}.get(level)
    if form is None or not form.match(first):
        return None
    subsection = below[0] if below and subsection_form.match(below[0]) else None
    if subsection is None:
        return None
    if level == "paragraph":
        return (subsection, *path)
    if kind == "§":
        paragraph = paragraph_above
    else:
        paragraph = below[1] if len(below) > 1 and paragraph_form.match(below[1]) else None
    return None if paragraph is None else (subsection, paragraph, *path)


def paragraph_above(text: str, subsection: str) -> str | None:
    """The number of the last paragraph line ("(2) Exceptions") in `text` after the line that
    opens `subsection` ("(a) Authority ..."): where a U.S. Code reference stands; None when
    the text holds no such subsection line, or none after it, and for "(i)", "(v)" and "(x)",
    which clauses are numbered with too."""
    if _ROMAN.match(subsection):
        return None
    openings = list(re.finditer(rf"^[ \t#]*\({re.escape(subsection)}\)\s", text, re.M))
    if not openings:
        return None
    opening = openings[-1]
    numbers = re.findall(r"^[ \t#]*\((\d+)\)\s", text[opening.end():], re.M)
    return numbers[-1] if numbers else None
