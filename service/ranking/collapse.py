"""The collapse stage: near-duplicate passages from different copies of one instrument (the
reference corpus holds three ECHRs, three UDHRs, two Refugee Conventions) become one result
that lists the other copies' passages (`also_in`), so the copies do not fill the answer.

Copies are documents the catalogue gives the same citation name ("ECHR"); two of their chunks
are near-duplicates when most word trigrams of the shorter are in the other (chunk boundaries
differ between copies, so the measure is containment, not Jaccard). Documents the catalogue
does not know have no copies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Self

from index.chunk_store import StoredChunk
from ingest.catalogue import Catalogue
from service.ranking.stages import Candidate, QueryContext, Stage, StageError, parameters

WINDOW = 50  # candidates looked at: as the diversify stage's, deeper changes no answer
OVERLAP = 50  # percent of the shorter chunk's word trigrams the other must hold
SHINGLE = 3  # words per shingle: long enough that shared legal phrasing alone rarely matches

_WORD = re.compile(r"\w+")


class Collapse(Stage):
    """Among the best `window` candidates (at least as many as the answer may draw on), each
    one that repeats a better-ranked candidate from another copy of its instrument is taken out
    and listed among that candidate's copies; the others keep their order."""

    name = "collapse"

    def __init__(self, window: int = WINDOW, overlap: int = OVERLAP) -> None:
        if overlap > 100:
            raise StageError(f"ranking stage 'collapse': overlap is a percentage (1-100), "
                             f"not {overlap!r}")
        self.window = window
        self.overlap = overlap

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "window": self.window, "overlap": self.overlap}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, {"window": WINDOW, "overlap": OVERLAP}))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        window = max(self.window, ctx.depth)
        head = ctx.fetch(candidates[:window])
        return collapse(head, instruments(ctx.catalogue), self.overlap / 100) + \
            candidates[window:]


def instruments(catalogue: Catalogue) -> dict[str, str]:
    """Each catalogued file's instrument, as its citation name, for the names that more than
    one file shares (the only files that have copies)."""
    files: dict[str, list[str]] = {}
    for item in catalogue.instruments:
        files.setdefault(item.citation_name, []).append(item.file)
    return {file: name for name, group in files.items() if len(group) > 1 for file in group}


def shingles(text: str, size: int = SHINGLE) -> frozenset[tuple[str, ...]]:
    """The text's word `size`-grams, lowercased; a text shorter than that is one shingle."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) <= size:
        return frozenset({tuple(words)}) if words else frozenset()
    return frozenset(tuple(words[i:i + size]) for i in range(len(words) - size + 1))


def containment(a: frozenset[tuple[str, ...]], b: frozenset[tuple[str, ...]]) -> float:
    """The share of the smaller set that the other holds (0 where either is empty)."""
    if not a or not b:
        return 0.0
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    return len(small & large) / len(small)


def collapse(candidates: list[Candidate], instrument_of: Mapping[str, str],
             overlap: float) -> list[Candidate]:
    """The (fetched) candidates with each near-duplicate of a better one from another copy of
    the same instrument (`instrument_of`: document id -> instrument) folded into that one's
    `copies`, one copy per document, in rank order."""
    kept: list[Candidate] = []
    copies: dict[int, list[StoredChunk]] = {}  # index into kept -> its copies
    seen: dict[int, frozenset[tuple[str, ...]]] = {}
    for c in candidates:
        chunk = c.chunk
        if chunk is None:
            raise ValueError(f"chunk {c.chunk_id} was not fetched: collapse needs its text")
        instrument = instrument_of.get(chunk.document_id)
        at = None if instrument is None else _original(
            kept, copies, seen, chunk, instrument, instrument_of, overlap)
        if at is None:
            kept.append(c)
        else:
            copies.setdefault(at, []).append(chunk)
    return [replace(c, copies=(*c.copies, *copies[i])) if i in copies else c
            for i, c in enumerate(kept)]


def _original(kept: list[Candidate], copies: Mapping[int, list[StoredChunk]],
              seen: dict[int, frozenset[tuple[str, ...]]], chunk: StoredChunk,
              instrument: str, instrument_of: Mapping[str, str], overlap: float) -> int | None:
    """The index of the kept candidate `chunk` repeats, if any: another copy's (whose document
    has no copy listed there yet) holding `overlap` of the shorter one's trigrams."""
    mine = _shingles_of(seen, chunk)
    for i, other in enumerate(kept):
        theirs = other.chunk
        assert theirs is not None
        if theirs.document_id == chunk.document_id or \
                instrument_of.get(theirs.document_id) != instrument:
            continue
        if any(copy.document_id == chunk.document_id for copy in copies.get(i, ())):
            continue
        if containment(mine, _shingles_of(seen, theirs)) >= overlap:
            return i
    return None


def _shingles_of(seen: dict[int, frozenset[tuple[str, ...]]], chunk: StoredChunk
                 ) -> frozenset[tuple[str, ...]]:
    if chunk.id not in seen:
        seen[chunk.id] = shingles(chunk.text)
    return seen[chunk.id]
