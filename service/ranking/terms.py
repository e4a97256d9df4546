"""A generation's defined terms, read from its definitions sections on first use and kept."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from index.chunk_store import StoredChunk
from service.definitions import definition_label, find_definitions, is_definitions_section, names_term
from service.ranking.stages import DefinedTerm

if TYPE_CHECKING:
    from index.searcher import IndexSearcher  # the searcher loads the stores: for types only

# The label of a chunk (the cite stage's passage_label), for definitions listed under no marker.
ChunkLabel = Callable[["IndexSearcher", StoredChunk, str], str]


@dataclass(frozen=True, slots=True)
class Definition:
    """Where a document defines a term: the chunk that holds the definition (of overlapping
    chunks, the one holding most of it), the term's offset in it and its paragraph marker."""

    term: str
    document_id: str
    chunk_id: int
    start: int
    end: int
    marker: str
    opens_sentence: bool  # its first letter's case says nothing

    @property
    def key(self) -> str:
        return self.term.lower()


class DefinedTerms:
    """One generation's definitions, per document, parsed when first asked for. Safe to share
    between threads: a document parsed twice at once gives the same definitions."""

    def __init__(self, searcher: IndexSearcher) -> None:
        self.searcher = searcher
        self._by_document: dict[str, list[Definition]] = {}
        self._patterns: dict[str, list[tuple[Definition, re.Pattern[str]]]] = {}

    def of_document(self, document_id: str) -> list[Definition]:
        """The document's definitions in text order, one per term and marker."""
        cached = self._by_document.get(document_id)
        if cached is None:
            cached = self._parse(document_id)
            self._by_document[document_id] = cached
        return cached

    def _parse(self, document_id: str) -> list[Definition]:
        ids = [cid for cid, section in self.searcher.sections(document_id)
               if is_definitions_section(section)]
        chunks = self.searcher.chunks.chunks(ids) if ids else {}
        best: dict[tuple[str, str], tuple[int, Definition]] = {}
        items: list[tuple[int, str]] = []  # (offset in the document, marker) of list items
        for cid in ids:
            chunk = chunks.get(cid)
            if chunk is None:
                continue
            for found in find_definitions(chunk.text):
                at = chunk.char_start + found.start
                marker = found.marker
                if not found.dashed:
                    items.append((at, marker))
                elif not marker:  # its list item is in an earlier chunk
                    marker = next((m for pos, m in reversed(items) if pos < at), "")
                d = Definition(found.term, document_id, cid, found.start, found.end,
                               marker, found.opens_sentence)
                # Overlapping chunks repeat a definition: keep the chunk with most text after it.
                room = len(chunk.text) - found.end
                key = (d.key, found.marker)
                if key not in best or room > best[key][0]:
                    best[key] = (room, d)
        return sorted((d for _, d in best.values()), key=lambda d: (d.chunk_id, d.start))

    def defining(self, phrases: Iterable[str], documents: Iterable[str]) -> list[Definition]:
        """The definitions, in `documents`, of the longest term an asked-about phrase names."""
        phrases = list(phrases)
        matches = [d for document_id in documents for d in self.of_document(document_id)
                   if any(names_term(p, d.term) for p in phrases)]
        if not matches:
            return []
        longest = max(len(d.term) for d in matches)
        return [d for d in matches if len(d.term) == longest]

    def uses(self, chunk: StoredChunk, cite_as: str, label: ChunkLabel) -> list[DefinedTerm]:
        """The terms the chunk's own document defines that the chunk uses: each once, at its
        first use that is not the definition itself, in text order."""
        own = ({f.start for f in find_definitions(chunk.text)}
               if is_definitions_section(chunk.section) else set())
        found: list[tuple[int, int, Definition]] = []
        seen: set[str] = set()
        for definition, pattern in self._term_patterns(chunk.document_id):
            if definition.key in seen:
                continue
            m = next((m for m in pattern.finditer(chunk.text) if m.start() not in own), None)
            if m is not None:
                seen.add(definition.key)
                found.append((m.start(), m.end(), definition))
        found.sort(key=lambda f: f[0])
        return [DefinedTerm(d.term, start, end, *self.located(d, cite_as, label))
                for start, end, d in found]

    def located(self, definition: Definition, cite_as: str, label: ChunkLabel
               ) -> tuple[str, str]:
        chunk = self.searcher.chunks.chunks([definition.chunk_id])[definition.chunk_id]
        written = definition_label(cite_as, chunk.section, definition.marker) \
            if definition.marker else None
        return chunk.section_label, written or label(self.searcher, chunk, cite_as)

    def _term_patterns(self, document_id: str) -> list[tuple[Definition, re.Pattern[str]]]:
        cached = self._patterns.get(document_id)
        if cached is None:
            cached = [(d, term_pattern(d)) for d in self.of_document(document_id)]
            self._patterns[document_id] = cached
        return cached


def term_pattern(definition: Definition) -> re.Pattern[str]:
    """A use of the term as a whole word or phrase, perhaps plural, in its printed case; the
    first letter in either case for a term that opens its definition's sentence."""
    term = definition.term
    words = r"\s+".join(re.escape(w) for w in term.split())
    if definition.opens_sentence and term[:1].isalpha():
        words = f"[{term[0].upper()}{term[0].lower()}]" + words[len(re.escape(term[0])):]
    return re.compile(rf"(?<![\w-]){words}(?:s|es)?(?![\w-])")


_LOCK = threading.Lock()
_BY_SEARCHER: WeakKeyDictionary[IndexSearcher, DefinedTerms] = WeakKeyDictionary()


def defined_terms(searcher: IndexSearcher) -> DefinedTerms:
    """The searcher's defined terms, made once per loaded generation and dropped with it."""
    with _LOCK:
        terms = _BY_SEARCHER.get(searcher)
        if terms is None:
            terms = _BY_SEARCHER[searcher] = DefinedTerms(searcher)
        return terms
