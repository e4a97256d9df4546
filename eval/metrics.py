"""Ranking metrics (recall, precision, hit, MRR, nDCG, MAP) and character-span overlap metrics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import fmean

DEFAULT_KS: tuple[int, ...] = (1, 3, 5, 10)
LEGALBENCH_KS: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)


def ranking_metrics(ranked: Sequence[Iterable[str]], gains: dict[str, float],
                    ks: Sequence[int] = DEFAULT_KS, mrr_k: int = 10, ndcg_k: int = 10,
                    map_k: int = 100) -> dict[str, float]:
    """Metrics of one ranked list, named as sentence-transformers names them.

    `ranked[i]` holds the gold ids the item at rank i+1 is relevant to (empty when it is not
    relevant); `gains` maps every gold id to its graded relevance (> 0). A gold id counts once,
    at the first rank that covers it: several overlapping passages of one gold quote, or several
    chunks of one relevant document, are not rewarded twice in recall, nDCG or MAP. Precision
    counts relevant items, as usual.
    """
    gold = {g: v for g, v in gains.items() if v > 0}
    items = [set(r) & gold.keys() for r in ranked]
    # new[i] = the gold ids first covered at rank i+1
    seen: set[str] = set()
    new: list[set[str]] = []
    for covered in items:
        fresh = covered - seen
        seen |= fresh
        new.append(fresh)
    out: dict[str, float] = {}
    total = len(gold)
    for k in ks:
        found = set().union(*new[:k]) if new[:k] else set()
        out[f"recall@{k}"] = len(found) / total if total else 0.0
        out[f"precision@{k}"] = sum(1 for c in items[:k] if c) / k
        out[f"hit@{k}"] = 1.0 if found else 0.0
    first = next((i for i, c in enumerate(items[:mrr_k]) if c), None)
    out[f"mrr@{mrr_k}"] = 1.0 / (first + 1) if first is not None else 0.0
    dcg = sum(sum(gold[g] for g in fresh) / math.log2(i + 2)
              for i, fresh in enumerate(new[:ndcg_k]))
    ideal = sorted(gold.values(), reverse=True)[:ndcg_k]
    idcg = sum(v / math.log2(i + 2) for i, v in enumerate(ideal))
    out[f"ndcg@{ndcg_k}"] = dcg / idcg if idcg else 0.0
    hits = 0
    ap = 0.0
    for i, fresh in enumerate(new[:map_k]):
        for _ in fresh:
            hits += 1
            ap += hits / (i + 1)
    out[f"map@{map_k}"] = ap / min(total, map_k) if total else 0.0
    return out


def mean_metrics(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Per-metric means over questions, keeping the metric order of the first row."""
    if not rows:
        return {}
    return {name: round(fmean(r[name] for r in rows), 4) for name in rows[0]}


Span = tuple[str, int, int]  # file, start, end (exclusive)


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans of the same file merged into one."""
    merged: list[Span] = []
    for f, s, e in sorted(spans):
        if e <= s:
            continue
        if merged and merged[-1][0] == f and s <= merged[-1][2]:
            last = merged[-1]
            merged[-1] = (f, last[1], max(last[2], e))
        else:
            merged.append((f, s, e))
    return merged


def _overlap(a: list[Span], b: list[Span]) -> int:
    total = 0
    for fa, sa, ea in a:
        for fb, sb, eb in b:
            if fa == fb:
                total += max(0, min(ea, eb) - max(sa, sb))
    return total


def span_precision_recall(retrieved: Iterable[Span], gold: Iterable[Span]) -> tuple[float, float]:
    """LegalBench-RAG's character-overlap precision and recall for one query.

    Retrieved spans are merged first, so overlapping chunks do not count characters twice.
    """
    r = merge_spans(retrieved)
    g = merge_spans(gold)
    overlap = _overlap(r, g)
    r_len = sum(e - s for _, s, e in r)
    g_len = sum(e - s for _, s, e in g)
    return (overlap / r_len if r_len else 0.0, overlap / g_len if g_len else 0.0)


def span_metrics(retrieved: Sequence[Span], gold: Sequence[Span],
                 ks: Sequence[int] = LEGALBENCH_KS) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in ks:
        p, r = span_precision_recall(retrieved[:k], gold)
        out[f"precision@{k}"] = p
        out[f"recall@{k}"] = r
    return out
