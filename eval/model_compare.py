"""Embedding models side by side in one run: build seconds, retrieval metrics and ask latency."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from eval.datasets import POLICYQA, load_set
from eval.runner import make_judge, run_mode

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
TREATY_SET = REPO / "eval" / "sets" / "treaties.jsonl"
SHOWN = ("recall@5", "recall@10", "mrr@10", "ndcg@10")


def build(model: str, corpus: Path, index_dir: Path) -> tuple[object, dict]:
    """A fresh index over the corpus with this model (the other settings as configured), and
    an engine on it."""
    from index.builder import IndexBuilder
    from service.engine import AnswerEngine, load_embedder
    from service.settings import load_settings

    settings = load_settings(model=model, corpus_dir=corpus, index_dir=index_dir)
    started = time.perf_counter()
    embedder = load_embedder(settings)
    load_s = time.perf_counter() - started
    report = IndexBuilder(index_dir, embedder, settings.chunk_settings(),
                          store_config=settings.store_config(),
                          embed_batch=settings.build_batch_size).build(corpus)
    engine = AnswerEngine(settings, embedder)
    engine.refresh()
    info = {"model": embedder.name, "dimension": embedder.dimension,
            "max_tokens": embedder.max_tokens, "load_s": round(load_s, 1),
            "build_s": round(report.seconds, 1), "documents": report.documents,
            "chunks": report.chunks, "truncated_chunks": report.truncated_chunks}
    print(f"{model}: built {report.chunks} chunks in {report.seconds:.0f} s "
          f"(truncated {report.truncated_chunks})", file=sys.stderr)
    return engine, info


def ask_latency(engines: dict[str, object], questions: list[str], mode: str, rounds: int
                ) -> dict[str, float]:
    """p50 ms of engine.ask(k=10); rounds interleave the models so a busy neighbour slows both."""
    timings: dict[str, list[float]] = {name: [] for name in engines}
    for engine in engines.values():
        engine.ask(questions[0], k=10, mode=mode)  # warm-up
    for _ in range(rounds):
        for name, engine in engines.items():
            for q in questions:
                started = time.perf_counter()
                engine.ask(q, k=10, mode=mode)
                timings[name].append(1000 * (time.perf_counter() - started))
    return {name: round(statistics.median(t), 2) for name, t in timings.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.model_compare", description=__doc__)
    parser.add_argument("--models", nargs="+", default=["minilm", "mpnet"])
    parser.add_argument("--set", type=Path, default=TREATY_SET, help="a PolicyQA JSONL set")
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPUS)
    parser.add_argument("--gate-subset", action="store_true", help="only the CI gate's 10 "
                        "documents (copied from --corpus) and the set's questions over them: "
                        "about a sixth of the full corpus's embedding time")
    parser.add_argument("--modes", nargs="+", default=["hybrid", "dense"])
    parser.add_argument("--rounds", type=int, default=2, help="latency passes over the set")
    parser.add_argument("--out", type=Path, default=Path("/tmp/model-compare"),
                        help="indexes go in OUT/<model>/index (built afresh), results in OUT")
    args = parser.parse_args(argv)

    from eval.retrieval import EngineRetriever

    eval_set = load_set(args.set)
    if eval_set.kind != POLICYQA:
        parser.error("--set must be a PolicyQA JSONL set (BEIR: policyqa eval run --model)")
    corpus = args.corpus
    if args.gate_subset:
        from eval.gate import copy_subset, gate_set

        eval_set = gate_set(args.set)
        corpus = copy_subset(args.corpus, args.out / "gate-corpus")
    load_before = os.getloadavg()[0]
    engines, rows = {}, {}
    for model in args.models:
        index_dir = args.out / model.replace("/", "_") / "index"
        if index_dir.exists():
            parser.error(f"{index_dir} exists: the build is timed afresh; remove it first")
        engines[model], rows[model] = build(model, corpus, index_dir)
    for model, engine in engines.items():
        retriever = EngineRetriever(engine)
        judge = make_judge(eval_set, retriever)
        for mode in args.modes:
            result = run_mode(eval_set, retriever, judge, mode, progress=False)
            rows[model][mode] = {m: round(result.metrics[m], 3) for m in SHOWN}
            rows[model][mode]["by_tag"] = {
                tag: {"questions": v["questions"], **{m: round(v[m], 3) for m in SHOWN}}
                for tag, v in result.by_tag.items()}
    questions = [q.text for q in eval_set.queries]
    for mode in args.modes:
        for model, p50 in ask_latency(engines, questions, mode, args.rounds).items():
            rows[model][f"ask_p50_ms_{mode}"] = p50

    header = {"set": eval_set.name, "corpus": str(corpus), "questions": len(questions),
              "date": time.strftime("%Y-%m-%d %H:%M"), "cores": len(os.sched_getaffinity(0)),
              "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
              "command": "python -m eval.model_compare " + " ".join(argv or sys.argv[1:])}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "compare.json").write_text(json.dumps({**header, "models": rows}, indent=2) + "\n")
    print(table(header, rows, args.modes))
    return 0


def table(header: dict, rows: dict[str, dict], modes: list[str]) -> str:
    lines = [f"{header['set']}: {header['questions']} questions; {header['cores']} cores, load "
             f"average {header['load_average'][0]} -> {header['load_average'][1]}", "",
             "| model | mode | " + " | ".join(SHOWN) + " | build s | chunks (truncated) "
             "| ask p50 ms |", "|---" * (len(SHOWN) + 5) + "|"]
    for row in rows.values():
        for mode in modes:
            lines.append(f"| {row['model']} | {mode} | "
                         + " | ".join(f"{row[mode][m]:.3f}" for m in SHOWN)
                         + f" | {row['build_s']:.0f} | {row['chunks']} ({row['truncated_chunks']}) "
                         f"| {row[f'ask_p50_ms_{mode}']:.1f} |")
    tags = sorted({t for row in rows.values() for mode in modes for t in row[mode]["by_tag"]})
    if tags:
        lines += ["", "| model | mode | question kind | n | recall@5 | recall@10 | mrr@10 |",
                  "|---|---|---|---|---|---|---|"]
        for row in rows.values():
            for mode in modes:
                for tag in tags:
                    v = row[mode]["by_tag"].get(tag)
                    if v:
                        lines.append(f"| {row['model']} | {mode} | {tag} | {v['questions']} | "
                                     f"{v['recall@5']:.3f} | {v['recall@10']:.3f} | "
                                     f"{v['mrr@10']:.3f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
