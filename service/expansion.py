"""Legal-terminology expansion for the lexical side: the other names of the legal terms a
question uses (service/data/legal_terms.toml), as text for a second BM25 scoring."""

from __future__ import annotations

from functools import cache

from service.highlights import terms
from service.term_groups import term_groups

TERMS_FILE = "legal_terms.toml"
WEIGHT = 0.5  # of the expansion's BM25 scores against the question's own


@cache
def _stemmed_groups() -> tuple[tuple[tuple[str, ...], ...], ...]:
    return tuple(tuple(tuple(terms(term)) for term in group) for group in term_groups(TERMS_FILE))


def _contains(words: list[str], term: tuple[str, ...]) -> bool:
    n = len(term)
    return n > 0 and any(tuple(words[i:i + n]) == term for i in range(len(words) - n + 1))


def expansion(question: str) -> str:
    """The other terms of each group a question names (as stemmed words in a row), joined; ""
    when it names none. "Can a minor be deported?" -> "child juvenile expulsion expel ..."."""
    words = terms(question)
    out: list[str] = []
    for group, stemmed in zip(term_groups(TERMS_FILE), _stemmed_groups(), strict=True):
        named = [i for i, term in enumerate(stemmed) if _contains(words, term)]
        if named:
            out.extend(term for i, term in enumerate(group) if i not in named
                       and tuple(stemmed[i]) not in {stemmed[j] for j in named})
    return " ".join(dict.fromkeys(out))
