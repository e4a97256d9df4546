"""Relevance judging per set format: retrieved passages of one question in, metrics and a record out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from eval.datasets import GoldQuote, Query
from eval.indexes import beir_doc_id
from eval.matching import OffsetAligner, QuoteLocator, QuoteMatch
from eval.metrics import Span, ranking_metrics, span_metrics
from eval.retrieval import Retrieved, Retriever

SHOWN_PASSAGES = 5  # retrieved items kept per question in results.json


def _shown(p: Retrieved, rank: int, relevant: bool, start: int | None = None,
           end: int | None = None) -> dict:
    return {"rank": rank, "document": p.document_id, "section": p.section,
            "char_start": p.char_start if start is None else start,
            "char_end": p.char_end if end is None else end,
            "text": " ".join(p.text.split())[:100], "relevant": relevant}


class Judge(Protocol):
    ks: tuple[int, ...]
    depth: int
    sort_key: tuple[str, ...]  # metrics ordering questions from worst to best

    def judge(self, query: Query, retrieved: list[Retrieved]) -> tuple[dict[str, float], dict]: ...


@dataclass(frozen=True, slots=True)
class LocatedQuote:
    gold: GoldQuote
    match: QuoteMatch | None
    problem: str | None = None


def locate_quotes(queries: Sequence[Query], text_of) -> dict[tuple[str, int], LocatedQuote]:
    """Every gold quote located in its document's extracted text, keyed by (query id, index)."""
    locators: dict[str, QuoteLocator | None] = {}
    found: dict[tuple[str, int], LocatedQuote] = {}
    for q in queries:
        for i, g in enumerate(q.quotes):
            if g.document not in locators:
                text = text_of(g.document)
                locators[g.document] = QuoteLocator(text) if text else None
            locator = locators[g.document]
            if locator is None:
                found[(q.id, i)] = LocatedQuote(g, None, "document not in the index/corpus")
                continue
            match = locator.locate(g.quote)
            found[(q.id, i)] = LocatedQuote(g, match, None if match else "quote not found")
    return found


class QuoteJudge:
    """PolicyQA sets: a passage is relevant to a gold quote it overlaps in the same document,
    or that one of its copies (`also_in`: the same text in another copy) overlaps."""

    sort_key = ("mrr@10", "recall@10", "ndcg@10")

    def __init__(self, queries: Sequence[Query], retriever: Retriever,
                 ks: tuple[int, ...], depth: int) -> None:
        self.ks, self.depth = ks, depth
        self.located = locate_quotes(queries, retriever.document_text)
        self.unlocated = [{"query": qid, "document": lq.gold.document, "quote": lq.gold.quote,
                           "problem": lq.problem}
                          for (qid, _), lq in self.located.items() if lq.match is None]

    def judge(self, query: Query, retrieved: list[Retrieved]) -> tuple[dict[str, float], dict]:
        golds = {f"g{i}": self.located[(query.id, i)] for i in range(len(query.quotes))}
        ranked: list[set[str]] = []
        for p in retrieved:
            ranked.append({gid for gid, lq in golds.items() if lq.match is not None
                           and any(lq.gold.document == document and start < lq.match.end
                                   and lq.match.start < end
                                   for document, start, end in p.spans())})
        metrics = ranking_metrics(ranked, {gid: 1.0 for gid in golds}, self.ks)
        first = next((i + 1 for i, r in enumerate(ranked) if r), None)
        record = {
            "id": query.id, "question": query.text, "tags": query.tags,
            "first_relevant_rank": first, "metrics": _rounded(metrics),
            "gold": [{"document": lq.gold.document, "quote": lq.gold.quote,
                      "span": [lq.match.start, lq.match.end] if lq.match else None,
                      "match": lq.match.method if lq.match else lq.problem}
                     for lq in golds.values()],
            "retrieved": [_shown(p, n, bool(r)) for n, (p, r)
                          in enumerate(zip(retrieved[:SHOWN_PASSAGES], ranked), 1)],
        }
        return metrics, record


