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

    def existing_ids(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` the store holds a vector for (each once, in no set order)."""
        ...


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


# create(dimension, build_folder) and fork(generation, build_folder): a store that lives outside
# the folders (a server collection) names itself in `build_folder` (when given) as soon as it
# exists, so that a killed build's leftovers can be found and discarded.
def positions_of(stored: np.ndarray, order: np.ndarray, wanted: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `wanted` stands in `stored` (ids, `order` = their argsort), by binary search.

    Returns the positions and a mask of the `wanted` ids found; positions of ids not found are
    meaningless. For stores and indexes that keep ids in insertion order.
    """
    if not len(stored):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    slots = np.searchsorted(stored, wanted, sorter=order)
    positions = order[np.minimum(slots, len(stored) - 1)]
    return positions, stored[positions] == wanted


StoreFactory = Callable[[int, Path | None], VectorStore]
StoreForker = Callable[[Path, Path | None], VectorStore]
StoreLoader = Callable[[Path], VectorStore]
StoreDiscarder = Callable[[Path], None]


@dataclass(frozen=True, slots=True)
class StoreKind:
    """How to make, load and copy one kind of store.

    `fork` opens a previous generation's store as a copy that a build may change freely: the
    previous generation must stay intact until the new one is published. `discard`, when set,
    frees what a generation's (or a build folder's) store holds outside its folder (e.g. a
    server-side collection) before that folder is removed; it is a no-op for a folder that
    names nothing of its kind. `reopen`, when set, opens from any process (and any machine) the
    store a build is writing, named in its build folder, so ingest workers add to it directly;
    stores without it live in files, and their workers write vector files instead.
    """

    create: StoreFactory
    load: StoreLoader
    fork: StoreForker
    discard: StoreDiscarder | None = None
    reopen: StoreLoader | None = None


_REGISTRY: dict[str, StoreKind] = {}


def register_store(kind: str, create: StoreFactory, load: StoreLoader, fork: StoreForker,
                   discard: StoreDiscarder | None = None,
                   reopen: StoreLoader | None = None) -> None:
    _REGISTRY[kind] = StoreKind(create, load, fork, discard, reopen)


def _entry(kind: str) -> StoreKind:
    import index.faiss_store  # noqa: F401  (registers the built-in stores)
    import index.milvus_store  # noqa: F401  (imports pymilvus only when used)

    try:
        return _REGISTRY[kind]
    except KeyError:
        raise VectorStoreError(f"unknown vector store {kind!r}; known: "
                               f"{', '.join(sorted(_REGISTRY))}") from None


def create_store(kind: str, dimension: int, build_folder: Path | None = None) -> VectorStore:
    """An empty store; one kept outside the folders is named in `build_folder` when given."""
    return _entry(kind).create(dimension, build_folder)


def load_store(kind: str, folder: Path) -> VectorStore:
    """The store of a published generation, for searching."""
    return _entry(kind).load(folder)


def fork_store(kind: str, folder: Path, build_folder: Path | None = None) -> VectorStore:
    """A changeable copy of a published generation's store, for an incremental build."""
    return _entry(kind).fork(folder, build_folder)


def reopen_store(kind: str, build_folder: Path) -> VectorStore | None:
    """The store a build is writing, opened to add to it; None for stores kept in files."""
    reopen = _entry(kind).reopen
    return reopen(build_folder) if reopen is not None else None


def stored_in_files(kind: str) -> bool:
    """True for stores whose ingest workers write vector files (see StoreKind.reopen)."""
    return _entry(kind).reopen is None


def discard_store(kind: str, folder: Path) -> None:
    """Frees a generation's store before its folder is removed; a no-op for file-only stores."""
    discard = _entry(kind).discard
    if discard is not None:
        discard(folder)


def discard_build_stores(folder: Path) -> None:
    """Frees whatever a build folder's store of any kind holds outside it (a killed build's
    server collection) before the folder is removed; the store kind of a dead build is unknown."""
    _entry("faiss")  # registers the built-in stores
    for entry in list(_REGISTRY.values()):
        if entry.discard is not None:
            entry.discard(folder)
