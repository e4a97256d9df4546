"""Canonical citation labels: "Refugee Convention, Art. 33(1)", "8 U.S.C. § 1158(b)(1)(A)".

A label is derived from the instrument's `cite_as`, the passage's heading path and the text of
its provision up to the passage's end. The provision comes from the deepest heading path
component that names one; the sub-division ("(1)", "(b)(1)(A)") from the numbered paragraph
markers at line starts in the provision's text. A marker that breaks its list's sequence makes
its level unknown, and an unknown level ends the label there: a label may be less precise than
the text allows, never a number the text does not print.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass

# The heading path components that name a provision, and how each kind is written in a label.
_ARTICLE = re.compile(r"^(?:article|art\.)\s*(\d+[a-z]?|[ivxlc]+)\b", re.I)
_USC_SECTION = re.compile(r"^§+\s*(\d+[a-z]?(?:[-–]\d+[a-z]?)*)\b")
_CA_SECTION = re.compile(r"^s\.\s*(\d+(?:\.\d+)*)\b")
_SECTION = re.compile(r"^section\s+(\d+(?:\.\d+)*)\b", re.I)  # arabic only: "Section II" groups
_RECITAL = re.compile(r"^recital\s*\(?(\d+)\)?", re.I)
_PARAGRAPH = re.compile(r"^paragraph\s+(\d+)\b", re.I)
_ANNEX = re.compile(r"^(annex|schedule|appendix)\b(?:\s+(\d+(?:\.\d+)*|[IVXLC]+)\b)?", re.I)
# Components under which a path's sections are not this instrument's own provisions: Justice
# Canada's related provisions and amendments not in force quote sections of amending Acts.
_NOT_OWN = re.compile(r"^(?:—|related provisions\b|amendments not in force\b)", re.I)
# A protocol printed in the same booklet as its convention ("Protocol No. 4 to the Convention
# for the Protection of Human Rights ..."): its articles are the protocol's, not the convention's.
_PROTOCOL = re.compile(r"^protocol\b", re.I)
_PROTOCOL_TO_CONVENTION = re.compile(r"^(protocol(?:\s+no\.\s*\d+)?)\s+to\s+the\s+convention\b",
                                     re.I)
# A component below the provision that is a paragraph marker, alone or before its heading.
_MARKER_COMPONENT = re.compile(r"^\(([0-9]+(?:\.[0-9]+)?|[a-zA-Z]{1,4}(?:\.[0-9]+)?)\)(?:\s|$)")

# A numbered paragraph marker at a line start: "(1)", "(2.1)", "(b)", "(a.1)", "(iv)", "(A)",
# "(aa)", "1.", "A.". What follows must read as text ("(b), the Member State" is a reference
# broken over a line, not point (b)).
_MARKER = re.compile(
    r"^[ \t]*(?:\((?P<paren>[0-9]{1,3}(?:\.[0-9]{1,2})?|[a-zA-Z]{1,4}(?:\.[0-9]{1,2})?)\)"
    r"|(?P<dot>[0-9]{1,3})\.(?=[ \t]|$)|(?P<cap>[A-H])\.(?=[ \t]|$))"
    r"(?=[ \t]*$|[ \t]*[\w\"“‘'\[(])", re.M)
# A short heading line that ends in no punctuation, then a marker: Justice Canada's marginal
# notes before their subsections.
_LEADING_HEADING = re.compile(r"[A-Z][^\n.,;:]{0,60}\n\s*")
_ROMAN = re.compile(r"^[ivxlc]+$", re.I)
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
# A line that ends a sentence or introduces a list, so a marker on the next line starts an item.
_ENDS_ITEM = re.compile(r"(?:[.:;—–]|\b(?:or|and))[\"”’)]?\s*$")


@dataclass(frozen=True, slots=True)
class Provision:
    """The provision a heading path names: `kind` as a label writes it ("Art.", "§", "s.",
    "para.", "Recital", "Annex", "Schedule"), its number as printed, and the index of the path
    component that names it."""

    kind: str
    number: str
    depth: int

    @property
    def reference(self) -> str:
        if self.kind == "Recital":
            return f"Recital ({self.number})"
        return f"{self.kind} {self.number}".strip()


def quotes_other_acts(section: Sequence[str]) -> bool:
    """Whether the heading path is among an Act's related provisions or amendments not in
    force, whose sections are those of amending Acts."""
    return any(_NOT_OWN.match(p.strip()) for p in section)


def provision_of(section: Sequence[str]) -> Provision | None:
    """The deepest provision the heading path names; None for front matter, preambles, chapter
    headings alone, and the quoted sections of other Acts."""
    for depth in range(len(section) - 1, -1, -1):
        found = _provision_at(section[depth].strip(), depth)
        if found is not None:
            return found
    return None


def _provision_at(part: str, depth: int) -> Provision | None:
    for pattern, kind in ((_ARTICLE, "Art."), (_USC_SECTION, "§"), (_CA_SECTION, "s."),
                          (_SECTION, "s."), (_RECITAL, "Recital"), (_PARAGRAPH, "para.")):
        if m := pattern.match(part):
            return Provision(kind, m.group(1), depth)
    if m := _ANNEX.match(part):
        return Provision(m.group(1).capitalize(), m.group(2) or "", depth)
    return None


_KIND_HEADINGS = {"Art.": r"(?:article|art\.)", "§": r"§+", "s.": r"(?:s\.|section)"}


def provision_start(text: str, provision: Provision, passage_start: int) -> int | None:
    """Where in `text` the provision's own heading line starts: the last one at or before
    `passage_start`, else the first in the passage ("Chapter V\nArticle 33 ..."); None when the
    text holds no such heading, so a label cannot know the provision's numbered paragraphs."""
    kind = _KIND_HEADINGS.get(provision.kind)
    if kind is None:
        return None
    # Not a reference broken over a line: "Article 21(3) ...", "Article 21 of Regulation ...".
    heading = re.compile(rf"^[ \t]*{kind}\s*{re.escape(provision.number)}(?![\w(]|\.\d)"
                         r"(?![ \t]+(?-i:[a-z]))", re.I | re.M)
    last = None
    for m in heading.finditer(text):
        if m.start() > passage_start:
            return m.start() if last is None else last
        last = m.start()
    return last


