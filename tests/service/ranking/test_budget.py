"""The budget stage: the top k, or the best passages that fit max_context_tokens together."""

from __future__ import annotations

import pytest

from ingest.tokens import count_tokens
from service.ranking.budget import fit_budget, within_budget
from service.ranking.stages import Candidate
from tests.service.ranking.ranking_helpers import fetched, ids

SHORT = "No one shall be expelled."
LONG = " ".join(["The Contracting States shall co-operate with the Office of the United Nations "
                 "High Commissioner for Refugees in the exercise of its functions."] * 6)


def test_without_a_budget_the_first_k_are_kept():
    ranking = [fetched(i) for i in range(1, 8)]
    assert ids(within_budget(ranking, 3, None)) == [1, 2, 3]
    assert ids(within_budget(ranking[:2], 3, None)) == [1, 2]


def test_a_passage_too_large_is_skipped_for_later_ones_that_fit():
    ranking = [fetched(1, text=SHORT), fetched(2, text=LONG), fetched(3, text=SHORT),
               fetched(4, text=SHORT)]
    budget = 2 * count_tokens(SHORT) + 1
    assert count_tokens(LONG) > budget
    assert ids(fit_budget(ranking, budget, 5)) == [1, 3]
    assert ids(within_budget(ranking, 5, count_tokens(LONG) + count_tokens(SHORT))) == [1, 2]


def test_at_most_k_even_when_more_fit():
    ranking = [fetched(i, text=SHORT) for i in range(1, 6)]
    assert ids(fit_budget(ranking, 10_000, 2)) == [1, 2]


def test_a_budget_smaller_than_every_passage_keeps_nothing():
    assert fit_budget([fetched(1, text=SHORT)], 1, 5) == []


def test_candidates_must_be_fetched_first():
    with pytest.raises(ValueError, match="chunk 4 was not fetched"):
        fit_budget([Candidate(4, 1.0)], 100, 1)
