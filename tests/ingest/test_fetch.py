"""`policyqa corpus fetch`: from a local mirror and from URLs (a local HTTP server), pinned by sha256."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingest.catalogue import BUILTIN_CATALOGUE, load_catalogue
from ingest.fetch import LOCK_FILE, fetch_corpus
from service.cli import main


@pytest.fixture()
def http_folder(tmp_path):
    """A folder served over HTTP on a loopback port."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _catalogue(corpus: Path, base_url: str) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    (corpus / "catalogue.toml").write_text(f"""
[[instrument]]
id = "alpha"
file = "treaties/alpha.md"
title = "Alpha Convention"
download_url = "{base_url}/alpha.md"

[[instrument]]
id = "missing"
file = "treaties/missing.md"
title = "Missing Convention"
download_url = "{base_url}/missing.md"

[[instrument]]
id = "no-url"
file = "treaties/no_url.md"
title = "Convention without a download link"
""")


def test_fetch_from_urls_records_and_reports_changes(tmp_path, http_folder):
    served, base_url = http_folder
    (served / "alpha.md").write_text("### Article 1\n\nFirst version.\n")
    corpus = tmp_path / "corpus"
    _catalogue(corpus, base_url)
    first = fetch_corpus(corpus)
    assert first.fetched == ["treaties/alpha.md"]
    failed = dict(first.failed)
    assert "404" in failed["treaties/missing.md"]
    assert "download_url" in failed["treaties/no_url.md"]
    lock = json.loads((corpus / LOCK_FILE).read_text())
    expected = hashlib.sha256((served / "alpha.md").read_bytes()).hexdigest()
    assert lock["treaties/alpha.md"]["sha256"] == expected
    assert (corpus / "treaties/alpha.md").read_text().startswith("### Article 1")
    assert not list(corpus.rglob("*.partial"))

    again = fetch_corpus(corpus)
    assert again.unchanged == ["treaties/alpha.md"] and again.changed == []
    (served / "alpha.md").write_text("### Article 1\n\nSecond version.\n")
    changed = fetch_corpus(corpus)
    assert [c[0] for c in changed.changed] == ["treaties/alpha.md"]
    assert any(line.startswith("CHANGED treaties/alpha.md") for line in changed.lines())


def test_fetch_from_mirror_fills_every_catalogued_file(tmp_path, shared_corpus, capsys):
    corpus = tmp_path / "corpus"
    code = main(["corpus", "fetch", "--corpus", str(corpus), "--from", str(shared_corpus)])
    out = capsys.readouterr().out
    instruments = load_catalogue(BUILTIN_CATALOGUE).instruments
    assert code == 0, out
    for item in instruments:
        assert (corpus / item.file).read_bytes() == (shared_corpus / item.file).read_bytes()
    assert f"{len(instruments)} fetched, 0 unchanged, 0 changed, 0 failed" in out
    assert json.loads((corpus / LOCK_FILE).read_text()).keys() == {i.file for i in instruments}


def test_catalogue_covers_the_reference_corpus(shared_corpus):
    catalogue = load_catalogue(BUILTIN_CATALOGUE)
    ids = [i.id for i in catalogue.instruments]
    assert len(ids) == len(set(ids))
    manifest = (shared_corpus / "MANIFEST.tsv").read_text().splitlines()[1:]
    files = {line.split("\t")[0] for line in manifest if line.strip()}
    assert {i.file for i in catalogue.instruments} == files
    refugee = catalogue.by_file("treaties/refugee_convention_1951.md")
    assert refugee and "Refugee Convention" in refugee.short_names
    dublin = catalogue.by_file("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf")
    assert dublin and dublin.jurisdiction == "eu" and "Dublin III" in dublin.short_names
