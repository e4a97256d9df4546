"""The fuse stage: the retrievers' rankings combined into one by reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from index.fusion import reciprocal_rank_fusion
from service.ranking.stages import FUSED, Candidate, QueryContext, Stage, parameters

RRF_K = 60  # Cormack et al.'s constant: how much a first place outweighs a tenth


class Fuse(Stage):
    """The candidates grouped into rankings by source, in the order the sources first appear
    (the order RRF breaks ties by), fused into one ranking scored by RRF."""

    name = "fuse"

    def __init__(self, k: int = RRF_K) -> None:
        self.k = k

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, {"k": RRF_K}))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        return fuse(candidates, self.k)


def fuse(candidates: list[Candidate], k: int = RRF_K) -> list[Candidate]:
    """One ranking per source, in the order sources first appear, fused by RRF."""
    rankings: dict[str, list[int]] = {}
    for c in candidates:
        rankings.setdefault(c.source, []).append(c.chunk_id)
    fused = reciprocal_rank_fusion(list(rankings.values()), k=k)
    return [Candidate(cid, score, FUSED) for cid, score in fused]
