"""The benchmark's own arithmetic: recall against exact search, and the `policyqa bench` entry."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from eval.bench import exact_top, hnsw_sweep, recall_at_10
from index.stores.base import ChunkFields
from index.stores.faiss_store import FaissStore


def test_recall_counts_ids_and_tied_scores_apart():
    exact_ids = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])
    exact_scores = np.array([[1.0, .9, .8, .7, .6, .5, .4, .3, .2, .1]])
    # Id 11 ties with the exact 10th best (0.1): a different id, an equally close neighbour.
    tied = (np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]), exact_scores[0])
    worse = (np.array([1, 2, 3, 4, 5, 6, 7, 8, 12, 13]),
             np.array([1.0, .9, .8, .7, .6, .5, .4, .3, .05, .01]))
    assert recall_at_10([tied], (exact_ids, exact_scores)) == {"ids": 0.9, "scores": 1.0}
    assert recall_at_10([worse], (exact_ids, exact_scores)) == {"ids": 0.8, "scores": 0.8}


def test_hnsw_sweep_against_brute_force():
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(3000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = FaissStore(32, index_type="hnsw")
    store.add(np.arange(100, 3100, dtype=np.int64), vectors, [ChunkFields("doc.md")] * 3000)
    queries = vectors[:40] + rng.normal(scale=0.05, size=(40, 32)).astype(np.float32)
    ids, scores = exact_top(store, queries)
    assert ids.shape == (40, 10) and (ids >= 100).all()
    assert np.allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), atol=1e-5)
    rows = hnsw_sweep(store, queries)
    assert [r["ef_search"] for r in rows] == [64, 128, 256, 512]
    for r in rows:
        assert 0.0 <= r["ids"] <= r["scores"] <= 1.0 and r["ms"] > 0
        if r["ef_search"] >= 100:  # the same search, asked for 100 instead of 10: a superset
            assert r["ids"] <= r["10@100"] <= 1.0
    assert rows[-1]["ids"] >= 0.95


def test_policyqa_bench_entry_reaches_the_benchmark():
    out = subprocess.run([sys.executable, "-m", "service.cli", "bench", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("usage: policyqa bench") and "--sizes" in out
    bad = subprocess.run([sys.executable, "-m", "service.cli", "bench", "--clients", "0",
                          "--skip-ingest", "--source", "x"], capture_output=True, text=True)
    assert bad.returncode == 2 and "--clients must be 1..64" in bad.stderr
