"""Tests for corpus discovery: which files become documents and which are reported as skipped."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from index.searcher import IndexSearcher
from ingest.pipeline import UNSUPPORTED_FORMAT, discover
from service.ranking.pipeline import rank
from tests.support import REPO, child_environ

POLICY = """# Travel policy

## 1 Scope

Staff travelling abroad on official business must book through the travel desk.

## 2 Reimbursement

Receipts for lodging are reimbursed within thirty days of the return.
"""


def _mixed_corpus(root: Path) -> Path:
    """A corpus with one Markdown policy beside a spreadsheet export and an Excel workbook."""
    root.mkdir(parents=True)
    (root / "policy.md").write_text(POLICY, encoding="utf-8")
    (root / "budget.csv").write_text("item,amount\nlodging,120\n", encoding="utf-8")
    # An .xlsx is a zip archive; its bytes do not matter, only that no reader takes the suffix.
    (root / "notes.xlsx").write_bytes(b"PK\x03\x04 not a real workbook")
    return root


def test_files_no_reader_accepts_are_reported_as_unsupported(tmp_path):
    root = _mixed_corpus(tmp_path / "corpus")
    (root / "sub").mkdir()
    (root / "sub" / "scan.TIFF").write_bytes(b"II*\x00")
    # PolicyQA's own files and hidden files are not documents and are not reported either.
    for own in ("catalogue.toml", "corpus.lock.json", "MANIFEST.tsv", ".DS_Store"):
        (root / own).write_text("", encoding="utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n", encoding="utf-8")

    found, skipped = discover(root)

    assert [f.id for f in found] == ["policy.md"]
    assert {s.id: s.reason for s in skipped} == {
        "budget.csv": UNSUPPORTED_FORMAT, "notes.xlsx": UNSUPPORTED_FORMAT,
        "sub/scan.TIFF": UNSUPPORTED_FORMAT}
    assert UNSUPPORTED_FORMAT == "unsupported format"


def _policyqa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=REPO, env=child_environ())


def test_build_and_status_list_unsupported_files_and_the_markdown_is_searchable(tmp_path,
                                                                                 embedder):
    corpus = _mixed_corpus(tmp_path / "corpus")
    index_dir = tmp_path / "index"

    build = _policyqa("index", "build", "--corpus", str(corpus), "--index-dir", str(index_dir))
    assert build.returncode == 0, build.stderr
    assert "generation 1: 1 documents" in build.stdout
    assert "skipped budget.csv: unsupported format" in build.stdout
    assert "skipped notes.xlsx: unsupported format" in build.stdout

    status = json.loads(_policyqa("index", "status", "--json", "--index-dir", str(index_dir)).stdout)
    assert status["skipped"] == [{"path": "budget.csv", "reason": "unsupported format"},
                                 {"path": "notes.xlsx", "reason": "unsupported format"}]
    human = _policyqa("index", "status", "--index-dir", str(index_dir)).stdout
    assert "skipped: 2" in human and "budget.csv: unsupported format" in human

    hits = rank(IndexSearcher.open(index_dir, embedder), "when are lodging receipts reimbursed",
                k=1)
    assert hits and hits[0].chunk.document_id == "policy.md"
