"""Provision references in questions ("Article 31 of the Refugee Convention", "8 U.S.C. 1158")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.catalogue import Catalogue

# (pattern over the question, regex over a heading path component). The component regex is
# anchored at the component's start and refuses a longer number ("Article 3" is not "Article 33").
_REFERENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:article|art\.?)\s*(\d+[a-z]?)\b", re.I), r"(?:article|art\.?)\s*{n}"),
    (re.compile(r"\b\d+\s*U\.?\s*S\.?\s*C\.?\s*(?:§+\s*)?(\d+[a-z]?)\b", re.I), r"§\s*{n}"),
    (re.compile(r"§\s*(\d+[a-z]?)\b"), r"§\s*{n}"),
    (re.compile(r"\b(?:s\.|sec\.|section)\s*(\d+(?:\.\d+)*)\b", re.I), r"(?:s\.|section)\s*{n}"),
)


@dataclass(frozen=True, slots=True)
class ProvisionReference:
    text: str  # as written in the question
    component: re.Pattern[str]  # matches a heading path component naming that provision
    statute_only: bool  # "§ 1158" / "8 U.S.C." need no instrument name to be unambiguous


def find_references(question: str) -> list[ProvisionReference]:
    found: list[ProvisionReference] = []
    seen: set[str] = set()
    for n, (pattern, component) in enumerate(_REFERENCES):
        for m in pattern.finditer(question):
            number = re.escape(m.group(1))
            regex = component.format(n=number) + r"(?!\w|\.\d)"
            if regex in seen:
                continue
            seen.add(regex)
            found.append(ProvisionReference(m.group(0), re.compile(regex, re.I), n in (1, 2)))
    return found


def named_documents(question: str, catalogue: Catalogue, indexed: set[str]) -> list[str]:
    """Indexed documents whose catalogue short names or title the question mentions."""
    lowered = question.lower()
    matched: list[str] = []
    for item in catalogue.instruments:
        if item.file not in indexed:
            continue
        names = (item.title, *item.short_names)
        if any(_mentions(lowered, name.lower()) for name in names if len(name) >= 3):
            matched.append(item.file)
    return matched


def _mentions(text: str, name: str) -> bool:
    # The substring test first: most names are absent, and it is ~100x cheaper than the regex.
    return name in text and re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text) is not None


def component_matches(section: tuple[str, ...], reference: ProvisionReference) -> bool:
    return any(reference.component.match(part) for part in section)
