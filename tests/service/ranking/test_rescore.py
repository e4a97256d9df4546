"""The rescore stage: a second real model re-reads the best candidates; its vectors are cached."""

from __future__ import annotations

import pytest

from index.fusion import reciprocal_rank_fusion
from service.ranking.pipeline import Pipeline, stage_from
from service.ranking.rescore import PassageVectors, Rescore, second_model
from service.ranking.stages import StageError
from tests.service.ranking.ranking_helpers import fetched, ids

QUESTION = "Can a country send a refugee back to where his life is in danger?"
TEXTS = [
    "The weather in spring is mild, with rain in the north.",
    "Football results of the weekend, league by league.",
    "Bread is made from flour, water, salt and yeast.",
    "No Contracting State shall expel or return a refugee in any manner whatsoever to the "
    "frontiers of territories where his life or freedom would be threatened.",
]


class CountingEncoder:
    """A real model that counts the passages it is asked to encode."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded.extend(texts)
        return self.embedder.encode(texts)

    def encode_query(self, text):
        return self.embedder.encode_query(text)


@pytest.fixture(scope="module")
def minilm():
    return second_model("minilm")


def test_the_second_models_ranking_is_fused_with_the_order_so_far(context, minilm):
    candidates = [fetched(i, text=t) for i, t in enumerate(TEXTS)]
    stage = Rescore("minilm", depth=4)
    got = stage.run(context(QUESTION, k=4), candidates)
    # The answering passage came last; the second model puts it first, so RRF of last and
    # first place lifts it above the third, not (with two equal votes) above the first.
    assert ids(got).index(3) < 3
    cosine = minilm.encode(TEXTS) @ minilm.encode_query(QUESTION)
    by_model = sorted(range(4), key=lambda i: -cosine[i])
    assert by_model[0] == 3
    expected = dict(reciprocal_rank_fusion([[0, 1, 2, 3], by_model]))
    assert [c.score for c in got] == sorted(expected.values(), reverse=True)
    assert {c.source for c in got} == {"rescore"}


def test_only_the_head_is_rescored(context):
    candidates = [fetched(i, text=t) for i, t in enumerate(TEXTS)]
    got = Rescore("minilm", depth=2).run(context(QUESTION, k=2), candidates)
    assert got[2:] == candidates[2:]


def test_passage_vectors_are_encoded_once_and_the_oldest_dropped(minilm):
    counting = CountingEncoder(minilm)
    vectors = PassageVectors(counting, size=2)
    first = vectors(TEXTS[:2])
    again = vectors(TEXTS[:2])
    assert counting.encoded == TEXTS[:2]
    assert (first == again).all()
    vectors([TEXTS[2]])  # TEXTS[0] is now the least recently used: dropped
    vectors([TEXTS[1], TEXTS[0]])
    assert counting.encoded == [*TEXTS[:3], TEXTS[0]]


def test_settings_name_the_model_and_depth():
    stage = stage_from({"name": "rescore", "model": "minilm", "depth": 12})
    assert stage.to_dict() == {"name": "rescore", "depth": 12, "model": "minilm"}
    assert Pipeline.from_settings(["candidates", "fuse", stage.to_dict(), "cite"])
    with pytest.raises(StageError, match="model must be a name"):
        stage_from({"name": "rescore", "model": 3})
    with pytest.raises(StageError, match="model must name a model"):
        stage_from({"name": "rescore", "model": " "})
    with pytest.raises(StageError, match="takes depth, not 'k'"):
        stage_from({"name": "rescore", "k": 3})
