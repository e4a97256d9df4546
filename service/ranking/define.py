"""The define stage: for a question asking what a term means, the chunks defining it first."""

from __future__ import annotations

from service.definitions import asked_terms, synonyms_asked
from service.ranking.boost import boost
from service.ranking.stages import Candidate, QueryContext, Stage
from service.ranking.terms import defined_terms

DEFINED = "define"  # the source of a candidate this stage moved to the top


class Define(Stage):
    """A question asking for a definition ("definition of X", "what does 'X' mean", "define
    X") of a term a definitions section defines: the chunks defining it, in the instruments
    the question names (any instrument when it names none), first, in the order the ranking
    had them; everything else follows in its order. A term's curated other names count too
    ("human trafficking": "trafficking in persons"). Other questions pass through."""

    name = "define"

    def run(self, ctx: QueryContext, candidates: list[Candidate]) -> list[Candidate]:
        phrases = asked_terms(ctx.question)
        if not phrases:
            return candidates
        documents = ctx.named or [d.id for d in ctx.searcher.documents]
        terms = defined_terms(ctx.searcher)
        found = terms.defining(phrases, documents)
        for other in synonyms_asked(phrases):  # each name's own longest match
            found += terms.defining([other], documents)
        chunk_ids = ctx.in_force_only(dict.fromkeys(d.chunk_id for d in found))
        if not chunk_ids:
            return candidates
        allowed = ctx.allowed(ctx.where)
        return boost(candidates, chunk_ids, None if allowed is None else set(allowed.tolist()),
                     source=DEFINED)
