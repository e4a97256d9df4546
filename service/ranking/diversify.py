"""The diversify slot: a stage that keeps one document from filling the answer; off by default."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Self

from service.ranking.stages import Candidate, QueryContext, Stage, parameters

PER_DOCUMENT = 2  # candidates a document keeps in place before the others get a turn
WINDOW = 50  # candidates looked at: deferring further down changes no answer


class Diversify(Stage):
    """Among the best `window` candidates (at least as many as the answer may draw on), those
    whose document already has `per_document` candidates ranked above them move behind the
    others, in their order; nothing is dropped, so the budget stage may still use them."""

    name = "diversify"

    def __init__(self, per_document: int = PER_DOCUMENT, window: int = WINDOW) -> None:
        self.per_document = per_document
        self.window = window

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "per_document": self.per_document, "window": self.window}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data,
                                {"per_document": PER_DOCUMENT, "window": WINDOW}))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        window = max(self.window, ctx.depth)
        return spread(ctx.fetch(candidates[:window]), self.per_document) + candidates[window:]


def spread(candidates: list[Candidate], per_document: int) -> list[Candidate]:
    """The (fetched) candidates with each document's beyond the first `per_document` moved
    behind all others, both parts in their order."""
    seen: Counter[str] = Counter()
    kept: list[Candidate] = []
    deferred: list[Candidate] = []
    for c in candidates:
        if c.chunk is None:
            raise ValueError(f"chunk {c.chunk_id} was not fetched: spread needs its document")
        seen[c.chunk.document_id] += 1
        (kept if seen[c.chunk.document_id] <= per_document else deferred).append(c)
    return kept + deferred
