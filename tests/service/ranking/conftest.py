"""Fixtures of the ranking stage tests: one small real index, and contexts over it."""

from __future__ import annotations

import pytest

from index.searcher import ChunkFilter, IndexSearcher
from ingest.catalogue import BUILTIN_CATALOGUE, load_catalogue
from service.ranking.stages import QueryContext
from service.ranking.understand import understand
from tests.service.ranking.ranking_helpers import build_index


@pytest.fixture(scope="session")
def searcher(shared_corpus, tmp_path_factory, embedder):
    index_dir = build_index(shared_corpus, tmp_path_factory.mktemp("ranking"), embedder)
    loaded = IndexSearcher.open(index_dir, embedder)
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue(BUILTIN_CATALOGUE)


@pytest.fixture()
def context(searcher, catalogue):
    """context(question, **options): the QueryContext a request would have."""

    def make(question: str, k: int = 5, mode: str = "hybrid", where: ChunkFilter | None = None,
             max_context_tokens: int | None = None) -> QueryContext:
        return understand(question, searcher, catalogue, k=k, mode=mode, where=where,
                          max_context_tokens=max_context_tokens)

    return make
