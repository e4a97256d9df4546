"""The vector store entry points the small-embedder tests use, imported here and nowhere else."""

from __future__ import annotations

# index/vector_store.py is moving (to index/stores/): this is the one line to change when it does.
from index.vector_store import ChunkFields, ChunkFilter, VectorStore, create_store, load_store

__all__ = ["ChunkFields", "ChunkFilter", "VectorStore", "create_store", "load_store"]
