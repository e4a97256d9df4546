"""The `policyqa` command: build and inspect the index, ask questions, serve, fetch the corpus."""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from index.modes import MODES
from ingest.errors import PolicyQAError
from service.progress import progress_bars, progress_reporter
from service.settings import Settings, load_settings


class CliError(PolicyQAError):
    """A failure to report in one line, with a non-zero exit code."""


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        config=args.config, index_dir=args.index_dir, model=args.model,
        corpus_dir=getattr(args, "corpus", None), host=getattr(args, "host", None),
        port=getattr(args, "port", None))


def _builder(settings: Settings, bars: bool = False):
    """An index builder reporting progress on stderr: bars, or lines where `bars` is false."""
    from index.builder import IndexBuilder
    from service.engine import load_embedder

    return IndexBuilder(settings.index_dir, load_embedder(settings), settings.chunk_settings(),
                        store_config=settings.store_config(),
                        embed_batch=settings.build_batch_size,
                        progress=progress_reporter(bars), ocr=settings.ocr_settings())


def build_index(settings: Settings, full: bool = False, bars: bool = False):
    """Builds or updates the index over the settings' corpus folder; returns the report."""
    return _builder(settings, bars).build(settings.corpus_dir, full=full)


def _bars_wanted(args: argparse.Namespace) -> bool:
    """Progress bars: on a terminal, and not when the output is JSON."""
    return not args.json and sys.stderr.isatty()


SKIPPED_SHOWN = 20  # skipped files named in a summary; `index status` lists them all


def skipped_lines(skipped: list[dict], limit: int = SKIPPED_SHOWN) -> list[str]:
    """One line per skipped file with its reason, the first `limit`, then a count of the rest."""
    lines = [f"skipped {s['path']}: {s['reason']}"
             + (f" (kept the {s['kept']})" if s.get("kept") else "") for s in skipped[:limit]]
    if len(skipped) > limit:
        lines.append(f"... and {len(skipped) - limit} more skipped (`policyqa index status`)")
    return lines


def _print_report(report, as_json: bool, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if as_json:
        print(json.dumps(report.to_dict(), indent=2), file=stream)
        return
    print(f"generation {report.generation}: {report.documents} documents, {report.chunks} "
          f"chunks in {report.seconds:.1f} s ({'full' if report.full else 'incremental'}), "
          f"{len(report.skipped)} skipped", file=stream)
    print(f"  read {report.read_documents} documents, {report.unchanged_documents} unchanged, "
          f"{report.removed_documents} removed; embedded {report.embedded_chunks} chunks, "
          f"reused {report.reused_chunks}, deleted {report.deleted_chunks}; "
          f"truncated {report.truncated_chunks}", file=stream)
    if report.ocr_pages:
        print(f"  {report.ocr_pages} pages read by OCR", file=stream)
    for line in skipped_lines(report.skipped):
        print(f"  {line}", file=stream)
    if report.warnings:
        print(f"  {len(report.warnings)} warnings (see `policyqa index status --json`)",
              file=stream)


def cmd_index_build(args: argparse.Namespace) -> int:
    settings = _settings(args)
    tty = _bars_wanted(args)
    if args.workers is not None:
        report = _build_with_workers(settings, args, tty)
    else:
        report = build_index(settings, full=args.full, bars=tty)
    _print_report(report, args.json)
    return 0


def _build_with_workers(settings: Settings, args: argparse.Namespace, tty: bool):
    """Coordinator, N worker processes, finish: a staged build on this machine. A run killed at
    any point continues where it stopped when the same command is run again."""
    from index import staged

    if args.workers < 1:
        raise CliError(f"--workers takes a whole number of at least 1, got {args.workers}")
    builder = _builder(settings, tty)
    staged.plan(builder, settings.corpus_dir, shards=args.workers, full=args.full)
    _run_workers(settings, args, args.workers, tty)
    return staged.finish(builder)


def _die_with_parent() -> None:
    """In a worker: the kernel kills it when the coordinator dies, so a re-run finds no orphan
    still holding a shard."""
    import ctypes
    import signal

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _run_workers(settings: Settings, args: argparse.Namespace, n: int, tty: bool) -> None:
    import os
    import subprocess
    import time

    from index import staged

    logs = staged.staged_dir(settings.index_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0))
    env = {**os.environ, "POLICYQA_THREADS": str(max(1, (settings.threads or cores) // n))}
    common = ["--index-dir", str(settings.index_dir)]
    common += ["--config", str(args.config)] if args.config else []
    common += ["--model", args.model] if args.model else []
    workers = []
    for i in range(n):
        with (logs / f"worker-{i}.log").open("a") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "service.cli", "index", "work", "--worker", str(i),
                 "--of", str(n), *common], env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent))
    progress = progress_reporter(tty)
    while any(w.poll() is None for w in workers):
        time.sleep(0.5)
        pending = staged.status(settings.index_dir)
        if pending is not None:
            progress("embed", pending["done"], pending["chunks_to_embed"])
    failed = [(i, w.returncode) for i, w in enumerate(workers) if w.returncode != 0]
    if failed:
        i, code = failed[0]
        lines = (logs / f"worker-{i}.log").read_text(errors="replace").strip().splitlines()
        raise CliError(f"worker {i} of {n} failed (exit code {code}): "
                       f"{lines[-1] if lines else 'no output'} (log: {logs}/worker-{i}.log); "
                       "run the same command again to resume")


