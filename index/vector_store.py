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


StoreFactory = Callable[[int], VectorStore]
StoreLoader = Callable[[Path], VectorStore]


@dataclass(frozen=True, slots=True)
class StoreKind:
    """How to make, load and copy one kind of store.

    `fork` opens a previous generation's store as a copy that a build may change freely: the
    previous generation must stay intact until the new one is published.
    """

    create: StoreFactory
    load: StoreLoader
    fork: StoreLoader


_REGISTRY: dict[str, StoreKind] = {}


def register_store(kind: str, create: StoreFactory, load: StoreLoader,
                   fork: StoreLoader | None = None) -> None:
    _REGISTRY[kind] = StoreKind(create, load, fork or load)


def _entry(kind: str) -> StoreKind:
    import index.faiss_store  # noqa: F401  (registers the built-in stores)

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
