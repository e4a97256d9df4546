"""A question's shape: what kind of request it is, for the stages whose best setting differs
by kind (fusion weighs the dense ranking up for natural-language questions)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bm25s.stopwords import STOPWORDS_EN

PROVISION = "provision"  # names a provision: "Article 33 of the Refugee Convention"
QUESTION = "question"  # a sentence in natural language: "Who may be expelled ...?"
KEYWORD = "keyword"  # a few terms: "non-refoulement national security exception"
SHAPES = (PROVISION, QUESTION, KEYWORD)

_WORD = re.compile(r"[^\W\d_]+")
_STOP = frozenset(STOPWORDS_EN)
# Function words ("the", "of", "may", "who") are a quarter or more of a sentence's words and
# rare in a keyword query, which is mostly nouns; a question mark settles it either way.
QUESTION_STOPWORD_SHARE = 0.25


def query_shape(question: str, references: Sequence[object] = ()) -> str:
    """PROVISION if the question cites a provision (`references`, from
    service.provisions), else QUESTION if it reads as a sentence (ends with "?", or more than
    a quarter of its words are stopwords), else KEYWORD."""
    if references:
        return PROVISION
    if question.rstrip().endswith("?"):
        return QUESTION
    words = [w.lower() for w in _WORD.findall(question)]
    if not words:
        return KEYWORD
    share = sum(w in _STOP for w in words) / len(words)
    return QUESTION if share > QUESTION_STOPWORD_SHARE else KEYWORD
