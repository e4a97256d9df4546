"""The compare stage: a question naming two or more instruments or jurisdictions gets each of
them in its first passages ("compare the refugee definition in the INA, IRPA and the 1951
Convention", "how do Canada and the US treat ...").

Each named instrument (all its copies together) and each named jurisdiction is retrieved on
its own, with the request's retrievers and filter, and the first places are dealt out in turn
from those rankings; the rest follows in the fused order. A jurisdiction that holds a named
instrument is not a group of its own ("Canada's IRPA" compares nothing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Self

from index.stores.base import ChunkFilter
from service.ranking.candidates import Candidates
from service.ranking.fuse import DENSE_WEIGHTS, fuse
from service.ranking.stages import Candidate, QueryContext, Stage, parameters

DEPTH = 50  # chunks per retriever and group: the first places come from the top of each

COMPARED = "compare"  # the source of a candidate this stage placed

# How questions name the jurisdictions of the catalogue (ingest/catalogue.py). Capitalized
# names match as written: "US" is a country, "us" a pronoun.
JURISDICTION_NAMES: dict[str, tuple[str, ...]] = {
    "canada": ("Canada", "Canadian"),
    "us": ("United States", "U.S.", "US", "USA", "American"),
    "eu": ("European Union", "EU"),
    "council-of-europe": ("Council of Europe",),
}

# A question that names two instruments or countries need not compare them ("can someone who
# travelled through the United States claim asylum in Canada?"): the stage acts on questions
# that ask for a comparison in so many words.
COMPARISON = re.compile(r"\b(compar\w*|contrast\w*|versus|vs\.?|differ\w*|similar\w*|each|both|"
                        r"how\s+do(?:es)?\b[^?]*\band\b)", re.I)

STEP = 1e-6  # successive placed candidates score this much less than the one before


class Compare(Stage):
    """The first `ctx.depth` places dealt in turn from each named group's own ranking (its
    best not yet placed), when the question asks for a comparison and names two groups or
    more; else nothing changes."""

    name = "compare"

    def __init__(self, depth: int = DEPTH) -> None:
        self.depth = depth

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "depth": self.depth}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, {"depth": DEPTH}))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        groups = compared_groups(ctx) if COMPARISON.search(ctx.question) else []
        if len(groups) < 2:
            return candidates
        retrieve = Candidates(self.depth)
        weight = DENSE_WEIGHTS[ctx.shape]  # the default fusion's, whatever the pipeline's
        rankings = [[c.chunk_id for c in fuse(retrieve.run(ctx.narrowed(group.within(ctx.where)),
                                                            []), dense_weight=weight)]
                    for group in groups]
        return deal(rankings, candidates, ctx.depth)


def compared_groups(ctx: QueryContext) -> list[ChunkFilter]:
    """The named instruments (copies together) and the named jurisdictions holding none of
    them, as filters, in the order the question names them."""
    documents = {d.id: d for d in ctx.searcher.documents}
    by_name: dict[str, list[str]] = {}
    for document_id in ctx.named:
        item = ctx.catalogue.by_file(document_id)
        by_name.setdefault(item.citation_name if item else document_id, []).append(document_id)
    named_jurisdictions = {str(documents[d].metadata.get("jurisdiction"))
                           for d in ctx.named if d in documents}
    groups: list[tuple[int, ChunkFilter]] = []
    for files in by_name.values():
        at = min(_position(ctx, f) for f in files)
        groups.append((at, ChunkFilter.of(files)))
    for jurisdiction, at in jurisdictions_named(ctx.question).items():
        held = any(str(d.metadata.get("jurisdiction")) == jurisdiction for d in documents.values())
        if held and jurisdiction not in named_jurisdictions:
            groups.append((at, ChunkFilter.of(fields={"jurisdiction": [jurisdiction]})))
    return [g for _, g in sorted(groups, key=lambda pair: pair[0])]


def jurisdictions_named(question: str) -> dict[str, int]:
    """The jurisdictions the question names, each with where it first does."""
    found: dict[str, int] = {}
    for jurisdiction, names in JURISDICTION_NAMES.items():
        for name in names:
            m = re.search(r"(?<![\w.])" + re.escape(name) + r"(?!\w)", question)
            if m and m.start() < found.get(jurisdiction, len(question) + 1):
                found[jurisdiction] = m.start()
    return found


def _position(ctx: QueryContext, document_id: str) -> int:
    """Where the question names a document: its earliest name in the question (for order)."""
    item = ctx.catalogue.by_file(document_id)
    names = (item.title, *item.short_names) if item else ()
    places = [m.start() for n in names
              if (m := re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", ctx.question, re.I))]
    return min(places, default=len(ctx.question))


def deal(rankings: Sequence[Sequence[int]], candidates: list[Candidate], places: int
         ) -> list[Candidate]:
    """The first `places` chunk ids taken in turn from each ranking (its best not yet taken),
    scored above the best candidate in that order; then the candidates not taken, in order."""
    taken: list[int] = []
    chosen: set[int] = set()
    cursors = [0] * len(rankings)
    while len(taken) < places and any(c < len(r) for c, r in zip(cursors, rankings)):
        for i, ranking in enumerate(rankings):
            while cursors[i] < len(ranking) and ranking[cursors[i]] in chosen:
                cursors[i] += 1
            if cursors[i] < len(ranking) and len(taken) < places:
                taken.append(ranking[cursors[i]])
                chosen.add(ranking[cursors[i]])
    known = {c.chunk_id: c for c in candidates}
    top = 1.0 + (candidates[0].score if candidates else 0.0)
    head = [Candidate(cid, top - i * STEP, COMPARED,
                      known[cid].chunk if cid in known else None)
            for i, cid in enumerate(taken)]
    return head + [c for c in candidates if c.chunk_id not in chosen]
