"""The rerank slot: the base a reranker (a cross-encoder, say) subclasses; none runs by default.

A reranker is one module with a subclass of Reranker, giving it a `name` and `scores`, and one
line in service.ranking.pipeline's registry; settings then list it between "boost" and
"budget" (ranking_stages = [..., "boost", {name = "my-reranker", depth = 50}, "budget", ...]).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Self

from service.ranking.stages import Candidate, QueryContext, Stage, StageError, parameters

DEPTH = 50  # candidates rescored per question: a reranker reads each one's text


class Reranker(Stage):
    """Rescores the best `depth` candidates (at least as many as the answer may draw on) from
    their texts and orders them by the new scores, ties in their old order; the rest follow
    unchanged, as the budget stage may still need them."""

    def __init__(self, depth: int = DEPTH) -> None:
        self.depth = depth

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "depth": self.depth}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, {"depth": DEPTH}))

    @abstractmethod
    def scores(self, ctx: QueryContext, candidates: list[Candidate]) -> Sequence[float]:
        """One score per candidate (each with its chunk), higher is better."""

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        depth = max(self.depth, ctx.depth)
        head = ctx.fetch(candidates[:depth])
        scores = list(self.scores(ctx, head))
        if len(scores) != len(head):
            raise StageError(f"reranker {self.name!r} gave {len(scores)} scores for "
                             f"{len(head)} candidates")
        order = sorted(range(len(head)), key=lambda i: -scores[i])  # stable: ties keep order
        return [Candidate(head[i].chunk_id, float(scores[i]), self.name, head[i].chunk)
                for i in order] + candidates[depth:]