def cmd_index_plan(args: argparse.Namespace) -> int:
    import time

    from index import staged

    settings = _settings(args)
    asked = time.time()
    plan = staged.plan(_builder(settings), settings.corpus_dir, shards=args.shards, full=args.full)
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2))
        return 0
    report = plan.report
    if plan.created < asked:
        print(f"a staged build is already pending (planned {time.ctime(plan.created)}): "
              "resuming it")
    print(f"staged build over {plan.corpus}: {plan.chunks_to_embed} chunks to embed in "
          f"{plan.shards} shards; read {report.read_documents} documents, "
          f"{report.unchanged_documents} unchanged; reused {report.reused_chunks} chunks")
    print("next: `policyqa index work --worker I --of N` for I = 0 .. N-1 (N at most "
          f"{plan.shards}), then `policyqa index finish`")
    return 0


def cmd_index_work(args: argparse.Namespace) -> int:
    from index import staged
    from service.engine import load_embedder

    settings = _settings(args)
    report = staged.work(settings.index_dir, load_embedder(settings), settings.store_config(),
                         args.worker, args.of, embed_batch=settings.build_batch_size,
                         progress=_shard_progress(args))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    print(f"worker {report.worker} of {report.of}: shards {report.shards}, {report.chunks} "
          f"chunks, {report.already_done} already embedded, embedded {report.embedded} in "
          f"{report.seconds:.1f} s")
    return 0


def _shard_progress(args: argparse.Namespace):
    """tqdm bars on a terminal; otherwise one line (JSON with --json) on stderr per batch."""
    if _bars_wanted(args):
        bars = progress_bars()
        return lambda shard, done, total: bars(f"shard {shard}", done, total)

    def line(shard: int, done: int, total: int) -> None:
        if args.json:
            text = json.dumps({"worker": args.worker, "of": args.of, "shard": shard,
                               "done": done, "total": total})
        else:
            text = f"policyqa: worker {args.worker} of {args.of}: shard {shard}: {done}/{total} chunks"
        print(text, file=sys.stderr, flush=True)

    return line


def cmd_index_finish(args: argparse.Namespace) -> int:
    from index import staged

    settings = _settings(args)
    _print_report(staged.finish(_builder(settings, _bars_wanted(args))), args.json)
    return 0


def cmd_index_abandon(args: argparse.Namespace) -> int:
    from index import staged

    settings = _settings(args)
    dropped = staged.abandon(settings.index_dir, settings.store_config())
    print("dropped the staged build" if dropped else f"no staged build in {settings.index_dir}")
    return 0


