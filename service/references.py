"""Cross-references in a passage's text ("subject to Article 17(2)", "referred to in paragraph 1")
found as spans, and resolved to the indexed provisions they name."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from index.chunk_store import StoredChunk
from ingest.catalogue import Catalogue
from ingest.chunker import SECTION_SEPARATOR
from service.labels import citation_label, provision_of, provision_start, quotes_other_acts
from service.provisions import (
    SECTION_FORM,
    USC_TITLE_FORM,
    ProvisionReference,
    component_matches,
    named_documents,
    provision_matches,
    provision_reference,
)
from service.statute_references import (
    CANADIAN_NUMBERED,
    find_relative,
    levels,
    markers,
    paragraph_above,
    relative_path,
)

if TYPE_CHECKING:
    from index.searcher import IndexSearcher  # the searcher loads the stores: for types only

_SUBPATH = r"((?:\(\w{1,4}(?:\.\d+)?\))*)"
# A further number of a list or range: "Articles 8, 9 and 11", "Articles 8 to 11".
_MORE = re.compile(r"(?:\s*,\s*|\s*,?\s+(?:and|or|to)\s+)(\d+[a-z]?(?:\.\d+)*)" + _SUBPATH
                   + r"(?!\w|\.\d)")
# "paragraph 1", "paragraphs 1 and 2", "paragraph 2(a)": a paragraph of an article. Not
# "subparagraph", and not the Canadian "paragraph 36(1)(a)" (statute_references.py).
_PARAGRAPH = re.compile(r"\bparagraphs?\s+(\d{1,2})(?!\(\d)" + _SUBPATH + r"(?!\w|\.\d)", re.I)
# The connector of a range: "Articles 8 to 11", "sections 3 to 5".
_RANGE = re.compile(r"\bto\b")
# "article 6, paragraph 1 (a)": the article's paragraph, as UN treaties write it.
_ITS_PARAGRAPH = re.compile(r",\s*paragraph\s+(\d{1,2})((?:\s?\(\w{1,4}\))*)(?!\w)", re.I)
# What names the instrument after a reference: "of this Protocol", "of the Refugee Convention".
_OF = re.compile(r"\s*,?\s*of\s+(?P<phrase>[^,;:]{1,100})", re.I)
# An instrument's abbreviation right after the number: "Article 20(1) TFEU".
_ACRONYM = re.compile(r"[ \t\n]+(?P<phrase>[A-Z]{2,}(?![\w(]))")
_THIS = re.compile(r"(?:this|the\s+present|these)\b", re.I)
_THIS_ARTICLE = re.compile(r"this\s+article\b", re.I)
# "2010, c. 8, s. 33": a section of the Act a statute chapter citation names.
_STATUTE_CHAPTER = re.compile(r"\bc\.\s*[\w-]+,\s*$")
# An EU act's correlation table pairs the repealed act's articles with its own: which a number
# names is the column's, which the text does not say.
_CORRELATION = re.compile(r"\bcorrelation table\b", re.I)
# How far above a provision's first chunk its heading line is looked for.
HEADING_LOOKBACK = 2_000
_USC_TITLE = re.compile(r"^(\d+)\s*U\.?\s*S\.?\s*C", re.I)


@dataclass(frozen=True, slots=True)
class Reference:
    """A provision a passage's text refers to: `text[start:end]` of the passage, the referenced
    provision's document, heading path (as citations show it) and canonical label."""

    text: str = field(metadata={"description": "the reference as written in the passage"})
    start: int = field(metadata={"description": "where it starts in the passage's text"})
    end: int = field(metadata={"description": "where it ends in the passage's text"})
    document_id: str = field(metadata={"description": "the referenced provision's document"})
    section: str = field(metadata={"description": "its heading path, as citations show it"})
    label: str = field(metadata={"description": "its canonical citation: 'Regulation (EU) No "
                                                "604/2013, Art. 21(1)', '8 U.S.C. § 1101(a)(42)'"})


