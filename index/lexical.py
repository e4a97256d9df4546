"""BM25 lexical search (bm25s), persisted as .npy arrays and JSON: loading never runs code."""

from __future__ import annotations

import json
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from index.stores.base import positions_of

LEXICAL_DIR = "bm25"
_IDS_FILE = "chunk_ids.npy"


def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


class Bm25Index:
    """BM25 over chunk texts; results come back as chunk ids, like the vector store's."""

    def __init__(self, retriever: bm25s.BM25, chunk_ids: np.ndarray) -> None:
        self.retriever = retriever
        self.chunk_ids = chunk_ids
        self._order = np.argsort(chunk_ids, kind="stable")  # to find ids' positions quickly
        self._stemmer = _stemmer()

    @classmethod
    def build(cls, chunk_ids: list[int], texts: list[str]) -> Bm25Index:
        retriever = bm25s.BM25()
        if texts:
            tokens = bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(),
                                    show_progress=False)
            retriever.index(tokens, show_progress=False)
        return cls(retriever, np.asarray(chunk_ids, dtype=np.int64))

    def search(self, query: str, k: int, allowed_ids: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        return self.top(self.scores(query), k, allowed_ids)

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every chunk for a query, in `chunk_ids` order (all 0: no match)."""
        if not len(self.chunk_ids):
            return np.zeros(0, dtype=np.float32)
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=self._stemmer,
                                show_progress=False, return_ids=False)
        known = [t for t in tokens[0] if t in self.retriever.vocab_dict]
        if not known:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return self.retriever.get_scores(known)

    def top(self, scores: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the k best-scored chunks (only `allowed_ids` when given)."""
        positions = np.arange(len(scores)) if allowed_ids is None else self._positions(allowed_ids)
        scores = scores[positions]
        k = min(k, int(np.count_nonzero(scores)))
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        # Every score up to the k-th best, then by score and, between equal scores, by chunk id:
        # the same k whichever order the scores came in.
        kth = np.partition(scores, len(scores) - k)[len(scores) - k]
        top = np.flatnonzero(scores >= kth)
        ids = self.chunk_ids[positions[top]]
        order = np.lexsort((ids, -scores[top]))[:k]
        return ids[order], scores[top][order].astype(np.float32)

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Positions in `chunk_ids` of those of `ids` the index holds (O(len(ids) log n))."""
        positions, found = positions_of(self.chunk_ids, self._order,
                                        np.unique(np.asarray(ids, dtype=np.int64)))
        return positions[found]

    def document_frequency(self, term: str) -> int:
        """How many chunks contain a (stemmed) term."""
        token = self.retriever.vocab_dict.get(term) if len(self.chunk_ids) else None
        if token is None:
            return 0
        indptr = self.retriever.scores["indptr"]
        return int(indptr[token + 1] - indptr[token])

    def save(self, folder: Path) -> None:
        target = folder / LEXICAL_DIR
        target.mkdir(parents=True, exist_ok=True)
        np.save(target / _IDS_FILE, self.chunk_ids, allow_pickle=False)
        if len(self.chunk_ids):
            self.retriever.save(str(target), allow_pickle=False)
        (target / "meta.json").write_text(json.dumps({"chunks": len(self.chunk_ids)}))

    @classmethod
    def load(cls, folder: Path) -> Bm25Index:
        target = folder / LEXICAL_DIR
        chunk_ids = np.load(target / _IDS_FILE, allow_pickle=False)
        if not len(chunk_ids):
            return cls(bm25s.BM25(), chunk_ids)
        retriever = bm25s.BM25.load(str(target), mmap=True, allow_pickle=False)
        return cls(retriever, chunk_ids)
