"""A question's shape: provision-citing, natural-language question or keyword query."""

from __future__ import annotations

import pytest

from service.provisions import find_references
from service.ranking.shape import KEYWORD, PROVISION, QUESTION, query_shape


@pytest.mark.parametrize(("question", "shape"), [
    ("Who may be expelled from a territory?", QUESTION),
    ("a refugee may not be returned to a country where his life is at risk", QUESTION),
    # Lucene's 33 stopwords are few: 2 of 8 here, a quarter, is not more than a quarter.
    ("what does the convention say about expulsion of refugees", KEYWORD),
    ("the right to seek asylum from persecution", QUESTION),
    ("definition of smuggling of migrants", QUESTION),  # 2 of 5 words are stopwords
    ("non-refoulement national security exception", KEYWORD),
    ("asylum", KEYWORD),
    ("child soldiers recruitment age", KEYWORD),
    ("", KEYWORD),
    ("1951 2013", KEYWORD),
    ("Expulsion?", QUESTION),
])
def test_shape_of_a_question_without_a_reference(question, shape):
    assert query_shape(question) == shape


def test_a_cited_provision_decides_whatever_the_wording():
    for question in ("Article 33 of the Refugee Convention", "8 U.S.C. 1158",
                     "What does Article 33 of the Refugee Convention say?"):
        references = find_references(question)
        assert references, question
        assert query_shape(question, references) == PROVISION
