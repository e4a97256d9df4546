"""Defined terms: where a definitions provision defines a term, read from its chunks' text.

Definitions sections are found by their headings ("Use of terms", "Definitions",
"Interpretation"); in them a definition is a line that opens (after an optional paragraph
marker) with a quoted term and "means" / "shall mean" ("a) ``Smuggling of migrants" shall
mean ...", "(c) 'applicant' means ...", "(42) The term "refugee" means ..."), or, as Justice
Canada prints its definitions, with the bare term and "means" ("foreign national means ...").
A dashed line under a list item defines a kind of its term, and is listed under the item's
marker (Dublin III, Art. 2(m) 'visa': "— 'long-stay visa' means ...").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.labels import citation_label, provision_of
from service.term_groups import term_groups

# A heading path component that names a definitions provision or the part that holds one.
_DEFINITIONS_HEADING = re.compile(r"\b(?:definitions?|use of terms|interpretation)\b", re.I)

_OPEN = r"(?:``|[\"“‘'])"
_CLOSE = r"(?:''|[\"”’'])"
_QUOTED_TERM = rf"{_OPEN}(?P<term>[^\"“”‘’'`\n]{{1,80}}?){_CLOSE}"
_MEANS = r"(?:shall\s+mean|means|mean|has\s+the\s+meaning|have\s+the\s+meaning)\b"
# A line opening a definition with a quoted term: "a) ``X" shall mean", "(c) ‘X’ means",
# "(42) The term “X” means", "(13) (A) The terms “X” and “Y” mean".
_QUOTED = re.compile(
    r"^[ \t]*(?:\((?P<paren>[0-9]{1,3}|[A-Za-z]{1,2})\)|(?P<bare>[0-9]{1,3}|[a-z]{1,2})\)"
    r"|(?P<dash>[—–-]))?"
    r"[ \t]*(?P<the>The\s+terms?\s+)?"
    rf"{_QUOTED_TERM}(?P<more>(?:,?\s+(?:and|or)\s+{_OPEN}[^\"“”‘’'`\n]{{1,80}}?{_CLOSE})*)"
    rf"\s*,?\s*{_MEANS}", re.M)
_MORE_TERM = re.compile(_QUOTED_TERM)
# Within a sentence: "For the purposes of this Convention, the term “stateless person” means",
# "the term 'refugee' shall apply to any person who".
_INLINE = re.compile(rf"\bthe\s+term\s+{_QUOTED_TERM}\s*(?:{_MEANS}|shall\s+apply\s+to\b)",
                     re.I)
# Justice Canada's form: the term alone at the line start, then "means" ("Act includes ..." is
# a marginal note, so "includes" does not count here).
_BARE = re.compile(r"^(?P<term>[A-Za-z][A-Za-z\-’' ]{0,60}?)[ \t]+(?:means|has the meaning)\b",
                   re.M)
_BARE_WORDS = 6
_HEADED_MARKER = re.compile(r"^\((\w{1,4})\)\s+\S")


@dataclass(frozen=True, slots=True)
class FoundDefinition:
    """A definition in a chunk's text: the term as printed, where it is (`start`/`end` in
    the text), the paragraph marker it is listed under ("a", "42"; "" for none) and whether
    it opens its sentence, quoted, so that its first letter's case says nothing (``Smuggling
    of migrants" shall mean; not "The term “Attorney General”", nor Justice Canada's terms,
    printed in their own case)."""

    term: str
    start: int
    end: int
    marker: str
    opens_sentence: bool
    dashed: bool = False  # a dashed line under a list item; `marker` is the item's, if known


def is_definitions_section(section: Sequence[str]) -> bool:
    """Whether a heading path is in a definitions provision or the part holding one."""
    return any(_DEFINITIONS_HEADING.search(part) for part in section)


def find_definitions(text: str) -> list[FoundDefinition]:
    """The definitions a definitions section's text opens lines with, in text order."""
    found: list[FoundDefinition] = []
    quoted_lines: set[int] = set()
    item = ""  # the marker of the last list item, which a dashed line is listed under
    for m in _QUOTED.finditer(text):
        dashed = m.group("dash") is not None
        marker = item if dashed else m.group("paren") or m.group("bare") or ""
        item = marker
        found.append(FoundDefinition(m.group("term").strip(), m.start("term"), m.end("term"),
                                     marker, m.group("the") is None, dashed))
        # "The terms “admission” and “admitted” mean": each term is defined there.
        for more in _MORE_TERM.finditer(m.group("more")):
            at = m.start("more")
            found.append(FoundDefinition(more.group("term").strip(), at + more.start("term"),
                                         at + more.end("term"), marker, False))
        quoted_lines.add(_line_start(text, m.start()))
    for m in _INLINE.finditer(text):
        if not any(d.start == m.start("term") for d in found):
            found.append(FoundDefinition(m.group("term").strip(), m.start("term"),
                                         m.end("term"), "", False))
    for m in _BARE.finditer(text):
        term = m.group("term").strip()
        if _line_start(text, m.start()) in quoted_lines or len(term.split()) > _BARE_WORDS:
            continue
        found.append(FoundDefinition(term, m.start("term"), m.start("term") + len(term), "",
                                     False))
    found.sort(key=lambda d: d.start)
    return found


