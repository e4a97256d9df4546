"""One loaded index generation: its dense and lexical rankings, filters and chunks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.chunk_store import DB_FILE, ChunkStore, DocumentRecord
from index.embedder import Embedder
from index.generations import IndexNotFoundError, current_generation, read_manifest
from index.lexical import Bm25Index
from index.modes import MODES, Mode
from index.stores.base import FILTER_FIELDS, ChunkFields, ChunkFilter, StoreConfig
from index.stores.factory import load_store

__all__ = ["FILTER_FIELDS", "MODES", "ChunkFilter", "IndexSearcher", "Mode"]


class IndexSearcher:
    """A loaded, read-only generation. Safe to share between threads."""

    def __init__(self, generation: Path, embedder: Embedder,
                 store_config: StoreConfig | None = None) -> None:
        """`store_config`: how to reach the vector store (e.g. the Milvus server); the kind is
        the one the generation was built on."""
        self.path = generation
        self.manifest = read_manifest(generation)
        fingerprint = self.manifest.fingerprint
        if fingerprint.model != embedder.name or fingerprint.dimension != embedder.dimension:
            raise IndexNotFoundError(
                f"index {generation} was built with {fingerprint.model!r}, "
                f"but the service embeds with {embedder.name!r}: rebuild the index")
        self.embedder = embedder
        self.chunks = ChunkStore(generation / DB_FILE, readonly=True)
        # A generation whose store keeps no fields (an older format) gets the chunk store's.
        self.store = load_store((store_config or StoreConfig()).for_kind(fingerprint.store),
                                generation, fields=self.chunks.chunk_fields)
        self.lexical = Bm25Index.load(generation)
        self.generation: int = self.manifest.generation
        self.documents: list[DocumentRecord] = self.chunks.documents()
        # What filters compare, per document: normalized once, not at every filtered request.
        self.fields = [ChunkFields.of(d.id, d.metadata) for d in self.documents]
        self.document_count, self.chunk_count = self.chunks.counts()
        self._sections: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        # Chunks whose in-force status is known, by status (sorted ids); the rest: "unknown".
        self._in_force = {status: np.asarray(ids, dtype=np.int64)
                          for status, ids in self.chunks.in_force_ids().items()}

    @classmethod
    def open(cls, index_dir: Path, embedder: Embedder,
             store_config: StoreConfig | None = None) -> IndexSearcher:
        generation = current_generation(index_dir)
        if generation is None:
            raise IndexNotFoundError(f"no index in {index_dir}: run `policyqa index build`")
        return cls(generation, embedder, store_config)

    def close(self) -> None:
        self.chunks.close()

    def sections(self, document_id: str) -> list[tuple[int, tuple[str, ...]]]:
        """(chunk id, heading path) of a document's chunks in order; cached per generation."""
        cached = self._sections.get(document_id)
        if cached is None:
            cached = [(c.id, c.section) for c in self.chunks.document_chunks(document_id)]
            self._sections[document_id] = cached
        return cached

    def in_force_status(self, chunk_ids: Sequence[int]) -> list[str]:
        """Each chunk's in-force status: "true", "false" or "unknown" (the source says none)."""
        ids = np.asarray(chunk_ids, dtype=np.int64)
        status = np.full(len(ids), "unknown", dtype=object)
        for name, known in self._in_force.items():
            if len(known):  # sorted: a binary search per id, not a pass over every known id
                at = np.minimum(np.searchsorted(known, ids), len(known) - 1)
                status[known[at] == ids] = name
        return status.tolist()

    def allowed_ids(self, where: ChunkFilter | None) -> np.ndarray | None:
        """Chunk ids passing a filter (None: nothing is filtered), from the chunk store: for
        BM25 and boosts (the vector store filters on its own fields)."""
        if where is None:
            return None
        docs = [f.document_id for f in self.fields if where.matches(f)]
        return np.asarray(self.chunks.chunk_ids_where(docs), dtype=np.int64)

    def dense(self, query: str | np.ndarray, k: int, where: ChunkFilter | None = None
              ) -> list[int]:
        """Chunk ids nearest a question (or its already encoded vector) among those passing
        `where`, in (score desc, id asc) order."""
        vector = self.embedder.encode_query(query) if isinstance(query, str) else query
        ids, scores = self.store.search(vector, k, where)
        # Equal scores (the same paragraph in two copies of a treaty) in chunk id order: stores
        # break ties differently, and answers should not depend on which store holds the vectors.
        return [int(ids[i]) for i in np.lexsort((ids, -scores))]

    def lexical_ids(self, query: str | np.ndarray, k: int, allowed: np.ndarray | None = None
                    ) -> list[int]:
        """Chunk ids best matching a question's words (or its already computed BM25 scores)."""
        scores = self.lexical.scores(query) if isinstance(query, str) else query
        ids, _ = self.lexical.top(scores, k, allowed)
        return [int(i) for i in ids]
