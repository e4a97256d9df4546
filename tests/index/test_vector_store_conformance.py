"""The conformance suite every vector store must pass (run once per registered store).

Milvus runs when POLICYQA_MILVUS_URI names a server that answers (see .ci/milvus-tests).
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from index.vector_store import VectorStoreError, create_store, load_store


def _milvus_param():
    uri = os.environ.get("POLICYQA_MILVUS_URI")
    if not uri:
        return pytest.param("milvus", marks=pytest.mark.skip(
            reason="POLICYQA_MILVUS_URI is not set (.ci/milvus-tests runs a server)"))
    from index.milvus_store import server_problem

    problem = server_problem(uri)
    if problem:
        return pytest.param("milvus", marks=pytest.mark.skip(reason=problem))
    return "milvus"


# "faiss-hnsw" is the FAISS store with its HNSW index (the `faiss_index` setting), not a kind.
STORES = ["faiss", "faiss-hnsw", _milvus_param()]
DIM = 16


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=STORES)
def kind(request, monkeypatch) -> str:
    if request.param == "faiss-hnsw":
        from index import faiss_store

        monkeypatch.setitem(faiss_store._configured, "index", "hnsw")
        yield "faiss"
        return
    if request.param != "milvus":
        yield request.param
        return
    from index.milvus_store import client_for

    # A prefix of this test's own, so that every collection it made is dropped afterwards.
    prefix = f"policyqa_test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("POLICYQA_MILVUS_PREFIX", prefix)
    yield request.param
    client = client_for()
    for name in client.list_collections():
        if name.startswith(prefix):
            client.drop_collection(name)


def test_add_search_returns_exact_neighbours(kind):
    store = create_store(kind, DIM)
    vectors = _vectors(200)
    ids = np.arange(1000, 1200)
    store.add(ids, vectors)
    assert store.count() == 200
    found, scores = store.search(vectors[17], 5)
    assert found[0] == 1017
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True)
    expected = ids[np.argsort(-(vectors @ vectors[17]))[:5]]
    assert list(found) == list(expected)


def test_delete_by_id(kind):
    store = create_store(kind, DIM)
    vectors = _vectors(50)
    store.add(np.arange(50), vectors)
    assert store.delete(np.array([3, 4, 999])) == 2
    assert store.count() == 48
    found, _ = store.search(vectors[3], 50)
    assert 3 not in found and 4 not in found
    assert store.delete(np.array([], dtype=np.int64)) == 0


def test_filtered_search_only_returns_allowed(kind):
    store = create_store(kind, DIM)
    vectors = _vectors(100)
    store.add(np.arange(100), vectors)
    allowed = np.array([5, 50, 75])
    found, _ = store.search(vectors[0], 10, allowed)
    assert set(found) <= {5, 50, 75} and len(found) == 3
    assert len(store.search(vectors[0], 10, np.array([], dtype=np.int64))[0]) == 0


def test_save_and_load_round_trip(kind, tmp_path):
    store = create_store(kind, DIM)
    vectors = _vectors(30)
    store.add(np.arange(7, 37), vectors)
    store.save(tmp_path)
    loaded = load_store(kind, tmp_path)
    assert loaded.count() == 30 and loaded.dimension == DIM
    for i in (0, 12, 29):
        assert loaded.search(vectors[i], 1)[0][0] == i + 7


def test_empty_store_and_bad_input(kind, tmp_path):
    store = create_store(kind, DIM)
    assert len(store.search(_vectors(1)[0], 5)[0]) == 0
    with pytest.raises(VectorStoreError):
        store.add(np.arange(2), _vectors(3))
    with pytest.raises(VectorStoreError):
        store.add(np.arange(2), np.zeros((2, DIM + 1), dtype=np.float32))
    with pytest.raises(VectorStoreError):
        load_store(kind, tmp_path / "missing")


def test_unknown_kind():
    with pytest.raises(VectorStoreError, match="unknown vector store"):
        create_store("nope", DIM)
