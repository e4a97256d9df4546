"""The budget stage: the top k candidates, or as many of the best as fit max_context_tokens."""

from __future__ import annotations

from ingest.tokens import count_tokens
from service.ranking.stages import Candidate, QueryContext, Stage


class Budget(Stage):
    """The best ctx.depth candidates with their chunks; with a token budget, those whose texts
    together fit it, in rank order (a passage too large is skipped for a later one that fits);
    at most k either way."""

    name = "budget"

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        return within_budget(ctx.fetch(candidates[:ctx.depth]), ctx.k, ctx.max_context_tokens)


def within_budget(candidates: list[Candidate], k: int, max_context_tokens: int | None
                  ) -> list[Candidate]:
    """The first k (fetched) candidates, or with a budget fit_budget's choice."""
    if max_context_tokens is not None:
        candidates = fit_budget(candidates, max_context_tokens, k)
    return candidates[:k]


def fit_budget(candidates: list[Candidate], budget: int, k: int) -> list[Candidate]:
    """The best (fetched) candidates, in rank order, whose texts together fit `budget`
    tiktoken tokens; at most k."""
    kept: list[Candidate] = []
    used = 0
    for c in candidates:
        if c.chunk is None:
            raise ValueError(f"chunk {c.chunk_id} was not fetched: fit_budget needs its text")
        size = count_tokens(c.chunk.text)
        if used + size <= budget:
            kept.append(c)
            used += size
            if len(kept) == k:
                break
    return kept
