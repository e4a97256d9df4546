"""Citation labels from real heading paths and provision texts (excerpts of the corpus)."""

from __future__ import annotations

import pytest

from service.labels import (
    LINE_HEADED,
    Provision,
    citation_label,
    heading_lines,
    provision_kinds,
    provision_of,
    range_label,
)

ART_33 = ('Article 33 – Prohibition of Expulsion or Return ("Refoulement")\n'
          "1.  No Contracting State shall expel or return (\"refouler\") a refugee in any manner "
          "whatsoever to the frontiers of territories where his life or freedom would be "
          "threatened.\n\n"
          "2. The benefit of the present provision may not, however, be claimed by a refugee.")
ART_33_PATH = ("CHAPTER V – Administrative Measures",
               'Article 33 – Prohibition of Expulsion or Return ("Refoulement")')

ART_1 = ('Article 1 – Definition of the Term "Refugee"\n'
         'A. For the purposes of the present Convention, the term "refugee" shall apply to any '
         "person who:\n\n(1) Has been considered a refugee under the Arrangements;\n\n"
         "(2) As a result of events occurring before 1 January 1951 and owing to well-founded "
         "fear of being persecuted.\nB.\n\n(1) For the purposes of this Convention, the words\n\n"
         '(a)"events occurring in Europe before 1 January 1951"; or\n\n'
         '(b)"events occurring in Europe or elsewhere before 1 January 1951"')
ART_1_PATH = ("CHAPTER I – General Provisions", 'Article 1 – Definition of the Term "Refugee"')

SMUGGLING_3 = ("Article 3 – Use of terms\nFor the purposes of this Protocol:\n\n"
               '(a) "Smuggling of migrants" shall mean the procurement, in order to obtain a '
               "financial or other material benefit;\n\n"
               '(b) "Illegal entry" shall mean crossing borders without complying;')
SMUGGLING_3_PATH = ("I – General provisions", "Article 3 – Use of terms")

DUBLIN_21 = ("Article 21\nSubmitting a take charge request\n1. Where a Member State with which "
             "an application for\ninternational protection has been lodged considers that\n"
             "another Member State is responsible, it may request that other Member\n"
             "State to take charge of the applicant.\n"
             "2. The requesting Member State may ask for an urgent reply\n"
             "in cases where the application was refused.")
DUBLIN_21_PATH = ("Chapter VI Procedures for taking charge and taking back",
                  "Section II Procedures for take charge requests",
                  "Article 21 Submitting a take charge request")

USC_1158 = ("§ 1158. Asylum\n(a) Authority to apply for asylum\n(1) In general\n\n"
            "Any alien who is physically present in the United States may apply for asylum.\n\n"
            "(b) Conditions for granting asylum\n(1) In general\n\n(A) Eligibility\n\n"
            "The Secretary of Homeland Security may grant asylum to an alien.\n\n"
            "(B) Burden of proof\n\n(i) In general\n\nThe burden of proof is on the applicant.")
USC_1158_PATH = ("Title 8— ALIENS AND NATIONALITY", "CHAPTER 12— IMMIGRATION AND NATIONALITY",
                 "SUBCHAPTER II— IMMIGRATION", "Part I— Selection System", "§ 1158. Asylum",
                 "(b) Conditions for granting asylum")

USC_1101 = ("§ 1101. Definitions\n(a) As used in this chapter\n(1) The term “administrator” "
            "means the official designated by the Secretary of State.\n\n"
            "(2) The term “advocates” includes, but is not limited to, the advocating.\n\n"
            "(42) The term “refugee” means (A) any person who is outside any country of such "
            "person’s nationality")
USC_1101_PATH = ("Title 8— ALIENS AND NATIONALITY", "CHAPTER 12— IMMIGRATION AND NATIONALITY",
                 "SUBCHAPTER I— GENERAL PROVISIONS", "§ 1101. Definitions",
                 "(a) As used in this chapter")

IRPA_37 = ("s. 37 Organized criminality\n(1) A permanent resident or a foreign national is "
           "inadmissible on grounds of organized criminality for\n\n"
           "(a) being a member of an organization that is believed on reasonable grounds to be "
           "engaged in activity that is part of a pattern of criminal activity;\n\n"
           "(b) engaging, in the context of transnational crime, in activities such as people "
           "smuggling.\n\nApplication\n\n(2) Paragraph (1)(a) does not lead to a determination "
           "of inadmissibility by reason only of the fact that")
IRPA_37_PATH = ("PART 1 Immigration to Canada", "DIVISION 4 Inadmissibility",
                "s. 37 Organized criminality")

IRPR_159_3 = ("s. 159.3 Designation — United States\nThe United States is designated under "
              "paragraph 102(1)(a) of the Act as a country that complies with Article 33 of "
              "the Refugee Convention.")
IRPR_159_3_PATH = ("PART 8 Refugee Classes", "DIVISION 3 Determination of Eligibility of Claim",
                   "s. 159.3 Designation — United States")


