"""The `policyqa` command: build and inspect the index, ask questions, serve, fetch the corpus."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

from service.settings import Settings, SettingsError, load_settings


class CliError(Exception):
    """A failure to report in one line, with a non-zero exit code."""


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        config=args.config, index_dir=args.index_dir, model=args.model,
        corpus_dir=getattr(args, "corpus", None), host=getattr(args, "host", None),
        port=getattr(args, "port", None))


def _progress_printer(enabled: bool):
    """A progress callback drawing tqdm bars on stderr, one per stage."""
    if not enabled:
        return None
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="chunk" if stage == "embed"
                                     else "file", leave=False, file=sys.stderr)
        if total != bar.total:
            bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            bars.pop(stage, None)

    return progress


def build_index(settings: Settings, full: bool = False, progress: bool = False):
    """Builds or updates the index over the settings' corpus folder; returns the report."""
    from index.builder import IndexBuilder
    from service.engine import load_embedder

    builder = IndexBuilder(settings.index_dir, load_embedder(settings),
                           settings.chunk_settings(), store_kind=settings.vector_store,
                           embed_batch=max(settings.embed_batch_size, 64),
                           progress=_progress_printer(progress))
    return builder.build(settings.corpus_dir, full=full)


def cmd_index_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    report = build_index(settings, full=args.full, progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"generation {report.generation}: {report.documents} documents, {report.chunks} "
          f"chunks in {report.seconds:.1f} s ({'full' if report.full else 'incremental'})")
    print(f"  read {report.read_documents} documents, {report.unchanged_documents} unchanged, "
          f"{report.removed_documents} removed; embedded {report.embedded_chunks} chunks, "
          f"reused {report.reused_chunks}, deleted {report.deleted_chunks}; "
          f"truncated {report.truncated_chunks}")
    for s in report.skipped:
        kept = f" (kept the {s['kept']})" if s.get("kept") else ""
        print(f"  skipped {s['path']}: {s['reason']}{kept}")
    if report.warnings:
        print(f"  {len(report.warnings)} warnings (see `policyqa index status --json`)")
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    from index.generations import current_generation, read_manifest

    settings = _settings(args)
    live = current_generation(settings.index_dir)
    if live is None:
        raise CliError(f"no index in {settings.index_dir}: run `policyqa index build`")
    manifest = read_manifest(live)
    status = {"index_dir": str(settings.index_dir), "generation": manifest["generation"],
              "documents": manifest["documents"], "chunks": manifest["chunks"],
              "model": manifest["model"], "corpus": manifest.get("corpus"),
              "chunking": manifest["fingerprint"]["chunking"],
              "truncated_chunks": manifest["truncated_chunks"],
              "skipped": manifest["skipped"], "warnings": manifest["warnings"]}
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    for key in ("index_dir", "generation", "documents", "chunks", "model", "corpus",
                "chunking", "truncated_chunks"):
        print(f"{key:>17}: {status[key]}")
    print(f"{'skipped':>17}: {len(status['skipped'])}")
    for s in status["skipped"]:
        print(f"{'':>19}{s['path']}: {s['reason']}")
    print(f"{'warnings':>17}: {len(status['warnings'])}")
    return 0


def _filters(args: argparse.Namespace) -> dict[str, list[str | int]]:
    filters: dict[str, list[str | int]] = {}
    for item in args.filter or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--filter takes NAME=VALUE, got {item!r}")
        filters.setdefault(name, []).append(value)
    return filters