def cmd_index_status(args: argparse.Namespace) -> int:
    from index import staged
    from index.generations import current_generation, read_manifest
    from ingest.ocr import OCR_SUMMARY

    settings = _settings(args)
    live = current_generation(settings.index_dir)
    pending = staged.status(settings.index_dir)
    if live is None and pending is None:
        raise CliError(f"no index in {settings.index_dir}: run `policyqa index build`")
    status: dict = {"index_dir": str(settings.index_dir), "generation": None}
    if live is not None:
        manifest = read_manifest(live)
        status.update({"generation": manifest.generation, "documents": manifest.documents,
                       "chunks": manifest.chunks, "model": manifest.model,
                       "corpus": manifest.corpus, "chunking": manifest.fingerprint.chunking,
                       "truncated_chunks": manifest.truncated_chunks,
                       "ocr_pages": manifest.ocr_pages,
                       "skipped": manifest.skipped, "warnings": manifest.warnings})
    status["staged_build"] = pending
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    if live is not None:
        for key in ("index_dir", "generation", "documents", "chunks", "model", "corpus",
                    "chunking", "truncated_chunks", "ocr_pages"):
            print(f"{key:>17}: {status[key]}")
        # The PDF reader's one summary line per document OCR read ("OCR read 14 of 14 pages").
        for w in status["warnings"]:
            if w["warning"].startswith(OCR_SUMMARY):
                print(f"{'':>19}{w['path']}: {w['warning']}")
        print(f"{'skipped':>17}: {len(status['skipped'])}")
        for s in status["skipped"]:
            print(f"{'':>19}{s['path']}: {s['reason']}")
        print(f"{'warnings':>17}: {len(status['warnings'])}")
    else:
        print(f"{'index_dir':>17}: {status['index_dir']} (no generation published yet)")
    if pending is not None:
        print(f"{'staged build':>17}: {pending['done']}/{pending['chunks_to_embed']} chunks "
              f"embedded in {pending['shards']} shards ({pending['store']}; finish with "
              "`policyqa index finish`)")
        for shard in pending["per_shard"]:
            where = f" ({shard['host']} pid {shard['pid']})" if shard["host"] else ""
            print(f"{'':>19}shard {shard['shard']}: {shard['done']}/{shard['chunks']} "
                  f"{shard['state']}{where}")
    return 0


def _filters(args: argparse.Namespace) -> dict[str, list[str | int]]:
    filters: dict[str, list[str | int]] = {}
    for item in args.filter or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--filter takes NAME=VALUE, got {item!r}")
        filters.setdefault(name, []).append(value)
    return filters


def _check_ask_bounds(args: argparse.Namespace) -> None:
    """The HTTP API's bounds on -k and --max-context-tokens, so both answer alike."""
    from service.api_models import MAX_CONTEXT_TOKENS, MAX_K

    if not 1 <= args.k <= MAX_K:
        raise CliError(f"-k takes a whole number from 1 to {MAX_K}, got {args.k}")
    tokens = args.max_context_tokens
    if tokens is not None and not 1 <= tokens <= MAX_CONTEXT_TOKENS:
        raise CliError(f"--max-context-tokens takes a whole number from 1 to "
                       f"{MAX_CONTEXT_TOKENS:,}, got {tokens}")


