"""The `policyqa` command as a user runs it: build, status, ask, and clear errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from index.models import canonical_name
from service.cli import main
from service.settings import load_settings
from tests.support import REPO, child_environ, copy_documents


def policyqa(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True,
                          text=True, timeout=600, cwd=REPO, env=child_environ(**(env or {})))


@pytest.fixture(scope="module")
def built(shared_corpus, tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("cli")
    corpus = copy_documents(shared_corpus, root / "corpus",
                            ["treaties/refugee_convention_1951.md",
                             "legislation/canada/ca_mutual_legal_assistance_criminal_matters_act_M-13.6.xml"])
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    index_dir = root / "index"
    result = policyqa("index", "build", "--corpus", str(corpus), "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    assert "generation 1: 2 documents" in result.stdout
    assert "truncated 0" in result.stdout
    assert "skipped broken.pdf:" in result.stdout
    # stderr is a pipe here, as under a process manager or CI: progress comes as plain lines.
    assert re.search(r"^policyqa: read 3/3 files in [\d.]+ s$", result.stderr, re.MULTILINE)
    assert re.search(r"^policyqa: embed [\d,]+/[\d,]+ chunks in [\d.]+ s$", result.stderr,
                     re.MULTILINE)
    return corpus, index_dir


def test_status_reports_the_index(built):
    corpus, index_dir = built
    result = policyqa("index", "status", "--json", "--index-dir", str(index_dir))
    status = json.loads(result.stdout)
    assert status["generation"] == 1 and status["documents"] == 2
    # The suite's model (tests/conftest.py), named as the index records it.
    assert status["model"] == canonical_name(load_settings().model) + "+onnx-int8"
    assert status["truncated_chunks"] == 0
    assert [s["path"] for s in status["skipped"]] == ["broken.pdf"]
    human = policyqa("index", "status", "--index-dir", str(index_dir)).stdout
    assert "generation: 1" in human and "skipped: 1" in human


def test_ask_prints_cited_passages(built):
    _, index_dir = built
    result = policyqa("ask", "Can a refugee be expelled to a country where his life would be "
                      "threatened?", "-k", "2", "--index-dir", str(index_dir))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # The citation leads with the catalogue's short name; the full title follows on its own line.
    assert lines[0].startswith("1. Refugee Convention, CHAPTER ")
    assert lines[1] == "   Convention relating to the Status of Refugees"
    assert re.match(r"   cite as: Refugee Convention, Art\. 3[23]\b", lines[2]), lines[2]
    # With only this treaty indexed, Article 32 (expulsion) competes with Article 33; the
    # full-corpus ranking of Article 33 first is checked by the treaty evaluation set.
    citations = [line for line in lines if line[:3] in ("1. ", "2. ")]
    assert any("Article 33 – Prohibition of Expulsion" in line for line in citations)
    assert any("1. No Contracting State shall expel" in line for line in lines)
    data = json.loads(policyqa("ask", "mutual legal assistance request by a foreign state",
                               "--json", "--index-dir", str(index_dir), "--mode", "lexical",
                               "--document", "legislation/canada/ca_mutual_legal_assistance_"
                               "criminal_matters_act_M-13.6.xml").stdout)
    assert data["mode"] == "lexical" and data["passages"]
    unknown = policyqa("ask", "extradition", "--document", "nope.md", "--index-dir", str(index_dir))
    assert unknown.returncode == 0 and "(0 passages" in unknown.stdout
    assert "policyqa: warning: document 'nope.md' matches no indexed document" in unknown.stderr
    assert all(p["citation"]["section"].split(" > ")[-1] for p in data["passages"])
    assert any(part.startswith("s. ") for p in data["passages"]
               for part in p["citation"]["section"].split(" > "))


def test_ask_lists_the_other_copies_of_a_passage(live_server, store_env):
    # The live server's index holds two copies of the Refugee Convention (Markdown and the
    # UNHCR booklet): Article 31 comes once, with the other copy's citation under it.
    result = policyqa("ask", "Can refugees be punished for entering the country illegally?",
                      "-k", "5", "--index-dir", str(live_server.index_dir), env=store_env)
    assert result.returncode == 0, result.stderr
    copies = [line for line in result.stdout.splitlines() if line.startswith("   also in: ")]
    assert copies, result.stdout
    assert any(re.fullmatch(r"   also in: Refugee Convention.*Article 31.* \((pdf/refugee_"
                            r"convention_and_protocol_unhcr\.pdf|treaties/refugee_convention_"
                            r"1951\.md) chars \d+-\d+\)", line) for line in copies), copies


def test_ask_takes_the_api_bounds(built, capsys):
    _, index_dir = built
    for k in ("-1", "0", "51", "500"):
        assert main(["ask", "expulsion of refugees", "-k", k, "--index-dir", str(index_dir)]) == 2
        assert f"-k takes a whole number from 1 to 50, got {k}" in capsys.readouterr().err
    assert main(["ask", "expulsion", "--max-context-tokens", "0", "--index-dir",
                 str(index_dir)]) == 2
    assert "--max-context-tokens takes a whole number" in capsys.readouterr().err
    assert main(["ask", "expulsion of refugees", "-k", "50", "--json", "--index-dir",
                 str(index_dir)]) == 0
    assert len(json.loads(capsys.readouterr().out)["passages"]) == 50


def test_errors_are_one_clear_line(tmp_path, capsys):
    assert main(["index", "status", "--index-dir", str(tmp_path / "none")]) == 2
    assert "no index in" in capsys.readouterr().err
    assert main(["ask", "anything", "--index-dir", str(tmp_path / "none")]) == 2
    assert main(["index", "build", "--corpus", str(tmp_path / "missing"),
                 "--index-dir", str(tmp_path / "idx")]) == 2
    err = capsys.readouterr().err
    assert "policyqa: error:" in err and "does not exist" in err


def test_bad_settings_and_model(tmp_path):
    bad = policyqa("index", "status", env={"POLICYQA_CHUNK_TARGET_TOKENS": "lots"})
    assert bad.returncode == 2 and "invalid settings: chunk_target_tokens" in bad.stderr
    missing_config = policyqa("index", "status", "--config", str(tmp_path / "nope.toml"))
    assert missing_config.returncode == 2 and "does not exist" in missing_config.stderr
    model = policyqa("index", "build", "--corpus", str(tmp_path), "--index-dir",
                     str(tmp_path / "idx"), "--model", "no-such-org/no-such-model")
    assert model.returncode == 2
    assert model.stderr.startswith("policyqa: error:")
    assert "'no-such-org/no-such-model'" in model.stderr
    assert "Traceback" not in model.stderr
