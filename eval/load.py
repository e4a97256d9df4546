"""Load test: N concurrent clients against a loopback server for a bounded time, with an optional rebuild."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sqlite3
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from eval.server import ServeProcess, ServerError, free_port

REPO = Path(__file__).resolve().parents[1]
DEFAULT_QUESTIONS = REPO / "eval" / "sets" / "treaties.jsonl"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_DURATION = 600.0  # seconds: a load test is bounded, whatever the flags say
MAX_CLIENTS = 256


@dataclass(slots=True)
class Sample:
    started: float
    finished: float
    status: int  # 0 for a transport error
    generation: int | None = None
    passages: list[tuple[str, int, int, str]] = field(default_factory=list)
    error: str = ""


@dataclass(slots=True)
class Rebuild:
    requested_at: float | None = None
    finished_at: float | None = None
    state: str = "not requested"
    error: str = ""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__)
    p.add_argument("--base-url", help="a running server on this machine (loopback only); "
                   "default: start `policyqa serve` over --corpus/--index-dir")
    p.add_argument("--corpus", type=Path, help="corpus for the server this command starts")
    p.add_argument("--index-dir", type=Path, help="index folder for the server this command "
                   "starts (built on first start); also used to check passages per generation")
    p.add_argument("--server-pid", type=int, help="pid of the server at --base-url, for RSS "
                   "(default: the process listening on its port, when visible)")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--duration", type=float, default=60.0, help="seconds (max 600)")
    p.add_argument("--max-requests", type=int, default=200_000, help="stop after this many")
    p.add_argument("--warmup", type=float, default=None, help="seconds before the RSS baseline "
                   "(default: 15%% of --duration, at least 5 s)")
    p.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS,
                   help="JSONL with a 'question' field per line (default: eval/sets/treaties.jsonl)")
    p.add_argument("-k", type=int, default=5, help="passages per question")
    p.add_argument("--rebuild-at", type=float, help="seconds into the run to POST "
                   "/v1/index/rebuild, then check no answer mixes generations")
    p.add_argument("--admin-key", default=os.environ.get("POLICYQA_ADMIN_KEY"),
                   help="bearer key for the rebuild (default $POLICYQA_ADMIN_KEY; a server this "
                   "command starts gets a random one)")
    p.add_argument("--max-rss-growth", type=float, default=10.0, help="percent; fail above")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    if not 1 <= args.clients <= MAX_CLIENTS:
        p.error(f"--clients must be 1..{MAX_CLIENTS}")
    if not 0 < args.duration <= MAX_DURATION:
        p.error(f"--duration must be in (0, {MAX_DURATION:g}] seconds")
    if args.base_url:
        host = urllib.parse.urlsplit(args.base_url).hostname or ""
        if host not in LOOPBACK:
            p.error(f"--base-url must point at this machine ({', '.join(sorted(LOOPBACK))}), "
                    f"not {host!r}")
    elif not (args.corpus and args.index_dir):
        p.error("give --base-url, or --corpus and --index-dir for a server to start")
    return args


def load_questions(path: Path) -> list[str]:
    questions = [json.loads(line)["question"] for line in path.read_text().splitlines()
                 if line.strip()]
    if not questions:
        raise SystemExit(f"no questions in {path}")
    return questions


def listening_pid(base_url: str) -> int | None:
    port = urllib.parse.urlsplit(base_url).port or 80
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
                return conn.pid
    except psutil.AccessDenied:
        return None
    return None


def rss(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return None


async def client_loop(http: httpx.AsyncClient, questions: list[str], offset: int, k: int,
                      stop_at: float, budget: list[int], samples: list[Sample]) -> None:
    n = offset
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1
        question = questions[n % len(questions)]
        n += 1
        started = time.monotonic()
        try:
            r = await http.post("/v1/ask", json={"question": question, "k": k})
        except httpx.HTTPError as exc:
            samples.append(Sample(started, time.monotonic(), 0, error=type(exc).__name__))
            continue
        sample = Sample(started, time.monotonic(), r.status_code)
        if r.status_code == 200:
            body = r.json()
            sample.generation = body["index"]["generation"]
            sample.passages = [(p["citation"]["document_id"], p["citation"]["char_start"],
                                p["citation"]["char_end"], p["text"]) for p in body["passages"]]
        else:
            sample.error = r.text[:200]
        samples.append(sample)


async def rebuild_at(http: httpx.AsyncClient, delay: float, key: str, rebuild: Rebuild,
                     stop_at: float) -> None:
    await asyncio.sleep(delay)
    headers = {"Authorization": f"Bearer {key}"}
    rebuild.requested_at = time.monotonic()
    r = await http.post("/v1/index/rebuild", headers=headers)
    if r.status_code != 202:
        rebuild.state, rebuild.error = "refused", f"{r.status_code} {r.text[:200]}"
        return
    while time.monotonic() < stop_at + 600:
        status = (await http.get("/v1/index/status", headers=headers)).json()
        if status["state"] in ("succeeded", "failed"):
            rebuild.state, rebuild.error = status["state"], status.get("error") or ""
            rebuild.finished_at = time.monotonic()
            return
        await asyncio.sleep(0.5)
    rebuild.state = "timed out"


async def sample_rss(pid: int | None, stop_at: float, warmup_at: float, out: dict) -> None:
    while time.monotonic() < stop_at:
        value = rss(pid)
        if value is not None:
            out["max"] = max(out.get("max", 0), value)
            if time.monotonic() >= warmup_at and "warm" not in out:
                out["warm"] = value
        await asyncio.sleep(1.0)


async def run(args: argparse.Namespace, base_url: str, pid: int | None, key: str | None
              ) -> tuple[list[Sample], Rebuild, dict, float]:
    questions = load_questions(args.questions)
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    timeout = httpx.Timeout(120.0)
    samples: list[Sample] = []
    rebuild = Rebuild()
    memory: dict = {}
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as http:
        started = time.monotonic()
        stop_at = started + args.duration
        warmup = args.warmup if args.warmup is not None else max(5.0, 0.15 * args.duration)
        budget = [args.max_requests]
        tasks = [client_loop(http, questions, i * 7, args.k, stop_at, budget, samples)
                 for i in range(args.clients)]
        tasks.append(sample_rss(pid, stop_at, started + warmup, memory))
        if args.rebuild_at is not None:
            tasks.append(rebuild_at(http, args.rebuild_at, key or "", rebuild, stop_at))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
    memory["end"] = rss(pid)
    if memory["end"] is not None:
        memory["max"] = max(memory.get("max", 0), memory["end"])
    return samples, rebuild, memory, elapsed


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def generation_violations(samples: list[Sample]) -> list[str]:
    """Answers from an older generation that started after a newer one had been answered."""
    problems = []
    newest_seen: tuple[float, int] | None = None  # (finished, generation) of the first newest
    for s in sorted((s for s in samples if s.generation is not None), key=lambda s: s.finished):
        if newest_seen is None or s.generation > newest_seen[1]:
            newest_seen = (s.finished, s.generation)
    if newest_seen is None:
        return problems
    switch, newest = newest_seen
    for s in samples:
        if s.generation is not None and s.generation < newest and s.started > switch:
            problems.append(f"generation {s.generation} answered a request started "
                            f"{s.started - switch:.3f} s after generation {newest} was live")
    return problems


def passage_mismatches(samples: list[Sample], index_dir: Path | None) -> tuple[int, list[str]]:
    """Checks each distinct passage against its document's text in the generation it names."""
    if index_dir is None:
        return 0, []
    wanted: dict[int, set[tuple[str, int, int, str]]] = {}
    for s in samples:
        if s.generation is not None:
            wanted.setdefault(s.generation, set()).update(s.passages)
    checked, problems = 0, []
    for generation, passages in wanted.items():
        db = index_dir / f"gen-{generation:06d}" / "chunks.sqlite"
        if not db.exists():
            problems.append(f"generation {generation} is gone from {index_dir}; not checked")
            continue
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        texts: dict[str, str] = {}
        for document_id, start, end, text in passages:
            if document_id not in texts:
                row = con.execute("SELECT text FROM documents WHERE id = ?",
                                  (document_id,)).fetchone()
                texts[document_id] = row[0] if row else ""
            checked += 1
            if texts[document_id][start:end] != text:
                problems.append(f"generation {generation}: {document_id} [{start}:{end}] "
                                "differs from the passage served")
        con.close()
    return checked, problems