def cmd_ask(args: argparse.Namespace) -> int:
    from service.engine import AnswerEngine

    _check_ask_bounds(args)
    settings = _settings(args)
    engine = AnswerEngine(settings)
    if not engine.refresh():
        raise CliError(f"no index in {settings.index_dir}: run `policyqa index build`")
    answer = engine.ask(args.question, k=args.k, mode=args.mode,
                        document_ids=args.document or None, filters=_filters(args) or None,
                        max_context_tokens=args.max_context_tokens)
    for warning in answer.warnings:
        print(f"policyqa: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(asdict(answer), indent=2, ensure_ascii=False))
        return 0
    for p in answer.passages:
        c = p.citation
        print(f"{p.rank}. {c.text}  [score {p.score:.4f}]")
        if c.title != c.short_title:
            print(f"   {c.title}")
        if c.label:
            print(f"   cite as: {c.label}")
        if c.in_force == "false":
            print("   NOT IN FORCE (an amendment the source lists as not in force)")
        ocr = " (text read by OCR: check the page)" if c.ocr else ""
        print(f"   {c.document_id} chars {c.char_start}-{c.char_end}{ocr}")
        for copy in p.also_in:
            print(f"   also in: {copy.text} ({copy.document_id} chars "
                  f"{copy.char_start}-{copy.char_end})")
        shown = " ".join(p.text[s:e] for s, e in p.highlights) or p.text
        print(textwrap.indent(textwrap.fill(" ".join(shown.split())[:600], 96), "   "))
        print()
    print(f"({len(answer.passages)} passages, generation {answer.generation}, "
          f"{answer.took_ms:.0f} ms)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Serves the corpus as it is now: when the live index was built from another folder, with
    other settings, or before files were added, changed or removed, it is updated first."""
    from index.freshness import index_changes
    from index.generations import current_generation
    from service.app import serve
    from service.engine import AnswerEngine

    settings = _settings(args)
    builder = _builder(settings, bars=sys.stderr.isatty())
    if args.no_update:
        if current_generation(settings.index_dir) is None:
            raise CliError(f"no index in {settings.index_dir} to serve as it is: run "
                           "`policyqa index build`, or serve without --no-update")
        print(f"policyqa: serving the index in {settings.index_dir} as it is (--no-update)",
              file=sys.stderr)
        changes = []
    elif args.rebuild:
        changes = ["--rebuild was given"]
    else:
        changes = index_changes(builder, settings.corpus_dir)
    if changes:
        print(f"policyqa: updating the index in {settings.index_dir} from "
              f"{settings.corpus_dir.resolve()}: {'; '.join(changes)}", file=sys.stderr)
        report = builder.build(settings.corpus_dir)
        _print_report(report, as_json=False, stream=sys.stderr)
    elif not args.no_update:
        print(f"policyqa: the index in {settings.index_dir} is up to date with "
              f"{settings.corpus_dir.resolve()}", file=sys.stderr)
    serve(settings, AnswerEngine(settings, embedder=builder.embedder))
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
    build.add_argument("--workers", type=int, metavar="N", help="embed in N worker processes "
                       "(a staged build; run the same command again to resume a killed one)")
    build.set_defaults(func=cmd_index_build)
    status = index.add_parser("status", parents=[common], help="what the live index holds, "
                              "and a pending staged build's progress")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_index_status)
    plan = index.add_parser("plan", parents=[common], help="staged build, step 1: read and "
                            "chunk the corpus, write the embedding work as shards")
    plan.add_argument("--corpus", type=Path, help="corpus folder (POLICYQA_CORPUS_DIR; "
                      "default corpus/)")
    plan.add_argument("--shards", type=int, required=True, metavar="S",
                      help="shard count: at least the number of workers")
    plan.add_argument("--full", action="store_true", help="re-read and re-embed everything")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(func=cmd_index_plan)
    work = index.add_parser("work", parents=[common], help="staged build, step 2: worker I of N "
                            "embeds shards I, I+N, ...; run again to resume")
    work.add_argument("--worker", type=int, required=True, metavar="I", help="0 .. N-1")
    work.add_argument("--of", type=int, required=True, metavar="N", help="number of workers")
    work.add_argument("--json", action="store_true", help="JSON progress lines and report")
    work.set_defaults(func=cmd_index_work)
    finish = index.add_parser("finish", parents=[common], help="staged build, step 3: check "
                              "every chunk has its vector, then publish the generation")
    finish.add_argument("--json", action="store_true", help="print the build report as JSON")
    finish.set_defaults(func=cmd_index_finish)
    abandon = index.add_parser("abandon", parents=[common], help="drop a pending staged build "
                               "(and its Milvus collection)")
    abandon.set_defaults(func=cmd_index_abandon)

    ask = sub.add_parser("ask", parents=[common], help="ask a question")
    ask.add_argument("question")
    ask.add_argument("-k", type=int, default=5, help="passages to return, 1..50 (default 5)")
    ask.add_argument("--mode", default="hybrid", choices=list(MODES))
    ask.add_argument("--document", action="append", help="only this document id (repeatable)")
    ask.add_argument("--filter", action="append", metavar="NAME=VALUE",
                     help="jurisdiction, instrument_type, year or in_force (repeatable)")
    ask.add_argument("--max-context-tokens", type=int, help="fit passages to this budget")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.set_defaults(func=cmd_ask)

    serve = sub.add_parser("serve", parents=[common], help="update the index when the corpus "
                           "(or its folder) changed, then serve HTTP")
    serve.add_argument("--corpus", type=Path)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    update = serve.add_mutually_exclusive_group()
    update.add_argument("--rebuild", action="store_true", help="update the index before serving "
                        "even when nothing seems to have changed")
    update.add_argument("--no-update", action="store_true", help="serve the live index as it "
                        "is, without comparing it with the corpus (a copied or scaled index)")
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
    run.add_argument("--mode", default="hybrid", choices=[*MODES, "all"])
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
    try:
        return args.func(args)
    except PolicyQAError as exc:
        print(f"policyqa: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
