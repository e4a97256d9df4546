"""Definitions read from real definitions sections' text, and definition questions."""

from __future__ import annotations

import pytest

from service.definitions import (
    asked_terms,
    definition_label,
    find_definitions,
    is_definitions_section,
    names_term,
    synonyms_asked,
)

# Short real texts, as the index stores them (copied from ../shared/corpus).
SMUGGLING = (
    "Article 3 – Use of terms\nFor the purposes of this Protocol:\n\n"
    "a) ``Smuggling of migrants\" shall mean the procurement, in order to obtain, directly or "
    "indirectly, a financial or other material benefit, of the illegal entry of a person into "
    "a State Party of which the person is not a national or a permanent resident;\n\n"
    "b)``Illegal entry\" shall mean crossing borders without complying with the necessary "
    "requirements for legal entry into the receiving State;")
SMUGGLING_PATH = ("I – General provisions", "Article 3 – Use of terms")
DUBLIN = (
    "Article 2\nDefinitions\nFor the purposes of this Regulation:\n"
    "(a) ‘third-country national’ means any person who is not a\ncitizen of the Union within "
    "the meaning of Article 20(1)\nTFEU and who is not national of a State which participates\n"
    "in this Regulation by virtue of an agreement with the\nEuropean Union;\n\n"
    "(b) ‘application for international protection’ means an application for international "
    "protection as defined in Article 2(h)\nof Directive 2011/95/EU;\n"
    "(c) ‘applicant’ means a third-country national or a stateless\nperson who has made an "
    "application for international\nprotection in respect of which a final decision has not\n"
    "yet been taken;\n(d) ‘examination of an application for international protection’\n"
    "means any examination of, or decision or ruling")
DUBLIN_PATH = ("Chapter I Subject matter and definitions", "Article 2 Definitions")
# Dublin III, Art. 2(m) and (n), as the PDF reader extracts them: kinds of visa on dashed lines.
DUBLIN_VISAS = (
    "(m) ‘visa’ means the authorisation or decision of a Member\nState required for transit or "
    "entry for an intended stay in\nthat Member State or in several Member States. The nature\n"
    "of the visa shall be determined in accordance with the\nfollowing definitions:\n"
    "— ‘long-stay visa’ means an authorisation or decision\nissued by one of the Member States "
    "in accordance\nwith its national law or Union law required for entry\nfor an intended stay "
    "in that Member State of more than\nthree months,\n\n— ‘short-stay visa’ means an "
    "authorisation or decision of a\nMember State with a view to transit through or an\n"
    "intended stay on the territory of one or more or all\nthe Member States of a duration of "
    "no more than three\nmonths in any six-month period beginning on the date\nof first entry "
    "on the territory of the Member States,\n— ‘airport transit visa’ means a visa valid for "
    "transit\nthrough the international transit areas of one or more\nairports of the Member "
    "States;\n(n) ‘risk of absconding’ means the existence of reasons in an\nindividual case")
USC = ("(41) A cooperative apprenticeship program referred to above.\n\n"
       "(42) The term “refugee” means (A) any person who is outside any country of such "
       "person’s nationality or, in the case of a person having no nationality, is outside any "
       "country in which such person last habitually resided,")
USC_ADMISSION = ("(13)\n\n(A) The terms “admission” and “admitted” mean, with respect to an "
                 "alien, the lawful entry of the alien into the United States")
# The path the index gives § 1101(a)(42): "(C)" is left over from § 1101(a)(13)(C).
USC_PATH = ("Title 8— ALIENS AND NATIONALITY", "CHAPTER 12— IMMIGRATION AND NATIONALITY",
            "SUBCHAPTER I— GENERAL PROVISIONS", "§ 1101. Definitions",
            "(a) As used in this chapter", "(C)")
IRPA = ("designated foreign national has the meaning assigned by subsection 20.1(2). "
        "(étranger désigné)\n\nforeign national means a person who is not a Canadian citizen "
        "or a permanent resident, and includes a stateless person. (étranger)\n\n"
        "permanent resident means a person who has acquired permanent resident status")
IRPA_NOTE = ("Act includes regulations and instructions\n\n(2) Unless otherwise indicated, "
             "references in this Act to “this Act” include regulations made under it")
STATELESS = ("1. For the purpose of this Convention, the term “stateless person” means a person "
             "who is not considered as a national by any State under the operation of its law.")


def _terms(text: str) -> list[tuple[str, str]]:
    return [(d.term, d.marker) for d in find_definitions(text)]


