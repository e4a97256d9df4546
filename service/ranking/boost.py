"""The boost stage: chunks of a provision the question names ("Article 33 ...") ranked first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from service.ranking.stages import Candidate, QueryContext, Stage

BOOSTED = "boost"  # the source of a candidate this stage moved to the top

# Successive boosted chunks score this much less than the one before, so scores keep their order.
STEP = 1e-6


class Boost(Stage):
    """The question's provision chunks that pass the request's filter, first, in the order the
    ranking had them (those it lacked after those it had), scored just above the best
    candidate; everything else follows in its order."""

    name = "boost"

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        if not ctx.provision_chunk_ids:
            return candidates
        allowed = ctx.allowed(ctx.where)
        return boost(candidates, ctx.provision_chunk_ids,
                     None if allowed is None else set(allowed.tolist()))


def boost(candidates: list[Candidate], provision_chunk_ids: Sequence[int],
          allowed: Collection[int] | None = None, source: str = BOOSTED) -> list[Candidate]:
    """`provision_chunk_ids` (those in `allowed`, when given) ahead of the other candidates,
    marked as from `source`."""
    boosted = [cid for cid in provision_chunk_ids if allowed is None or cid in allowed]
    order = {c.chunk_id: i for i, c in enumerate(candidates)}
    boosted.sort(key=lambda cid: order.get(cid, len(order)))
    top = 1.0 + (candidates[0].score if candidates else 0.0)
    head = [replace(candidates[order[cid]], score=top - i * STEP, source=source)
            if cid in order else Candidate(cid, top - i * STEP, source)
            for i, cid in enumerate(boosted)]
    chosen = set(boosted)
    return head + [c for c in candidates if c.chunk_id not in chosen]
