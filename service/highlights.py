"""Highlights: the one to three sentences of a passage that best match the question."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection

import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from ingest.sentences import line_sentence_spans
from service.display import reflow

_WORD = re.compile(r"\w+")
_STOP = frozenset(STOPWORDS_EN)
_stemmer = Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    words = [w.lower() for w in _WORD.findall(text)]
    return _stemmer.stemWords([w for w in words if w not in _STOP])


def highlight(question: str | frozenset[str], text: str, idf: Callable[[str], float],
              most: int = 3, headings: Collection[str] = ()) -> list[tuple[int, int]]:
    """Sentences sharing the most informative terms with the question, in text order; a
    sentence runs on across a column line break (see service/display.py), never across a
    paragraph, a list item or one of `headings` (the passage's heading path).

    Scored by the summed IDF of shared (stemmed) terms, so a rare term such as "refoulement"
    outweighs a common one. With no shared term, the passage's first sentence stands in.
    `question` may be given as its `frozenset(terms(question))`, to stem it once per answer.
    """
    # Sentences of the reflowed text (same length, same offsets): a PDF's column line break
    # does not end a sentence, while list items, numbered paragraphs and headings still do.
    spans = line_sentence_spans(reflow(text, headings))
    if not spans:
        return []
    wanted = question if isinstance(question, frozenset) else frozenset(terms(question))
    scored = []
    for span in spans:
        shared = wanted & set(terms(text[span[0]:span[1]]))
        score = sum(idf(t) for t in shared)
        if score > 0:
            scored.append((score, span))
    if not scored:
        return [spans[0]]
    scored.sort(key=lambda s: -s[0])
    best = scored[0][0]
    chosen = [span for score, span in scored[:most] if score >= best * 0.5]
    return sorted(chosen)


def idf_from_counts(document_frequency: Callable[[str], int], total: int
                    ) -> Callable[[str], float]:
    def idf(term: str) -> float:
        df = document_frequency(term)
        return math.log(1 + (total - df + 0.5) / (df + 0.5))

    return idf
