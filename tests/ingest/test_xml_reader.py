"""Justice Canada XML reader on the real statutes, and hostile or foreign XML."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import DocumentReadError, ParsedText, span_at
from ingest.readers.justice_canada_xml import JusticeCanadaXmlReader
from tests.reliability.hostile import BILLION_LAUGHS

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Statute [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Statute><Body><Section><Label>1</Label><Text>&xxe;</Text></Section></Body></Statute>
"""

EXTERNAL_PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Statute [<!ENTITY % ext SYSTEM "file:///etc/passwd"> %ext;]>
<Statute><Body/></Statute>
"""


def assert_well_formed(parsed: ParsedText, name: str) -> None:
    assert parsed.text.strip(), name
    assert parsed.pages is None, name
    prev_end = 0
    for span in parsed.sections:
        assert 0 <= span.start < span.end <= len(parsed.text), (name, span)
        assert span.start >= prev_end, (name, span)
        prev_end = span.end


def path_of(parsed: ParsedText, needle: str) -> tuple[str, ...]:
    offset = parsed.text.find(needle)
    assert offset >= 0, f"{needle!r} not in text"
    return span_at(parsed.sections, offset).path


@pytest.fixture(scope="module")
def irpr(shared_corpus: Path) -> ParsedText:
    return JusticeCanadaXmlReader().read(
        shared_corpus / "legislation" / "canada" / "ca_irpr_SOR-2002-227.xml")


@pytest.fixture(scope="module")
def irpa(shared_corpus: Path) -> ParsedText:
    return JusticeCanadaXmlReader().read(
        shared_corpus / "legislation" / "canada" / "ca_irpa_I-2.5.xml")


def test_safe_third_country_designation(irpr: ParsedText) -> None:
    path = path_of(irpr, "The United States is designated under paragraph 102(1)(a) of the Act")
    assert path == ("PART 8 Refugee Classes", "DIVISION 3 Determination of Eligibility of Claim",
                    "s. 159.3 Designation \u2014 United States")
    assert irpr.title == "Immigration and Refugee Protection Regulations"


def test_historical_notes_are_dropped(irpr: ParsedText, irpa: ParsedText) -> None:
    # Every occurrence of these citations in the files sits inside a HistoricalNote.
    assert "SOR/2004-217" not in irpr.text
    assert "2001, c. 27, s. 2; 2012, c. 17, s. 2" not in irpa.text


def test_non_refoulement_in_irpa(irpa: ParsedText) -> None:
    needle = ("A protected person or a person who is recognized as a Convention refugee by another "
              "country to which the person may be returned shall not be removed from Canada to a "
              "country where they would be at risk of persecution")
    path = path_of(irpa, needle)
    assert path[-2:] == ("s. 115 Protection", "(1)")
    assert path[0] == "PART 2 Refugee Protection"
    assert "s. 115 Protection\n(1) " + needle in irpa.text
    assert irpa.title == "Immigration and Refugee Protection Act"


def test_paragraphs_and_definitions_get_their_own_path(irpa: ParsedText, irpr: ParsedText) -> None:
    assert path_of(irpa, "(a) who is inadmissible on grounds of serious criminality")[-3:] == (
        "s. 115 Protection", "(2)", "(a)")
    assert path_of(irpr, "(a) a demand on health services or social services")[-3:] == (
        "(1)", "excessive demand", "(a)")


def test_every_corpus_xml_file_is_well_formed(shared_corpus: Path) -> None:
    files = sorted(shared_corpus.glob("**/*.xml"))
    assert files
    for path in files:
        parsed = JusticeCanadaXmlReader().read(path)
        assert_well_formed(parsed, path.name)
        assert parsed.title and not parsed.warnings, path.name
        assert any(label.startswith("s. ") for s in parsed.sections for label in s.path)


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_PARAMETER_ENTITY],
                         ids=["billion-laughs", "external-entity", "external-parameter-entity"])
def test_entity_declarations_are_refused(tmp_path: Path, payload: bytes) -> None:
    source = tmp_path / "hostile.xml"
    source.write_bytes(payload)
    with pytest.raises(DocumentReadError, match="XML entity declarations are refused") as info:
        JusticeCanadaXmlReader().read(source)
    assert "root:" not in str(info.value)


def test_external_dtd_is_not_fetched(tmp_path: Path) -> None:
    source = tmp_path / "dtd.xml"
    source.write_bytes(b'<!DOCTYPE Statute SYSTEM "file:///etc/passwd">'
                       b"<Statute><Body><Section><Label>1</Label><Text>Ok.</Text></Section>"
                       b"</Body></Statute>")
    parsed = JusticeCanadaXmlReader().read(source)
    assert "root:" not in parsed.text
    assert path_of(parsed, "Ok.") == ("s. 1",)


def test_malformed_xml_reports_the_parser_message(tmp_path: Path) -> None:
    source = tmp_path / "broken.xml"
    source.write_bytes(b"<Statute><Body></Statute>")
    with pytest.raises(DocumentReadError, match="malformed XML: mismatched tag"):
        JusticeCanadaXmlReader().read(source)


def test_foreign_vocabulary_is_read_as_plain_text(tmp_path: Path) -> None:
    source = tmp_path / "other.xml"
    source.write_bytes(b"<treaty><art n='1'>First <b>bold</b> text.</art><art>Second.</art></treaty>")
    parsed = JusticeCanadaXmlReader().read(source)
    assert parsed.text == "First bold text.\n\nSecond."
    assert parsed.warnings == [
        "unsupported XML vocabulary <treaty>: read as plain text without structure"]


def test_deep_nesting_is_refused_cleanly(tmp_path: Path) -> None:
    source = tmp_path / "deep.xml"
    depth = 50_000
    source.write_bytes(b"<Statute><Body>" + b"<Group>" * depth + b"x" + b"</Group>" * depth
                       + b"</Body></Statute>")
    with pytest.raises(DocumentReadError, match="nested too deeply"):
        JusticeCanadaXmlReader().read(source)