@dataclass(frozen=True, slots=True)
class ReferenceSpan:
    """A reference as written. `provision` is None for a paragraph of the passage's own article
    ("referred to in paragraph 1") and for a statute's reference relative to the passage's
    section ("subsection (2)": `relative` is the word); `subdivision` the paragraph path below
    the provision; `instrument` the words naming another instrument ("the Refugee Convention"),
    None when it is the passage's own; `range_end`: the span ends a range the one before it
    opens ("Articles 8 to 11")."""

    text: str
    start: int
    end: int
    provision: ProvisionReference | None
    subdivision: tuple[str, ...] = ()
    instrument: str | None = None
    relative: str | None = None
    range_end: bool = False


def find_reference_spans(text: str) -> list[ReferenceSpan]:
    """The provision references written in `text`, in order, none overlapping. A provision's own
    heading line ("Article 21", "§ 1101. Definitions") is not a reference."""
    spans: list[ReferenceSpan] = []
    for m, reference in provision_matches(text):
        if _is_heading(text, m) or _STATUTE_CHAPTER.search(text, max(0, m.start() - 30), m.start()):
            continue
        spans.extend(_provision_spans(text, m, reference))
    spans.extend(_canadian_spans(text))
    spans.extend(_paragraph_spans(text, spans))
    spans.extend(ReferenceSpan(r.text, r.start, r.end, None, r.path, relative=r.level)
                 for r in find_relative(text))
    kept: list[ReferenceSpan] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if kept and span.start < kept[-1].end:
            continue  # "§ 1158" inside "8 U.S.C. § 1158", "Article 3" inside "paragraph 2 of Article 3"
        kept.append(span)
    return kept


def _is_heading(text: str, m: re.Match[str]) -> bool:
    line_start = text.rfind("\n", 0, m.start()) + 1
    if text[line_start:m.start()].strip(" \t#"):
        return False
    # "Article 21 of Regulation ..." broken over a line reads on in lower case; a heading does not.
    return re.match(r"[ \t]+[a-z]", text[m.end():m.end() + 3]) is None


def _provision_spans(text: str, m: re.Match[str], first: ProvisionReference
                     ) -> list[ReferenceSpan]:
    """The span of `m`, and one per further number of its list; the instrument the list's end
    names (after "of") holds for all of them."""
    items: list[tuple[int, int, ProvisionReference, tuple[str, ...], bool]] = [
        (m.start(), m.end(), first, first.subdivision, False)]
    end = m.end()
    while more := _MORE.match(text, end):
        ref = provision_reference(first.form, more.group(0).strip(" ,"), more.group(1),
                                  more.group(2) or "")
        is_range = _RANGE.search(text, end, more.start(1)) is not None
        items.append((more.start(1), more.end(), ref, ref.subdivision, is_range))
        end = more.end()
    if first.form == 0 and (para := _ITS_PARAGRAPH.match(text, end)):
        start, _, ref, sub, is_range = items[-1]
        path = tuple(re.findall(r"\((\w+)\)", para.group(2)))
        items[-1] = (start, para.end(), ref, (*sub, para.group(1), *path), is_range)
        end = para.end()
    instrument = _instrument_after(text, end)
    return [ReferenceSpan(text[s:e], s, e, ref, sub, instrument, range_end=is_range)
            for s, e, ref, sub, is_range in items]


def _canadian_spans(text: str) -> list[ReferenceSpan]:
    """ "subsection 37(1)", "paragraph 36(1)(a)": section 37 or 36, with that path."""
    out = []
    for m in CANADIAN_NUMBERED.finditer(text):
        reference = provision_reference(SECTION_FORM, m.group(0), m.group(1), m.group(2))
        out.append(ReferenceSpan(m.group(0), m.start(), m.end(), reference, levels(m.group(2)),
                                 _instrument_after(text, m.end())))
    return out


def _instrument_after(text: str, end: int) -> str | None:
    """None: the passage's own instrument ("of this Protocol", or nothing said); else the words
    after "of" that name another ("the Refugee Convention")."""
    of = _OF.match(text, end) or _ACRONYM.match(text, end)
    if of is None or _THIS.match(of.group("phrase")):
        return None
    return " ".join(of.group("phrase").split())