def test_the_smuggling_protocol_defines_smuggling_of_migrants_in_art_3_a():
    found = find_definitions(SMUGGLING)
    assert [(d.term, d.marker) for d in found] == [("Smuggling of migrants", "a"),
                                                   ("Illegal entry", "b")]
    assert SMUGGLING[found[0].start:found[0].end] == "Smuggling of migrants"
    assert found[0].opens_sentence  # "smuggling of migrants" in running text is the same term
    assert definition_label("Smuggling Protocol", SMUGGLING_PATH, "a") == \
        "Smuggling Protocol, Art. 3(a)"


def test_dublin_iii_defines_applicant_in_art_2_c():
    assert _terms(DUBLIN) == [("third-country national", "a"),
                              ("application for international protection", "b"),
                              ("applicant", "c"),
                              ("examination of an application for international protection", "d")]
    assert definition_label("Regulation (EU) No 604/2013", DUBLIN_PATH, "c") == \
        "Regulation (EU) No 604/2013, Art. 2(c)"


def test_8_usc_defines_refugee_in_1101_a_42():
    (refugee,) = find_definitions(USC)
    assert (refugee.term, refugee.marker, refugee.opens_sentence) == ("refugee", "42", False)
    assert definition_label("8 U.S.C.", USC_PATH, "42") == "8 U.S.C. § 1101(a)(42)"


def test_one_definition_may_define_two_terms():
    assert _terms(USC_ADMISSION) == [("admission", "A"), ("admitted", "A")]
    # "(A)" is under "(13)", which the path does not give: no label made from the marker.
    assert definition_label("8 U.S.C.", USC_PATH, "A") is None


def test_justice_canada_definitions_are_the_bare_term_before_means():
    assert _terms(IRPA) == [("designated foreign national", ""), ("foreign national", ""),
                            ("permanent resident", "")]
    assert all(not d.opens_sentence for d in find_definitions(IRPA))  # the Act's own case
    assert _terms(IRPA_NOTE) == []  # a marginal note, not a definition


def test_a_definition_within_a_sentence():
    assert _terms(STATELESS) == [("stateless person", "")]


def test_definitions_sections_are_known_by_their_headings():
    assert is_definitions_section(SMUGGLING_PATH)
    assert is_definitions_section(("Interpretation", "s. 2 Definitions", "(1)"))
    assert not is_definitions_section(("PART 3 Enforcement", "s. 117 Organizing entry"))


@pytest.mark.parametrize(("question", "term"), [
    ("definition of smuggling of migrants", "Smuggling of migrants"),
    ("what does 'refugee' mean", "refugee"),
    ("meaning of 'applicant' under Dublin III", "applicant"),
    ("define trafficking in persons", "Trafficking in persons"),
    ("How does 8 U.S.C. § 1101 define “alien”?", "alien"),
    ("What is meant by refugees in the Convention?", "refugee"),
])
def test_a_definition_question_names_its_term(question, term):
    assert any(names_term(p, term) for p in asked_terms(question)), asked_terms(question)


@pytest.mark.parametrize(("question", "term"), [
    ("Who is a refugee under the Convention?", "refugee"),  # asks, but not for a definition
    ("Compare how the Convention and the INA define who is a refugee.", "refugee"),
    ("What acts and means make up the international legal definition of human trafficking?",
     "Trafficking in persons"),
    ("definition of smuggling of migrants", "migrant"),
])
def test_other_questions_name_no_term(question, term):
    assert not any(names_term(p, term) for p in asked_terms(question))


def test_dashed_kinds_of_a_term_are_listed_under_its_point():
    assert _terms(DUBLIN_VISAS) == [("visa", "m"), ("long-stay visa", "m"), ("short-stay visa", "m"),
                                    ("airport transit visa", "m"), ("risk of absconding", "n")]
    found = find_definitions(DUBLIN_VISAS)
    assert [d.dashed for d in found] == [False, True, True, True, False]
    assert definition_label("Regulation (EU) No 604/2013", DUBLIN_PATH, found[2].marker) == \
        "Regulation (EU) No 604/2013, Art. 2(m)"
    # A dashed line whose list item is in another chunk: its marker is not known here.
    (alone,) = find_definitions(DUBLIN_VISAS[DUBLIN_VISAS.index("— ‘airport"):].split("\n(n)")[0])
    assert (alone.term, alone.marker, alone.dashed) == ("airport transit visa", "", True)


@pytest.mark.parametrize(("question", "others"), [
    ("What is the definition of human trafficking?",
     ["trafficking in persons", "trafficking in human beings"]),
    ("define migrant smuggling under the Smuggling Protocol", ["smuggling of migrants"]),
    ("what does 'trafficking in persons' mean?", ["trafficking in human beings", "human trafficking"]),
    ("what does 'applicant' mean?", []),  # no other name is on record
])
def test_a_definition_question_also_asks_for_a_terms_other_names(question, others):
    assert synonyms_asked(asked_terms(question)) == others
