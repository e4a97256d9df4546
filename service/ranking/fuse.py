"""The fuse stage: the retrievers' rankings combined into one by reciprocal rank fusion,
the dense rankings weighed by the question's shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from index.fusion import reciprocal_rank_fusion
from service.ranking.shape import KEYWORD, PROVISION, QUESTION
from service.ranking.stages import FUSED, Candidate, QueryContext, Stage, parameters

RRF_K = 60  # Cormack et al.'s constant: how much a first place outweighs a tenth
# The dense rankings' RRF weight against the lexical ones' 1, by question shape, chosen on the
# dev sets with all-mpnet-base-v2 (README "Fusion by question shape"): a paraphrased question
# is the embedder's ground (treaty set recall@5 0.625 at 1, 0.682 at 2, falling from 3 on;
# ContractNLI precision@1 15.8% at 1, 17.1% at 2), a keyword query the lexical side's (treaty
# keyword mrr@10 0.756 at 1, 0.870 at 0.5; SciFact nDCG@10 0.7158 -> 0.7168), a cited
# provision neither's (boost puts it first whatever the fusion).
DENSE_WEIGHTS: Mapping[str, float] = {QUESTION: 2.0, KEYWORD: 0.5, PROVISION: 1.0}
PARAMETERS = {"k": RRF_K, **{f"dense_{shape}": w for shape, w in DENSE_WEIGHTS.items()}}


class Fuse(Stage):
    """The candidates grouped into rankings by source, in the order the sources first appear
    (the order RRF breaks ties by), fused into one ranking scored by weighted RRF: the dense
    rankings weigh `dense_<shape>` (the question's shape) against the lexical rankings' 1."""

    name = "fuse"

    def __init__(self, k: int = RRF_K, dense_question: float = DENSE_WEIGHTS[QUESTION],
                 dense_keyword: float = DENSE_WEIGHTS[KEYWORD],
                 dense_provision: float = DENSE_WEIGHTS[PROVISION]) -> None:
        self.k = k
        self.dense_weights = {QUESTION: dense_question, KEYWORD: dense_keyword,
                              PROVISION: dense_provision}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "k": self.k,
                **{f"dense_{shape}": w for shape, w in self.dense_weights.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, PARAMETERS))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        return fuse(candidates, self.k, self.dense_weights[ctx.shape])


def fuse(candidates: list[Candidate], k: int = RRF_K, dense_weight: float = 1.0
         ) -> list[Candidate]:
    """One ranking per source, in the order sources first appear, fused by RRF, the dense
    sources' ("dense", "dense:named") weighing `dense_weight` against the others' 1."""
    rankings: dict[str, list[int]] = {}
    for c in candidates:
        rankings.setdefault(c.source, []).append(c.chunk_id)
    weights = [dense_weight if source.split(":")[0] == "dense" else 1.0 for source in rankings]
    fused = reciprocal_rank_fusion(list(rankings.values()), k=k, weights=weights)
    return [Candidate(cid, score, FUSED) for cid, score in fused]