def _paragraph_spans(text: str, claimed: Sequence[ReferenceSpan]) -> list[ReferenceSpan]:
    out: list[ReferenceSpan] = []
    for m in _PARAGRAPH.finditer(text):
        if any(s.start <= m.start() < s.end for s in claimed):
            continue  # "article 6, paragraph 1 (a)": part of the article's span
        items = [(m.start(), m.end(), (m.group(1), *re.findall(r"\((\w+)\)", m.group(2))))]
        end = m.end()
        while more := _MORE.match(text, end):
            if not more.group(1).isdigit():
                break
            items.append((more.start(1), more.end(),
                          (more.group(1), *re.findall(r"\((\w+)\)", more.group(2)))))
            end = more.end()
        of = _OF.match(text, end)
        if of is None or _THIS_ARTICLE.match(of.group("phrase")):
            out.extend(ReferenceSpan(text[s:e], s, e, None, sub) for s, e, sub in items)
            continue
        phrase_at = of.start("phrase")
        article = next((ref for am, ref in provision_matches(text[phrase_at:phrase_at + 40])
                        if am.start() == 0 and ref.form == 0), None)
        if article is None:
            continue  # "paragraph 1 of Annex II", "of that Article": not resolvable here
        article_end = phrase_at + len(article.text)
        instrument = _instrument_after(text, article_end)
        # "paragraph 2 of Article 3": one span, Art. 3(2).
        for n, (s, e, sub) in enumerate(items):
            e = article_end if n == len(items) - 1 else e
            out.append(ReferenceSpan(text[s:e], s, e, article, (*article.subdivision, *sub),
                                     instrument))
    return out


@dataclass(frozen=True, slots=True)
class _Provision:
    """A provision as the index holds it: its heading path, label and the ids of its chunks."""

    section: tuple[str, ...]
    label: str
    chunk_ids: tuple[int, ...]


