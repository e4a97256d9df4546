"""In-force status: what Justice Canada XML says of its text reaches every chunk."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.catalogue import catalogue_for
from ingest.chunker import ChunkSettings, StructureChunker
from ingest.document import sha256_file
from ingest.pipeline import SourceFile, load_document
from tests.small_embedder import HashingEmbedder

ACT = """\
<?xml version="1.0" encoding="utf-8"?>
<Statute xmlns:lims="http://justice.gc.ca/lims" in-force="yes" lims:lastAmendedDate="2026-03-26">
<Identification><LongTitle>An Act respecting tests</LongTitle>
<ShortTitle status="official">Test Act</ShortTitle></Identification>
<Body>
<Heading level="1"><TitleText>Short Title</TitleText></Heading>
<Section lims:inforce-start-date="2012-07-04"><MarginalNote>Short title</MarginalNote>\
<Label>1</Label><Text>This Act may be cited as the Test Act.</Text></Section>
<Section><MarginalNote>Purpose</MarginalNote><Label>2</Label>\
<Text>The purpose of this Act is to test the reading of statutes in force.</Text></Section>
</Body>
<Schedule id="NifProvs"><ScheduleFormHeading type="amending"><TitleText>AMENDMENTS NOT IN \
FORCE</TitleText></ScheduleFormHeading><BillPiece><RelatedOrNotInForce>\
<Heading level="5"><TitleText>— 2014, c. 39, s. 306</TitleText></Heading>\
<Section type="amending" lims:inforce-start-date="2015-01-01"><Label>306</Label>\
<Text>Subsection 4(2.1) of the Act is replaced by a rule on the Minister of Employment and \
Social Development.</Text></Section></RelatedOrNotInForce></BillPiece></Schedule>
</Statute>
"""

MARKDOWN = "# Convention\n\n## Article 1\n\nEvery person has the right to a test.\n"


def _chunks(root: Path, rel: str):
    path = root / rel
    doc = load_document(SourceFile(path, rel), sha256_file(path), catalogue_for(root))
    embedder = HashingEmbedder()
    return doc, StructureChunker(ChunkSettings(), embedder.count_tokens, embedder.max_tokens
                                 ).chunk(doc)


def _status_of(chunks, needle: str) -> tuple[str, str | None, str | None]:
    chunk = next(c for c in chunks if needle in c.text)
    return chunk.in_force, chunk.in_force_since, chunk.last_amended


def test_sections_in_force_with_their_dates_and_the_amendments_not_in_force(tmp_path) -> None:
    (tmp_path / "act.xml").write_text(ACT, encoding="utf-8")
    doc, chunks = _chunks(tmp_path, "act.xml")
    assert doc.last_amended == "2026-03-26"
    assert _status_of(chunks, "cited as the Test Act") == ("true", "2012-07-04", "2026-03-26")
    # A section that gives no date of its own: in force, as the Act is, since no known date.
    assert _status_of(chunks, "The purpose of this Act") == ("true", None, "2026-03-26")
    # The amendment is not in force, whatever date its own element carries.
    assert _status_of(chunks, "Minister of Employment") == ("false", None, "2026-03-26")
    assert {c.in_force for c in chunks if c.section[:1] == ("AMENDMENTS NOT IN FORCE",)} \
        == {"false"}


def test_an_act_not_in_force_and_formats_that_say_nothing(tmp_path) -> None:
    (tmp_path / "act.xml").write_text(ACT.replace('in-force="yes"', 'in-force="no"'),
                                      encoding="utf-8")
    (tmp_path / "convention.md").write_text(MARKDOWN, encoding="utf-8")
    assert {c.in_force for c in _chunks(tmp_path, "act.xml")[1]} == {"false"}
    assert {(c.in_force, c.in_force_since, c.last_amended)
            for c in _chunks(tmp_path, "convention.md")[1]} == {("unknown", None, None)}


@pytest.mark.parametrize("rel, not_in_force, in_force", [
    ("legislation/canada/ca_irpa_I-2.5.xml",
     "Subsection 4(2.1) of the Immigration and Refugee Protection Act is replaced",
     "a foreign national is inadmissible on grounds of organized criminality for"),
    ("legislation/canada/ca_irpr_SOR-2002-227.xml",
     "Paragraph 269(1)(e) of the Regulations",
     "The United States is designated under paragraph 102(1)(a) of the Act"),
])
def test_the_real_statutes(shared_corpus: Path, rel: str, not_in_force: str,
                           in_force: str) -> None:
    doc, chunks = _chunks(shared_corpus, rel)
    assert _status_of(chunks, not_in_force)[0] == "false"
    status, since, amended = _status_of(chunks, in_force)
    assert status == "true" and since is not None and amended == doc.last_amended
    assert len(since) == 10 and since <= amended
    not_in_force_chunks = [c for c in chunks if c.in_force == "false"]
    # Only the schedule of amendments not in force: a small share of the text.
    assert not_in_force_chunks and all(c.section[0] == "AMENDMENTS NOT IN FORCE"
                                       for c in not_in_force_chunks)
    assert len(not_in_force_chunks) < len(chunks) / 10
