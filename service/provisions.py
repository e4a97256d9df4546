"""Provision references in questions ("Article 31 of the Refugee Convention", "8 U.S.C. 1158")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.catalogue import Catalogue

# A subsection path after a provision number: "(1)", "(b)(1)(A)", "(2.1)", "(a.1)".
_PATH = r"((?:\(\w{1,4}(?:\.\d+)?\))*)"
# (pattern over the question, regex over a heading path component). The component regex is
# anchored at the component's start and refuses a longer number ("Article 3" is not "Article 33").
_REFERENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:articles?|arts?\.?)\s*(\d+[a-z]?)" + _PATH + r"(?!\w)", re.I),
     r"(?:article|art\.?)\s*{n}"),
    (re.compile(r"\b\d+\s*U\.?\s*S\.?\s*C\.?\s*(?:§+\s*)?(\d+[a-z]?)" + _PATH + r"(?!\w)",
                re.I), r"§\s*{n}"),
    (re.compile(r"§+\s*(\d+[a-z]?)" + _PATH + r"(?!\w)"), r"§\s*{n}"),
    # "section 1158(b)(2)" names a U.S. Code section as well as a Canadian one.
    (re.compile(r"\b(?:s\.|secs?\.|sections?)\s*(\d+(?:\.\d+)*)" + _PATH + r"(?!\w|\.\d)", re.I),
     r"(?:s\.|section|§+)\s*{n}"),
)
_STATUTE_ONLY = (1, 2)  # the U.S. Code forms
USC_TITLE_FORM = 1  # "8 U.S.C. 1158": names its title
SECTION_FORM = 3  # "section 37", "s. 37": a Canadian Act's or a U.S. Code section


@dataclass(frozen=True, slots=True)
class ProvisionReference:
    text: str  # as written in the question
    component: re.Pattern[str]  # matches a heading path component naming that provision
    statute_only: bool  # "§ 1158" / "8 U.S.C." need no instrument name to be unambiguous
    subdivision: tuple[str, ...] = ()  # ("b", "1", "A") in "§ 1158(b)(1)(A)"; not matched on
    form: int = 0  # which of the written forms: an article, a U.S.C. title, "§", a section
    number: str = ""  # as written: "17", "1A", "1158", "159.3"


def find_references(question: str) -> list[ProvisionReference]:
    """The provisions a question names: "Art. 33(1)", "Article 21(1)", "8 U.S.C. § 1158(b)(1)(A)",
    "section 1158(b)(2)", "s. 37(1)(a)", "IRPR s. 159.3". A provision matches by its number
    only; the subsection path is kept on the reference."""
    found: list[ProvisionReference] = []
    seen: set[str] = set()
    for _, reference in provision_matches(question):
        if reference.component.pattern in seen:
            continue
        seen.add(reference.component.pattern)
        found.append(reference)
    return found


def provision_matches(text: str) -> Iterator[tuple[re.Match[str], ProvisionReference]]:
    """Every provision reference written in `text`, with where it is, form by form (a reference
    written "8 U.S.C. § 1158" is matched by two forms)."""
    for form, (pattern, _) in enumerate(_REFERENCES):
        for m in pattern.finditer(text):
            yield m, provision_reference(form, m.group(0), m.group(1), m.group(2) or "")


def provision_reference(form: int, text: str, number: str, path: str = "") -> ProvisionReference:
    """The reference to provision `number` (with subsection `path`, "(b)(2)") in `form`: also
    for each further number of a list ("Articles 8, 9 and 11") written in the first's form."""
    regex = _REFERENCES[form][1].format(n=_number(number)) + r"(?!\w|\.\d)"
    subdivision = tuple(re.findall(r"\(([^)]*)\)", path))
    return ProvisionReference(text, re.compile(regex, re.I), form in _STATUTE_ONLY, subdivision,
                              form, number)


def _number(written: str) -> str:
    """The component regex for a provision number: "1A" (Article 1, section A, as the Refugee
    Convention is cited) also matches the heading "Article 1"."""
    m = re.fullmatch(r"(\d+)([a-z])", written, re.I)
    if m:
        return f"{m.group(1)}(?:{re.escape(m.group(2))})?"
    return re.escape(written)


def named_documents(question: str, catalogue: Catalogue, indexed: set[str],
                    with_cite_as: bool = False) -> list[str]:
    """Indexed documents whose catalogue short names or title the question mentions (or, with
    `with_cite_as`, the name citations give them: "Regulation (EU) No 604/2013")."""
    lowered = question.lower()
    matched: list[str] = []
    for item in catalogue.instruments:
        if item.file not in indexed:
            continue
        names = (item.title, *item.short_names, *((item.cite_as,) if with_cite_as and item.cite_as
                                                  else ()))
        if any(_mentions(lowered, name.lower()) for name in names if len(name) >= 3):
            matched.append(item.file)
    return matched


def _mentions(text: str, name: str) -> bool:
    # The substring test first: most names are absent, and it is ~100x cheaper than the regex.
    return name in text and re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text) is not None


def component_matches(section: tuple[str, ...], reference: ProvisionReference) -> bool:
    return any(reference.component.match(part) for part in section)
