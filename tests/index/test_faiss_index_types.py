"""FAISS index types: HNSW recall against exact search, tombstones, rebuilds, persistence, `auto`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.scale import embedding_like
from index import faiss_store
from index.faiss_store import TOMBSTONES_FILE, FaissStore, wanted_type
from index.vector_store import VectorStoreError, create_store, fork_store, load_store

REPO = Path(__file__).resolve().parents[2]
PASSAGES = 400
VECTORS = 20_000
WORDS = 60


def _passages(corpus: Path, count: int) -> list[str]:
    """Real treaty text in windows of WORDS words."""
    passages: list[str] = []
    for path in sorted((corpus / "treaties").glob("*.md")):
        words = path.read_text(encoding="utf-8").split()
        passages += [" ".join(words[i:i + WORDS]) for i in range(0, len(words) - WORDS, WORDS * 2)]
    step = max(len(passages) // count, 1)
    return passages[::step][:count]


@pytest.fixture(scope="module")
def real_vectors(shared_corpus, embedder) -> tuple[np.ndarray, np.ndarray]:
    """20k embedding-like vectors grown from real MiniLM passage vectors, and real query vectors."""
    base = embedder.encode(_passages(shared_corpus, PASSAGES))
    lines = (REPO / "eval" / "sets" / "treaties.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][:60]
    return embedding_like(base, VECTORS, seed=1), embedder.encode(questions)


@pytest.fixture(scope="module")
def hnsw_store(real_vectors) -> FaissStore:
    vectors, _ = real_vectors
    store = FaissStore(vectors.shape[1], index_type="hnsw")
    store.add(np.arange(VECTORS, dtype=np.int64), vectors)
    return store


def _exact_top(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = vectors @ query
    return [int(i) for i in ids[np.argsort(-scores, kind="stable")[:k]]]


def _recall(store: FaissStore, vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray,
            k: int = 10) -> float:
    hits = sum(len(set(store.search(q, k)[0].tolist()) & set(_exact_top(vectors, ids, q, k)))
               for q in queries)
    return hits / (k * len(queries))


def _unit(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_hnsw_recall_at_10_vs_exact(hnsw_store, real_vectors):
    vectors, queries = real_vectors
    assert hnsw_store.current_type == "hnsw"
    assert _recall(hnsw_store, vectors, np.arange(VECTORS), queries) >= 0.95


def test_hnsw_delete_excludes_deleted_from_search(real_vectors):
    vectors, queries = real_vectors
    store = FaissStore(vectors.shape[1], index_type="hnsw")
    store.add(np.arange(5000, dtype=np.int64), vectors[:5000])
    # The current best hits of some queries: deleting them must remove them from every answer.
    doomed = {int(store.search(q, 1)[0][0]) for q in queries[:20]}
    assert store.delete(np.array(sorted(doomed) + [10**9])) == len(doomed)
    assert store.tombstones == doomed and store.count() == 5000 - len(doomed)
    for q in queries:
        assert not doomed & set(store.search(q, 50)[0].tolist())
    assert store.delete(np.array(sorted(doomed))) == 0  # deleting twice counts nothing


def test_tombstone_rebuild_keeps_results(real_vectors):
    vectors, queries = real_vectors
    n = 5000
    store = FaissStore(vectors.shape[1], index_type="hnsw")
    store.add(np.arange(n, dtype=np.int64), vectors[:n])
    doomed = np.arange(0, n, 7)  # ~14%: past the 10% that triggers a rebuild
    store.delete(doomed[: n // 20])
    assert store.tombstones and store.index.ntotal == n  # 5%: only tombstones so far
    store.delete(doomed)
    assert not store.tombstones and store.index.ntotal == n - len(doomed)  # rebuilt
    assert store.current_type == "hnsw" and store.count() == n - len(doomed)
    alive = np.setdiff1d(np.arange(n), doomed)
    assert _recall(store, vectors[alive], alive, queries) >= 0.95
    for q in queries:
        assert not set(doomed.tolist()) & set(store.search(q, 20)[0].tolist())


def test_hnsw_save_load_round_trip_keeps_tombstones(tmp_path, real_vectors):
    vectors, queries = real_vectors
    store = FaissStore(vectors.shape[1], index_type="hnsw")
    store.add(np.arange(3000, dtype=np.int64), vectors[:3000])
    store.delete(np.arange(0, 3000, 50))
    store.save(tmp_path)
    assert np.load(tmp_path / TOMBSTONES_FILE, allow_pickle=False).tolist() == \
        list(range(0, 3000, 50))
    loaded = FaissStore.load(tmp_path)
    assert loaded.current_type == "hnsw" and loaded.count() == store.count()
    assert loaded.tombstones == store.tombstones
    for q in queries[:20]:
        assert loaded.search(q, 10)[0].tolist() == store.search(q, 10)[0].tolist()


def test_hnsw_filtered_search_is_exact_among_allowed(hnsw_store, real_vectors):
    vectors, queries = real_vectors
    allowed = np.arange(100, 20_000, 97)
    for q in queries[:10]:
        found, scores = hnsw_store.search(q, 10, allowed)
        assert found.tolist() == _exact_top(vectors[allowed], allowed, q, 10)
        assert list(scores) == sorted(scores, reverse=True)


def test_incremental_fork_delete_add_save(tmp_path, monkeypatch):
    monkeypatch.setitem(faiss_store._configured, "index", "hnsw")
    vectors = _unit(400)
    store = create_store("faiss", 16)
    store.add(np.arange(300), vectors[:300])
    store.save(tmp_path / "g1")
    forked = fork_store("faiss", tmp_path / "g1")
    assert forked.delete(np.arange(10)) == 10 and forked.count() == 290
    forked.add(np.arange(300, 400), vectors[300:])
    forked.add(np.array([3]), vectors[3:4])  # a deleted id may come back
    forked.save(tmp_path / "g2")
    assert load_store("faiss", tmp_path / "g1").count() == 300  # the published one is untouched
    again = load_store("faiss", tmp_path / "g2")
    assert again.count() == 391
    assert again.search(vectors[3], 1)[0][0] == 3 and again.search(vectors[350], 1)[0][0] == 350
    assert again.search(vectors[4], 5)[0].tolist().count(4) == 0


def test_auto_picks_flat_below_threshold_and_hnsw_above(tmp_path):
    assert wanted_type("auto", 10_000) == "flat" and wanted_type("auto", 10**6) == "hnsw"
    assert wanted_type("flat", 10**6) == "flat" and wanted_type("hnsw", 5) == "hnsw"
    vectors = _unit(500)
    store = FaissStore(16, index_type="auto", threshold=400)
    store.add(np.arange(300), vectors[:300])
    store.save(tmp_path / "small")
    assert FaissStore.load(tmp_path / "small").current_type == "flat"
    store.add(np.arange(300, 500), vectors[300:])
    store.save(tmp_path / "large")  # crossed the threshold: converted when saved
    large = FaissStore.load(tmp_path / "large")
    assert large.current_type == "hnsw" and large.count() == 500
    assert large.search(vectors[42], 1)[0][0] == 42
    shrunk = FaissStore(16, large.index, index_type="auto", threshold=400)
    shrunk.delete(np.arange(200))  # tombstones past 10% rebuild; below the threshold: flat
    shrunk.save(tmp_path / "shrunk")
    assert FaissStore.load(tmp_path / "shrunk").current_type == "flat"


def test_setting_reaches_the_store(monkeypatch):
    from service.settings import SettingsError, load_settings

    monkeypatch.setitem(faiss_store._configured, "index", "auto")
    monkeypatch.setenv("POLICYQA_FAISS_INDEX", "hnsw")
    load_settings()
    assert create_store("faiss", 16).current_type == "hnsw"
    monkeypatch.setenv("POLICYQA_FAISS_INDEX", "bogus")
    with pytest.raises(SettingsError, match="faiss_index"):
        load_settings()
    with pytest.raises(VectorStoreError, match="unknown FAISS index type"):
        FaissStore(16, index_type="bogus")


def test_ef_search_setting_trades_recall_for_breadth(hnsw_store, real_vectors):
    vectors, queries = real_vectors
    ids = np.arange(VECTORS)
    try:
        faiss_store.configure(None, ef_search=16)
        assert faiss_store.configured_ef_search() == 16
        narrow = _recall(hnsw_store, vectors, ids, queries)
        faiss_store.configure(None, ef_search=512)
        wide = _recall(hnsw_store, vectors, ids, queries)
    finally:
        faiss_store.configure(None)
    assert faiss_store.configured_ef_search() == faiss_store.HNSW_EF_SEARCH
    assert wide > narrow and wide >= 0.98


def test_ef_search_is_checked(monkeypatch):
    from service.settings import SettingsError, load_settings

    for bad in ("lots", "8", "5000"):  # the setting's bounds hold for the variable too
        monkeypatch.setenv("POLICYQA_FAISS_EF_SEARCH", bad)
        with pytest.raises(VectorStoreError, match="efSearch"):
            faiss_store.configured_ef_search()
    with pytest.raises(SettingsError, match="faiss_ef_search"):
        load_settings(faiss_ef_search=4)
    monkeypatch.setenv("POLICYQA_FAISS_EF_SEARCH", "256")
    try:
        assert load_settings().faiss_ef_search == 256
        assert faiss_store.configured_ef_search() == 256
    finally:
        faiss_store.configure(None)