def citation_label(cite_as: str, section: Sequence[str], provision_text: str = "",
                   offset: int = 0) -> str:
    """The citation a lawyer would write for a passage.

    `provision_text` is the text of the passage's provision from its start to the passage's
    end, and `offset` where in it the passage starts; without them the label names the
    provision alone. With no provision in the path, the label is `cite_as` alone.
    """
    provision = provision_of(section)
    if provision is None or any(_NOT_OWN.match(p.strip()) for p in section[:provision.depth]):
        return cite_as
    instrument = _instrument(cite_as, section[:provision.depth])
    parts = [instrument]
    parts.extend(_annex_above(section, provision))
    subdivision = _subdivision(section, provision, provision_text, offset)
    if provision.kind == "§":
        title = _usc_title(instrument, section[:provision.depth])
        head = f"{title} § {provision.number}" if title else f"{instrument}, § {provision.number}"
        return ", ".join([head, *parts[1:]]) + subdivision
    reference = provision.reference
    if provision.kind == "Art." and subdivision[:1].isalpha():
        return ", ".join([*parts, reference + subdivision])  # "Art. 1A(2)"
    return ", ".join([*parts, reference]) + subdivision


_PLURAL = {"Art.": "Arts.", "s.": "ss.", "§": "§§", "para.": "paras.", "Recital": "Recitals"}


def range_label(cite_as: str, path: Sequence[str], first: Provision, last: Provision) -> str:
    """The citation of a passage that runs from provision `first` into `last` (of one kind;
    `path` the heading path of `last`): "Extradition Act, ss. 43–44", "8 U.S.C. §§ 1157–1158",
    "Refugee Convention, Arts. 31–32"; `cite_as` alone where the kinds differ."""
    if first.kind != last.kind or last.kind not in _PLURAL or \
            any(_NOT_OWN.match(p.strip()) for p in path[:last.depth]):
        return cite_as
    instrument = _instrument(cite_as, path[:last.depth])
    if last.kind == "Recital":
        numbers = f"({first.number})–({last.number})"
    else:
        numbers = f"{first.number}–{last.number}"
    if last.kind == "§":
        title = _usc_title(instrument, path[:last.depth])
        return f"{title} §§ {numbers}" if title else f"{instrument}, §§ {numbers}"
    return f"{instrument}, {_PLURAL[last.kind]} {numbers}"


def provision_kinds(paths: Iterable[Sequence[str]], above: Sequence[str]) -> set[str]:
    """The kinds of provision whose headings are lines ("s.", "Art.", "§") that name the chunk
    paths below `above` in a document's heading paths: its own provision headings' kinds."""
    depth = len(above)
    kinds: set[str] = set()
    for path in paths:
        if tuple(path[:depth]) == tuple(above):
            for d in range(depth, len(path)):
                if (provision := _provision_at(path[d].strip(), d)) is not None:
                    kinds.add(provision.kind)
                    break
    return kinds & LINE_HEADED