def summarize(samples: list[Sample], rebuild: Rebuild, memory: dict, elapsed: float,
              index_dir: Path | None) -> dict:
    ok = [s for s in samples if s.status == 200]
    errors = [s for s in samples if s.status != 200]
    latencies = [(s.finished - s.started) * 1000 for s in ok]
    warm, end = memory.get("warm"), memory.get("end")
    growth = round((end - warm) / warm * 100, 2) if warm and end else None
    checked, mismatches = passage_mismatches(samples, index_dir)
    by_status: dict[str, int] = {}
    for s in errors:
        by_status[str(s.status or s.error)] = by_status.get(str(s.status or s.error), 0) + 1
    return {
        "requests": len(samples), "ok": len(ok), "errors": len(errors),
        "errors_by_status": by_status, "first_errors": [s.error for s in errors[:5]],
        "seconds": round(elapsed, 2), "req_per_s": round(len(samples) / elapsed, 2),
        "p50_ms": round(percentile(latencies, 50), 1), "p90_ms": round(percentile(latencies, 90), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
        "rss_warm_mb": round(warm / 2**20, 1) if warm else None,
        "rss_end_mb": round(end / 2**20, 1) if end else None,
        "rss_max_mb": round(memory["max"] / 2**20, 1) if memory.get("max") else None,
        "rss_growth_pct": growth,
        "generations": sorted({s.generation for s in ok if s.generation is not None}),
        "rebuild": {"state": rebuild.state, "error": rebuild.error,
                    "seconds": round(rebuild.finished_at - rebuild.requested_at, 1)
                    if rebuild.finished_at and rebuild.requested_at else None},
        "generation_violations": generation_violations(samples)[:10],
        "passages_checked": checked, "passage_mismatches": mismatches[:10],
    }


def verdict(summary: dict, args: argparse.Namespace) -> list[str]:
    failures = []
    if summary["errors"]:
        failures.append(f"{summary['errors']} failed requests")
    growth = summary["rss_growth_pct"]
    if growth is not None and growth >= args.max_rss_growth:
        failures.append(f"server RSS grew {growth}% after warm-up")
    if args.rebuild_at is not None:
        if summary["rebuild"]["state"] != "succeeded":
            failures.append(f"rebuild {summary['rebuild']['state']}: {summary['rebuild']['error']}")
        if len(summary["generations"]) > 2:
            failures.append(f"answers from {summary['generations']}: more than two generations")
    if summary["generation_violations"] or summary["passage_mismatches"]:
        failures.append("answers mixed generations")
    return failures


def print_summary(summary: dict) -> None:
    print(f"requests {summary['requests']}  errors {summary['errors']}  "
          f"{summary['req_per_s']} req/s over {summary['seconds']} s")
    print(f"latency ms  p50 {summary['p50_ms']}  p90 {summary['p90_ms']}  p99 {summary['p99_ms']}  "
          f"max {summary['max_ms']}")
    print(f"server RSS MB  warm-up {summary['rss_warm_mb']}  end {summary['rss_end_mb']}  "
          f"max {summary['rss_max_mb']}  growth {summary['rss_growth_pct']}%")
    print(f"generations {summary['generations']}  rebuild {summary['rebuild']}")
    print(f"passages checked {summary['passages_checked']}; mismatches "
          f"{len(summary['passage_mismatches'])}; generation violations "
          f"{len(summary['generation_violations'])}")
    for line in summary["first_errors"] + summary["passage_mismatches"] + \
            summary["generation_violations"]:
        print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server: ServeProcess | None = None
    key = args.admin_key
    index_dir = args.index_dir.resolve() if args.index_dir else None
    if args.base_url:
        base_url, pid = args.base_url.rstrip("/"), args.server_pid or listening_pid(args.base_url)
    else:
        key = key or secrets.token_urlsafe(24)
        index_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        server = ServeProcess(index_dir, index_dir.parent / f"load-server-{port}.log", port=port,
                              corpus=args.corpus.resolve(), env={"POLICYQA_ADMIN_KEY": key})
        try:
            server.wait_ready(timeout=900)
        except ServerError as exc:
            server.stop()
            raise SystemExit(str(exc)) from None
        base_url, pid = server.base_url, server.pid
    if args.rebuild_at is not None and not key:
        raise SystemExit("--rebuild-at needs --admin-key (or POLICYQA_ADMIN_KEY)")
    try:
        samples, rebuild, memory, elapsed = asyncio.run(run(args, base_url, pid, key))
    finally:
        if server is not None:
            server.stop()
    summary = summarize(samples, rebuild, memory, elapsed, index_dir)
    failures = verdict(summary, args)
    summary["failures"] = failures
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary)
        print("PASS" if not failures else "FAIL: " + "; ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