class ReferenceResolver:
    """Resolves the references in passages of one index generation. Each document's provisions
    are read once from its heading paths, and kept."""

    def __init__(self, searcher: IndexSearcher, catalogue: Catalogue,
                 cite_as: Callable[[str], str]) -> None:
        self.searcher = searcher
        self.catalogue = catalogue
        self._cite_as = cite_as
        self._indexed = {d.id for d in searcher.documents}
        self._provisions: dict[str, list[_Provision]] = {}
        self._texts: dict[tuple[str, tuple[str, ...]], str] = {}

    def resolve(self, chunk: StoredChunk) -> list[Reference]:
        """The references in the chunk's text that name an indexed provision; the others are
        left out. A range ("Articles 8 to 11") also lists the provisions between its ends that
        the instrument has."""
        if quotes_other_acts(chunk.section) or any(_CORRELATION.search(p) for p in chunk.section):
            return []
        out: list[Reference] = []
        previous: tuple[ReferenceSpan, str, _Provision] | None = None
        for span in find_reference_spans(chunk.text):
            found = self._resolve(chunk, span)
            if found is None:
                previous = None
                continue
            document_id, provision, subdivision = found
            if span.range_end and previous is not None and previous[1] == document_id:
                first = previous[0]
                out.extend(Reference(chunk.text[first.start:span.end], first.start, span.end,
                                     document_id, SECTION_SEPARATOR.join(p.section), p.label)
                           for p in self._between(document_id, previous[2], provision))
            out.append(Reference(span.text, span.start, span.end, document_id,
                                 SECTION_SEPARATOR.join(provision.section),
                                 provision.label + _render(subdivision)))
            previous = (span, document_id, provision)
        return out

    def _between(self, document_id: str, first: _Provision, last: _Provision) -> list[_Provision]:
        """The provisions of the document after `first` and before `last`, in its order, of
        the same kind and numbered between them; [] unless `first` comes before `last`."""
        provisions = self.provisions(document_id)
        low, high = provision_of(first.section), provision_of(last.section)
        if low is None or high is None or low.kind != high.kind:
            return []
        try:
            i, j = provisions.index(first), provisions.index(last)
        except ValueError:
            return []
        out = []
        for p in provisions[i + 1:j]:
            here = provision_of(p.section)
            if here is not None and here.kind == low.kind \
                    and _number_key(low.number) < _number_key(here.number) < _number_key(high.number):
                out.append(p)
        return out

    def _resolve(self, chunk: StoredChunk, span: ReferenceSpan
                 ) -> tuple[str, _Provision, tuple[str, ...]] | None:
        if span.relative is not None:
            return self._resolve_relative(chunk, span)
        if span.provision is None:
            own = provision_of(chunk.section)
            if own is None or own.kind != "Art.":
                return None
            section = tuple(chunk.section[:own.depth + 1])
            provision = next((p for p in self.provisions(chunk.document_id)
                              if p.section == section), None)
            if provision is None:
                return None
            candidates = [(chunk.document_id, provision)]
        else:
            candidates = self._candidates(chunk, span.provision, span.instrument)
        if not candidates:
            return None
        document_id, provision = candidates[0]
        subdivision = span.subdivision
        heading = provision_of(provision.section)
        if span.provision is not None and heading is not None \
                and span.provision.number.lower() != heading.number.lower():
            # "Article 1A(2)" is in the heading "Article 1": its section A is a paragraph level.
            subdivision = (span.provision.number[len(heading.number):], *subdivision)
        return document_id, provision, self._printed(document_id, provision, subdivision)

    def _resolve_relative(self, chunk: StoredChunk, span: ReferenceSpan
                          ) -> tuple[str, _Provision, tuple[str, ...]] | None:
        """ "paragraph (2)" in a section of a statute: that section's subdivision, when the
        passage's place says which for certain and the section's text prints all of it."""
        own = provision_of(chunk.section)
        if own is None or own.kind not in ("§", "s."):
            return None
        section = tuple(chunk.section[:own.depth + 1])
        provision = next((p for p in self.provisions(chunk.document_id) if p.section == section),
                         None)
        if provision is None:
            return None
        below = markers(chunk.section[own.depth + 1:])
        above = None
        if own.kind == "§" and span.relative == "subparagraph" and below:
            start = self._first_chunk(provision)
            if start is not None:
                text = self.searcher.chunks.document_slice(chunk.document_id, start,
                                                           chunk.char_start + span.start)
                above = paragraph_above(text, below[0])
        path = relative_path(own.kind, span.relative, span.subdivision, below, above)
        if path is None or self._printed(chunk.document_id, provision, path) != path:
            return None
        return chunk.document_id, provision, path

    def _first_chunk(self, provision: _Provision) -> int | None:
        first = self.searcher.chunks.chunks([provision.chunk_ids[0]]).get(provision.chunk_ids[0])
        return None if first is None else first.char_start

    def _candidates(self, chunk: StoredChunk, ref: ProvisionReference, instrument: str | None
                    ) -> list[tuple[str, _Provision]]:
        """The one provision the reference names, as [(document, provision)]; [] when none or
        several equally likely do."""
        if instrument is not None:
            groups = [[d for d in named_documents(instrument, self.catalogue, self._indexed, True)
                       if self._names_first(d, instrument)]]
        elif ref.form == USC_TITLE_FORM:
            title = _USC_TITLE.match(ref.text)
            groups = [[d for d in sorted(self._indexed)
                       if title and self._cite_as(d) == f"{title.group(1)} U.S.C."]]
        else:
            # The passage's own document first; then those cited by the same name (the
            # chapters of 8 U.S.C.: "section 1101 of this title").
            own = self._cite_as(chunk.document_id)
            groups = [[chunk.document_id], [d for d in sorted(self._indexed)
                                            if d != chunk.document_id and self._cite_as(d) == own]]
        for documents in groups:
            found = [(d, p) for d in documents for p in self.provisions(d)
                     if component_matches(p.section[-1:], ref)]
            # "§ 1229a" is § 1229a where there is one, not § 1229 ("Article 1A" is in Article 1).
            exact = [(d, p) for d, p in found if _heading_number(p) == ref.number.lower()]
            if found:
                return _likeliest(exact or found, chunk)
        return []

    def _names_first(self, document_id: str, phrase: str) -> bool:
        """Whether `phrase` starts with a name of the document: "the Refugee Convention, ...",
        not "the Member State ... under the Refugee Convention"."""
        entry = self.catalogue.by_file(document_id)
        if entry is None:
            return False
        lowered = re.sub(r"^the\s+", "", phrase.lower())
        names = (entry.title, *entry.short_names, *((entry.cite_as,) if entry.cite_as else ()))
        return any(re.match(re.escape(name.lower()) + r"(?!\w)", lowered) for name in names)

    def provisions(self, document_id: str) -> list[_Provision]:
        """The document's provisions in order: each run of chunks whose deepest provision is the
        same, with the heading path down to that provision and its label."""
        cached = self._provisions.get(document_id)
        if cached is not None:
            return cached
        cite_as = self._cite_as(document_id)
        runs: dict[tuple[str, ...], list[int]] = {}
        for chunk_id, section in self.searcher.sections(document_id):
            provision = provision_of(section)
            if provision is None:
                continue
            runs.setdefault(tuple(section[:provision.depth + 1]), []).append(chunk_id)
        cached = []
        for section, ids in runs.items():
            label = citation_label(cite_as, section)
            if label != cite_as:  # not an amending Act's section quoted among related provisions
                cached.append(_Provision(section, label, tuple(ids)))
        self._provisions[document_id] = cached
        return cached

    def _printed(self, document_id: str, provision: _Provision, subdivision: tuple[str, ...]
                 ) -> tuple[str, ...]:
        """The part of `subdivision` the provision's text prints, level by level, in order: a
        label may name less than the reference, never a paragraph the text does not have."""
        if not subdivision:
            return ()
        key = (document_id, provision.section)
        text = self._texts.get(key)
        if text is None:
            chunks = self.searcher.chunks.chunks([provision.chunk_ids[0], provision.chunk_ids[-1]])
            first, last = chunks.get(provision.chunk_ids[0]), chunks.get(provision.chunk_ids[-1])
            text = "" if first is None or last is None else self._provision_text(
                document_id, provision.section, first.char_start, last.char_end)
            self._texts[key] = text
        return printed_subdivision(text, subdivision)

    def _provision_text(self, document_id: str, section: tuple[str, ...], start: int, end: int
                        ) -> str:
        """The provision's text from its heading line, which a first chunk starting below a
        heading ("(a) Classes of deportable aliens") does not hold."""
        low = max(0, start - HEADING_LOOKBACK)
        text = self.searcher.chunks.document_slice(document_id, low, end)
        heading = provision_of(section)
        at = None if heading is None else provision_start(text, heading, start - low)
        return text[start - low if at is None else at:]