def _line_start(text: str, at: int) -> int:
    return text.rfind("\n", 0, at) + 1


def definition_label(cite_as: str, section: Sequence[str], marker: str) -> str | None:
    """The label of a definition listed under `marker` in the provision `section` names
    ("Art. 3(a)", "§ 1101(a)(42)"); None where the path names no provision or the marker is
    not a list item's.

    The marker components kept from the path are those with a heading ("(a) As used in this
    chapter"): a bare marker there ("(C)") is a sub-paragraph of an earlier definition the
    path kept, not a level above this one.
    """
    provision = provision_of(section)
    if provision is None or not re.fullmatch(r"[0-9]+|[a-z]+", marker):
        # A capital marker is a sub-paragraph (§ 1101(a)(13)(A)) whose paragraph the heading
        # path does not give.
        return None
    above = [m.group(1) for p in section[provision.depth + 1:]
             if (m := _HEADED_MARKER.match(p.strip()))]
    return (citation_label(cite_as, section[:provision.depth + 1])
            + "".join(f"({n})" for n in [*above, marker]))


# What a question asking for a definition says, and the phrase it asks about: "definition of
# X", "define X", "meaning of X", "what does X mean", "what is meant by X"; a quoted phrase in
# such a question is the term itself.
_ASKS = re.compile(r"\b(?:defin\w*|mean|means|meaning|meant)\b", re.I)
_ASKED_QUOTED = re.compile(r"(?:``|[\"“‘']|\B')(?P<term>[^\"“”‘’'`]{1,80}?)(?:''|[\"”’']\B|[\"”’])")
_ASKED = re.compile(
    r"\b(?:definitions?\s+of|defined?s?|meaning\s+of|what\s+is\s+meant\s+by|what\s+(?:does|do))"
    r"\s+(?:the\s+(?:term|word|expression)\s+|an?\s+|the\s+)?(?P<term>[^?,;:]+)", re.I)
# "what does X mean ...": the phrase ends there.
_ASKED_END = re.compile(r"\s+mean\b.*$", re.I | re.S)
# What may follow the term in an asked-about phrase: the instrument or purpose it is asked for.
_AFTER_TERM = r"(?:s|es)?(?:\s+(?:under|in|according|for|as|within|by|of\s+the)\b.*)?"


def asked_terms(question: str) -> list[str]:
    """The phrases a definition-seeking question asks about, lower-cased (none when the
    question does not ask what something means)."""
    if not _ASKS.search(question):
        return []
    phrases = [m.group("term") for m in _ASKED_QUOTED.finditer(question)]
    phrases += [_ASKED_END.sub("", m.group("term")) for m in _ASKED.finditer(question)]
    out = [" ".join(p.split()).strip(" .'\"“”‘’").lower() for p in phrases]
    return list(dict.fromkeys(p for p in out if p))


def names_term(phrase: str, term: str) -> bool:
    """Whether an asked-about phrase (from asked_terms) is the term, perhaps in the plural and
    followed by the instrument it is asked for ("applicant under Dublin III")."""
    return re.fullmatch(re.escape(term.lower()) + _AFTER_TERM, phrase, re.S) is not None


def synonyms_asked(phrases: Sequence[str]) -> list[str]:
    """The other names (service/data/definition_synonyms.toml) of the terms asked-about phrases
    name, for definition questions: "human trafficking" -> "trafficking in persons", ..."""
    out: list[str] = []
    for group in synonym_groups():
        named = [term for term in group if any(names_term(p, term) for p in phrases)]
        out.extend(term for term in group if named and term not in named)
    return list(dict.fromkeys(out))


def synonym_groups() -> tuple[tuple[str, ...], ...]:
    return term_groups("definition_synonyms.toml")
