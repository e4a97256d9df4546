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


@pytest.mark.parametrize(("question", "component", "subdivision"), [
    ("What does Art. 33(1) say?", "Article 33 – Prohibition of Expulsion or Return", ("1",)),
    ("Article 21(1) of Dublin III", "Article 21 Submitting a take charge request", ("1",)),
    ("8 U.S.C. § 1158(b)(1)(A) eligibility", "§ 1158. Asylum", ("b", "1", "A")),
    ("INA section 1158(b)(2) bars", "§ 1158. Asylum", ("b", "2")),
    ("IRPA s. 37(1)(a) organized criminality", "s. 37 Organized criminality", ("1", "a")),
    ("IRPR s. 159.3 designation", "s. 159.3 Designation — United States", ()),
    ("Refugee Convention Art. 1A(2)", 'Article 1 – Definition of the Term "Refugee"', ("2",)),
    ("Articles 31 of the Refugee Convention", "Article 31 – Refugees unlawfully in the Country",
     ()),
])
def test_question_forms_with_subsection_paths(question, component, subdivision):
    references = find_references(question)
    assert any(r.component.match(component) for r in references), references
    assert any(r.subdivision == subdivision for r in references)


@pytest.mark.parametrize(("question", "component"), [
    ("Art. 3(1) of the Smuggling Protocol", "Article 33 – Prohibition of Expulsion"),
    ("Article 3", "Article 33 – Prohibition of Expulsion"),
    ("8 U.S.C. § 115(b)", "§ 1158. Asylum"),
    ("IRPR s. 159", "s. 159.3 Designation — United States"),
    ("s. 37(1)(a)", "s. 370 Something"),
    ("Art. 1A", "Article 10 – Continuity of Residence"),
])
def test_a_shorter_number_is_not_a_longer_one(question, component):
    assert not any(r.component.match(component) for r in find_references(question))
