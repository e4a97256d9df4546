"""A deterministic, model-free embedder for fast tests: hashed stemmed words, L2-normalised."""

from __future__ import annotations

import hashlib
import re
import threading
from functools import lru_cache

import numpy as np
import Stemmer

# Words so common in legal text that, hashed, they would pull every chunk towards every other.
STOPWORDS = frozenset(
    "a an and any are as at be by for from has have in is it its may no not of on or shall "
    "such that the their this to under which who with".split())
_WORD = re.compile(r"[a-z0-9]+")
# What count_tokens treats as one word piece: a run of letters or digits, or one other symbol.
_PIECE = re.compile(r"\w+|[^\w\s]")
_EMPTY = "\0empty"  # the feature of a text with no words, so that it still gets a unit vector


@lru_cache(maxsize=65536)
def _feature(stem: str, dimension: int) -> tuple[int, float]:
    """The bucket and sign of one stem: from blake2b, not hash(), which is salted per process."""
    digest = hashlib.blake2b(stem.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimension, 1.0 if (value >> 63) & 1 else -1.0


class HashingEmbedder:
    """Signed feature hashing of lower-cased, stemmed, non-stop words into `dimension` floats.

    Texts sharing words get near vectors (their cosine is about their shared words' weight),
    so dense retrieval works for real on a tiny corpus, in microseconds and without a model.
    Word pieces are counted as words and punctuation marks plus two special tokens, like a
    BERT tokenizer's [CLS] and [SEP], and `max_tokens` caps them as a model's sequence length.
    """

    def __init__(self, dimension: int = 64, max_tokens: int = 256) -> None:
        if dimension < 2:
            raise ValueError("dimension must be at least 2")
        self.dimension = dimension
        self.max_tokens = max_tokens
        # The name is what an index records: an index built with other settings is refused.
        self.name = f"tests/hashing-stemmed-{dimension}d-{max_tokens}t-v1"
        self._local = threading.local()  # PyStemmer objects must not be shared between threads

    def _stemmer(self) -> Stemmer.Stemmer:
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:
            stemmer = self._local.stemmer = Stemmer.Stemmer("english")
        return stemmer

    def stems(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]
        return self._stemmer().stemWords(words)

    def count_tokens(self, text: str) -> int:
        return len(_PIECE.findall(text)) + 2

    def _vector(self, text: str) -> np.ndarray:
        # Like the model, it reads only the first max_tokens word pieces (special ones included).
        pieces = _PIECE.findall(text)[: max(self.max_tokens - 2, 0)]
        counts: dict[str, int] = {}
        for stem in self.stems(" ".join(pieces)) or [_EMPTY]:
            counts[stem] = counts.get(stem, 0) + 1
        vector = np.zeros(self.dimension, dtype=np.float64)
        for stem, n in counts.items():
            bucket, sign = _feature(stem, self.dimension)
            vector[bucket] += sign * (1.0 + np.log(n))  # sublinear: a repeated word counts less
        norm = np.linalg.norm(vector)
        if norm == 0.0:  # every feature cancelled out: fall back to the empty text's vector
            return self._vector("")
        return vector / norm

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = self._vector(text)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


class RecordingEmbedder(HashingEmbedder):
    """A HashingEmbedder (same name, same vectors) that keeps every text it was asked to encode,
    so that a test can tell exactly what a build embedded (questions are not kept)."""

    def __init__(self, dimension: int = 64, max_tokens: int = 256) -> None:
        super().__init__(dimension, max_tokens)
        self.encoded: list[str] = []
        self._record = threading.Lock()  # builds encode on their own thread

    def encode(self, texts: list[str]) -> np.ndarray:
        with self._record:
            self.encoded.extend(texts)
        return super().encode(texts)

    def encode_query(self, text: str) -> np.ndarray:
        return super().encode([text])[0]  # questions are not what a build embedded
