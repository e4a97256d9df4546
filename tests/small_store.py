"""The vector store entry points the small-embedder tests use, imported here and nowhere else."""

from __future__ import annotations

# The one place the small tests import the vector store seam (index/stores/).
from index.stores.base import ChunkFields, ChunkFilter, StoreConfig, VectorStore
from index.stores.factory import create_store, load_store

__all__ = ["ChunkFields", "ChunkFilter", "StoreConfig", "VectorStore", "create_store",
           "load_store"]
