"""CI regression gate: hybrid retrieval on the treaty questions over a fixed document subset, and
the ranking snapshot (eval/rankings.json) that proves a refactoring of the ranking code ranks alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gate import (
    GATE_DOCUMENTS,
    GATE_METRICS,
    build_engine,
    failures,
    gate_set,
    load_thresholds,
    measure,
)
from eval.rankings import SNAPSHOT, differences, snapshot, treaty_questions


@pytest.fixture(scope="module")
def gate_index(shared_corpus: Path, default_embedder, tmp_path_factory, store_env):
    """The gate's documents indexed once for this module with the shipped default model (the
    rest of the suite runs on the fast one), on the store under test."""
    with pytest.MonkeyPatch.context() as patch:
        from index.models import DEFAULT_ALIAS
        from tests.support import STORE_VARIABLES

        for name in STORE_VARIABLES:
            patch.delenv(name, raising=False)
        for name, value in store_env.items():
            patch.setenv(name, value)
        patch.setenv("POLICYQA_MODEL", DEFAULT_ALIAS)
        engine, report = build_engine(shared_corpus, tmp_path_factory.mktemp("gate"),
                                      default_embedder)
    yield engine, report
    engine.searcher.close()


def test_gate_subset_is_what_thresholds_json_records() -> None:
    thresholds = load_thresholds()
    assert thresholds["documents"] == list(GATE_DOCUMENTS)
    assert thresholds["questions"] == len(gate_set().queries)
    assert set(thresholds["thresholds"]) == set(GATE_METRICS)


def test_treaty_gate(shared_corpus: Path, gate_index, tmp_path: Path, store_env) -> None:
    """On FAISS, or on Milvus with POLICYQA_TEST_VECTOR_STORE=milvus (.ci/milvus-tests): the
    same thresholds, since both stores search exactly (flat inner product)."""
    thresholds = load_thresholds()
    metrics, info = measure(shared_corpus, tmp_path, built=gate_index)
    assert info["store"] == (store_env.get("POLICYQA_VECTOR_STORE") or "faiss")
    assert not info["unlocated_quotes"], info["unlocated_quotes"]
    assert info["questions"] == thresholds["questions"]
    problems = failures(metrics, thresholds)
    worst = sorted(info["questions_detail"], key=lambda r: r["metrics"]["mrr@10"])[:5]
    detail = "\n".join(f"  {r['id']} mrr@10={r['metrics']['mrr@10']}: {r['question']}"
                       for r in worst)
    assert not problems, ("retrieval regressed on the treaty gate:\n" + "\n".join(problems)
                          + f"\nworst questions:\n{detail}")


def test_rankings_match_the_snapshot(gate_index) -> None:
    """Every treaty question, every mode, top 10 over the gate's documents: as recorded in
    eval/rankings.json (`python -m eval.rankings --record` after a change meant to move them)."""
    engine, _ = gate_index
    expected = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert set(expected) == {"hybrid", "dense", "lexical"}
    assert all(len(questions) == len(treaty_questions()) for questions in expected.values())
    lines = differences(expected, snapshot(engine, treaty_questions()))
    assert not lines, "rankings moved:\n" + "\n".join(lines)
