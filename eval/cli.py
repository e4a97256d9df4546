"""`policyqa eval run`: load a set, find or build its index, evaluate each mode, write the reports."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from eval.datasets import BEIR, LEGALBENCH, POLICYQA, EvalSet, EvalSetError, load_set
from eval.indexes import build_cached, folder_index, write_beir_corpus
from eval.judges import QuoteJudge, SpanJudge
from eval.report import markdown, plot, summary_table, write_json
from eval.retrieval import EngineRetriever, Retriever, ServerRetriever
from eval.runner import MODES_ALL, make_judge, run_mode, worst
from index.embedder import Embedder
from ingest.errors import PolicyQAError
from service.settings import Settings

WORST_SHOWN = 10


def _fail(message: str) -> int:
    print(f"policyqa: error: {message}", file=sys.stderr)
    return 2


def prepare_index(eval_set: EvalSet, settings: Settings, embedder: Embedder,
                  explicit_index: bool) -> Path:
    """The index to evaluate: the configured one when it covers the set's corpus, else cached."""
    if eval_set.kind == POLICYQA:
        return folder_index(eval_set.name, settings.corpus_dir, settings, embedder,
                            settings.index_dir, insist=explicit_index)
    if eval_set.kind == BEIR:
        assert eval_set.beir_corpus is not None
        folder, key = write_beir_corpus(eval_set.beir_corpus, eval_set.name)
        return build_cached(eval_set.name, folder, key, settings, embedder)
    assert eval_set.corpus_dir is not None
    return folder_index(eval_set.name, eval_set.corpus_dir, settings, embedder)


def make_retriever(args: argparse.Namespace, eval_set: EvalSet, settings: Settings
                   ) -> tuple[Retriever, dict]:
    if args.server:
        corpus = eval_set.corpus_dir if eval_set.kind == LEGALBENCH else settings.corpus_dir
        return ServerRetriever(args.server, corpus), {"server": args.server}
    from service.engine import AnswerEngine, load_embedder

    embedder = load_embedder(settings)
    index_dir = prepare_index(eval_set, settings, embedder, args.index_dir is not None)
    engine = AnswerEngine(settings.model_copy(update={"index_dir": index_dir}), embedder)
    retriever = EngineRetriever(engine)
    s = engine.searcher
    assert s is not None
    info = {"dir": str(index_dir), "generation": s.generation, "documents": s.document_count,
            "chunks": s.chunk_count, "model": s.manifest.model,
            "chunking": s.manifest.fingerprint.chunking}
    return retriever, info


def command_line(args: argparse.Namespace) -> str:
    """The command reproducing this run, from the parsed arguments (not sys.argv: in-process
    callers such as tests have none)."""
    words = ["policyqa", "eval", "run", str(args.set), "--mode", args.mode]
    for flag, value in (("--corpus", args.corpus), ("--index-dir", args.index_dir),
                        ("--model", args.model), ("--config", args.config),
                        ("--limit", args.limit), ("--server", args.server), ("--out", args.out)):
        if value is not None:
            words += [flag, str(value)]
    if args.k:
        words += ["--k", *map(str, args.k)]
    return shlex.join(words)


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    try:
        eval_set = load_set(Path(args.set)).limited(args.limit)
    except EvalSetError as exc:
        return _fail(str(exc))
    if eval_set.kind == POLICYQA and not settings.corpus_dir.is_dir():
        return _fail(f"corpus folder {settings.corpus_dir} does not exist (use --corpus)")
    if args.server and eval_set.kind == BEIR:
        return _fail("--server evaluates PolicyQA and LegalBench sets only: a BEIR corpus must "
                     "be indexed by the evaluation itself")
    if eval_set.kind == POLICYQA:
        missing = sorted({g.document for q in eval_set.queries for g in q.quotes
                          if not (settings.corpus_dir / g.document).is_file()})
        if missing:
            return _fail(f"{len(missing)} gold documents are not in the corpus folder "
                         f"{settings.corpus_dir} (e.g. {missing[0]}); pass --corpus")
    modes = list(MODES_ALL) if args.mode == "all" else [args.mode]
    try:
        retriever, index_info = make_retriever(args, eval_set, settings)
        # `depth` (chunks retrieved per question) has no flag yet; callers may set it.
        judge = make_judge(eval_set, retriever, tuple(args.k) if args.k else None,
                           getattr(args, "depth", None))
        if isinstance(judge, QuoteJudge) and judge.unlocated:
            print(f"warning: {len(judge.unlocated)} gold quotes not located; they count as "
                  "missed", file=sys.stderr)
        results = [run_mode(eval_set, retriever, judge, mode) for mode in modes]
    except (OSError, RuntimeError, PolicyQAError) as exc:
        # Server unreachable or refusing, no documents to index, no index to load, a failed build.
        return _fail(f"{type(exc).__name__}: {exc}")
    extra: dict = {}
    if isinstance(judge, QuoteJudge):
        extra["unlocated_quotes"] = judge.unlocated
    if isinstance(judge, SpanJudge):
        extra["offset_check"] = judge.offset_check()
    header = {"set": eval_set.name, "path": str(eval_set.path), "format": eval_set.kind,
              "questions": len(eval_set.queries), "depth": judge.depth, "ks": list(judge.ks),
              "index": index_info, "command": command_line(args),
              "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
              "corpus": str(settings.corpus_dir) if eval_set.kind == POLICYQA else None}
    print(f"{eval_set.name}: {len(eval_set.queries)} questions, {judge.depth} chunks each")
    print(summary_table(results))
    if args.out:
        out: Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "results.json", header, results, extra)
        worst_rows = {r.mode: worst(r, judge, WORST_SHOWN) for r in results}
        (out / "report.md").write_text(markdown(header, results, worst_rows, extra),
                                       encoding="utf-8")
        plot(out / "recall.png", results, eval_set.name)
        print(f"wrote {out / 'results.json'}, {out / 'report.md'}, {out / 'recall.png'}")
    return 0
