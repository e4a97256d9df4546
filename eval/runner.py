"""Running a set through a retriever in one or more modes, into per-question and mean metrics."""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field

from eval.datasets import BEIR, LEGALBENCH, POLICYQA, EvalSet
from eval.judges import DocumentJudge, Judge, QuoteJudge, SpanJudge
from eval.metrics import DEFAULT_KS, LEGALBENCH_KS, mean_metrics
from eval.retrieval import Retriever
from index.modes import MODES

# Chunks retrieved per question. BEIR needs many more chunks than documents: several chunks of
# one document collapse into one, and recall@100 is over documents.
DEFAULT_DEPTH = {POLICYQA: 100, BEIR: 300, LEGALBENCH: 64}
MODES_ALL = MODES


@dataclass
class ModeResult:
    mode: str
    metrics: dict[str, float]
    questions: list[dict]
    seconds: float
    by_tag: dict[str, dict[str, float]] = field(default_factory=dict)


def default_ks(kind: str) -> tuple[int, ...]:
    if kind == LEGALBENCH:
        return LEGALBENCH_KS
    if kind == BEIR:
        return (*DEFAULT_KS, 100)
    return DEFAULT_KS


def make_judge(eval_set: EvalSet, retriever: Retriever, ks: tuple[int, ...] | None = None,
               depth: int | None = None) -> Judge:
    ks = tuple(sorted(set(ks))) if ks else default_ks(eval_set.kind)
    base = DEFAULT_DEPTH[eval_set.kind]
    depth = depth or (max(base, 3 * max(ks)) if eval_set.kind == BEIR else max(base, max(ks)))
    if retriever.max_k is not None:
        depth = min(depth, retriever.max_k)
    if eval_set.kind == POLICYQA:
        return QuoteJudge(eval_set.queries, retriever, ks, depth)
    if eval_set.kind == BEIR:
        return DocumentJudge(ks, depth)
    assert eval_set.corpus_dir is not None
    return SpanJudge(eval_set.corpus_dir, retriever, ks, depth)


def run_mode(eval_set: EvalSet, retriever: Retriever, judge: Judge, mode: str,
             progress: bool = True) -> ModeResult:
    started = time.perf_counter()
    rows: list[dict[str, float]] = []
    records: list[dict] = []
    total = len(eval_set.queries)
    for n, query in enumerate(eval_set.queries, 1):
        retrieved = retriever.search(query.text, judge.depth, mode)
        metrics, record = judge.judge(query, retrieved)
        rows.append(metrics)
        records.append(record)
        if progress and (n % 100 == 0 or n == total):
            print(f"  {mode}: {n}/{total} questions, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr)
    return ModeResult(mode, mean_metrics(rows), records,
                      round(time.perf_counter() - started, 2), by_tag(records))


def by_tag(records: list[dict]) -> dict[str, dict[str, float]]:
    """Mean metrics per tag, for sets whose questions carry tags."""
    groups: dict[str, list[dict[str, float]]] = defaultdict(list)
    for r in records:
        for tag in r.get("tags") or []:
            groups[tag].append(r["metrics"])
    if len(groups) < 2:
        return {}
    return {tag: {"questions": len(rows), **mean_metrics(rows)}
            for tag, rows in sorted(groups.items())}


def worst(result: ModeResult, judge: Judge, n: int = 10) -> list[dict]:
    return sorted(result.questions,
                  key=lambda r: tuple(r["metrics"].get(m, 0.0) for m in judge.sort_key))[:n]
