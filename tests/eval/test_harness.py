"""Set loading, judging with a stub retriever, and the written reports (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.datasets import BEIR, LEGALBENCH, POLICYQA, EvalSetError, detect_kind, load_set
from eval.indexes import beir_doc_id, beir_file_name, write_beir_corpus
from eval.report import markdown, plot, summary_table, write_json
from eval.retrieval import Retrieved
from eval.runner import make_judge, run_mode, worst

TREATY = "Article 1\n\nThe term refugee means a person with a well-founded fear.\n\nArticle 2\n\nDuties."


class StubRetriever:
    """Returns fixed passages per question; document texts from a dict."""

    max_k = None

    def __init__(self, answers: dict[str, list[Retrieved]], texts: dict[str, str]) -> None:
        self.answers, self.texts = answers, texts
        self.calls: list[tuple[str, int, str]] = []

    def search(self, question: str, k: int, mode: str) -> list[Retrieved]:
        self.calls.append((question, k, mode))
        return self.answers[question][:k]

    def document_text(self, document_id: str) -> str | None:
        return self.texts.get(document_id)


def _p(doc: str, start: int, end: int, text: str = "x") -> Retrieved:
    return Retrieved(doc, start, end, "Article 1", text, 1.0)


def _policyqa_set(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    rows = [{"id": "q1", "question": "who is a refugee", "tags": ["paraphrase", "markdown"],
             "gold": [{"document": "t.md", "quote": "a person with a well\u2011founded fear"}]},
            {"id": "q2", "question": "duties", "tags": ["keyword", "markdown"],
             "gold": [{"document": "t.md", "quote": "Duties."},
                      {"document": "missing.md", "quote": "nothing"}]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_detects_the_three_formats(tmp_path: Path) -> None:
    assert detect_kind(_policyqa_set(tmp_path)) == POLICYQA
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text('{"_id": "d/1", "title": "T", "text": "Body"}\n')
    (beir / "queries.jsonl").write_text('{"_id": "7", "text": "claim"}\n{"_id": "8", "text": "x"}\n')
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n7\td/1\t1\n")
    assert detect_kind(beir) == BEIR
    s = load_set(beir)
    assert [(q.id, q.documents) for q in s.queries] == [("7", {"d/1": 1.0})]
    lb = tmp_path / "lb"
    (lb / "corpus").mkdir(parents=True)
    (lb / "benchmarks").mkdir()
    (lb / "benchmarks" / "nda.json").write_text(json.dumps({"tests": [
        {"query": "q?", "snippets": [{"file_path": "nda/a.txt", "span": [3, 9], "answer": "x"}]}]}))
    assert detect_kind(lb) == LEGALBENCH
    assert load_set(lb).queries[0].spans == [("nda/a.txt", 3, 9)]
    with pytest.raises(EvalSetError):
        detect_kind(tmp_path)


def test_beir_documents_become_reversible_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "a/b c", "title": "Title", "text": "Text."}\n'
                      '{"_id": ".x", "title": "", "text": "Y"}\n')
    folder, key = write_beir_corpus(corpus, "s")
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([beir_file_name("a/b c"), beir_file_name(".x")])
    assert not any(n.startswith(".") for n in names)
    assert (folder / beir_file_name("a/b c")).read_text() == "Title\n\nText.\n"
    assert beir_doc_id("sub/" + beir_file_name("a/b c")) == "a/b c"
    assert write_beir_corpus(corpus, "s") == (folder, key)  # a second call reuses the folder


def test_policyqa_judging_and_reports(tmp_path: Path) -> None:
    s = load_set(_policyqa_set(tmp_path))
    q1_gold = TREATY.index("a person")
    duties = TREATY.index("Duties")
    answers = {"who is a refugee": [_p("other.md", 0, 50), _p("t.md", 0, q1_gold),
                                    _p("t.md", q1_gold - 5, q1_gold + 5)],
               "duties": [_p("t.md", duties, duties + 7)]}
    retriever = StubRetriever(answers, {"t.md": TREATY})
    judge = make_judge(s, retriever)
    assert judge.depth == 100
    assert [u["document"] for u in judge.unlocated] == ["missing.md"]
    result = run_mode(s, retriever, judge, "hybrid", progress=False)
    q1, q2 = result.questions
    # Rank 2 ends exactly where the quote starts: [start, end) does not overlap.
    assert q1["first_relevant_rank"] == 3 and q1["metrics"]["mrr@10"] == pytest.approx(1 / 3, abs=1e-4)
    assert q2["metrics"]["recall@1"] == 0.5  # the unlocatable gold counts as missed
    assert result.metrics["hit@1"] == 0.5
    assert set(result.by_tag) == {"keyword", "markdown", "paraphrase"}
    assert worst(result, judge, 1)[0]["id"] == "q1"
    assert "hybrid" in summary_table([result])
    write_json(tmp_path / "results.json", {"set": "s"}, [result], {})
    assert json.loads((tmp_path / "results.json").read_text())["modes"]["hybrid"]["metrics"]
    header = {"set": "s", "path": "p", "format": "policyqa", "questions": 2, "depth": 100,
              "index": {"dir": "i"}, "command": "c", "date": "d"}
    md = markdown(header, [result], {"hybrid": worst(result, judge, 2)},
                  {"unlocated_quotes": judge.unlocated})
    assert "## Worst questions (hybrid)" in md and "Retrieved instead:" in md
    plot(tmp_path / "recall.png", [result, result], "s")
    assert (tmp_path / "recall.png").read_bytes()[:4] == b"\x89PNG"


def test_beir_chunks_collapse_to_documents(tmp_path: Path) -> None:
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text("")
    (beir / "queries.jsonl").write_text('{"_id": "1", "text": "claim"}\n')
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\tB\t1\n")
    s = load_set(beir)
    f = beir_file_name
    answers = {"claim": [_p(f("A"), 0, 5), _p(f("A"), 5, 9), _p(f("B"), 0, 5), _p(f("B"), 5, 9)]}
    judge = make_judge(s, StubRetriever(answers, {}), (1, 2, 10))
    assert judge.depth == 300
    result = run_mode(s, StubRetriever(answers, {}), judge, "dense", progress=False)
    m = result.questions[0]["metrics"]
    # Documents: A (rank 1), B (rank 2): B's second chunk is not a third document.
    assert result.questions[0]["documents_retrieved"] == 2
    assert m["mrr@10"] == 0.5 and m["recall@2"] == 1 and m["precision@2"] == 0.5


def test_legalbench_spans_map_back_to_file_offsets(tmp_path: Path) -> None:
    lb = tmp_path / "lb"
    (lb / "corpus" / "nda").mkdir(parents=True)
    (lb / "benchmarks").mkdir()
    raw = "NDA\n\n\n\n  Secret means data.   \n\nTerm is two years."
    (lb / "corpus" / "nda" / "a.txt").write_text(raw)
    gold = raw.index("Term is")
    (lb / "benchmarks" / "b.json").write_text(json.dumps({"tests": [
        {"query": "term?", "snippets": [{"file_path": "nda/a.txt", "span": [gold, gold + 18],
                                         "answer": "Term is two years."}]}]}))
    extracted = "NDA\n\nSecret means data.\n\nTerm is two years."  # what the reader gives
    start = extracted.index("Term is")
    answers = {"term?": [_p("nda/a.txt", start, start + 18), _p("nda/a.txt", 0, 3)]}
    s = load_set(lb)
    retriever = StubRetriever(answers, {"nda/a.txt": extracted})
    judge = make_judge(s, retriever)
    result = run_mode(s, retriever, judge, "lexical", progress=False)
    m = result.questions[0]["metrics"]
    assert m["precision@1"] == 1.0 and m["recall@1"] == 1.0
    assert m["precision@2"] == pytest.approx(18 / 21, abs=1e-4) and m["recall@2"] == 1.0
    assert judge.offset_check() == {"documents": 1, "same_non_whitespace_text": 1,
                                    "unpaired_characters": 0, "same_length": 0}
