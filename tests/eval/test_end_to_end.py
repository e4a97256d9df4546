"""`policyqa eval run` end to end for all three formats, over tiny corpora with the real model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from eval.cli import run_eval
from eval.indexes import cache_root, folder_index
from service.settings import load_settings


@pytest.fixture
def model(monkeypatch, tmp_path: Path, embedder):
    """The real session model, handed to the harness instead of loading it again."""
    monkeypatch.setattr("service.engine.load_embedder", lambda settings: embedder)
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    return embedder


def _args(set_path: Path, out: Path, **kw) -> argparse.Namespace:
    base = dict(set=str(set_path), corpus=None, mode="all", k=None, out=out, limit=None,
                server=None, index_dir=None, model=None, config=None)
    base.update(kw)
    return argparse.Namespace(**base)


def _corpus(root: Path) -> Path:
    (root / "treaties").mkdir(parents=True)
    (root / "treaties" / "a.md").write_text(
        "# Convention\n\n## Article 1\n\nA refugee is a person with a well-founded fear of "
        "persecution.\n\n## Article 2\n\nEvery refugee has duties to the country.\n")
    (root / "notes.txt").write_text("Notes\n\nExtradition of nationals is refused.\n")
    return root


def test_policyqa_run_builds_once_then_reuses(model, tmp_path: Path, capsys) -> None:
    corpus = _corpus(tmp_path / "corpus")
    set_path = tmp_path / "mini.jsonl"
    set_path.write_text(json.dumps({"id": "q1", "question": "who is a refugee with fear",
                                    "gold": [{"document": "treaties/a.md",
                                              "quote": "a person with a well founded fear"}],
                                    "tags": ["paraphrase"]}) + "\n")
    settings = load_settings(corpus_dir=corpus, index_dir=tmp_path / "no-index")
    assert run_eval(_args(set_path, tmp_path / "out", corpus=corpus), settings) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["modes"]["lexical"]["metrics"]["hit@3"] == 1.0
    assert results["unlocated_quotes"] == []
    assert results["index"]["dir"].startswith(str(cache_root()))
    assert "hybrid" in capsys.readouterr().out
    # Same documents, same settings: the cached index is found, not rebuilt.
    again = folder_index("mini", corpus, settings, model)
    assert str(again) == results["index"]["dir"]
    # An index that holds exactly the corpus is used in place of the cache.
    assert folder_index("mini", corpus, settings, model, preferred=again) == again


def test_policyqa_run_refuses_a_corpus_without_the_gold_documents(model, tmp_path) -> None:
    set_path = tmp_path / "mini.jsonl"
    set_path.write_text(json.dumps({"id": "q1", "question": "q", "gold": [
        {"document": "missing.md", "quote": "x"}]}) + "\n")
    corpus = _corpus(tmp_path / "corpus")
    assert run_eval(_args(set_path, None), load_settings(corpus_dir=corpus)) == 2


def test_beir_run(model, tmp_path: Path) -> None:
    beir = tmp_path / "beirset"
    (beir / "qrels").mkdir(parents=True)
    docs = [{"_id": "d1", "title": "Aspirin", "text": "Aspirin lowers the risk of stroke."},
            {"_id": "d2", "title": "Coffee", "text": "Coffee raises alertness in adults."}]
    (beir / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (beir / "queries.jsonl").write_text('{"_id": "1", "text": "aspirin stroke risk"}\n')
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\td1\t1\n")
    assert run_eval(_args(beir, tmp_path / "out", mode="lexical"), load_settings()) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    m = results["modes"]["lexical"]["metrics"]
    assert m["ndcg@10"] == 1.0 and m["recall@100"] == 1.0
    assert results["modes"]["lexical"]["questions"][0]["retrieved"][0]["document"].endswith("d1.txt")


def test_legalbench_run_reports_offsets_checked(model, tmp_path: Path) -> None:
    lb = tmp_path / "lb"
    (lb / "corpus" / "nda").mkdir(parents=True)
    (lb / "benchmarks").mkdir()
    raw = ("MUTUAL NDA\n\n\n  The Recipient shall not disclose Confidential Information.  \n\n"
           "This Agreement lasts five years from signature.\n")
    (lb / "corpus" / "nda" / "a.txt").write_text(raw)
    s = raw.index("This Agreement")
    e = raw.index("signature.") + len("signature.")
    (lb / "benchmarks" / "nda.json").write_text(json.dumps({"tests": [{
        "query": "How long does the agreement last from signature?",
        "snippets": [{"file_path": "nda/a.txt", "span": [s, e], "answer": raw[s:e]}]}]}))
    assert run_eval(_args(lb, tmp_path / "out", mode="dense"), load_settings()) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["offset_check"]["unpaired_characters"] == 0
    m = results["modes"]["dense"]["metrics"]
    assert m["recall@64"] == 1.0 and 0 < m["precision@64"] <= 1.0
    assert "precision@1" in (tmp_path / "out" / "report.md").read_text()
