"""CI regression gate: hybrid retrieval on the treaty questions over a fixed document subset."""

from __future__ import annotations

from pathlib import Path

from eval.gate import GATE_DOCUMENTS, GATE_METRICS, failures, gate_set, load_thresholds, measure


def test_gate_subset_is_what_thresholds_json_records() -> None:
    thresholds = load_thresholds()
    assert thresholds["documents"] == list(GATE_DOCUMENTS)
    assert thresholds["questions"] == len(gate_set().queries)
    assert set(thresholds["thresholds"]) == set(GATE_METRICS)


def test_treaty_gate(shared_corpus: Path, embedder, tmp_path: Path, on_test_store) -> None:
    """On FAISS, or on Milvus with POLICYQA_TEST_VECTOR_STORE=milvus (.ci/milvus-tests): the
    same thresholds, since both stores search exactly (flat inner product)."""
    thresholds = load_thresholds()
    metrics, info = measure(shared_corpus, tmp_path, embedder)
    assert info["store"] == (on_test_store.get("POLICYQA_VECTOR_STORE") or "faiss")
    assert not info["unlocated_quotes"], info["unlocated_quotes"]
    assert info["questions"] == thresholds["questions"]
    problems = failures(metrics, thresholds)
    worst = sorted(info["questions_detail"], key=lambda r: r["metrics"]["mrr@10"])[:5]
    detail = "\n".join(f"  {r['id']} mrr@10={r['metrics']['mrr@10']}: {r['question']}"
                       for r in worst)
    assert not problems, ("retrieval regressed on the treaty gate:\n" + "\n".join(problems)
                          + f"\nworst questions:\n{detail}")