def at(text: str, start: str) -> int:
    return text.index(start)


@pytest.mark.parametrize(("cite_as", "path", "text", "start", "label"), [
    ("Refugee Convention", ART_33_PATH, ART_33, "Article 33", "Refugee Convention, Art. 33"),
    ("Refugee Convention", ART_33_PATH, ART_33, "1.  No Contracting",
     "Refugee Convention, Art. 33(1)"),
    # Starts inside paragraph 1 and ends in it, or runs on into paragraph 2.
    ("Refugee Convention", ART_33_PATH, ART_33[:ART_33.index("2. The")], "frontiers of",
     "Refugee Convention, Art. 33(1)"),
    ("Refugee Convention", ART_33_PATH, ART_33, "frontiers of", "Refugee Convention, Art. 33"),
    ("Refugee Convention", ART_33_PATH, ART_33, "2. The benefit", "Refugee Convention, Art. 33(2)"),
    ("Refugee Convention", ART_1_PATH, ART_1, "(2) As a result", "Refugee Convention, Art. 1A(2)"),
    ("Refugee Convention", ART_1_PATH, ART_1, '(b)"events', "Refugee Convention, Art. 1B(1)(b)"),
    ("Smuggling Protocol", SMUGGLING_3_PATH, SMUGGLING_3, '(a) "Smuggling',
     "Smuggling Protocol, Art. 3(a)"),
    ("Smuggling Protocol", SMUGGLING_3_PATH, SMUGGLING_3, "Article 3", "Smuggling Protocol, Art. 3"),
    ("Regulation (EU) No 604/2013", DUBLIN_21_PATH, DUBLIN_21, "1. Where",
     "Regulation (EU) No 604/2013, Art. 21(1)"),
    # Starts in paragraph 1 and runs into 2: the article, not a paragraph.
    ("Regulation (EU) No 604/2013", DUBLIN_21_PATH, DUBLIN_21, "another Member State",
     "Regulation (EU) No 604/2013, Art. 21"),
    ("8 U.S.C.", USC_1158_PATH, USC_1158, "(A) Eligibility", "8 U.S.C. § 1158(b)(1)(A)"),
    ("8 U.S.C.", USC_1158_PATH, USC_1158, "(i) In general", "8 U.S.C. § 1158(b)(1)(B)(i)"),
    ("8 U.S.C.", USC_1158_PATH, USC_1158[:USC_1158.index("(b)")], "Any alien",
     "8 U.S.C. § 1158(a)(1)"),
    # (42) does not follow (2): the number is printed but its sequence is not, so it is cut.
    ("8 U.S.C.", USC_1101_PATH, USC_1101, "(2) The term", "8 U.S.C. § 1101(a)(2)"),
    ("IRPA", IRPA_37_PATH, IRPA_37, "(1) A permanent", "IRPA, s. 37(1)"),
    ("IRPA", IRPA_37_PATH, IRPA_37, "(a) being", "IRPA, s. 37(1)(a)"),
    ("IRPA", IRPA_37_PATH, IRPA_37, "Application\n", "IRPA, s. 37(2)"),  # a marginal note first
    ("IRPR", IRPR_159_3_PATH, IRPR_159_3, "s. 159.3", "IRPR, s. 159.3"),
])
def test_labels_of_real_passages(cite_as, path, text, start, label):
    assert citation_label(cite_as, path, text, at(text, start)) == label


def test_a_number_out_of_sequence_is_cut_not_guessed():
    text = USC_1101 + "\n\n(43) The term “aggravated felony” means"
    assert citation_label("8 U.S.C.", USC_1101_PATH, text, at(text, "(42)")) == "8 U.S.C. § 1101(a)"


def test_a_reference_broken_over_a_line_is_not_a_paragraph():
    text = ("Article 18\nObligations\n1. The Member State responsible shall take back, under "
            "the\nconditions in paragraph 1\n(b), the Member State responsible shall examine")
    path = ("Chapter V", "Article 18 Obligations of the Member State responsible")
    assert citation_label("Regulation (EU) No 604/2013", path, text, at(text, "conditions")) \
        == "Regulation (EU) No 604/2013, Art. 18(1)"


