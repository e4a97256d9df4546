"""Understanding a question once: the instruments and provisions it names, as a QueryContext."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from index.modes import MODES
from index.stores.base import ChunkFilter
from ingest.catalogue import Catalogue
from service.provisions import ProvisionReference, component_matches, find_references, named_documents
from service.ranking.stages import DEFAULT_IN_FORCE, QueryContext

if TYPE_CHECKING:
    from index.searcher import IndexSearcher  # the searcher loads the stores: for types only


def understand(question: str, searcher: IndexSearcher, catalogue: Catalogue, k: int = 5,
               mode: str = "hybrid", where: ChunkFilter | None = None,
               max_context_tokens: int | None = None,
               in_force: frozenset[str] | None = DEFAULT_IN_FORCE) -> QueryContext:
    """The context every stage of one request reads. ValueError for an unknown mode.
    `in_force`: the in-force statuses admitted (None: any; see in_force_wanted)."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    indexed = {d.id for d in searcher.documents}
    named = named_documents(question, catalogue, indexed)
    references = find_references(question)
    ctx = QueryContext(question=question, k=k, mode=mode, where=where, searcher=searcher,
                       catalogue=catalogue, max_context_tokens=max_context_tokens,
                       named=tuple(named), references=tuple(references), in_force=in_force)
    # The provisions named, as far as the request admits them: "s. 37" is not the s. 37 of an
    # amending Act among the amendments not in force.
    ctx.provision_chunk_ids = tuple(ctx.in_force_only(provision_chunks(searcher, references,
                                                                       named)))
    return ctx


def provision_chunks(searcher: IndexSearcher, references: Sequence[ProvisionReference],
                     named: Sequence[str]) -> list[int]:
    """Chunks of the provisions a question names ("Article 33 of the Refugee Convention").

    An article or section number counts only with an instrument the catalogue knows by name in
    the same question; a U.S.C. section ("8 U.S.C. 1158", "§ 1158") is specific enough on its
    own, and is looked for in the U.S. documents (all documents when none is marked U.S.).
    """
    if not references:
        return []
    statute_docs = ([d.id for d in searcher.documents if d.metadata.get("jurisdiction") == "us"]
                    or sorted(d.id for d in searcher.documents))
    found: list[int] = []
    for ref in references:
        for document_id in named or (statute_docs if ref.statute_only else []):
            found.extend(cid for cid, section in searcher.sections(document_id)
                         if component_matches(section, ref))
    return list(dict.fromkeys(found))
