"""Scaled benchmark generations: a real generation replicated, replica 0 unchanged."""

from __future__ import annotations

import numpy as np

from eval.scale import write_scaled_generation
from index.generations import current_generation
from index.searcher import IndexSearcher
from index.stores.base import StoreConfig
from index.stores.faiss_store import FaissStore
from tests.small.helpers import real_documents_index


def test_a_scaled_generation_keeps_the_real_vectors_and_rows(shared_corpus, tmp_path,
                                                            small_embedder):
    index_dir, _ = real_documents_index(shared_corpus, tmp_path / "real",
                                        ["treaties/echr_protocol4_1963.md",
                                         "treaties/refugee_protocol_1967.md"], small_embedder)
    source = current_generation(index_dir)
    real = FaissStore.load(StoreConfig(), source)
    real_ids, real_vectors = real.live_vectors()
    n = 3 * len(real_ids) + 1
    out = write_scaled_generation(source, tmp_path / "scaled", n)
    assert out["chunks"] == n and out["documents"] == 2 * 4  # 4 replicas, each of both documents
    scaled = FaissStore.load(StoreConfig(), current_generation(tmp_path / "scaled"))
    ids, vectors = scaled.live_vectors()
    assert len(ids) == n
    by_id = dict(zip(ids.tolist(), range(len(ids))))
    # Replica 0 is the real chunk with its real vector, bit for bit.
    for cid, vector in zip(real_ids.tolist(), real_vectors):
        assert np.array_equal(vectors[by_id[cid]], vector)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    searcher = IndexSearcher.open(tmp_path / "scaled", small_embedder)
    try:
        assert searcher.chunk_count == n
    finally:
        searcher.close()
