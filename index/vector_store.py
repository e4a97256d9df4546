"""The vector store seam: add, delete, search, save, load and count vectors under stable int ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


class VectorStoreError(Exception):
    """A vector store could not be written, read or searched as asked."""


class VectorStore(Protocol):
    """Inner-product search over L2-normalized vectors, each under a caller-chosen int64 id."""

    kind: str
    dimension: int

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def delete(self, ids: np.ndarray) -> int: ...

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the k best matches, best first; only `allowed_ids` when given."""
        ...

    def save(self, folder: Path) -> None: ...

    def count(self) -> int: ...


def checked_vectors(ids: np.ndarray, vectors: np.ndarray, dimension: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Ids as int64 and vectors as float32 rows of `dimension`, or a VectorStoreError."""
    ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dimension:
        raise VectorStoreError(f"expected vectors of dimension {dimension}, "
                               f"got shape {vectors.shape}")
    if len(ids) != len(vectors):
        raise VectorStoreError(f"{len(ids)} ids for {len(vectors)} vectors")
    return ids, vectors


StoreFactory = Callable[[int], VectorStore]
StoreLoader = Callable[[Path], VectorStore]
StoreDiscarder = Callable[[Path], None]


@dataclass(frozen=True, slots=True)
class StoreKind:
    """How to make, load and copy one kind of store.

    `fork` opens a previous generation's store as a copy that a build may change freely: the
    previous generation must stay intact until the new one is published. `discard`, when set,
    frees what a generation's store holds outside its folder (e.g. a server-side collection)
    before that folder is removed.
    """

    create: StoreFactory
    load: StoreLoader
    fork: StoreLoader
    discard: StoreDiscarder | None = None


_REGISTRY: dict[str, StoreKind] = {}


def register_store(kind: str, create: StoreFactory, load: StoreLoader,
                   fork: StoreLoader | None = None, discard: StoreDiscarder | None = None) -> None:
    _REGISTRY[kind] = StoreKind(create, load, fork or load, discard)


def _entry(kind: str) -> StoreKind:
    import index.faiss_store  # noqa: F401  (registers the built-in stores)
    import index.milvus_store  # noqa: F401  (imports pymilvus only when used)

    try:
        return _REGISTRY[kind]
    except KeyError:
        raise VectorStoreError(f"unknown vector store {kind!r}; known: "
                               f"{', '.join(sorted(_REGISTRY))}") from None


def create_store(kind: str, dimension: int) -> VectorStore:
    return _entry(kind).create(dimension)


def load_store(kind: str, folder: Path) -> VectorStore:
    """The store of a published generation, for searching."""
    return _entry(kind).load(folder)


def fork_store(kind: str, folder: Path) -> VectorStore:
    """A changeable copy of a published generation's store, for an incremental build."""
    return _entry(kind).fork(folder)


def discard_store(kind: str, folder: Path) -> None:
    """Frees a generation's store before its folder is removed; a no-op for file-only stores."""
    discard = _entry(kind).discard
    if discard is not None:
        discard(folder)