_SENTENCE_END = re.compile(r"[.,;:]\s*$")
_LEADER = re.compile(r"\.{4,}|…")  # a table of contents' dot leaders: no heading
# What follows a heading's number: nothing, a dash or full stop before its title, or a
# capitalised title ("s. 44 When order ..."); a lower-case word is a sentence's ("Article 5
# paragraph 3 thereof, ..." broken over a line).
_AFTER_NUMBER = re.compile(r"^(?:\s*$|\s*[–—.:-]|\s+[A-Z\[(\"“])")
# The kinds whose headings are lines of their own; recitals and paragraphs are markers.
LINE_HEADED = frozenset({"Art.", "s.", "§"})


def heading_lines(text: str, kinds: Container[str], depth: int = 0
                  ) -> Iterator[tuple[int, str, Provision]]:
    """(offset, line, provision) of each line of `text` that reads as a provision heading of
    one of `kinds`: "s. 44 When order not to be made", "## Article 33 – Prohibition ...",
    "§ 1734. Improved ..."; short, and not a sentence (a line "Article 5 applies." is text)."""
    at = 0
    for raw in text.splitlines(keepends=True):
        line = raw.strip().lstrip("#").strip()
        if line and len(line) <= 150 and not _SENTENCE_END.search(line) \
                and not _LEADER.search(line):
            provision = _provision_at(line, depth)
            if provision is not None and provision.kind in kinds:
                after = line.find(provision.number) + len(provision.number)
                if _AFTER_NUMBER.match(line[after:]):
                    yield at, line, provision
        at += len(raw)


def _instrument(cite_as: str, above: Sequence[str]) -> str:
    """`cite_as`, or the protocol printed in the convention's booklet that the path is in."""
    if "protocol" in cite_as.lower():
        return cite_as
    for part in reversed(above):
        part = part.strip()
        if m := _PROTOCOL_TO_CONVENTION.match(part):
            return f"{m.group(1)} to the {cite_as}"
        if _PROTOCOL.match(part):
            return part
    return cite_as


def _annex_above(section: Sequence[str], provision: Provision) -> list[str]:
    """ "Schedule" in "Refugee Convention, Schedule, para. 1": an annex the provision is in."""
    for depth in range(provision.depth - 1, -1, -1):
        found = _provision_at(section[depth].strip(), depth)
        if found is not None and found.kind in ("Annex", "Schedule", "Appendix"):
            return [found.reference]
    return []


def _usc_title(instrument: str, above: Sequence[str]) -> str:
    """ "8 U.S.C." from the instrument's name or a "Title 8— ..." heading; "" if neither."""
    if re.fullmatch(r"\d+\s+U\.S\.C\.", instrument.strip()):
        return instrument.strip()
    for part in above:
        if m := re.match(r"^title\s+(\d+)\b", part.strip(), re.I):
            return f"{m.group(1)} U.S.C."
    return ""


def _subdivision(section: Sequence[str], provision: Provision, text: str, offset: int) -> str:
    below = [p.strip() for p in section[provision.depth + 1:]]
    named = [m.group(1) for p in below if (m := _MARKER_COMPONENT.match(p))]
    if len(named) < len(below):
        # A defined term or other unnumbered heading under the provision: the markers in the
        # text below it belong to it, so the label keeps only the numbered path above it.
        first_unnumbered = next(i for i, p in enumerate(below) if not _MARKER_COMPONENT.match(p))
        named = [m.group(1) for p in below[:first_unnumbered]
                 if (m := _MARKER_COMPONENT.match(p))]
        return "".join(f"({n})" for n in named)
    if not text or provision.kind not in ("Art.", "§", "s."):
        return ""
    return _render(subdivision_path(text, offset))


def _render(path: Sequence[_Level]) -> str:
    out = []
    for i, level in enumerate(path):
        if level.style == "cap":
            if i:
                break  # "A." below another level: not a form citations use
            out.append(level.text)
        else:
            out.append(f"({level.text})")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Level:
    style: str  # "dot" 1., "num" (1), "lower" (a), "double" (aa), "roman" (iv), and capitals
    text: str
    value: int
    decimal: int  # 1 in "(2.1)" and "(a.1)", else 0
    sure: bool  # the marker follows its list's sequence from a first item


