"""Provision references found in questions, matched against heading paths."""

from __future__ import annotations

import pytest

from ingest.catalogue import BUILTIN_CATALOGUE, load_catalogue
from service.provisions import component_matches, find_references, named_documents


@pytest.mark.parametrize("question, path, expected", [
    ("What does Article 31 of the Refugee Convention say?", ("Chapter V", "Article 31 – X"), True),
    ("What does Article 31 say?", ("Chapter V", "Article 3 – X"), False),
    ("article 3 of the ECHR", ("Section I", "Article 31 – Y"), False),
    ("Art. 28 Dublin III", ("Chapter V", "Article 28 Detention"), True),
    ("Art.28 Dublin III", ("Chapter V", "Article 28 Detention"), True),
    ("8 U.S.C. 1158 asylum", ("§ 1158. Asylum",), True),
    ("8 USC § 1158", ("§ 1158. Asylum", "(a) Authority"), True),
    ("§ 1158", ("§ 1158a. Something",), False),
    ("s. 159.3 IRPR", ("PART 8", "s. 159.3 Designation — United States"), True),
    ("section 159.3 of the IRPR", ("s. 159.31 Other",), False),
    ("section 115 IRPA", ("s. 115 Protection",), True),
])
def test_reference_matching(question, path, expected):
    refs = find_references(question)
    assert refs, question
    assert any(component_matches(path, r) for r in refs) is expected


def test_no_reference_in_plain_questions():
    assert find_references("Can a refugee be expelled to a country where his life is threatened?") == []


def test_instrument_names_from_the_catalogue():
    catalogue = load_catalogue(BUILTIN_CATALOGUE)
    indexed = {i.file for i in catalogue.instruments}
    named = named_documents("Art. 28 Dublin III detention", catalogue, indexed)
    assert named == ["pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf"]
    refugee = named_documents("Article 33 of the 1951 Convention", catalogue, indexed)
    assert "treaties/refugee_convention_1951.md" in refugee
    assert named_documents("s. 159.3 IRPR", catalogue, indexed) == [
        "legislation/canada/ca_irpr_SOR-2002-227.xml"]
    # names only count as whole words: "INA" is not found inside "detaINAtion"
    assert named_documents("examination", catalogue, indexed) == []
