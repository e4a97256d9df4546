"""FAISS index types: HNSW recall against exact search, tombstones, rebuilds, persistence, `auto`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.scale import embedding_like
from index.stores.base import ChunkFields, ChunkFilter, StoreConfig, VectorStoreError
from index.stores.factory import create_store, fork_store, load_store
from index.stores.faiss_store import (
    FIELD_CODES_FILE,
    FIELD_TABLE_FILE,
    HNSW_EF_SEARCH,
    TOMBSTONES_FILE,
    FaissStore,
    wanted_type,
)

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


def _fields(ids: np.ndarray) -> list[ChunkFields]:
    """Ten documents, the id's last digit."""
    return [ChunkFields(f"doc-{i % 10}.md") for i in np.asarray(ids).tolist()]


def _add(store: FaissStore, ids: np.ndarray, vectors: np.ndarray) -> None:
    store.add(ids, vectors, _fields(ids))


@pytest.fixture(scope="module")
def hnsw_store(real_vectors) -> FaissStore:
    vectors, _ = real_vectors
    store = FaissStore(vectors.shape[1], index_type="hnsw")
    _add(store, np.arange(VECTORS, dtype=np.int64), vectors)
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
    _add(store, np.arange(5000, dtype=np.int64), vectors[:5000])
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
    _add(store, np.arange(n, dtype=np.int64), vectors[:n])
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
    _add(store, np.arange(3000, dtype=np.int64), vectors[:3000])
    store.delete(np.arange(0, 3000, 50))
    store.save(tmp_path)
    assert np.load(tmp_path / TOMBSTONES_FILE, allow_pickle=False).tolist() == \
        list(range(0, 3000, 50))
    loaded = FaissStore.load(StoreConfig(), tmp_path)
    assert loaded.current_type == "hnsw" and loaded.count() == store.count()
    assert loaded.tombstones == store.tombstones
    for q in queries[:20]:
        assert loaded.search(q, 10)[0].tolist() == store.search(q, 10)[0].tolist()


def test_hnsw_filtered_search_is_exact_among_allowed(hnsw_store, real_vectors):
    vectors, queries = real_vectors
    allowed = np.arange(3, 20_000, 10)
    for q in queries[:10]:
        found, scores = hnsw_store.search(q, 10, ChunkFilter.of(["doc-3.md"]))
        assert found.tolist() == _exact_top(vectors[allowed], allowed, q, 10)
        assert list(scores) == sorted(scores, reverse=True)


def test_incremental_fork_delete_add_save(tmp_path):
    config = StoreConfig(faiss_index="hnsw")
    vectors = _unit(400)
    store = create_store(config, 16)
    _add(store, np.arange(300), vectors[:300])
    store.save(tmp_path / "g1")
    forked = fork_store(config, tmp_path / "g1")
    assert forked.delete(np.arange(10)) == 10 and forked.count() == 290
    _add(forked, np.arange(300, 400), vectors[300:])
    _add(forked, np.array([3]), vectors[3:4])  # a deleted id may come back
    forked.save(tmp_path / "g2")
    assert load_store(config, tmp_path / "g1").count() == 300  # the published one is untouched
    again = load_store(config, tmp_path / "g2")
    assert again.count() == 391
    assert again.search(vectors[3], 1)[0][0] == 3 and again.search(vectors[350], 1)[0][0] == 350
    assert again.search(vectors[4], 5)[0].tolist().count(4) == 0


def test_auto_picks_flat_below_threshold_and_hnsw_above(tmp_path):
    assert wanted_type("auto", 10_000) == "flat" and wanted_type("auto", 10**6) == "hnsw"
    assert wanted_type("flat", 10**6) == "flat" and wanted_type("hnsw", 5) == "hnsw"
    vectors = _unit(500)
    store = FaissStore(16, index_type="auto", threshold=400)
    _add(store, np.arange(300), vectors[:300])
    store.save(tmp_path / "small")
    assert FaissStore.load(StoreConfig(), tmp_path / "small").current_type == "flat"
    _add(store, np.arange(300, 500), vectors[300:])
    store.save(tmp_path / "large")  # crossed the threshold: converted when saved
    large = FaissStore.load(StoreConfig(), tmp_path / "large")
    assert large.current_type == "hnsw" and large.count() == 500
    assert large.search(vectors[42], 1)[0][0] == 42
    shrunk = FaissStore.load(StoreConfig(faiss_index="auto"), tmp_path / "large")
    shrunk.threshold = 400
    shrunk.delete(np.arange(200))  # tombstones past 10% rebuild; below the threshold: flat
    shrunk.save(tmp_path / "shrunk")
    assert FaissStore.load(StoreConfig(), tmp_path / "shrunk").current_type == "flat"


def test_setting_reaches_the_store(monkeypatch):
    from service.settings import SettingsError, load_settings

    monkeypatch.setenv("POLICYQA_FAISS_INDEX", "hnsw")
    assert create_store(load_settings().store_config(), 16).current_type == "hnsw"
    monkeypatch.setenv("POLICYQA_FAISS_INDEX", "bogus")
    with pytest.raises(SettingsError, match="faiss_index"):
        load_settings()
    with pytest.raises(VectorStoreError, match="unknown FAISS index type"):
        FaissStore(16, index_type="bogus")