def subdivision_path(text: str, offset: int) -> tuple[_Level, ...]:
    """The numbered paragraphs the passage at `offset` of a provision's text sits in.

    A passage that starts at a marker is cited by that marker's path; one that starts inside a
    paragraph by the deepest path holding all of it. The path stops before its first level
    whose numbering was not followed in sequence.
    """
    start = offset + len(text[offset:]) - len(text[offset:].lstrip())
    heading = _LEADING_HEADING.match(text, start) if start > 0 else None
    if heading and not re.search(r"\b(?:and|or)\s*$", heading.group()) \
            and _MARKER.match(text, heading.end()):
        start = heading.end()  # a marginal note ("Criminality") heads the paragraph that follows
    stack: list[_Level] = []
    at_start: tuple[_Level, ...] | None = None
    inside: list[tuple[_Level, ...]] = []
    for m, make in _markers(text):
        marker_start = m.start() + len(m.group()) - len(m.group().lstrip(" \t"))
        if marker_start >= start and at_start is None:
            at_start = tuple(stack)
        stack = _place(stack, make(stack))
        if marker_start == start:
            at_start = tuple(stack)  # the passage opens with this marker: cited by it
            break
        if marker_start > start:
            inside.append(tuple(stack))
    path = tuple(stack) if at_start is None else at_start
    for other in inside:
        path = _common(path, other)
    sure: list[_Level] = []
    for level in path:
        if not level.sure:
            break
        sure.append(level)
    return tuple(sure)


def _common(a: tuple[_Level, ...], b: tuple[_Level, ...]) -> tuple[_Level, ...]:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _markers(text: str) -> Iterator[tuple[re.Match[str], Callable[[list[_Level]], _Level]]]:
    """(match, level maker) for each marker at a line start that opens an item: at a paragraph
    start, after a line ending a sentence or introducing a list, after a line that is itself a
    marker with a short heading ("(a) Authority to apply for asylum"), or the provision's first.
    A marker at the start of any other line is a cross-reference broken over the line."""
    first = True
    for m in _MARKER.finditer(text):
        before = text[:m.start()]
        previous = before[:-1].rsplit("\n", 1)[-1] if before.endswith("\n") else ""
        opens = (first or not previous.strip() or _ENDS_ITEM.search(previous) is not None
                 or (_MARKER.match(previous) is not None and len(previous.strip()) <= 100))
        if opens:
            first = False
            yield m, _level_maker(m)


def _level_maker(m: re.Match[str]) -> Callable[[list[_Level]], _Level]:
    def make(stack: list[_Level]) -> _Level:
        if m.group("dot"):
            return _Level("dot", m.group("dot"), int(m.group("dot")), 0, True)
        if m.group("cap"):
            return _Level("cap", m.group("cap"), ord(m.group("cap")) - 64, 0, True)
        raw = m.group("paren")
        main, _, dec = raw.partition(".")
        decimal = int(dec) if dec else 0
        if main.isdigit():
            return _Level("num", raw, int(main), decimal, True)
        return _Level(_letter_style(main, stack), raw, _letter_value(main, stack), decimal, True)
    return make


def _letter_style(letters: str, stack: Sequence[_Level]) -> str:
    upper = letters.isupper()
    lower_style, roman_style, double_style = (("upper", "uroman", "udouble") if upper
                                              else ("lower", "roman", "double"))
    if len(letters) > 1 and len(set(letters)) == 1 and not _ROMAN.match(letters):
        return double_style  # "(aa)", "(bb)"
    if _ROMAN.match(letters):
        # "(i)" after "(h)" is a letter; after "(hh)" an item; otherwise a roman numeral.
        for level in reversed(stack):
            if level.style == lower_style and len(letters) == 1 \
                    and level.value == ord(letters.lower()) - 96 - 1:
                return lower_style
            if level.style == double_style and len(set(letters)) == 1 \
                    and level.value == ord(letters[0].lower()) - 96 - 1:
                return double_style
        if len(letters) == 1 and not any(level.style == roman_style for level in stack) \
                and letters.lower() not in "iv":
            return lower_style  # "(c)", "(l)", "(x)" open no roman list
        return roman_style
    return lower_style if len(letters) == 1 else "other"


def _letter_value(letters: str, stack: Sequence[_Level]) -> int:
    style = _letter_style(letters, stack)
    if style in ("roman", "uroman"):
        return _roman(letters.lower())
    return ord(letters[0].lower()) - 96


def _roman(text: str) -> int:
    total = 0
    for a, b in zip(text, text[1:] + " "):
        v = _ROMAN_VALUES[a]
        total += -v if b != " " and _ROMAN_VALUES[b] > v else v
    return total


def _place(stack: list[_Level], level: _Level) -> list[_Level]:
    """The stack after `level`: a sibling replaces its list's last item (and what is below it),
    a new kind of marker opens a list below the current item."""
    for i, current in enumerate(stack):
        if current.style == level.style:
            follows = current.sure and (
                level.value == current.value + 1
                or level.value == current.value and level.decimal > current.decimal)
            return [*stack[:i], _with(level, follows)]
    first = level.value == 1 and level.decimal == 0 or level.value == 0
    parent_sure = all(s.sure for s in stack)
    return [*stack, _with(level, first and parent_sure)]


def _with(level: _Level, sure: bool) -> _Level:
    return _Level(level.style, level.text, level.value, level.decimal, sure)
