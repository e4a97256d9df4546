"""Ranking snapshots: the top passages of every treaty question over the gate's documents, in
every mode, kept in a file so that a refactoring of the ranking code can prove it ranks alike.

    python -m eval.rankings --record     # rewrite eval/rankings.json from the current code
    python -m eval.rankings              # compare the current code with eval/rankings.json

A change that is meant to move rankings (a new stage, a new embedder) records a new snapshot in
the same commit, and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from eval.datasets import load_set
from eval.gate import REPO, TREATY_SET, build_engine
from index.modes import MODES

SNAPSHOT = REPO / "eval" / "rankings.json"
DEPTH = 10


def snapshot(engine, questions: list[str], modes: tuple[str, ...] = MODES, k: int = DEPTH
             ) -> dict[str, dict[str, list[list]]]:
    """mode -> question -> [[document_id, char_start, char_end], ...] of the top k passages."""
    out: dict[str, dict[str, list[list]]] = {}
    for mode in modes:
        out[mode] = {}
        for question in questions:
            answer = engine.ask(question, k=k, mode=mode)
            out[mode][question] = [[p.citation.document_id, p.citation.char_start,
                                    p.citation.char_end] for p in answer.passages]
    return out


def treaty_questions() -> list[str]:
    """Every treaty-set question (not only the gate's): all of them rank over the subset."""
    return [q.text for q in load_set(TREATY_SET).queries]


def dumps(rankings: dict[str, dict[str, list[list]]]) -> str:
    """The snapshot as JSON with one line per question, so that a diff shows which moved."""
    modes = []
    for mode, questions in rankings.items():
        rows = ",\n".join(f"  {json.dumps(q, ensure_ascii=False)}: "
                           f"{json.dumps(r, ensure_ascii=False)}" for q, r in questions.items())
        modes.append(f" {json.dumps(mode)}: {{\n{rows}\n }}")
    return "{\n" + ",\n".join(modes) + "\n}\n"


def differences(expected: dict, actual: dict, limit: int = 10) -> list[str]:
    """One line per (mode, question) whose ranking differs, at most `limit` lines."""
    lines = []
    for mode, questions in expected.items():
        for question, ranking in questions.items():
            got = actual.get(mode, {}).get(question)
            if got != ranking:
                lines.append(f"{mode}: {question!r}: expected {ranking[:3]}..., got "
                             f"{(got or [])[:3]}...")
    return lines[:limit]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.rankings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared-corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--record", action="store_true", help=f"rewrite {SNAPSHOT.name}")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="policyqa-rankings-") as tmp:
        engine, _ = build_engine(args.shared_corpus, Path(tmp))
        current = snapshot(engine, treaty_questions())
    if args.record:
        SNAPSHOT.write_text(dumps(current), encoding="utf-8")
        print(f"wrote {SNAPSHOT}")
        return 0
    lines = differences(json.loads(SNAPSHOT.read_text(encoding="utf-8")), current)
    for line in lines:
        print("DIFFERS " + line, file=sys.stderr)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
