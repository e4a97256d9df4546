"""The ablation table: a PolicyQA set in hybrid mode with one ranking stage changed at a time.

    python -m eval.ablation --index-dir DIR [--corpus ../shared/corpus] [--set SET]

Every row runs the same questions through the same index and code path as `policyqa eval run`
(an AnswerEngine over the index), with its own `ranking_stages`; the figures print as the
README's markdown table. Build the index first (`policyqa index build --corpus ...`); another
embedder is another index, so the embedders' rows come from `policyqa eval run --model`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.datasets import POLICYQA, load_set
from eval.retrieval import EngineRetriever
from eval.runner import make_judge, run_mode
from service.ranking.defaults import DEFAULT_RANKING_STAGES

REPO = Path(__file__).resolve().parents[1]
METRICS = ("recall@5", "recall@10", "mrr@10", "ndcg@10")
COMPARISON_TAG = "comparison"


def _without(name: str) -> list[Any]:
    return [s for s in DEFAULT_RANKING_STAGES if s != name]


def _before(name: str, stage: Any) -> list[Any]:
    stages: list[Any] = list(DEFAULT_RANKING_STAGES)
    stages.insert(stages.index(name), stage)
    return stages


def _replacing(name: str, stage: Any) -> list[Any]:
    return [stage if s == name else s for s in DEFAULT_RANKING_STAGES]


# (row label, ranking_stages): the default, then one change each.
ROWS: list[tuple[str, list[Any]]] = [
    ("default", list(DEFAULT_RANKING_STAGES)),
    ("fuse with equal weights (plain RRF)",
     _replacing("fuse", {"name": "fuse", "dense_question": 1.0, "dense_keyword": 1.0})),
    ("without compare", _without("compare")),
    ("without boost", _without("boost")),
    ("without define", _without("define")),
    ("without collapse", _without("collapse")),
    ("with diversify (per_document 2)", _before("budget", "diversify")),
    ("with diversify (per_document 1)", _before("budget", {"name": "diversify",
                                                           "per_document": 1})),
    ("with lexical expansion (candidates expand)",
     _replacing("candidates", {"name": "candidates", "expand": True})),
    ("with rescore (MiniLM re-reads the best 50)",
     _before("collapse", {"name": "rescore", "model": "minilm"})),
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.ablation", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--set", type=Path, default=REPO / "eval" / "sets" / "treaties.jsonl")
    parser.add_argument("--model", help="the index's embedding model (POLICYQA_MODEL)")
    args = parser.parse_args(argv)

    from service.engine import AnswerEngine, load_embedder
    from service.settings import load_settings

    eval_set = load_set(args.set)
    if eval_set.kind != POLICYQA:
        parser.error("the ablation runs a PolicyQA JSONL set")
    base = load_settings(index_dir=args.index_dir, corpus_dir=args.corpus, model=args.model)
    embedder = load_embedder(base)
    print("| pipeline | " + " | ".join(METRICS) + f" | {COMPARISON_TAG} recall@10 | s |")
    print("|---|" + "---|" * (len(METRICS) + 2))
    judge = None
    for label, stages in ROWS:
        engine = AnswerEngine(base.model_copy(update={"ranking_stages": stages}), embedder)
        retriever = EngineRetriever(engine)
        judge = judge or make_judge(eval_set, retriever)
        started = time.perf_counter()
        result = run_mode(eval_set, retriever, judge, "hybrid", progress=False)
        seconds = time.perf_counter() - started
        compared = result.by_tag.get(COMPARISON_TAG, {}).get("recall@10")
        cells = [f"{result.metrics[m]:.3f}" for m in METRICS]
        cells.append("" if compared is None else f"{compared:.3f}")
        print(f"| {label} | " + " | ".join(cells) + f" | {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