def cmd_ask(args: argparse.Namespace) -> int:
    from service.engine import AnswerEngine

    settings = _settings(args)
    engine = AnswerEngine(settings)
    if not engine.refresh():
        raise CliError(f"no index in {settings.index_dir}: run `policyqa index build`")
    answer = engine.ask(args.question, k=args.k, mode=args.mode,
                        document_ids=args.document or None, filters=_filters(args) or None,
                        max_context_tokens=args.max_context_tokens)
    if args.json:
        print(json.dumps(asdict(answer), indent=2, ensure_ascii=False))
        return 0
    for p in answer.passages:
        c = p.citation
        page = ""
        if c.page_start is not None:
            label = c.page_label_start if c.page_label_start == c.page_label_end \
                else f"{c.page_label_start}-{c.page_label_end}"
            page = f", p. {label} (PDF page {c.page_start})"
        print(f"{p.rank}. {c.title}: {c.section or '(no heading)'}{page}  [score {p.score:.4f}]")
        print(f"   {c.document_id} chars {c.char_start}-{c.char_end}")
        shown = " ".join(p.text[s:e] for s, e in p.highlights) or p.text
        print(textwrap.indent(textwrap.fill(" ".join(shown.split())[:600], 96), "   "))
        print()
    print(f"({len(answer.passages)} passages, generation {answer.generation}, "
          f"{answer.took_ms:.0f} ms)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from index.generations import current_generation
    from service.app import serve

    settings = _settings(args)
    if current_generation(settings.index_dir) is None or args.rebuild:
        print(f"building the index over {settings.corpus_dir} into {settings.index_dir} ...",
              file=sys.stderr)
        report = build_index(settings, progress=sys.stderr.isatty())
        print(f"generation {report.generation}: {report.documents} documents, "
              f"{report.chunks} chunks, {len(report.skipped)} skipped", file=sys.stderr)
    serve(settings)
    return 0


def cmd_corpus_fetch(args: argparse.Namespace) -> int:
    from ingest.fetch import fetch_corpus

    settings = _settings(args)
    result = fetch_corpus(settings.corpus_dir, mirror=args.mirror)
    for line in result.lines():
        print(line)
    return 1 if result.failed else 0


def cmd_eval_run(args: argparse.Namespace) -> int:
    from eval.cli import run_eval

    return run_eval(args, _settings(args))


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML settings file (or POLICYQA_CONFIG)")
    common.add_argument("--index-dir", type=Path, help="index folder (POLICYQA_INDEX_DIR; "
                        "default .policyqa)")
    common.add_argument("--model", help="embedding model name or folder (POLICYQA_MODEL)")
    top = argparse.ArgumentParser(prog="policyqa", description="Cited passage retrieval over "
                                  "treaty, legislation and policy texts.")
    sub = top.add_subparsers(dest="command", required=True)

    index = sub.add_parser("index", help="build or inspect the index").add_subparsers(
        dest="action", required=True)
    build = index.add_parser("build", parents=[common], help="build or update the index")
    build.add_argument("--corpus", type=Path, help="corpus folder (POLICYQA_CORPUS_DIR; "
                       "default corpus/)")
    build.add_argument("--full", action="store_true", help="re-read and re-embed everything")
    build.add_argument("--json", action="store_true", help="print the build report as JSON")
    build.set_defaults(func=cmd_index_build)
    status = index.add_parser("status", parents=[common], help="what the live index holds")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_index_status)

    ask = sub.add_parser("ask", parents=[common], help="ask a question")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="passages to return (default 5)")
    ask.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "lexical"])
    ask.add_argument("--document", action="append", help="only this document id (repeatable)")
    ask.add_argument("--filter", action="append", metavar="NAME=VALUE",
                     help="jurisdiction, instrument_type or year (repeatable)")
    ask.add_argument("--max-context-tokens", type=int, help="fit passages to this budget")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(func=cmd_ask)

    serve = sub.add_parser("serve", parents=[common], help="build the index if missing, "
                           "then serve HTTP")
    serve.add_argument("--corpus", type=Path)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--rebuild", action="store_true", help="update the index before serving")
    serve.set_defaults(func=cmd_serve)

    corpus = sub.add_parser("corpus", help="manage the corpus folder").add_subparsers(
        dest="action", required=True)
    fetch = corpus.add_parser("fetch", parents=[common], help="fill the corpus folder with the "
                              "catalogue's documents")
    fetch.add_argument("--corpus", type=Path, help="corpus folder (default corpus/)")
    fetch.add_argument("--from", dest="mirror", type=Path,
                       help="copy from this local mirror instead of downloading")
    fetch.set_defaults(func=cmd_corpus_fetch)

    evaluation = sub.add_parser("eval", help="retrieval evaluation").add_subparsers(
        dest="action", required=True)
    run = evaluation.add_parser("run", parents=[common], help="evaluate on a set")
    run.add_argument("set", help="a PolicyQA JSONL file, a BEIR folder or a LegalBench-RAG "
                     "folder")
    run.add_argument("--corpus", type=Path, help="corpus folder for a JSONL set")
    run.add_argument("--mode", default="hybrid", choices=["hybrid", "dense", "lexical", "all"])
    run.add_argument("--k", type=int, nargs="+", help="cut-offs to report")
    run.add_argument("--out", type=Path, help="write JSON, markdown and PNG reports here")
    run.add_argument("--limit", type=int, help="evaluate only the first N questions")
    run.add_argument("--server", help="evaluate a running server at this base URL instead")
    run.set_defaults(func=cmd_eval_run)

    # Listed here for `policyqa --help`; main() hands its arguments to eval.bench untouched.
    sub.add_parser("bench", add_help=False, help="the performance benchmarks (`policyqa bench "
                   "--help`; eval/bench.py)")
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from eval.bench import main as bench_main

        return bench_main(argv[1:])
    args = parser().parse_args(argv)
    from index.builder import BuildError
    from index.embedder import ModelError
    from index.generations import BuildLockedError, IndexNotFoundError
    from service.engine import QuestionError

    try:
        return args.func(args)
    except (CliError, SettingsError, BuildError, BuildLockedError, IndexNotFoundError,
            ModelError, QuestionError) as exc:
        print(f"policyqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
