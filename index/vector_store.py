"""The vector store seam: add, delete, search, save, load and count vectors under stable int ids."""

from __future__ import annotations

from collections.abc import Callable
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
_REGISTRY: dict[str, tuple[StoreFactory, StoreLoader]] = {}


def register_store(kind: str, factory: StoreFactory, loader: StoreLoader) -> None:
    _REGISTRY[kind] = (factory, loader)


def _entry(kind: str) -> tuple[StoreFactory, StoreLoader]:
    import index.faiss_store  # noqa: F401  (registers the built-in stores)

    try:
        return _REGISTRY[kind]
    except KeyError:
        raise VectorStoreError(f"unknown vector store {kind!r}; known: "
                               f"{', '.join(sorted(_REGISTRY))}") from None


def create_store(kind: str, dimension: int) -> VectorStore:
    return _entry(kind)[0](dimension)


def load_store(kind: str, folder: Path) -> VectorStore:
    return _entry(kind)[1](folder)
