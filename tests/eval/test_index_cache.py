"""The evaluation's index cache never serves an index built on another vector store, nor a Milvus
index whose collection has gone (a throwaway server's data goes with it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.indexes import build_cached, settings_key, store_problem
from service.settings import load_settings


@pytest.fixture
def cache(monkeypatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _corpus(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "a.txt").write_text("Convention\n\nA refugee is a person with a well-founded fear "
                                "of persecution.\n")
    return root


def test_a_faiss_index_does_not_serve_a_milvus_run(cache, tmp_path, embedder) -> None:
    corpus = _corpus(tmp_path / "corpus")
    faiss = load_settings(corpus_dir=corpus, vector_store="faiss")
    milvus = load_settings(corpus_dir=corpus, vector_store="milvus")
    assert settings_key(faiss, embedder) != settings_key(milvus, embedder)
    hnsw = load_settings(corpus_dir=corpus, vector_store="faiss", faiss_index="hnsw")
    assert settings_key(faiss, embedder) != settings_key(hnsw, embedder)
    index_dir = build_cached("mini", corpus, "k", faiss, embedder)
    assert store_problem(index_dir, faiss) is None
    problem = store_problem(index_dir, milvus)
    assert problem and "faiss store, not milvus" in problem


def test_a_milvus_index_is_built_again_once_its_collection_is_gone(cache, tmp_path, embedder,
                                                                   on_test_store) -> None:
    if on_test_store.get("POLICYQA_VECTOR_STORE") != "milvus":
        pytest.skip("needs POLICYQA_TEST_VECTOR_STORE=milvus (.ci/milvus-tests)")
    from index.generations import current_generation
    from index.stores.factory import load_store
    from index.stores.milvus_store import client_for

    corpus = _corpus(tmp_path / "corpus")
    settings = load_settings(corpus_dir=corpus)
    assert settings.vector_store == "milvus"
    first = build_cached("mini", corpus, "k", settings, embedder)
    config = settings.store_config()
    collection = load_store(config, current_generation(first)).collection
    assert build_cached("mini", corpus, "k", settings, embedder) == first  # reused
    client_for(config.milvus_uri, config.milvus_token).drop_collection(collection)
    assert "does not exist" in (store_problem(first, settings) or "")
    again = build_cached("mini", corpus, "k", settings, embedder)
    assert again == first and store_problem(again, settings) is None
    assert load_store(config, current_generation(again)).collection != collection
