"""The conformance suite every vector store passes: subclass VectorStoreConformance in a test file.

A backend's test file provides one fixture, `store_config` (the StoreConfig that makes the
factory build that store; it may clean up after itself), and inherits every test:

    class TestQdrant(VectorStoreConformance):
        @pytest.fixture
        def store_config(self):
            return StoreConfig(kind="qdrant")

The tests go through the factory (create_store, load_store, fork_store), as the service does.
Needs pytest, so only test code imports this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.stores.base import ChunkFields, ChunkFilter, StoreConfig, VectorStore, VectorStoreError
from index.stores.factory import create_store, fork_store, load_store

DIM = 16
JURISDICTIONS = ("international", "eu", "us")


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fields_for(ids: np.ndarray) -> list[ChunkFields]:
    """Ten documents; jurisdiction, instrument type and year cycle with the id."""
    return [ChunkFields(f"doc-{i % 10}.md", JURISDICTIONS[i % len(JURISDICTIONS)],
                        "treaty" if i % 2 else "statute", 1950 + i % 5) for i in map(int, ids)]


def exact_top(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int,
              where: ChunkFilter | None = None, fields: list[ChunkFields] | None = None
              ) -> list[int]:
    """The brute-force answer: the k best of `ids` whose fields pass `where`."""
    fields = fields if fields is not None else fields_for(ids)
    keep = np.array([where is None or where.matches(f) for f in fields], dtype=bool)
    scores = vectors[keep] @ query
    return ids[keep][np.argsort(-scores, kind="stable")[:k]].tolist()


class VectorStoreConformance:
    """What every store must do; a subclass provides the `store_config` fixture."""

    @pytest.fixture
    def store_config(self) -> StoreConfig:
        raise NotImplementedError("a backend's test class provides the store_config fixture")

    @staticmethod
    def filled(config: StoreConfig, ids: np.ndarray, vectors: np.ndarray) -> VectorStore:
        store = create_store(config, DIM)
        store.add(ids, vectors, fields_for(ids))
        return store

    def test_add_search_returns_exact_neighbours(self, store_config):
        vectors = unit_vectors(200)
        ids = np.arange(1000, 1200)
        store = self.filled(store_config, ids, vectors)
        assert store.count() == 200
        found, scores = store.search(vectors[17], 5)
        assert found[0] == 1017
        assert scores[0] == pytest.approx(1.0, abs=1e-5)
        assert list(scores) == sorted(scores, reverse=True)
        assert list(found) == exact_top(vectors, ids, vectors[17], 5)

    def test_delete_by_id(self, store_config):
        vectors = unit_vectors(50)
        store = self.filled(store_config, np.arange(50), vectors)
        assert store.delete(np.array([3, 4, 999])) == 2
        assert store.count() == 48
        found, _ = store.search(vectors[3], 50)
        assert 3 not in found and 4 not in found
        assert store.delete(np.array([], dtype=np.int64)) == 0

    def test_filtered_search_only_returns_what_passes(self, store_config):
        vectors = unit_vectors(100)
        store = self.filled(store_config, np.arange(100), vectors)
        found, _ = store.search(vectors[0], 20, ChunkFilter.of(["doc-5.md"]))
        assert set(found) == set(range(5, 100, 10)) and len(found) == 10
        nothing = ChunkFilter.of(fields={"year": [1999]})
        assert len(store.search(vectors[0], 10, nothing)[0]) == 0
        impossible = ChunkFilter.of(fields={"year": ["none"]})
        assert impossible is not None and impossible.matches_nothing()
        assert len(store.search(vectors[0], 10, impossible)[0]) == 0

    def test_filters_give_the_exact_answer_among_what_passes(self, store_config):
        vectors = unit_vectors(300, seed=2)
        ids = np.arange(300)
        store = self.filled(store_config, ids, vectors)
        filters = [ChunkFilter.of(["doc-3.md", "doc-4.md"]),
                   ChunkFilter.of(fields={"jurisdiction": ["EU"], "year": [1951, 1953]}),
                   ChunkFilter.of(["doc-1.md"], {"instrument_type": ["treaty"]}),
                   ChunkFilter.of(["doc-2.md", "doc-4.md"], {"jurisdiction": ["us", "eu"],
                                                             "instrument_type": ["statute"]})]
        for where in filters:
            found, scores = store.search(vectors[0], 10, where)
            assert found.tolist() == exact_top(vectors, ids, vectors[0], 10, where), where
            assert list(scores) == sorted(scores, reverse=True)

    def test_save_and_load_round_trip(self, store_config, tmp_path: Path):
        vectors = unit_vectors(30)
        store = self.filled(store_config, np.arange(7, 37), vectors)
        store.save(tmp_path)
        loaded = load_store(store_config, tmp_path)
        assert loaded.count() == 30 and loaded.dimension == DIM
        for i in (0, 12, 29):
            assert loaded.search(vectors[i], 1)[0][0] == i + 7
        where = ChunkFilter.of(["doc-9.md"])  # the fields are saved too
        assert sorted(loaded.search(vectors[0], 30, where)[0].tolist()) == [9, 19, 29]

    def test_empty_store_and_bad_input(self, store_config, tmp_path: Path):
        store = create_store(store_config, DIM)
        assert len(store.search(unit_vectors(1)[0], 5)[0]) == 0
        assert len(store.search(unit_vectors(1)[0], 5, ChunkFilter.of(["doc-1.md"]))[0]) == 0
        with pytest.raises(VectorStoreError):
            store.add(np.arange(2), unit_vectors(3), fields_for(np.arange(2)))
        with pytest.raises(VectorStoreError):
            store.add(np.arange(2), np.zeros((2, DIM + 1), dtype=np.float32),
                      fields_for(np.arange(2)))
        with pytest.raises(VectorStoreError, match="fields"):
            store.add(np.arange(2), unit_vectors(2))
        with pytest.raises(VectorStoreError):
            store.add(np.arange(2), unit_vectors(2), fields_for(np.arange(3)))
        with pytest.raises(VectorStoreError):
            load_store(store_config, tmp_path / "missing")

    def test_adding_an_id_again_replaces_it(self, store_config):
        vectors = unit_vectors(40)
        store = self.filled(store_config, np.arange(40), vectors)
        replacement = unit_vectors(2, seed=5)
        moved = [ChunkFields("new.md", "eu", "treaty", 2000)] * 2
        store.add(np.array([7, 1000]), replacement, moved)  # 7 is stored: replaced; 1000 is new
        assert store.count() == 41
        found, scores = store.search(replacement[0], 3)
        assert found[0] == 7 and scores[0] == pytest.approx(1.0, abs=1e-5)
        assert 7 not in store.search(vectors[7], 3)[0]  # the old vector is gone
        # ... and so are its old fields
        assert sorted(store.search(replacement[0], 40, ChunkFilter.of(["new.md"]))[0]) == [7, 1000]
        assert 7 not in store.search(replacement[0], 40, ChunkFilter.of(["doc-7.md"]))[0]
        with pytest.raises(VectorStoreError, match="twice"):
            store.add(np.array([3, 3]), unit_vectors(2, seed=6), fields_for(np.array([3, 3])))

    def test_update_fields_moves_vectors_between_filters(self, store_config):
        vectors = unit_vectors(60, seed=4)
        ids = np.arange(60)
        store = self.filled(store_config, ids, vectors)
        moved = ids[ids % 10 == 3]  # doc-3.md
        store.update_fields(np.append(moved, 10_000),  # an id not stored is left out
                            [ChunkFields("doc-3.md", "canada", "statute", 2001)] * (len(moved) + 1))
        assert store.count() == 60
        canada = ChunkFilter.of(fields={"jurisdiction": ["canada"]})
        found = store.search(vectors[3], 60, canada)[0]
        assert sorted(found.tolist()) == moved.tolist() and found[0] == 3
        assert store.search(vectors[3], 1)[0][0] == 3  # the vector itself is unchanged
        old = ChunkFilter.of(fields={"jurisdiction": [JURISDICTIONS[0]]})
        assert not set(store.search(vectors[3], 60, old)[0].tolist()) & set(moved.tolist())

    def test_deleting_keeps_every_other_vectors_fields(self, store_config, tmp_path: Path):
        vectors = unit_vectors(120, seed=7)
        ids = np.arange(120)
        store = self.filled(store_config, ids, vectors)
        gone = ids[(ids % 7 == 0) | (ids < 15)]
        assert store.delete(gone) == len(gone)
        kept = np.setdiff1d(ids, gone)
        for where in (ChunkFilter.of(["doc-4.md"]), ChunkFilter.of(fields={"year": [1952]})):
            expected = exact_top(vectors[kept], kept, vectors[4], 50, where)
            assert store.search(vectors[4], 50, where)[0].tolist() == expected
            store.save(tmp_path / "saved")
            loaded = load_store(store_config, tmp_path / "saved")
            assert loaded.search(vectors[4], 50, where)[0].tolist() == expected

    def test_existing_ids(self, store_config):
        store = self.filled(store_config, np.arange(10, 20), unit_vectors(10))
        store.delete(np.array([12]))
        assert sorted(store.existing_ids(np.array([5, 11, 12, 13, 13])).tolist()) == [11, 13]

    def test_fork_is_a_copy_the_published_store_does_not_see(self, store_config,
                                                             tmp_path: Path):
        vectors = unit_vectors(80, seed=8)
        self.filled(store_config, np.arange(80), vectors).save(tmp_path / "g1")
        fork = fork_store(store_config, tmp_path / "g1")
        assert fork.delete(np.arange(10)) == 10
        fork.add(np.array([500]), vectors[:1], [ChunkFields("added.md")])
        fork.update_fields(np.array([20]), [ChunkFields("added.md")])
        assert fork.count() == 71
        assert sorted(fork.search(vectors[0], 5, ChunkFilter.of(["added.md"]))[0]) == [20, 500]
        original = load_store(store_config, tmp_path / "g1")
        assert original.count() == 80 and original.search(vectors[0], 1)[0][0] == 0
        assert len(original.search(vectors[0], 5, ChunkFilter.of(["added.md"]))[0]) == 0
