"""FAISS implementation of the vector store: exact inner product over an id map."""

from __future__ import annotations

import os
from pathlib import Path

import faiss
import numpy as np

from index.vector_store import VectorStoreError, register_store

INDEX_FILE = "vectors.faiss"


class FaissStore:
    kind = "faiss"

    def __init__(self, dimension: int, index: faiss.Index | None = None) -> None:
        self.dimension = dimension
        # IndexIDMap2 keeps caller ids and supports removal and reconstruction.
        self.index = index if index is not None else faiss.IndexIDMap2(
            faiss.IndexFlatIP(dimension))

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimension:
            raise VectorStoreError(f"expected vectors of dimension {self.dimension}, "
                                   f"got shape {vectors.shape}")
        if len(ids) != len(vectors):
            raise VectorStoreError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids):
            self.index.add_with_ids(vectors, ids)

    def delete(self, ids: np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return 0
        return int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        params = None
        if allowed_ids is not None:
            allowed = np.ascontiguousarray(allowed_ids, dtype=np.int64)
            if not len(allowed):
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self.index.search(query, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / INDEX_FILE
        partial = folder / (INDEX_FILE + ".partial")
        try:
            faiss.write_index(self.index, str(partial))
        except RuntimeError as exc:  # FAISS reports a failed write (e.g. a full disk) this way
            partial.unlink(missing_ok=True)
            raise VectorStoreError(f"cannot write FAISS index {target}: {exc}") from exc
        with partial.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, target)

    @classmethod
    def load(cls, folder: Path) -> FaissStore:
        path = folder / INDEX_FILE
        if not path.exists():
            raise VectorStoreError(f"no FAISS index at {path}")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise VectorStoreError(f"cannot read FAISS index {path}: {exc}") from exc
        return cls(index.d, index)

    def count(self) -> int:
        return int(self.index.ntotal)


# Loading reads the whole index into memory, so a loaded store is already an independent copy.
register_store("faiss", FaissStore, FaissStore.load, fork=FaissStore.load)