def test_ef_search_setting_trades_recall_for_breadth(hnsw_store, real_vectors):
    vectors, queries = real_vectors
    ids = np.arange(VECTORS)
    assert hnsw_store.ef_search == HNSW_EF_SEARCH
    # The same graph searched at two breadths (fields unknown: searched unfiltered only).
    narrow_store = FaissStore(vectors.shape[1], hnsw_store.index, ef_search=16)
    narrow = _recall(narrow_store, vectors, ids, queries)
    wide = _recall(FaissStore(vectors.shape[1], hnsw_store.index, ef_search=512), vectors, ids,
                   queries)
    assert wide > narrow and wide >= 0.98
    with pytest.raises(VectorStoreError, match="fields"):
        narrow_store.search(queries[0], 10, ChunkFilter.of(["doc-1.md"]))


def test_ef_search_is_checked(monkeypatch):
    from service.settings import SettingsError, load_settings

    for bad in ("lots", "8", "5000"):  # the store's bounds hold for the variable too
        monkeypatch.setenv("POLICYQA_FAISS_EF_SEARCH", bad)
        with pytest.raises(SettingsError, match="faiss_ef_search"):
            load_settings()
    for bad in (8, 5000):
        with pytest.raises(VectorStoreError, match="efSearch"):
            create_store(StoreConfig(faiss_ef_search=bad), 16)
    with pytest.raises(SettingsError, match="faiss_ef_search"):
        load_settings(faiss_ef_search=4)
    monkeypatch.setenv("POLICYQA_FAISS_EF_SEARCH", "256")
    settings = load_settings()
    assert settings.faiss_ef_search == 256
    assert create_store(settings.store_config(), 16).ef_search == 256


def _legacy(folder: Path) -> None:
    """Makes a saved store look as format 1 wrote it: the index and tombstones, no fields."""
    (folder / FIELD_CODES_FILE).unlink()
    (folder / FIELD_TABLE_FILE).unlink()


def test_fields_are_saved_beside_the_index_without_pickle(tmp_path):
    store = FaissStore(16, index_type="flat")
    vectors = _unit(30)
    _add(store, np.arange(30), vectors)
    store.delete(np.arange(10))  # doc-0.md .. doc-9.md all keep chunks; none is dropped
    _add(store, np.array([100]), vectors[:1])
    store.update_fields(np.array([100]), [ChunkFields("moved.md", "eu", "treaty", 1999)])
    store.save(tmp_path)
    codes = np.load(tmp_path / FIELD_CODES_FILE, allow_pickle=False)
    table = json.loads((tmp_path / FIELD_TABLE_FILE).read_text())
    assert codes.dtype == np.int32 and len(codes) == 21
    assert sorted(map(tuple, table)) == sorted(
        [(f"doc-{i}.md", "", "", -1) for i in range(10)] + [("moved.md", "eu", "treaty", 1999)])
    assert [table[c][0] for c in codes.tolist()] == \
        [f"doc-{i % 10}.md" for i in range(10, 30)] + ["moved.md"]  # in storage order
    store.delete(np.arange(10, 30))
    store.save(tmp_path)  # entries no vector uses are dropped
    assert json.loads((tmp_path / FIELD_TABLE_FILE).read_text()) == [["moved.md", "eu", "treaty",
                                                                      1999]]


@pytest.mark.parametrize("index_type", ["flat", "hnsw"])
def test_a_store_of_format_1_is_served_with_fields_from_elsewhere(tmp_path, index_type):
    from index.stores.base import FieldColumns

    vectors = _unit(50)
    store = FaissStore(16, index_type=index_type)
    _add(store, np.arange(50), vectors)
    store.delete(np.array([3]))
    store.save(tmp_path)
    _legacy(tmp_path)
    where = ChunkFilter.of(["doc-3.md"])
    config = StoreConfig(faiss_index=index_type)
    bare = load_store(config, tmp_path)  # no fields anywhere: unfiltered only
    assert bare.search(vectors[13], 1)[0][0] == 13
    with pytest.raises(VectorStoreError, match="fields"):
        bare.search(vectors[13], 5, where)
    with pytest.raises(VectorStoreError, match="older format"):
        fork_store(config, tmp_path)
    calls = []

    def from_chunk_store() -> FieldColumns:
        calls.append(1)
        return FieldColumns.of_documents((ChunkFields(f"doc-{d}.md"), range(d, 50, 10))
                                         for d in range(10))

    served = load_store(config, tmp_path, from_chunk_store)
    found = served.search(vectors[13], 10, where)[0]
    assert sorted(found.tolist()) == [13, 23, 33, 43] and found[0] == 13
    assert calls == [1]
    assert load_store(config.for_kind("faiss"), tmp_path, from_chunk_store).count() == 49
