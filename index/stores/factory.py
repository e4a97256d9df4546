"""Picks a vector store implementation by kind and passes it its configuration (the only importer of them)."""

from __future__ import annotations

from pathlib import Path

from index.stores.base import FieldsSource, StoreBackend, StoreConfig, VectorStore, VectorStoreError
from index.stores.faiss_store import FaissStore
from index.stores.milvus_store import MilvusStore

# Adding a store: its module in index/stores/, one line here, and a conformance test file.
BACKENDS: dict[str, StoreBackend] = {
    FaissStore.kind: FaissStore,
    MilvusStore.kind: MilvusStore,
}


def backend(kind: str) -> StoreBackend:
    try:
        return BACKENDS[kind]
    except KeyError:
        raise VectorStoreError(f"unknown vector store {kind!r}; known: "
                               f"{', '.join(sorted(BACKENDS))}") from None


def store_format(kind: str) -> int:
    """The format a kind of store writes now (see StoreBackend.format)."""
    return backend(kind).format


def stored_in_files(kind: str) -> bool:
    """True for stores whose ingest workers write vector files (see StoreBackend.reopen)."""
    return backend(kind).in_files


def create_store(config: StoreConfig, dimension: int, build_folder: Path | None = None
                 ) -> VectorStore:
    """An empty store of `config.kind`; one kept outside the folders is named in `build_folder`."""
    return backend(config.kind).create(config, dimension, build_folder)


def load_store(config: StoreConfig, folder: Path, fields: FieldsSource | None = None
               ) -> VectorStore:
    """The store of a published generation, for searching (see StoreBackend.load for `fields`)."""
    return backend(config.kind).load(config, folder, fields)


def fork_store(config: StoreConfig, folder: Path, build_folder: Path | None = None
               ) -> VectorStore:
    """A changeable copy of a published generation's store, for an incremental build."""
    return backend(config.kind).fork(config, folder, build_folder)


def reopen_store(config: StoreConfig, build_folder: Path) -> VectorStore | None:
    """The store a build is writing, opened to add to it; None for stores kept in files."""
    return backend(config.kind).reopen(config, build_folder)


def discard_store(config: StoreConfig, folder: Path) -> None:
    """Frees a generation's store before its folder is removed; a no-op for file-only stores."""
    backend(config.kind).discard(config, folder)


def discard_build_stores(config: StoreConfig, folder: Path) -> None:
    """Frees whatever a build folder's store of any kind holds outside it (a killed build's
    server collection) before the folder is removed: the store kind of a dead build is unknown."""
    for kind, entry in BACKENDS.items():
        entry.discard(config.for_kind(kind), folder)
