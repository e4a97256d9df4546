"""The rescore stage: a second embedding model re-reads the best candidates (a reranker).

The index is searched with its own model; this stage encodes the question and the best
`depth` candidates' texts with another model (all-mpnet-base-v2 by default, resolved offline
and checked by hash like any model) and orders them by reciprocal rank fusion of their place so
far and their place by the second model's cosine, so the lexical evidence already in the order
is kept, not overruled. Off by default: it costs `depth` passage encodings per question, less
what its cache already holds (README, Evaluation).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from index.fusion import reciprocal_rank_fusion
from service.ranking.fuse import RRF_K
from service.ranking.rerank import DEPTH, Reranker
from service.ranking.stages import Candidate, QueryContext, StageError, parameters

if TYPE_CHECKING:
    from index.embedder import Embedder

MODEL = "mpnet"
CACHED_PASSAGES = 20_000  # passage vectors kept per model (768 floats each: about 60 MB)

_models: dict[str, Embedder] = {}
_models_lock = threading.Lock()


def second_model(name: str) -> Embedder:
    """The model `name` as the default backend loads it (ONNX int8), once per process."""
    with _models_lock:
        if name not in _models:
            from index.onnx_embedder import OnnxEmbedder  # onnxruntime only when a stage asks

            _models[name] = OnnxEmbedder(name, quantized=True)
        return _models[name]


class PassageVectors:
    """The second model's vectors of passage texts, least recently used dropped first."""

    def __init__(self, embedder: Embedder, size: int = CACHED_PASSAGES) -> None:
        self.embedder = embedder
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in found:
                self._vectors.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self.embedder.encode(missing)))
            with self._lock:
                for text in missing:
                    self._vectors[text] = found[text]
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts])


class Rescore(Reranker):
    """The best `depth` candidates ordered by RRF (k 60) of their rank so far and their rank
    by `model`'s cosine with the question."""

    name = "rescore"

    def __init__(self, model: str = MODEL, depth: int = DEPTH) -> None:
        super().__init__(depth)
        if not model.strip():
            raise StageError("ranking stage 'rescore': model must name a model")
        self.model = model
        self._vectors: PassageVectors | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "model": self.model}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        model = data.get("model", MODEL)
        if not isinstance(model, str):
            raise StageError(f"ranking stage 'rescore': model must be a name, not {model!r}")
        rest = {k: v for k, v in data.items() if k != "model"}
        return cls(model, **parameters(cls.name, rest, {"depth": DEPTH}))

    def passage_vectors(self) -> PassageVectors:
        if self._vectors is None:
            self._vectors = PassageVectors(second_model(self.model))
        return self._vectors

    def scores(self, ctx: QueryContext, candidates: list[Candidate]) -> Sequence[float]:
        if not candidates:
            return []
        vectors = self.passage_vectors()
        texts = [c.chunk.embed_text for c in candidates if c.chunk is not None]
        cosine = vectors(texts) @ vectors.embedder.encode_query(ctx.question)
        # Positions stand for the candidates: their order so far, and the second model's.
        so_far = list(range(len(candidates)))
        by_model = [int(i) for i in np.argsort(-cosine, kind="stable")]
        fused = dict(reciprocal_rank_fusion([so_far, by_model], k=RRF_K))
        return [fused[i] for i in so_far]
