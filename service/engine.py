"""The answer engine: question in, ranked passages with citations out; shared by HTTP, CLI and eval."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from index.embedder import Embedder, SentenceTransformerEmbedder
from index.generations import NoIndexLoadedError, current_generation
from index.searcher import MODES, ChunkFilter, IndexSearcher
from ingest.catalogue import BUILTIN_CATALOGUE, Catalogue, catalogue_for, load_catalogue
from ingest.errors import PolicyQAError
from service.ranking.pipeline import Pipeline
from service.ranking.stages import IN_FORCE_FILTER, Citation, Passage, in_force_wanted
from service.ranking.understand import understand
from service.settings import Settings

# Citation and Passage are made by the cite stage; they are part of the engine's answer.
__all__ = ["Answer", "AnswerEngine", "Citation", "Passage", "QuestionError", "load_embedder"]


class QuestionError(PolicyQAError, ValueError):
    """The question or its options are not acceptable; the message says which and why."""


@dataclass(slots=True)
class Answer:
    question: str
    mode: str
    took_ms: float
    generation: int
    documents: int
    chunks: int
    passages: list[Passage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. a filter value no document has


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
        self.pipeline = Pipeline.from_settings(settings.ranking_stages)
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
            if self._fixed_catalogue is None and searcher.manifest.corpus:
                self.catalogue = _default_catalogue(Path(searcher.manifest.corpus))
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
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(f"question is longer than {self.settings.max_question_chars} "
                                "characters")
        if mode not in MODES:
            raise QuestionError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        fields = dict(filters or {})
        try:
            in_force = in_force_wanted(fields.pop(IN_FORCE_FILTER, None))
            where = ChunkFilter.of(document_ids, fields)
        except ValueError as exc:
            raise QuestionError(str(exc)) from None
        searcher = self._searcher  # one generation for the whole request
        if searcher is None:
            raise NoIndexLoadedError("no index is loaded yet: build one with `policyqa index build`")
        ctx = understand(question, searcher, self.catalogue, k=k, mode=mode, where=where,
                         max_context_tokens=max_context_tokens, in_force=in_force)
        passages = self.pipeline.passages(ctx)
        return Answer(question=question, mode=mode,
                      took_ms=round((time.perf_counter() - started) * 1000, 2),
                      generation=searcher.generation, documents=searcher.document_count,
                      chunks=searcher.chunk_count, passages=passages,
                      warnings=filter_warnings(where, searcher))


def filter_warnings(where: ChunkFilter | None, searcher: IndexSearcher) -> list[str]:
    """Why a filtered question may come back empty: each filter value no indexed document has,
    or, when each matches some document, that no document passes them all together."""
    if where is None:
        return []
    lines = [f"{'document' if name == 'document_ids' else name} {value!r} matches no indexed "
             "document" for name, value in where.unmatched(searcher.fields)]
    if not lines and not any(where.matches(f) for f in searcher.fields):
        lines.append("no indexed document passes all the filters together")
    return lines


def _default_catalogue(corpus_dir: Path) -> Catalogue:
    try:
        return catalogue_for(corpus_dir)
    except Exception:  # a broken corpus catalogue must not stop answering
        return load_catalogue(BUILTIN_CATALOGUE) if BUILTIN_CATALOGUE.is_file() else Catalogue(())
