"""The README's examples come from a real run: the script fills its marked blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.readme_examples import ExampleError, main, replace_block
from tests.support import REPO, copy_documents

BLOCKS = ("build", "ask", "http")


def _skeleton() -> str:
    return "".join(f"text\n<!-- begin example: {name} -->\n```\nold\n```\n"
                   f"<!-- end example: {name} -->\n" for name in BLOCKS)


def test_the_project_readme_has_every_example_block() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in BLOCKS:
        assert replace_block(readme, name, "x") != readme


def test_a_missing_block_is_named() -> None:
    with pytest.raises(ExampleError, match="no block for example 'ask'"):
        replace_block("no markers here", "ask", "x")


def test_the_script_writes_what_a_real_build_ask_and_server_give(shared_corpus: Path,
                                                                 tmp_path: Path) -> None:
    corpus = copy_documents(shared_corpus, tmp_path / "corpus",
                            ["treaties/refugee_convention_1951.md",
                             "pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf"])
    readme = tmp_path / "README.md"
    readme.write_text(_skeleton(), encoding="utf-8")
    assert main(["--corpus", str(corpus), "--readme", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "old" not in text
    assert "generation 1: 2 documents" in text
    assert "1. Refugee Convention, " in text  # the citation line of the refoulement question
    http = text.split("<!-- begin example: http -->\n```\n")[1].split("```")[0]
    answer = json.loads(http)
    assert answer["index"] == {"generation": 1, "documents": 2, "chunks": answer["index"]["chunks"]}
    (passage,) = answer["passages"]
    assert passage["citation"]["short_title"] == "Dublin III Regulation (EU) No 604/2013"
