"""The candidates stage: the retrievers' rankings, over the request's filter and named instruments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

from index.stores.base import ChunkFilter
from service.ranking.stages import Candidate, QueryContext, Stage, parameters

DEPTH = 100  # chunks per ranking: fusion and the later stages choose among these
NAMED = ":named"  # suffix of the sources ranked within the instruments the question names


class Candidates(Stage):
    """One ranking per retriever the mode uses (dense, lexical or both), over the request's
    filter; when the question names instruments, one more per retriever within them, so those
    get a second vote in the fusion without shutting out everything else."""

    name = "candidates"

    def __init__(self, depth: int = DEPTH, expand: bool = False) -> None:
        self.depth = depth
        self.expand = expand  # BM25 also for the legal terms' other names (service/expansion)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "depth": self.depth, "expand": self.expand}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, {"depth": DEPTH, "expand": False}))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        depth = max(ctx.depth, self.depth)
        subsets: list[tuple[str, ChunkFilter | None]] = [("", ctx.where)]
        if (preferred := ctx.preferred) is not None:
            subsets.append((NAMED, preferred))
        found = list(candidates)
        if ctx.mode in ("hybrid", "lexical"):
            scores = ctx.expanded_bm25_scores if self.expand else ctx.bm25_scores
        # Dense before lexical within each subset: fusion breaks ties by first appearance.
        for suffix, subset in subsets:
            # The in-force status is a chunk's own, not its document's: applied to each
            # retriever's ranking (text not in force is a small share of any corpus).
            if ctx.mode in ("hybrid", "dense"):
                # Every store filters by `subset` itself: no id list is resolved for it.
                found += ranked("dense" + suffix, ctx.in_force_only(
                    ctx.searcher.dense(ctx.vector, depth, subset)))
            if ctx.mode in ("hybrid", "lexical"):
                found += ranked("lexical" + suffix, ctx.in_force_only(
                    ctx.searcher.lexical_ids(scores, depth, ctx.allowed(subset))))
        return found


def ranked(source: str, chunk_ids: Sequence[int]) -> list[Candidate]:
    """A retriever's ranked ids as candidates. The retrievers give an order, not scores that
    compare across retrievers, so a candidate's score here is its reciprocal rank."""
    return [Candidate(int(cid), 1.0 / rank, source) for rank, cid in enumerate(chunk_ids, 1)]