class DocumentJudge:
    """BEIR sets: chunks deduplicated to documents, each at its best chunk's rank."""

    sort_key = ("ndcg@10", "mrr@10", "recall@100")

    def __init__(self, ks: tuple[int, ...], depth: int) -> None:
        self.ks, self.depth = ks, depth

    def judge(self, query: Query, retrieved: list[Retrieved]) -> tuple[dict[str, float], dict]:
        docs: dict[str, Retrieved] = {}
        for p in retrieved:
            docs.setdefault(beir_doc_id(p.document_id), p)
        ranking = list(docs)
        metrics = ranking_metrics([{d} for d in ranking], query.documents, self.ks,
                                  map_k=max(100, max(self.ks)))
        first = next((i + 1 for i, d in enumerate(ranking) if d in query.documents), None)
        record = {
            "id": query.id, "question": query.text, "tags": query.tags,
            "first_relevant_rank": first, "documents_retrieved": len(ranking),
            "metrics": _rounded(metrics), "gold": sorted(query.documents),
            "retrieved": [_shown(docs[d], n, d in query.documents)
                          for n, d in enumerate(ranking[:SHOWN_PASSAGES], 1)],
        }
        return metrics, record


class SpanJudge:
    """LegalBench-RAG: character-overlap precision and recall against gold spans of the file."""

    sort_key = ("recall@8", "recall@64", "precision@8")

    def __init__(self, corpus_dir: Path, retriever: Retriever, ks: tuple[int, ...],
                 depth: int) -> None:
        self.ks, self.depth = ks, depth
        self.corpus_dir = corpus_dir
        self.retriever = retriever
        self._aligners: dict[str, OffsetAligner | None] = {}

    def aligner(self, document_id: str) -> OffsetAligner | None:
        """Maps the reader's offsets to the benchmark's (Python str offsets into the raw file)."""
        if document_id not in self._aligners:
            extracted = self.retriever.document_text(document_id)
            path = self.corpus_dir / document_id
            if extracted is None or not path.is_file():
                self._aligners[document_id] = None
            else:
                # No newline translation: the benchmark's offsets count the file's own characters.
                original = path.read_bytes().decode("utf-8", errors="replace")
                self._aligners[document_id] = OffsetAligner(extracted, original)
        return self._aligners[document_id]

    def offset_check(self) -> dict:
        """How the reader's text differs from the files, over every document seen so far."""
        seen = [a for a in self._aligners.values() if a is not None]
        return {"documents": len(seen),
                "same_non_whitespace_text": sum(a.identical_skeleton for a in seen),
                "unpaired_characters": sum(a.mismatches for a in seen),
                "same_length": sum(a.derived_len == a.source_len for a in seen)}

    def judge(self, query: Query, retrieved: list[Retrieved]) -> tuple[dict[str, float], dict]:
        spans: list[Span] = []
        for p in retrieved:
            aligner = self.aligner(p.document_id)
            if aligner is None:
                spans.append((p.document_id, p.char_start, p.char_end))
            else:
                spans.append((p.document_id, *aligner.span(p.char_start, p.char_end)))
        metrics = span_metrics(spans, query.spans, self.ks)
        gold_files = {f for f, _, _ in query.spans}
        relevant = [any(f == g and s < ge and gs < e for g, gs, ge in query.spans)
                    for f, s, e in spans]
        first = next((i + 1 for i, r in enumerate(relevant) if r), None)
        record = {
            "id": query.id, "question": query.text, "tags": query.tags,
            "first_relevant_rank": first, "metrics": _rounded(metrics),
            "gold": [{"document": f, "span": [s, e]} for f, s, e in query.spans],
            "right_file_at_1": bool(spans) and spans[0][0] in gold_files,
            "retrieved": [_shown(p, n, r, s[1], s[2]) for n, (p, r, s)
                          in enumerate(zip(retrieved[:SHOWN_PASSAGES], relevant, spans), 1)],
        }
        return metrics, record


def _rounded(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in metrics.items()}
