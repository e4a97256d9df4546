"""The vector store conformance suite on FAISS, with its flat and its HNSW index."""

from __future__ import annotations

import pytest

from index.stores.base import StoreConfig, VectorStoreError
from index.stores.factory import create_store
from index.stores.testing import VectorStoreConformance


class TestFaissFlat(VectorStoreConformance):
    @pytest.fixture
    def store_config(self) -> StoreConfig:
        return StoreConfig(kind="faiss", faiss_index="flat")


class TestFaissHnsw(VectorStoreConformance):
    @pytest.fixture
    def store_config(self) -> StoreConfig:
        return StoreConfig(kind="faiss", faiss_index="hnsw")


def test_unknown_kind():
    with pytest.raises(VectorStoreError, match="unknown vector store"):
        create_store(StoreConfig(kind="nope"), 16)
