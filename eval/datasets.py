"""Evaluation sets in three formats (PolicyQA JSONL, BEIR, LegalBench-RAG), loaded into one shape."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from eval.metrics import Span
from ingest.errors import PolicyQAError

POLICYQA, BEIR, LEGALBENCH = "policyqa", "beir", "legalbench"


class EvalSetError(PolicyQAError):
    """The set cannot be read or its format is not recognised; the message says why."""


@dataclass(frozen=True, slots=True)
class GoldQuote:
    document: str  # relative to the corpus root
    quote: str


@dataclass(slots=True)
class Query:
    id: str
    text: str
    tags: list[str] = field(default_factory=list)
    quotes: list[GoldQuote] = field(default_factory=list)  # PolicyQA
    documents: dict[str, float] = field(default_factory=dict)  # BEIR: doc id -> relevance
    spans: list[Span] = field(default_factory=list)  # LegalBench-RAG: (file, start, end)


@dataclass(slots=True)
class EvalSet:
    name: str
    kind: str
    path: Path
    queries: list[Query]
    corpus_dir: Path | None = None  # LegalBench corpus; PolicyQA's comes from the settings
    beir_corpus: Path | None = None  # BEIR corpus.jsonl

    def limited(self, limit: int | None) -> EvalSet:
        if not limit:
            return self
        return EvalSet(self.name, self.kind, self.path, self.queries[:limit], self.corpus_dir,
                       self.beir_corpus)


def detect_kind(path: Path) -> str:
    if path.is_file() and path.suffix == ".jsonl":
        return POLICYQA
    if path.is_dir():
        if (path / "corpus.jsonl").is_file() and (path / "queries.jsonl").is_file():
            return BEIR
        if (path / "benchmarks").is_dir() and (path / "corpus").is_dir():
            return LEGALBENCH
    raise EvalSetError(f"{path} is not a PolicyQA .jsonl file, a BEIR folder (corpus.jsonl, "
                       "queries.jsonl, qrels/) or a LegalBench-RAG folder (corpus/, benchmarks/)")


def load_set(path: Path) -> EvalSet:
    if not path.exists():
        raise EvalSetError(f"evaluation set {path} does not exist")
    kind = detect_kind(path)
    loader = {POLICYQA: load_policyqa, BEIR: load_beir, LEGALBENCH: load_legalbench}[kind]
    return loader(path)


def _jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise EvalSetError(f"{path}:{n}: not JSON: {exc}") from None
    return rows


def load_policyqa(path: Path) -> EvalSet:
    queries = []
    for n, row in enumerate(_jsonl(path), 1):
        try:
            quotes = [GoldQuote(g["document"], g["quote"]) for g in row["gold"]]
            queries.append(Query(str(row["id"]), row["question"], list(row.get("tags", [])),
                                 quotes=quotes))
        except (KeyError, TypeError) as exc:
            raise EvalSetError(f"{path}: question #{n} lacks {exc}") from None
    return EvalSet(path.stem, POLICYQA, path, queries)


def _qrels_file(folder: Path) -> Path:
    for split in ("test", "dev", "train"):
        candidate = folder / "qrels" / f"{split}.tsv"
        if candidate.is_file():
            return candidate
    raise EvalSetError(f"{folder}/qrels has no test.tsv, dev.tsv or train.tsv")


def load_beir(path: Path) -> EvalSet:
    qrels: dict[str, dict[str, float]] = {}
    with _qrels_file(path).open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            score = float(row["score"])
            if score > 0:
                qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = score
    texts = {str(r["_id"]): r["text"] for r in _jsonl(path / "queries.jsonl")}
    missing = sorted(set(qrels) - set(texts))
    if missing:
        raise EvalSetError(f"{path}: qrels name {len(missing)} unknown queries, e.g. {missing[0]}")
    # Only judged queries are evaluated, in the queries file's order (as BEIR does).
    queries = [Query(qid, text, documents=qrels[qid]) for qid, text in texts.items()
               if qid in qrels]
    return EvalSet(path.name, BEIR, path, queries, beir_corpus=path / "corpus.jsonl")


def load_legalbench(path: Path) -> EvalSet:
    queries = []
    for bench in sorted((path / "benchmarks").glob("*.json")):
        data = json.loads(bench.read_text(encoding="utf-8"))
        for n, test in enumerate(data["tests"], 1):
            spans = [(s["file_path"], int(s["span"][0]), int(s["span"][1]))
                     for s in test["snippets"]]
            queries.append(Query(f"{bench.stem}-{n:04d}", test["query"], [bench.stem],
                                 spans=spans))
    if not queries:
        raise EvalSetError(f"{path}/benchmarks holds no *.json benchmark")
    return EvalSet(path.name, LEGALBENCH, path, queries, corpus_dir=path / "corpus")


def beir_documents(corpus_jsonl: Path) -> list[tuple[str, str, str]]:
    """(id, title, text) of every BEIR document."""
    return [(str(r["_id"]), r.get("title") or "", r.get("text") or "")
            for r in _jsonl(corpus_jsonl)]
