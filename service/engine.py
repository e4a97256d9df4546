"""The answer engine: question in, ranked passages with citations out; shared by HTTP, CLI and eval."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from index.embedder import Embedder, SentenceTransformerEmbedder
from index.generations import current_generation
from index.searcher import MODES, ChunkFilter, Hit, IndexSearcher
from ingest.catalogue import BUILTIN_CATALOGUE, Catalogue, catalogue_for, load_catalogue
from ingest.tokens import count_tokens
from service.highlights import highlight, idf_from_counts, terms
from service.provisions import component_matches, find_references, named_documents
from service.settings import Settings


class QuestionError(ValueError):
    """The question or its options are not acceptable; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Citation:
    document_id: str
    title: str
    source_path: str
    section: str
    page_start: int | None
    page_end: int | None
    page_label_start: str | None
    page_label_end: str | None
    char_start: int
    char_end: int


@dataclass(frozen=True, slots=True)
class Passage:
    rank: int
    score: float
    text: str
    highlights: list[tuple[int, int]]
    citation: Citation


@dataclass(slots=True)
class Answer:
    question: str
    mode: str
    took_ms: float
    generation: int
    documents: int
    chunks: int
    passages: list[Passage] = field(default_factory=list)


def passage_from_hit(rank: int, hit: Hit, title: str, highlights: list[tuple[int, int]]
                     ) -> Passage:
    c = hit.chunk
    return Passage(rank=rank, score=round(float(hit.score), 6), text=c.text,
                   highlights=highlights,
                   citation=Citation(document_id=c.document_id, title=title,
                                     source_path=c.document_id, section=c.section_label,
                                     page_start=c.page_start, page_end=c.page_end,
                                     page_label_start=c.page_label_start,
                                     page_label_end=c.page_label_end,
                                     char_start=c.char_start, char_end=c.char_end))


def load_embedder(settings: Settings) -> Embedder:
    if settings.embedder_backend != "torch":
        from index.onnx_embedder import OnnxEmbedder

        return OnnxEmbedder(settings.model, expected_sha256=settings.model_sha256,
                            batch_size=settings.embed_batch_size,
                            quantized=settings.embedder_backend == "onnx-int8",
                            threads=settings.threads)
    _set_threads(settings.threads)
    return SentenceTransformerEmbedder(settings.model, expected_sha256=settings.model_sha256,
                                       batch_size=settings.embed_batch_size)


_threads_set = False


def _set_threads(threads: int) -> None:
    # Changing torch's thread count inside a running process is slow: do it once, at start.
    global _threads_set
    if _threads_set or threads <= 0:
        return
    import torch

    torch.set_num_threads(threads)
    _threads_set = True


class AnswerEngine:
    """Holds the embedder and the live generation; `refresh` swaps generations atomically."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 catalogue: Catalogue | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or load_embedder(settings)
        self._fixed_catalogue = catalogue
        self.catalogue = catalogue if catalogue is not None else _default_catalogue(
            settings.corpus_dir)
        self._searcher: IndexSearcher | None = None
        self._lock = threading.Lock()

    @property
    def index_dir(self) -> Path:
        return self.settings.index_dir

    @property
    def searcher(self) -> IndexSearcher | None:
        return self._searcher

    def refresh(self) -> bool:
        """Loads the live generation if it is newer than the one being served."""
        with self._lock:
            live = current_generation(self.index_dir)
            if live is None:
                return False
            if self._searcher is not None and self._searcher.path == live:
                return False
            # The old searcher is not closed: requests in flight may still be reading it, and
            # SQLite and mmap handles are released when the last reference goes.
            searcher = IndexSearcher(live, self.embedder, self.settings.store_config())
            if self._fixed_catalogue is None and searcher.manifest.get("corpus"):
                self.catalogue = _default_catalogue(Path(searcher.manifest["corpus"]))
            self._searcher = searcher
            return True

    def ask(self, question: str, k: int = 5, mode: str = "hybrid",
            document_ids: list[str] | None = None,
            filters: dict[str, list[str | int]] | None = None,
            max_context_tokens: int | None = None) -> Answer:
        started = time.perf_counter()
        question = question.strip()
        if not question:
            raise QuestionError("question is empty")
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        try:
            where = ChunkFilter.of(document_ids, filters)
        except ValueError as exc:
            raise QuestionError(str(exc)) from None
        searcher = self._searcher  # one generation for the whole request
        if searcher is None:
            raise LookupError("no index is loaded yet")
        named = named_documents(question, self.catalogue, {d.id for d in searcher.documents})
        boost = self.provision_chunks(searcher, question, named)
        prefer = ChunkFilter.of(named)
        depth = k if max_context_tokens is None else max(k * 4, 20)
        hits = searcher.search(question, k=depth, mode=mode, where=where, boost=boost,
                               prefer=prefer)
        if max_context_tokens is not None:
            hits = fit_budget(hits, max_context_tokens, k)
        hits = hits[:k]
        titles = {d.id: d.title for d in searcher.documents}
        idf = idf_from_counts(searcher.lexical.document_frequency, searcher.chunk_count)
        wanted = frozenset(terms(question))
        passages = [passage_from_hit(rank, hit, titles.get(hit.chunk.document_id, ""),
                                     highlight(wanted, hit.chunk.text, idf))
                    for rank, hit in enumerate(hits, 1)]
        return Answer(question=question, mode=mode,
                      took_ms=round((time.perf_counter() - started) * 1000, 2),
                      generation=searcher.generation, documents=searcher.document_count,
                      chunks=searcher.chunk_count, passages=passages)

    def provision_chunks(self, searcher: IndexSearcher, question: str, named: list[str]
                         ) -> list[int]:
        """Chunks of the provision a question names ("Article 33 of the Refugee Convention").

        An article or section number counts only with an instrument the catalogue knows by
        name in the same question; a U.S.C. section ("8 U.S.C. 1158", "§ 1158") is specific
        enough on its own.
        """
        references = find_references(question)
        if not references:
            return []
        indexed = {d.id for d in searcher.documents}
        statute_docs = ([d.id for d in searcher.documents
                         if d.metadata.get("jurisdiction") == "us"] or sorted(indexed))
        found: list[int] = []
        for ref in references:
            documents = named or (statute_docs if ref.statute_only else [])
            for document_id in documents:
                found.extend(cid for cid, section in searcher.sections(document_id)
                             if component_matches(section, ref))
        return list(dict.fromkeys(found))


def fit_budget(hits: list[Hit], budget: int, k: int) -> list[Hit]:
    """The best passages, in rank order, whose texts together fit `budget` tiktoken tokens."""
    kept: list[Hit] = []
    used = 0
    for hit in hits:
        size = count_tokens(hit.chunk.text)
        if used + size <= budget:
            kept.append(hit)
            used += size
            if len(kept) == k:
                break
    return kept


def _default_catalogue(corpus_dir: Path) -> Catalogue:
    try:
        return catalogue_for(corpus_dir)
    except Exception:  # a broken corpus catalogue must not stop answering
        return load_catalogue(BUILTIN_CATALOGUE) if BUILTIN_CATALOGUE.is_file() else Catalogue(())
