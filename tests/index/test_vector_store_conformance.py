"""The conformance suite every vector store must pass (run once per registered store).

Milvus runs when POLICYQA_MILVUS_URI names a server that answers (see .ci/milvus-tests).
"""

from __future__ import annotations

import os
import uuid

import numpy as np
import pytest

from index.vector_store import (
    ChunkFields,
    ChunkFilter,
    VectorStoreError,
    create_store,
    load_store,
)


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


JURISDICTIONS = ("international", "eu", "us")


def _fields(ids, jurisdictions=JURISDICTIONS) -> list[ChunkFields]:
    """Ten documents; jurisdiction and year cycle with the id."""
    return [ChunkFields(f"doc-{i % 10}.md", jurisdictions[i % len(jurisdictions)],
                        "treaty" if i % 2 else "statute", 1950 + i % 5) for i in map(int, ids)]


def _add(store, ids, vectors) -> None:
    store.add(ids, vectors, _fields(ids))


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
    _add(store, ids, vectors)
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
    _add(store, np.arange(50), vectors)
    assert store.delete(np.array([3, 4, 999])) == 2
    assert store.count() == 48
    found, _ = store.search(vectors[3], 50)
    assert 3 not in found and 4 not in found
    assert store.delete(np.array([], dtype=np.int64)) == 0


def test_filtered_search_only_returns_allowed(kind):
    store = create_store(kind, DIM)
    vectors = _vectors(100)
    _add(store, np.arange(100), vectors)
    allowed = np.array([5, 50, 75])
    found, _ = store.search(vectors[0], 10, allowed)
    assert set(found) <= {5, 50, 75} and len(found) == 3
    assert len(store.search(vectors[0], 10, np.array([], dtype=np.int64))[0]) == 0


def test_save_and_load_round_trip(kind, tmp_path):
    store = create_store(kind, DIM)
    vectors = _vectors(30)
    _add(store, np.arange(7, 37), vectors)
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


def test_adding_an_id_again_replaces_it(kind):
    store = create_store(kind, DIM)
    vectors = _vectors(40)
    _add(store, np.arange(40), vectors)
    replacement = _vectors(2, seed=5)
    _add(store, np.array([7, 1000]), replacement)  # 7 is stored: replaced; 1000 is new
    assert store.count() == 41
    found, scores = store.search(replacement[0], 3)
    assert found[0] == 7 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert 7 not in store.search(vectors[7], 3)[0]  # the old vector is gone
    with pytest.raises(VectorStoreError, match="twice"):
        _add(store, np.array([3, 3]), _vectors(2, seed=6))


def _by_ids(store, query, k, where: ChunkFilter, ids) -> list[int]:
    """The search filtered by the ids whose fields pass `where`."""
    allowed = np.array([i for i, f in zip(ids, _fields(ids)) if where.matches(f)], dtype=np.int64)
    return store.search(query, k, allowed)[0].tolist()


def test_filters_on_kept_fields_match_filters_on_ids(kind):
    store = create_store(kind, DIM)
    vectors = _vectors(300, seed=2)
    ids = np.arange(300)
    _add(store, ids, vectors)
    filters = [ChunkFilter.of(["doc-3.md", "doc-4.md"]),
               ChunkFilter.of(fields={"jurisdiction": ["EU"], "year": [1951, 1953]}),
               ChunkFilter.of(["doc-1.md"], {"instrument_type": ["treaty"]}),
               ChunkFilter.of(fields={"year": [1999]})]  # no chunk has it
    for where in filters:
        expected = _by_ids(store, vectors[0], 10, where, ids)
        if not store.keeps_fields:
            with pytest.raises(VectorStoreError):
                store.search(vectors[0], 10, where=where)
            continue
        found, scores = store.search(vectors[0], 10, where=where)
        assert found.tolist() == expected, where
        # Both: the even ids among those the filter passes.
        both = store.search(vectors[0], 10, np.arange(0, 300, 2), where=where)[0]
        assert both.tolist() == _by_ids(store, vectors[0], 10, where, ids[ids % 2 == 0])
    assert expected == []


def test_update_fields_moves_vectors_between_filters(kind):
    store = create_store(kind, DIM)
    vectors = _vectors(60, seed=4)
    ids = np.arange(60)
    _add(store, ids, vectors)
    moved = ids[ids % 10 == 3]  # doc-3.md
    renamed = [ChunkFields("doc-3.md", "canada", "statute", 2001) for _ in moved]
    store.update_fields(moved, renamed)
    assert store.count() == 60
    if not store.keeps_fields:
        return
    found = store.search(vectors[3], 60, where=ChunkFilter.of(fields={"jurisdiction": ["canada"]}))
    assert sorted(found[0].tolist()) == moved.tolist() and found[0][0] == 3
    assert store.search(vectors[3], 1)[0][0] == 3  # the vector itself is unchanged
    old = ChunkFilter.of(fields={"jurisdiction": [JURISDICTIONS[0]]})
    assert not set(store.search(vectors[3], 60, where=old)[0].tolist()) & set(moved.tolist())


def test_unknown_kind():
    with pytest.raises(VectorStoreError, match="unknown vector store"):
        create_store("nope", DIM)
