"""`policyqa eval run --server`: the same metrics through a running server's POST /v1/ask."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eval.cli import run_eval
from eval.datasets import load_set
from service.settings import load_settings
from tests.support import SERVER_DOCUMENTS

TREATY_SET = Path(__file__).resolve().parents[2] / "eval" / "sets" / "treaties.jsonl"


def test_server_mode_writes_reports(live_server, tmp_path: Path) -> None:
    served = set(SERVER_DOCUMENTS)
    rows = [json.loads(line) for line in TREATY_SET.read_text().splitlines() if line.strip()]
    chosen = [r for r in rows if {g["document"] for g in r["gold"]} <= served][:4]
    assert chosen
    subset = tmp_path / "subset.jsonl"
    subset.write_text("".join(json.dumps(r) + "\n" for r in chosen))
    args = argparse.Namespace(set=str(subset), corpus=live_server.corpus, mode="all", k=None,
                              out=tmp_path / "out", limit=None, server=live_server.base_url,
                              index_dir=None, model=None, config=None)
    assert run_eval(args, load_settings(corpus_dir=live_server.corpus)) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert set(results["modes"]) == {"hybrid", "dense", "lexical"}
    assert results["depth"] == 50  # the API's largest k
    assert results["unlocated_quotes"] == []
    hybrid = results["modes"]["hybrid"]
    assert len(hybrid["questions"]) == len(load_set(subset).queries)
    assert hybrid["metrics"]["hit@10"] > 0
    assert (tmp_path / "out" / "recall.png").is_file()
