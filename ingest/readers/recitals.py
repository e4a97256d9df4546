"""The preamble of an EU act: its citations and each numbered recital as sections of their own.

An EU regulation, directive or decision opens with its title, then the citations ("Having
regard to ..."), "Whereas:", the numbered recitals "(1)" ... "(n)" and the enacting formula
("HAVE ADOPTED THIS REGULATION:") before Article 1. Readers see no headings there, so all of
it sat under an empty heading path and a passage of recital (21) could not be cited as one.

`label_recitals` finds that layout in any document's text, whatever the format, and gives each
recital the path ("Preamble", "Recital (21)") (the enacting formula goes with the last one) and
the citations up to "Whereas:" ("Preamble", "Citations"). The title block before them stays
front matter (no path). Only text no reader gave a heading path is relabelled; a text without
"Whereas:" followed by an enacting formula, or without a recital (1) between them, comes back
unchanged.
"""

from __future__ import annotations

import re

from ingest.document import SectionSpan

PREAMBLE = "Preamble"
CITATIONS = (PREAMBLE, "Citations")
_WHEREAS = re.compile(r"^[ \t]*Whereas[ \t]*:[ \t]*$", re.MULTILINE | re.IGNORECASE)
_ENACTING = re.compile(r"^[ \t]*HA(?:VE|S) ADOPTED TH(?:IS|E PRESENT) (?:REGULATION|DIRECTIVE|"
                       r"DECISION)\b[^\n]*", re.MULTILINE)
_CITATIONS = re.compile(r"^[ \t]*Having regard to\b", re.MULTILINE)
_RECITAL = re.compile(r"^\((\d{1,3})\)[ \t]", re.MULTILINE)
_SPACE = re.compile(r"\s*")


def recital_path(number: int) -> tuple[str, str]:
    return (PREAMBLE, f"Recital ({number})")


def _cuts(text: str) -> list[tuple[int, tuple[str, ...]]]:
    """Where each part of the preamble starts, with the path it takes, in text order."""
    whereas = _WHEREAS.search(text)
    if whereas is None:
        return []
    enacting = _ENACTING.search(text, whereas.end())
    if enacting is None:
        return []
    recitals: list[tuple[int, tuple[str, ...]]] = []
    for m in _RECITAL.finditer(text, whereas.end(), enacting.start()):
        # In sequence only: a "(3)" inside a recital's own text is not recital 3.
        if int(m.group(1)) == len(recitals) + 1:
            recitals.append((m.start(), recital_path(len(recitals) + 1)))
    if not recitals:
        return []
    citations = _CITATIONS.search(text, 0, whereas.start())
    start = citations.start() if citations is not None else whereas.start()
    # The enacting formula stays with the last recital: alone it would be a chunk of 5 words.
    after = _SPACE.match(text, enacting.end())
    return [(start, CITATIONS), *recitals, (after.end() if after else enacting.end(), ())]


def label_recitals(text: str, sections: list[SectionSpan]) -> list[SectionSpan]:
    """`sections` with the unlabelled spans of an EU act's preamble split and labelled."""
    cuts = _cuts(text)
    if not cuts:
        return sections
    out: list[SectionSpan] = []
    for span in sections:
        if span.path:
            out.append(span)
            continue
        path: tuple[str, ...] = ()
        start = span.start
        for at, next_path in cuts:
            if at <= span.start:
                path = next_path
            elif at < span.end:
                if at > start:
                    out.append(SectionSpan(start, at, path))
                start, path = at, next_path
        if span.end > start:
            out.append(SectionSpan(start, span.end, path))
    return out
