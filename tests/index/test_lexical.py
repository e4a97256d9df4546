"""BM25 top-k: filtered by allowed ids, equal scores ordered by chunk id, whatever the id order."""

from __future__ import annotations

import numpy as np
import pytest

from index.lexical import Bm25Index

# Repeated texts give many exactly equal scores: the case where the order must not be arbitrary.
TEXTS = ["No Contracting State shall expel or return a refugee",
         "refugee status and the rights of refugees",
         "asylum procedures in the member states",
         "the state shall not expel a lawfully present alien",
         "refugee convention refugee protocol"] * 40


@pytest.fixture(scope="module")
def index() -> tuple[Bm25Index, list[int]]:
    ids = [int(i) for i in np.random.default_rng(1).permutation(np.arange(1000, 1200))]
    return Bm25Index.build(ids, TEXTS), ids


def _expected(index: Bm25Index, scores: np.ndarray, k: int, allowed) -> list[int]:
    keep = np.ones(len(scores), bool) if allowed is None else np.isin(index.chunk_ids, allowed)
    ranked = sorted((-float(s), int(i)) for s, i, ok in zip(scores, index.chunk_ids, keep)
                    if ok and s > 0)
    return [i for _, i in ranked[:k]]


@pytest.mark.parametrize("question", ["refugee expelled", "asylum", "state", "zebra"])
@pytest.mark.parametrize("k", [1, 10, 100, 500])
def test_top_k_matches_a_full_sort_by_score_then_id(index, question, k):
    bm25, ids = index
    scores = bm25.scores(question)
    for allowed in (None, np.array(ids[:50]), np.array([5, ids[3], ids[150], 99_999]),
                    np.array([], dtype=np.int64)):
        found, found_scores = bm25.top(scores, k, allowed)
        assert found.tolist() == _expected(bm25, scores, k, allowed)
        assert (np.diff(found_scores) <= 0).all()
        assert found.tolist() == bm25.search(question, k, allowed)[0].tolist()
