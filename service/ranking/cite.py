"""The cite stage: each of the top k candidates as a passage with highlights and a citation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Self

from index.chunk_store import StoredChunk
from service.highlights import highlight, idf_from_counts, terms
from service.ranking.stages import Candidate, Citation, Passage, QueryContext, Stage, parameters

HIGHLIGHTS = 3  # sentences marked per passage, at most


class Cite(Stage):
    """Passages for the first k candidates, ranked from 1: text, score (to 6 decimals), the
    sentences sharing the question's most informative terms, and where the text is."""

    name = "cite"

    def __init__(self, highlights: int = HIGHLIGHTS) -> None:
        self.highlights = highlights

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "highlights": self.highlights}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, {"highlights": HIGHLIGHTS}))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        chosen = ctx.fetch(candidates[:ctx.k])
        searcher = ctx.searcher
        titles = {d.id: d.title for d in searcher.documents}
        idf = idf_from_counts(searcher.lexical.document_frequency, searcher.chunk_count)
        wanted = frozenset(terms(ctx.question))  # stemmed once for every passage
        out: list[Candidate] = []
        for rank, c in enumerate(chosen, 1):
            chunk = c.chunk
            assert chunk is not None  # fetched above
            spans = highlight(wanted, chunk.text, idf, most=self.highlights)
            out.append(replace(c, passage=passage(rank, c.score, chunk,
                                                  titles.get(chunk.document_id, ""), spans)))
        return out


def passage(rank: int, score: float, chunk: StoredChunk, title: str,
            highlights: list[tuple[int, int]]) -> Passage:
    return Passage(rank=rank, score=round(float(score), 6), text=chunk.text,
                   highlights=highlights,
                   citation=Citation(document_id=chunk.document_id, title=title,
                                     source_path=chunk.document_id, section=chunk.section_label,
                                     page_start=chunk.page_start, page_end=chunk.page_end,
                                     page_label_start=chunk.page_label_start,
                                     page_label_end=chunk.page_label_end,
                                     char_start=chunk.char_start, char_end=chunk.char_end))
