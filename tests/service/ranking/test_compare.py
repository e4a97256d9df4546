"""The compare stage: each instrument or jurisdiction a question names gets its first places."""

from __future__ import annotations

from service.ranking.candidates import Candidates
from service.ranking.compare import Compare, compared_groups, deal, jurisdictions_named
from service.ranking.fuse import fuse
from service.ranking.pipeline import Pipeline
from service.ranking.stages import Candidate
from tests.service.ranking.ranking_helpers import PROTOCOL_4, REFUGEE_PROTOCOL, USC_13, ids


def documents_of(candidates):
    return [c.chunk.document_id for c in candidates]


def test_places_are_dealt_in_turn_and_the_rest_keeps_its_order():
    candidates = [Candidate(i, 1.0 / (i + 1)) for i in (1, 2, 3, 4, 5)]
    got = deal([[3, 1, 2], [1, 5, 4]], candidates, places=4)
    # 3 from the first; 1 from the second; the first's next not taken (2); the second's (5).
    assert ids(got) == [3, 1, 2, 5, 4]
    assert [c.source for c in got[:4]] == ["compare"] * 4
    head = [c.score for c in got[:4]]
    assert head == sorted(head, reverse=True) and head[-1] > candidates[0].score
    assert got[4] == candidates[3]  # not placed: as it was


def test_a_ranking_that_runs_out_leaves_its_turns_to_the_others():
    got = deal([[7], [8, 9, 10]], [], places=3)
    assert ids(got) == [7, 8, 9]


def test_jurisdictions_are_names_not_pronouns():
    assert jurisdictions_named("How do Canada and the US treat this?") == {"canada": 7, "us": 22}
    assert jurisdictions_named("Tell us about U.S. law") == {"us": 14}
    assert jurisdictions_named("Canadian and EU rules") == {"canada": 0, "eu": 13}
    assert jurisdictions_named("the focus of this question") == {}


def test_two_named_instruments_share_the_first_places(context):
    question = ("Compare how Protocol No. 4 to the ECHR and the 1967 Protocol relating to the "
                "Status of Refugees deal with the obligations of states")
    ctx = context(question, k=4)
    assert {tuple(g.document_ids) for g in compared_groups(ctx)} == {(PROTOCOL_4,),
                                                                     (REFUGEE_PROTOCOL,)}
    pipeline = Pipeline.from_settings(["candidates", "fuse", "compare", "cite"])
    got = documents_of(pipeline.run(ctx))
    assert got == [PROTOCOL_4, REFUGEE_PROTOCOL, PROTOCOL_4, REFUGEE_PROTOCOL]


def test_a_named_jurisdiction_is_a_group_unless_it_holds_a_named_instrument(context):
    ctx = context("Compare the collective expulsion of aliens in Protocol No. 4 with U.S. law",
                  k=2)
    groups = compared_groups(ctx)
    assert groups[0].document_ids == frozenset({PROTOCOL_4})
    assert groups[1].jurisdiction == frozenset({"us"})
    got = Compare().run(ctx, fuse(Candidates().run(ctx, [])))
    assert documents_of(ctx.fetch(got[:2])) == [PROTOCOL_4, USC_13]
    # A jurisdiction and its own instrument compare nothing.
    assert len(compared_groups(context("What does 8 U.S.C. chapter 13 say in U.S. law?"))) < 2


def test_one_group_changes_nothing(context):
    ctx = context("collective expulsion of aliens in Protocol No. 4", k=3)
    before = fuse(Candidates().run(ctx, []))
    assert Compare().run(ctx, before) == before


def test_naming_two_without_asking_to_compare_changes_nothing(context):
    ctx = context("Can an alien expelled under Protocol No. 4 be removed under U.S. law?", k=3)
    assert len(compared_groups(ctx)) == 2
    before = fuse(Candidates().run(ctx, []))
    assert Compare().run(ctx, before) == before
