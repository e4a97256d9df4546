"""Text the source says is not in force is left out of answers unless the filter asks for it."""

from __future__ import annotations

import sqlite3

import pytest

from index.chunk_store import DB_FILE
from index.generations import current_generation
from index.searcher import IndexSearcher
from service.engine import QuestionError
from tests.inline_corpus import EXTRADITION_ACT
from tests.small import helpers as h

NOT_IN_FORCE = """\
<Schedule id="NifProvs"><ScheduleFormHeading type="amending"><TitleText>AMENDMENTS NOT IN \
FORCE</TitleText></ScheduleFormHeading><BillPiece><RelatedOrNotInForce>\
<Section type="amending"><Label>120</Label><Text>Section 44 of the Act is replaced by a duty of \
the Minister to consult the ombudsperson for detainees before any surrender.</Text></Section>\
</RelatedOrNotInForce></BillPiece></Schedule>
</Statute>"""
QUESTION = "Minister consult the ombudsperson for detainees before surrender"


@pytest.fixture()
def engine(inline_corpus, tmp_path, small_embedder):
    act = inline_corpus / EXTRADITION_ACT
    act.write_text(act.read_text(encoding="utf-8").replace("</Statute>", NOT_IN_FORCE),
                   encoding="utf-8")
    h.build(tmp_path / "idx", inline_corpus, small_embedder)
    return h.engine(tmp_path / "idx", inline_corpus, small_embedder)


def _statuses(answer) -> list[str]:
    return [p.citation.in_force for p in answer.passages]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "lexical"])
def test_not_in_force_text_is_left_out_by_default_and_found_with_any(engine, mode) -> None:
    default = engine.ask(QUESTION, k=50, mode=mode)
    assert default.passages and "false" not in _statuses(default)
    found = engine.ask(QUESTION, k=50, mode=mode, filters={"in_force": ["any"]})
    assert "false" in _statuses(found)
    only = engine.ask(QUESTION, k=50, mode=mode, filters={"in_force": ["false"]})
    assert _statuses(only) == ["false"]
    top = only.passages[0]
    assert "ombudsperson for detainees" in top.text
    assert top.citation.section.startswith("AMENDMENTS NOT IN FORCE")


def test_statuses_and_other_filters_combine(engine) -> None:
    answer = engine.ask(QUESTION, k=50, filters={"in_force": ["true"]})
    assert answer.passages and set(_statuses(answer)) == {"true"}
    assert {p.citation.document_id for p in answer.passages} == {EXTRADITION_ACT}
    unknown = engine.ask(QUESTION, k=50, filters={"in_force": ["unknown"],
                                                  "jurisdiction": ["eu"]})
    assert set(_statuses(unknown)) == {"unknown"}
    with pytest.raises(QuestionError, match="in_force 'repealed' is not one of true, false"):
        engine.ask(QUESTION, filters={"in_force": ["repealed"]})


def test_a_named_provision_among_the_amendments_is_not_boosted_by_default(engine) -> None:
    # "s. 120 of the Extradition Act" names the amending section, which is not in force.
    answer = engine.ask("s. 120 of the Extradition Act", k=5)
    assert "false" not in _statuses(answer)
    assert _statuses(engine.ask("s. 120 of the Extradition Act", k=5,
                                filters={"in_force": ["any"]}))[0] == "false"


def test_a_store_from_before_statuses_reads_every_chunk_as_unknown(engine, tmp_path,
                                                                    small_embedder) -> None:
    generation = current_generation(tmp_path / "idx")
    db = sqlite3.connect(generation / DB_FILE)
    for column in ("in_force", "in_force_since", "last_amended"):
        db.execute(f"ALTER TABLE chunks DROP COLUMN {column}")
    db.commit()
    db.close()
    searcher = IndexSearcher(generation, small_embedder)
    ids = [cid for cid, _ in searcher.sections(EXTRADITION_ACT)]
    assert set(searcher.in_force_status(ids)) == {"unknown"}
    chunk = searcher.chunks.chunks(ids[:1])[ids[0]]
    assert (chunk.in_force, chunk.in_force_since, chunk.last_amended) == ("unknown", None, None)
