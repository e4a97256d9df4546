"""The cite stage: each of the top k candidates as a passage with highlights and a citation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Self

from index.chunk_store import StoredChunk
from ingest.catalogue import Catalogue
from service.display import citation_text, printed_pages, reflow
from service.highlights import highlight, idf_from_counts, terms
from service.labels import (
    Provision,
    citation_label,
    heading_lines,
    provision_kinds,
    provision_of,
    provision_start,
    range_label,
)
from service.ranking.stages import Candidate, Citation, Passage, QueryContext, Stage, parameters
from service.ranking.terms import defined_terms
from service.references import ReferenceResolver

if TYPE_CHECKING:
    from index.searcher import IndexSearcher  # the searcher loads the stores: for types only

HIGHLIGHTS = 3  # sentences marked per passage, at most
# How far before a provision's first chunk its heading is looked for: a chunk whose path is
# cut to a chapter (tiny provisions sharing it) may hold the start of the provision.
HEADING_LOOKBACK = 20_000


class Cite(Stage):
    """Passages for the first k candidates, ranked from 1: text, score (to 6 decimals), the
    sentences sharing the question's most informative terms, and where the text is."""

    name = "cite"

    def __init__(self, highlights: int = HIGHLIGHTS) -> None:
        self.highlights = highlights
        # Kept between requests: each document's provisions are read once per generation.
        self._resolver: ReferenceResolver | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "highlights": self.highlights}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        return cls(**parameters(cls.name, data, {"highlights": HIGHLIGHTS}))

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        chosen = ctx.fetch(candidates[:ctx.k])
        searcher = ctx.searcher
        titles = {d.id: d.title for d in searcher.documents}
        short: dict[str, str] = {}  # the catalogue's name for each cited document, looked up once
        cite_as: dict[str, str] = {}
        idf = idf_from_counts(searcher.lexical.document_frequency, searcher.chunk_count)
        wanted = frozenset(terms(ctx.question))  # stemmed once for every passage
        definitions = defined_terms(searcher)
        resolver = self.resolver(ctx)

        def names(document_id: str) -> tuple[str, str, str]:
            """The document's title, short title and citation name, looked up once."""
            title = titles.get(document_id, "")
            if document_id not in short:
                short[document_id] = _short_title(ctx.catalogue, document_id, title)
                cite_as[document_id] = _cite_as(ctx.catalogue, document_id, title)
            return title, short[document_id], cite_as[document_id]

        def cited(chunk: StoredChunk) -> Citation:
            title, short_title, name = names(chunk.document_id)
            return citation(chunk, title, short_title, passage_label(searcher, chunk, name))

        out: list[Candidate] = []
        for rank, c in enumerate(chosen, 1):
            chunk = c.chunk
            assert chunk is not None  # fetched above
            spans = highlight(wanted, chunk.text, idf, most=self.highlights,
                              headings=chunk.section)
            title, short_title, name = names(chunk.document_id)
            label = passage_label(searcher, chunk, name)
            made = passage(rank, c.score, chunk, title, spans, short_title, label)
            uses = definitions.uses(chunk, name, passage_label)
            out.append(replace(c, passage=replace(
                made, defined_terms=uses, references=resolver.resolve(chunk),
                also_in=[cited(copy) for copy in c.copies])))
        return out

    def resolver(self, ctx: QueryContext) -> ReferenceResolver:
        """The reference resolver for the request's index and catalogue, made once for each."""
        resolver = self._resolver
        if resolver is None or resolver.searcher is not ctx.searcher \
                or resolver.catalogue is not ctx.catalogue:
            searcher, catalogue = ctx.searcher, ctx.catalogue
            titles = {d.id: d.title for d in searcher.documents}
            resolver = ReferenceResolver(
                searcher, catalogue,
                lambda document_id: _cite_as(catalogue, document_id, titles.get(document_id, "")))
            self._resolver = resolver
        return resolver


def _short_title(catalogue: Catalogue, document_id: str, title: str) -> str:
    entry = catalogue.by_file(document_id)
    return entry.display_title if entry is not None else title


def _cite_as(catalogue: Catalogue, document_id: str, title: str) -> str:
    entry = catalogue.by_file(document_id)
    return entry.citation_name if entry is not None else title


def passage_label(searcher: IndexSearcher, chunk: StoredChunk, cite_as: str) -> str:
    """The chunk's canonical citation (service/labels.py), read from its provision's text: from
    the provision's heading to the chunk's end."""
    provision = provision_of(chunk.section)
    if provision is None:
        return spanning_label(searcher, chunk, cite_as)
    first = _provision_first_start(searcher, chunk, provision.depth)
    low = max(0, first - HEADING_LOOKBACK)
    text = searcher.chunks.document_slice(chunk.document_id, low, chunk.char_end)
    start = provision_start(text, provision, chunk.char_start - low)
    if start is None:
        return citation_label(cite_as, chunk.section)
    return citation_label(cite_as, chunk.section, text[start:],
                          max(0, chunk.char_start - low - start))


