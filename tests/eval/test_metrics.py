"""Ranking and span-overlap metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from eval.metrics import mean_metrics, merge_spans, ranking_metrics, span_metrics, span_precision_recall


def test_ranking_metrics_by_hand() -> None:
    # Relevant at ranks 2 ("a") and 4 ("b"); "c" is never retrieved: 3 gold items.
    ranked = [set(), {"a"}, set(), {"b"}, set()]
    m = ranking_metrics(ranked, {"a": 1, "b": 1, "c": 1}, ks=(1, 3, 5))
    assert m["recall@1"] == 0
    assert m["recall@3"] == pytest.approx(1 / 3)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["precision@3"] == pytest.approx(1 / 3)
    assert m["precision@5"] == pytest.approx(2 / 5)
    assert (m["hit@1"], m["hit@3"]) == (0, 1)
    assert m["mrr@10"] == pytest.approx(1 / 2)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m["ndcg@10"] == pytest.approx(dcg / idcg)  # 0.4982
    assert m["ndcg@10"] == pytest.approx(0.49819, abs=1e-4)
    assert m["map@100"] == pytest.approx((1 / 2 + 2 / 4) / 3)


def test_a_gold_item_counts_once_but_precision_counts_every_relevant_passage() -> None:
    # Two overlapping chunks of the same gold quote.
    m = ranking_metrics([{"a"}, {"a"}, set()], {"a": 1}, ks=(1, 3))
    assert m["recall@1"] == 1 and m["recall@3"] == 1
    assert m["precision@3"] == pytest.approx(2 / 3)
    assert m["ndcg@10"] == pytest.approx(1.0)
    assert m["map@100"] == pytest.approx(1.0)
    assert m["mrr@10"] == 1.0


def test_graded_ndcg_and_nothing_found() -> None:
    m = ranking_metrics([{"x"}, {"y"}], {"x": 1, "y": 2}, ks=(1,))
    assert m["ndcg@10"] == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    empty = ranking_metrics([set(), set()], {"x": 1}, ks=(1,))
    assert all(v == 0 for v in empty.values())


def test_mrr_and_ndcg_cut_off_at_ten() -> None:
    ranked = [set()] * 10 + [{"a"}]
    m = ranking_metrics(ranked, {"a": 1}, ks=(10, 20))
    assert m["mrr@10"] == 0 and m["ndcg@10"] == 0
    assert m["recall@20"] == 1
    assert m["map@100"] == pytest.approx(1 / 11)


def test_mean_metrics_keeps_order() -> None:
    assert mean_metrics([{"b": 1.0, "a": 0.0}, {"b": 0.0, "a": 1.0}]) == {"b": 0.5, "a": 0.5}


def test_merge_spans() -> None:
    assert merge_spans([("f", 5, 15), ("f", 0, 10), ("g", 0, 3), ("f", 15, 20), ("f", 30, 30)]) \
        == [("f", 0, 20), ("g", 0, 3)]


def test_legalbench_overlap_precision_recall_by_hand() -> None:
    retrieved = [("f", 0, 10), ("f", 5, 15), ("g", 0, 10)]
    gold = [("f", 10, 20)]
    # Merged retrieval: f[0,15) + g[0,10) = 25 chars, 5 of them (f[10,15)) gold.
    p, r = span_precision_recall(retrieved, gold)
    assert (p, r) == (pytest.approx(5 / 25), pytest.approx(5 / 10))
    m = span_metrics(retrieved, gold, ks=(1, 2, 4))
    assert m["precision@1"] == 0 and m["recall@1"] == 0
    assert m["precision@2"] == pytest.approx(5 / 15) and m["recall@2"] == pytest.approx(0.5)
    assert m["precision@4"] == pytest.approx(0.2)


def test_legalbench_two_gold_spans_and_wrong_file() -> None:
    gold = [("f", 0, 10), ("f", 20, 30)]
    p, r = span_precision_recall([("f", 5, 25), ("h", 5, 25)], gold)
    assert r == pytest.approx(10 / 20)  # f[5,10) + f[20,25)
    assert p == pytest.approx(10 / 40)
    assert span_precision_recall([], gold) == (0.0, 0.0)