def printed_subdivision(text: str, subdivision: Sequence[str]) -> tuple[str, ...]:
    """The leading levels of `subdivision` ("21", "b") found as numbered paragraph markers at
    line starts ("1.", "(1)", "(b)") of the provision's `text`, each after the one above it."""
    at = 0
    out: list[str] = []
    for level in subdivision:
        marker = re.escape(level)
        m = re.compile(rf"^[ \t#]*(?:\({marker}\)|{marker}\.)(?=\s)", re.M).search(text, at)
        if m is None:
            break
        out.append(level)
        at = m.end()
    return tuple(out)


def _number_key(number: str) -> tuple[int, ...]:
    """ "159.3" -> (159, 3): provision numbers in order; a letter suffix ("1229a") sorts after
    its number's other provisions."""
    parts = re.findall(r"\d+|[a-z]+", number.lower())
    return tuple(int(p) if p.isdigit() else 10_000 + ord(p[0]) for p in parts)


def _heading_number(provision: _Provision) -> str:
    heading = provision_of(provision.section)
    return "" if heading is None else heading.number.lower()


def _render(subdivision: Sequence[str]) -> str:
    """ "(1)(a)"; a capital section first stays bare, as labels write it ("Art. 1A(2)")."""
    return "".join(level if n == 0 and level.isalpha() and level.isupper() else f"({level})"
                   for n, level in enumerate(subdivision))


def _likeliest(found: list[tuple[str, _Provision]], chunk: StoredChunk
               ) -> list[tuple[str, _Provision]]:
    """One provision: the only one, else the one whose headings above it most share the
    passage's (the protocol's own Article 3, not the convention's); [] on a tie."""
    distinct = list({(d, p.label): (d, p) for d, p in found}.values())
    if len(distinct) == 1:
        return distinct

    def shared(item: tuple[str, _Provision]) -> int:
        document_id, provision = item
        if document_id != chunk.document_id:
            return -1
        n = 0
        for a, b in zip(provision.section[:-1], chunk.section):
            if a != b:
                break
            n += 1
        return n

    ranked = sorted(distinct, key=shared, reverse=True)
    if shared(ranked[0]) == shared(ranked[1]):
        return []
    return ranked[:1]
