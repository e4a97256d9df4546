"""The ranking pipeline: stages by name from settings, run in order over one request's context.

The registry below is where a stage gets its name: a new stage (a reranker, say) is one module
and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from index.stores.base import ChunkFilter
from ingest.catalogue import Catalogue
from service.ranking.boost import Boost
from service.ranking.budget import Budget
from service.ranking.candidates import Candidates
from service.ranking.cite import Cite
from service.ranking.collapse import Collapse
from service.ranking.compare import Compare
from service.ranking.defaults import DEFAULT_RANKING_STAGES
from service.ranking.define import Define
from service.ranking.diversify import Diversify
from service.ranking.fuse import Fuse
from service.ranking.rescore import Rescore
from service.ranking.stages import Candidate, Passage, QueryContext, Stage, StageError
from service.ranking.understand import understand

if TYPE_CHECKING:
    from index.searcher import IndexSearcher  # the searcher loads the stores: for types only

STAGES: dict[str, type[Stage]] = {stage.name: stage for stage in (
    Candidates,
    Fuse,
    Compare,
    Boost,
    Define,
    Diversify,
    Rescore,
    Collapse,
    Budget,
    Cite,
)}

# Where the pipeline must start and end: nothing ranks before there are candidates, and an
# answer is made of the passages the cite stage makes.
FIRST, LAST = Candidates.name, Cite.name

StageEntry = str | Mapping[str, Any]  # a stage's name, or a table with "name" and parameters


class Pipeline:
    """Stages run in order: each gets the previous one's candidates."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        names = [s.name for s in stages]
        if not names or names[0] != FIRST:
            raise StageError(f"ranking stages must start with {FIRST!r}, not "
                             f"{names[0] if names else 'nothing'!r}")
        if names[-1] != LAST:
            raise StageError(f"ranking stages must end with {LAST!r}, not {names[-1]!r}")
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise StageError(f"ranking stage {twice[0]!r} is listed twice")
        self.stages = tuple(stages)

    @classmethod
    def from_settings(cls, entries: Sequence[StageEntry]) -> Pipeline:
        """The pipeline a `ranking_stages` setting lists; StageError, naming the stage, for an
        unknown name, a bad parameter or an impossible order."""
        return cls([stage_from(entry) for entry in entries])

    @classmethod
    def default(cls) -> Pipeline:
        return cls.from_settings(DEFAULT_RANKING_STAGES)

    def to_dict(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.stages]

    def run(self, ctx: QueryContext) -> list[Candidate]:
        candidates: list[Candidate] = []
        for stage in self.stages:
            candidates = stage.run(ctx, candidates)
        return candidates

    def passages(self, ctx: QueryContext) -> list[Passage]:
        return [c.passage for c in self.run(ctx) if c.passage is not None]

    def __repr__(self) -> str:
        return f"Pipeline({', '.join(map(repr, self.stages))})"


def stage_from(entry: StageEntry) -> Stage:
    """A stage from its name, or from a table naming it and giving its parameters."""
    if isinstance(entry, str):
        name, data = entry, {}
    elif isinstance(entry, Mapping) and isinstance(entry.get("name"), str):
        name, data = entry["name"], entry
    else:
        raise StageError(f"a ranking stage is a name or a table with a name, not {entry!r}")
    stage = STAGES.get(name)
    if stage is None:
        raise StageError(f"unknown ranking stage {name!r}; stages: {', '.join(STAGES)}")
    return stage.from_dict(data)


def rank(searcher: IndexSearcher, question: str, k: int = 5, mode: str = "hybrid",
         where: ChunkFilter | None = None, catalogue: Catalogue | None = None,
         pipeline: Pipeline | None = None) -> list[Candidate]:
    """The top k candidates (with chunks and passages) for a question on a loaded generation,
    without an AnswerEngine: for builds and tests that check what an index finds. Without a
    catalogue no instrument is known by name."""
    ctx = understand(question, searcher, catalogue or Catalogue(()), k=k, mode=mode, where=where)
    return (pipeline or Pipeline.default()).run(ctx)
