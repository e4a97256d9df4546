"""`policyqa serve --corpus DIR` serves DIR as it is now: a real server, two real corpora, one index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support import ServeProcess, child_environ, copy_documents

FIRST = ["treaties/smuggling_of_migrants_protocol_2000.md"]
SECOND = ["treaties/refugee_protocol_1967.md",
          "articles/cross_border_enforcement_of_immigration_laws.txt"]


def _get(server: ServeProcess, path: str):
    with urllib.request.urlopen(server.base_url + path, timeout=30) as response:
        return json.load(response)


def _serve(index_dir: Path, corpus: Path, log: Path, *args: str) -> tuple[int, list[str], str]:
    """Starts `policyqa serve`, and returns the served generation, document ids and the log."""
    server = ServeProcess(index_dir, log, corpus=corpus, env={"POLICYQA_THREADS": "2"},
                          extra_args=args)
    try:
        server.wait_ready(timeout=600)
        generation = _get(server, "/readyz")["generation"]
        documents = sorted(d["id"] for d in _get(server, "/v1/documents"))
        return generation, documents, server.log_text()
    finally:
        server.stop()


def _refused(index_dir: Path, corpus: Path, *args: str) -> str:
    """`policyqa serve` that must stop before serving: exit code 2, one line, no traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--index-dir", str(index_dir),
         "--corpus", str(corpus), "--port", "1", *args], capture_output=True, text=True,
        timeout=600, env=child_environ(POLICYQA_THREADS="2"))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


@pytest.fixture()
def corpora(shared_corpus: Path, tmp_path: Path) -> tuple[Path, Path]:
    return (copy_documents(shared_corpus, tmp_path / "first", FIRST),
            copy_documents(shared_corpus, tmp_path / "second", SECOND))


def test_serve_follows_the_corpus_it_is_given(corpora, tmp_path: Path) -> None:
    first, second = corpora
    index_dir = tmp_path / "index"
    assert _serve(index_dir, first, tmp_path / "1.log")[:2] == (1, sorted(FIRST))

    # Another folder with the same index: the index is updated to it, never the old one served.
    generation, documents, log = _serve(index_dir, second, tmp_path / "2.log")
    assert (generation, documents) == (2, sorted(SECOND))
    assert f"was built from {first.resolve()}, not {second.resolve()}" in log

    # Nothing changed: served as it is, no new generation.
    generation, documents, log = _serve(index_dir, second, tmp_path / "3.log")
    assert (generation, documents) == (2, sorted(SECOND))
    assert "updating the index" not in log

    # --no-update: the live index as it is, though another folder is named.
    generation, documents, log = _serve(index_dir, first, tmp_path / "3b.log", "--no-update")
    assert (generation, documents) == (2, sorted(SECOND))
    assert "as it is (--no-update)" in log and "updating the index" not in log

    # A folder with no documents (a wrong path): refused, the index kept.
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = _refused(index_dir, empty)
    assert f"corpus folder {empty.resolve()} holds no documents" in refused
    assert f"keeps its {len(SECOND)} documents" in refused
    assert _serve(index_dir, second, tmp_path / "3c.log")[:2] == (2, sorted(SECOND))
    # --no-update with no index: nothing to serve as it is.
    assert "no index in" in _refused(tmp_path / "none", second, "--no-update")

    # A file edited, one removed and one added since: updated before serving.
    article = second / SECOND[1]
    article.write_text(article.read_text(encoding="utf-8") + "\nA closing note.\n",
                       encoding="utf-8")
    (second / SECOND[0]).unlink()
    shutil.copyfile(first / FIRST[0], second / "smuggling.md")
    generation, documents, log = _serve(index_dir, second, tmp_path / "4.log")
    assert (generation, documents) == (3, sorted([SECOND[1], "smuggling.md"]))
    assert "1 file added since the live generation (smuggling.md)" in log
    assert f"1 file changed since the live generation ({SECOND[1]})" in log
    assert f"1 file removed since the live generation ({SECOND[0]})" in log


def test_an_unreadable_file_does_not_make_every_start_rebuild(corpora, shared_corpus: Path,
                                                              tmp_path: Path) -> None:
    _, second = corpora
    (second / "broken.pdf").write_bytes(b"%PDF-1.7 not really a PDF")
    (second / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    generation, documents, log = _serve(index_dir, second, tmp_path / "1.log")
    assert (generation, documents) == (1, sorted(SECOND))
    assert "skipped broken.pdf:" in log and "skipped notes.csv: unsupported format" in log
    generation, _, log = _serve(index_dir, second, tmp_path / "2.log")
    assert generation == 1 and "updating the index" not in log
    # The broken file replaced by a readable one is news.
    shutil.copyfile(shared_corpus / FIRST[0], second / "broken.md")
    (second / "broken.pdf").unlink()
    generation, documents, log = _serve(index_dir, second, tmp_path / "3.log")
    assert generation == 2 and "broken.md" in documents