def spanning_label(searcher: IndexSearcher, chunk: StoredChunk, cite_as: str) -> str:
    """The label of a chunk whose heading path names no provision: where it runs over the end
    of one provision into the next (its path then stops at the part both are in: "PART 2"),
    the provisions it spans ("Extradition Act, ss. 43–44"), read from the provision heading
    lines in and before its text; where it holds the start of one provision after text that is
    no provision's (front matter, a part's heading), that provision; else `cite_as` alone."""
    paths = [path for _, path in searcher.sections(chunk.document_id)]
    kinds = provision_kinds(paths, chunk.section)
    if not kinds or not chunk.section:  # no path at all: front matter
        return citation_label(cite_as, chunk.section)
    depth = len(chunk.section)
    components = {part.strip() for path in paths for part in path}
    inside = list(heading_lines(chunk.text, kinds, depth))
    lead = chunk.text[:inside[0][0]] if inside else chunk.text
    spanned = [(line, provision) for _, line, provision in inside]
    # Text before the first heading that is no heading of the document's own: the chunk
    # starts inside the provision whose heading is the last before it.
    if any(line.strip() and line.strip().lstrip("#").strip() not in components
           for line in lead.splitlines()):
        prior = _provision_before(searcher, chunk, kinds)
        if prior is not None:
            spanned.insert(0, prior)
    if not spanned:
        return citation_label(cite_as, chunk.section)
    (first_line, first), (last_line, last) = spanned[0], spanned[-1]
    if first_line == last_line:
        return citation_label(cite_as, (*chunk.section, last_line))
    return range_label(cite_as, (*chunk.section, last_line), first, last)


LOOK_BACK = 20  # chunks searched for the provision a chunk starts inside


def _provision_before(searcher: IndexSearcher, chunk: StoredChunk, kinds: set[str]
                      ) -> tuple[str, Provision] | None:
    """The provision (heading, provision) that the text just before `chunk` is in: the last
    provision heading line of the nearest earlier chunk of the same part that holds one, or
    that chunk's own provision; None when the part starts before any."""
    sections = searcher.sections(chunk.document_id)
    at = next((i for i, (cid, _) in enumerate(sections) if cid == chunk.id), None)
    if not at:
        return None
    depth = len(chunk.section)
    earlier = [cid for cid, path in reversed(sections[max(0, at - LOOK_BACK):at])]
    texts = searcher.chunks.chunks(earlier)
    for cid in earlier:
        previous = texts.get(cid)
        if previous is None or previous.section[:depth] != chunk.section:
            return None  # another part: the chunk starts this one
        lines = list(heading_lines(previous.text, kinds, depth))
        if lines:
            return lines[-1][1:]
        own = provision_of(previous.section)
        if own is not None and own.kind in kinds:
            return previous.section[own.depth].strip(), replace(own, depth=depth)
    return None


def _provision_first_start(searcher: IndexSearcher, chunk: StoredChunk, depth: int) -> int:
    """Where the first of the run of chunks up to `chunk` that share its heading path down to
    component `depth` (its provision's, say) starts."""
    prefix = chunk.section[:depth + 1]
    sections = searcher.sections(chunk.document_id)
    at = next((i for i, (cid, _) in enumerate(sections) if cid == chunk.id), None)
    if at is None:
        return chunk.char_start
    while at > 0 and sections[at - 1][1][:depth + 1] == prefix:
        at -= 1
    first_id = sections[at][0]
    if first_id == chunk.id:
        return chunk.char_start
    first = searcher.chunks.chunks([first_id]).get(first_id)
    return chunk.char_start if first is None else first.char_start


def passage(rank: int, score: float, chunk: StoredChunk, title: str,
            highlights: list[tuple[int, int]], short_title: str = "", label: str = ""
            ) -> Passage:
    return Passage(rank=rank, score=round(float(score), 6), text=chunk.text,
                   highlights=highlights, display_text=reflow(chunk.text, chunk.section),
                   citation=citation(chunk, title, short_title, label))


def citation(chunk: StoredChunk, title: str, short_title: str = "", label: str = "") -> Citation:
    """Where the chunk is: its document's titles, provision, pages and offsets, and `label`
    (the short title where there is none)."""
    short_title = short_title or title
    printed = printed_pages(chunk.page_label_start, chunk.page_label_end)
    return Citation(document_id=chunk.document_id, title=title, source_path=chunk.document_id,
                    section=chunk.section_label, page_start=chunk.page_start,
                    page_end=chunk.page_end, page_label_start=chunk.page_label_start,
                    page_label_end=chunk.page_label_end, char_start=chunk.char_start,
                    char_end=chunk.char_end, short_title=short_title, printed_pages=printed,
                    ocr=chunk.ocr, in_force=chunk.in_force,
                    in_force_since=chunk.in_force_since, last_amended=chunk.last_amended,
                    text=citation_text(short_title, chunk.section_label, printed,
                                       chunk.page_start, chunk.page_end),
                    label=label or short_title)