@pytest.mark.parametrize(("cite_as", "path", "label"), [
    ("Refugee Convention", ("CONVENTION RELATING TO THE STATUS OF REFUGEES",), "Refugee Convention"),
    ("Regulation (EU) No 604/2013", (), "Regulation (EU) No 604/2013"),
    ("Refugee Convention", ("SCHEDULE", "Paragraph 1"), "Refugee Convention, Schedule, para. 1"),
    ("Regulation (EU) No 604/2013", ("Annex II Correlation table",),
     "Regulation (EU) No 604/2013, Annex II"),
    ("ECHR", ("Protocol No. 4 to the Convention for the Protection of Human Rights and Fundamental",
              "Article 4 Prohibition of collective expulsion of aliens"),
     "Protocol No. 4 to the ECHR, Art. 4"),
    ("Refugee Convention", ("Protocol relating to the status of refugees",
                            "Article I General provision"),
     "Protocol relating to the status of refugees, Art. I"),
    # An amending Act's section quoted among IRPA's related provisions is not IRPA s. 37.
    ("IRPA", ("RELATED PROVISIONS", "— 2010, c. 8, s. 37, as amended by 2012, c. 17, s. 68",
              "s. 37 Decision set aside in judicial review"), "IRPA"),
    ("IRPR", ("PART 1 Interpretation and Application", "DIVISION 1 Interpretation",
              "s. 1 Definitions", "(1)", "excessive demand", "(b)"), "IRPR, s. 1(1)"),
    ("Regulation (EU) No 604/2013", ("Recital (21)",), "Regulation (EU) No 604/2013, Recital (21)"),
    ("8 U.S.C.", ("Chapter V", "Section II Procedures"), "8 U.S.C."),  # "Section II" groups
])
def test_labels_from_the_path_alone(cite_as, path, label):
    assert citation_label(cite_as, path) == label


def test_the_deepest_provision_names_the_passage():
    path = ("RELATED", "Article 3 – Use of terms")
    assert provision_of(path).number == "3"
    assert provision_of(("CHAPTER I – General Provisions",)) is None


def test_eu_recitals_cite_by_their_number() -> None:
    """The paths ingest/readers/recitals.py gives an EU act's preamble."""
    dublin = "Regulation (EU) No 604/2013"
    text = "(21) Deficiencies in, or the collapse of, asylum systems, often aggravated"
    assert citation_label(dublin, ("Preamble", "Recital (21)"), text, 0) == f"{dublin}, Recital (21)"
    # The citations, and two tiny recitals sharing a chunk, cite the act alone: never a number
    # the passage does not hold alone.
    assert citation_label(dublin, ("Preamble", "Citations"), "Having regard to", 0) == dublin
    assert citation_label(dublin, ("Preamble",), "(21) A. (22) B.", 0) == dublin


@pytest.mark.parametrize(("cite_as", "path", "first", "last", "label"), [
    ("Extradition Act", ("PART 2 Extradition from Canada", "s. 44 When order not to be made"),
     Provision("s.", "43", 1), Provision("s.", "44", 1), "Extradition Act, ss. 43–44"),
    ("8 U.S.C.", ("Title 8— ALIENS AND NATIONALITY", "§ 1252. Judicial review"),
     Provision("§", "1232", 1), Provision("§", "1252", 1), "8 U.S.C. §§ 1232–1252"),
    ("Refugee Convention", ("CHAPTER I", "Article 4 – Religion"), Provision("Art.", "2", 1),
     Provision("Art.", "4", 1), "Refugee Convention, Arts. 2–4"),
    ("ECHR", ("Protocol No. 6 to the Convention for the Protection of Human Rights", "ARTICLE 4"),
     Provision("Art.", "3", 1), Provision("Art.", "4", 1), "Protocol No. 6 to the ECHR, Arts. 3–4"),
    # Kinds that differ (an article running into an annex) name no range.
    ("Refugee Convention", ("Schedule",), Provision("Art.", "46", 0), Provision("Schedule", "", 0),
     "Refugee Convention"),
])
def test_a_range_of_provisions(cite_as, path, first, last, label):
    assert range_label(cite_as, path, first, last) == label


def test_heading_lines_are_provision_headings_not_sentences():
    text = ("Late acceptance of submissions\n\n(2) The Minister may accept submissions.\n\n"
            "Reasons for Refusal\ns. 44 When order not to be made\n(1) The Minister shall\n"
            "s. 45\n## Article 33 – Prohibition of expulsion\n"
            "Article 5 paragraph 3 thereof, had been an integral part of the\n"
            "Article 12 applies.\n"
            "Article 1 – Obligation to respect human rights..............5\n"
            "§ 1734. Improved training for consular officers\n")
    found = [(line, p.kind, p.number) for _, line, p in heading_lines(text, LINE_HEADED)]
    assert found == [("s. 44 When order not to be made", "s.", "44"), ("s. 45", "s.", "45"),
                     ("Article 33 – Prohibition of expulsion", "Art.", "33"),
                     ("§ 1734. Improved training for consular officers", "§", "1734")]
    offsets = [at for at, _, _ in heading_lines(text, {"s."})]
    assert [text[at:].split("\n", 1)[0] for at in offsets] == ["s. 44 When order not to be made",
                                                               "s. 45"]


def test_the_kinds_of_a_parts_provisions():
    paths = [("PART 2", "s. 41 When appeal pending", "(1)"), ("PART 2",),
             ("PART 2", "Reasons", "s. 44 When order"), ("PART 3", "Article 9"),
             ("Preamble", "Recital (20)")]
    assert provision_kinds(paths, ("PART 2",)) == {"s."}
    assert provision_kinds(paths, ()) == {"s.", "Art."}  # recitals are markers, not lines
    assert provision_kinds(paths, ("Preamble",)) == set()
