"""Cross-references in passages: spans found in real sentences, resolved over a small real index."""

from __future__ import annotations

import pytest

from index.searcher import IndexSearcher
from ingest.catalogue import catalogue_for
from service.ranking.cite import Cite
from service.ranking.pipeline import Pipeline
from service.ranking.understand import understand
from service.references import ReferenceResolver, find_reference_spans, printed_subdivision
from tests.small.helpers import real_documents_index


def _spans(text: str) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    return [(s.text, s.provision.number if s.provision else "", s.subdivision, s.instrument)
            for s in find_reference_spans(text)]


# Sentences copied from the corpus texts (as the readers extract them), with the references each
# holds: (as written, provision number or "" for the passage's own article, paragraph path, the
# words naming another instrument).
SENTENCES = [
    # 8 U.S.C. § 1158(c)
    ("the alien was not in fact a refugee within the meaning of section 1101(a)(42) of this title "
     "at the time of the alien’s admission",
     [("section 1101(a)(42)", "1101", ("a", "42"), None)]),
    # Dublin III, Art. 21(3)
    ("3. In the cases referred to in paragraphs 1 and 2, the request\nthat charge be taken by "
     "another Member State",
     [("paragraphs 1", "", ("1",), None), ("2", "", ("2",), None)]),
    # Dublin III, Art. 17(2)
    ("where that other Member State is not responsible under the\ncriteria laid down in Articles "
     "8 to 11 and 16. The persons",
     [("Articles 8", "8", (), None), ("11", "11", (), None), ("16", "16", (), None)]),
    # Dublin III, Art. 4(3)
    ("a common leaflet ... containing at least the information\nreferred to in paragraph 1 of this "
     "Article. This common\nleaflet", [("paragraph 1", "", ("1",), None)]),
    # Dublin III, Recital (20)
    ("the detention of applicants must be in\naccordance with Article 31 of the Geneva Convention.",
     [("Article 31", "31", (), "the Geneva Convention.")]),
    # Dublin III, Art. 2(a)
    ("any person who is not a\ncitizen of the Union within the meaning of Article 20(1)\nTFEU and "
     "who is not national", [("Article 20(1)", "20", ("1",), "TFEU")]),
    # Smuggling Protocol, Art. 11(2)
    ("the commission of the offence established in accordance with article 6, paragraph 1 (a), of "
     "this Protocol.", [("article 6, paragraph 1 (a)", "6", ("1", "a"), None)]),
    # European Convention on Mutual Assistance in Criminal Matters, Art. 15(4)
    ("Requests provided for in paragraph 2 of Article 13 of this Convention shall be addressed",
     [("paragraph 2 of Article 13", "13", ("2",), None)]),
    # IRPA, s. 31.1
    ("For the purposes of Article 28 of the Refugee Convention, a designated foreign national",
     [("Article 28", "28", (), "the Refugee Convention")]),
    # 8 U.S.C. § 1232(a)(5)(D): an INA section, then its U.S. Code form
    ("placed in removal proceedings under section 240 of the Immigration and Nationality Act "
     "( 8 U.S.C. 1229a );", [("section 240", "240", (),
                               "the Immigration and Nationality Act ( 8 U.S.C. 1229a )"),
                              ("8 U.S.C. 1229a", "1229a", (), None)]),
]


@pytest.mark.parametrize(("text", "expected"), SENTENCES)
def test_spans_in_real_sentences(text, expected):
    assert _spans(text) == expected
    for span in find_reference_spans(text):
        assert text[span.start:span.end] == span.text


def test_range_ends_and_statute_forms_are_marked():
    spans = find_reference_spans("criteria laid down in Articles 8 to 11 and 16. The persons")
    assert [(s.text, s.range_end) for s in spans] == [
        ("Articles 8", False), ("11", True), ("16", False)]
    # IRPR, s. 5(1) of SOR/2017-38, among the related provisions.
    spans = find_reference_spans("under each of section 34, paragraph 35(1)(b), paragraph 35(1)(c)"
                                 " and subsection 37(1) of the Immigration and Refugee Protection Act")
    assert [(s.text, s.provision.number, s.subdivision) for s in spans] == [
        ("section 34", "34", ()), ("paragraph 35(1)(b)", "35", ("1", "b")),
        ("paragraph 35(1)(c)", "35", ("1", "c")), ("subsection 37(1)", "37", ("1",))]
    assert spans[-1].instrument == "the Immigration and Refugee Protection Act"
    # 8 U.S.C. § 1158(a)(2)(D): relative to the section the passage is in.
    spans = find_reference_spans("notwithstanding subparagraphs (B) and (C), if the alien")
    assert [(s.text, s.relative, s.subdivision) for s in spans] == [
        ("subparagraphs (B)", "subparagraph", ("B",)), ("(C)", "subparagraph", ("C",))]
    # Another section's: "paragraph (1)(A) or (2) of section 1324(a)" (§ 1101(a)(43)(N)).
    spans = find_reference_spans("an offense described in paragraph (1)(A) or (2) of section "
                                 "1324(a) of this title")
    assert [s.text for s in spans] == ["section 1324(a)"]


def test_headings_and_statute_chapters_are_not_references():
    # Dublin III, the heading of Art. 21; IRPA's related provisions, citing an amending Act.
    assert _spans("SECTION II\nProcedures for take charge requests\n\nArticle 21\nSubmitting a take "
                  "charge request\n1. Where a Member State") == []
    assert _spans("§ 1158. Asylum\n(a) Authority to apply for asylum") == []
    assert _spans("— 2010, c. 8, s. 33, as amended by 2012, c. 17, s. 66\n") == []
    assert _spans("Article 21 of Regulation\n(EU) No 604/2013") != []  # broken over a line


def test_printed_subdivision_stops_at_a_paragraph_the_text_lacks():
    text = "Article 21\nSubmitting a take charge request\n1. Where a Member State\n2. The"
    assert printed_subdivision(text, ("2",)) == ("2",)
    assert printed_subdivision(text, ("2", "a")) == ("2",)
    assert printed_subdivision(text, ("9",)) == ()


DOCUMENTS = [
    "legislation/us/usc_title8_chapter12.md",
    "pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
    "treaties/smuggling_of_migrants_protocol_2000.md",
    "treaties/refugee_convention_1951.md",
    "legislation/canada/ca_irpa_I-2.5.xml",
]


@pytest.fixture(scope="module")
def index(shared_corpus, tmp_path_factory, small_embedder):
    index_dir, corpus = real_documents_index(shared_corpus, tmp_path_factory.mktemp("references"),
                                             DOCUMENTS, small_embedder)
    catalogue = catalogue_for(corpus)
    searcher = IndexSearcher.open(index_dir, small_embedder)
    try:
        yield searcher, catalogue
    finally:
        searcher.close()


@pytest.fixture(scope="module")
def resolver(index):
    searcher, catalogue = index
    return ReferenceResolver(searcher, catalogue,
                             lambda d: catalogue.by_file(d).citation_name)


def _references(index, resolver, document: str, holding: str, section: str = ""):
    searcher, _ = index
    chunks = [c for c in searcher.chunks.document_chunks(document)
              if holding in c.text and section in c.section_label]
    assert chunks, f"no chunk of {document} holds {holding!r} under {section!r}"
    chunk = chunks[0]
    at = chunk.text.index(holding)
    return [r for r in resolver.resolve(chunk) if at <= r.start < at + len(holding)], chunk


# (document, a phrase of one chunk's text, the chunk's section holds, the references in the
# phrase as (text, label, the referenced section's last component)), each checked by hand.
CASES = [
    ("legislation/us/usc_title8_chapter12.md",
     "is a refugee within the meaning of section 1101(a)(42)(A) of this title", "§ 1158",
     [("section 1101(a)(42)(A)", "8 U.S.C. § 1101(a)(42)(A)", "§ 1101. Definitions")]),
    ("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
     "referred to in paragraphs 1 and 2", "Article 21",
     [("paragraphs 1", "Regulation (EU) No 604/2013, Art. 21(1)",
       "Article 21 Submitting a take charge request"),
      ("2", "Regulation (EU) No 604/2013, Art. 21(2)",
       "Article 21 Submitting a take charge request")]),
    ("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
     "in accordance with the provisions of Article 21(2)", "Article 22",
     [("Article 21(2)", "Regulation (EU) No 604/2013, Art. 21(2)",
       "Article 21 Submitting a take charge request")]),
    ("treaties/smuggling_of_migrants_protocol_2000.md",
     "conduct set forth in article 6 of this Protocol", "Article 5",
     [("article 6", "Smuggling Protocol, Art. 6", "Article 6 – Criminalization")]),
    ("legislation/canada/ca_irpa_I-2.5.xml",
     "For the purposes of Article 28 of the Refugee Convention", "s. 31.1",
     [("Article 28", "Refugee Convention, Art. 28", "Article 28 – Travel Documents")]),
    # INA § 240 is printed as 8 U.S.C. § 1229a, which is what the index holds.
    ("legislation/us/usc_title8_chapter12.md",
     "under section 240 of the Immigration and Nationality Act ( 8 U.S.C. 1229a )", "",
     [("8 U.S.C. 1229a", "8 U.S.C. § 1229a", "§ 1229a. Removal proceedings")]),
    # Not indexed: § 1641 is in chapter 14, the Geneva Convention no catalogue name, the TFEU and
    # the Convention against Torture not in this index.
    ("legislation/us/usc_title8_chapter12.md",
     "is a qualified alien described in section 1641(c) of this title", "", []),
    ("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
     "Article 31 of the Geneva Convention", "Recital", []),
    ("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
     "within the meaning of Article 20(1)\nTFEU", "Article 2", []),
]


# Ranges, Canadian subdivisions and references relative to the passage's section, each checked
# by hand against the text of the provision named in the comment.
CASES += [
    # Dublin III, Art. 17(2): "... not responsible under the criteria laid down in Articles 8 to
    # 11 and 16": Articles 9 and 10 stand between the range's ends.
    ("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf", "Articles 8 to 11 and 16", "Article 17",
     [("Articles 8", "Regulation (EU) No 604/2013, Art. 8", "Article 8 Minors"),
      ("Articles 8 to 11", "Regulation (EU) No 604/2013, Art. 9",
       "Article 9 Family members who are beneficiaries of international protection"),
      ("Articles 8 to 11", "Regulation (EU) No 604/2013, Art. 10",
       "Article 10 Family members who are applicants for international protection"),
      ("11", "Regulation (EU) No 604/2013, Art. 11", "Article 11 Family procedure"),
      ("16", "Regulation (EU) No 604/2013, Art. 16", "Article 16 Dependent persons")]),
    # IRPA, s. 33: "The facts that constitute inadmissibility under sections 34 to 37 include
    # ...": s. 35.1 (Sanctions) is one of them, and no s. 35.2 is invented.
    ("legislation/canada/ca_irpa_I-2.5.xml", "inadmissibility under sections 34 to 37", "s. 33",
     [("sections 34", "IRPA, s. 34", "s. 34 Security"),
      ("sections 34 to 37", "IRPA, s. 35", "s. 35 Human or international rights violations"),
      ("sections 34 to 37", "IRPA, s. 35.1", "s. 35.1 Sanctions"),
      ("sections 34 to 37", "IRPA, s. 36", "s. 36 Serious criminality"),
      ("37", "IRPA, s. 37", "s. 37 Organized criminality")]),
    # IRPA, s. 82.3: "An appeal from a decision made under any of sections 82 to 82.2 ...".
    ("legislation/canada/ca_irpa_I-2.5.xml", "any of sections 82 to 82.2", "s. 82.3",
     [("sections 82", "IRPA, s. 82", "s. 82 Initial review of detention"),
      ("sections 82 to 82.2", "IRPA, s. 82.1", "s. 82.1 Variation of orders"),
      ("82.2", "IRPA, s. 82.2", "s. 82.2 Arrest and detention — breach of conditions")]),
    # IRPA, s. 138(1): the Criminal Code's sections, not IRPA's.
    ("legislation/canada/ca_irpa_I-2.5.xml", "sections 487 to 492.2 of the Criminal Code", "s. 138",
     []),
    # IRPA, s. 42.1(1): "the matters referred to in section 34, paragraph 35(1)(b) and subsection
    # 37(1) do not constitute inadmissibility ...".
    ("legislation/canada/ca_irpa_I-2.5.xml", "section 34, paragraph 35(1)(b) and subsection 37(1)",
     "s. 42.1",
     [("section 34", "IRPA, s. 34", "s. 34 Security"),
      ("paragraph 35(1)(b)", "IRPA, s. 35(1)(b)", "s. 35 Human or international rights violations"),
      ("subsection 37(1)", "IRPA, s. 37(1)", "s. 37 Organized criminality")]),
    # IRPA, s. 2(2): "... instructions given under subsection 14.1(1)."
    ("legislation/canada/ca_irpa_I-2.5.xml", "instructions given under subsection 14.1(1)", "s. 2",
     [("subsection 14.1(1)", "IRPA, s. 14.1(1)", "s. 14.1 Economic immigration")]),
    # IRPA, s. 6(3): "Despite subsection (2), the Minister may not delegate ..." (s. 6's own).
    ("legislation/canada/ca_irpa_I-2.5.xml", "Despite subsection (2), the Minister", "s. 6",
     [("subsection (2)", "IRPA, s. 6(2)", "s. 6 Designation of officers")]),
    # IRPA, s. 10.2(2): "A determination under paragraph (1)(b) may be made only if ...".
    ("legislation/canada/ca_irpa_I-2.5.xml", "A determination under paragraph (1)(b)", "s. 10.2",
     [("paragraph (1)(b)", "IRPA, s. 10.2(1)(b)", "s. 10.2 Expression of interest — processing")]),
    # IRPA, s. 10.1(7), "Subsection (6) does not apply ...", in a passage whose heading path
    # names no section (it spans several): not guessed.
    ("legislation/canada/ca_irpa_I-2.5.xml", "Subsection (6) does not apply", "", []),
    # 8 U.S.C. § 1158(a)(2)(B): "Subject to subparagraph (D), paragraph (1) shall not apply ...":
    # subparagraph (D) of paragraph (2), paragraph (1) of subsection (a).
    ("legislation/us/usc_title8_chapter12.md",
     "Subject to subparagraph (D), paragraph (1) shall not apply to an alien unless", "§ 1158",
     [("subparagraph (D)", "8 U.S.C. § 1158(a)(2)(D)", "§ 1158. Asylum"),
      ("paragraph (1)", "8 U.S.C. § 1158(a)(1)", "§ 1158. Asylum")]),
    # 8 U.S.C. § 1158(a)(3): "No court shall have jurisdiction to review any determination of the
    # Attorney General under paragraph (2)."
    ("legislation/us/usc_title8_chapter12.md",
     "any determination of the Attorney General under paragraph (2).", "§ 1158",
     [("paragraph (2)", "8 U.S.C. § 1158(a)(2)", "§ 1158. Asylum")]),
    # 8 U.S.C. § 1158(b)(2)(B)(i): "For purposes of clause (ii) of subparagraph (A), an alien who
    # has been convicted of an aggravated felony ...".
    ("legislation/us/usc_title8_chapter12.md", "For purposes of clause (ii) of subparagraph (A)",
     "§ 1158", [("subparagraph (A)", "8 U.S.C. § 1158(b)(2)(A)", "§ 1158. Asylum")]),
    # 8 U.S.C. § 1158(c)(1): "In the case of an alien granted asylum under subsection (b) ...".
    ("legislation/us/usc_title8_chapter12.md",
     "In the case of an alien granted asylum under subsection (b)", "§ 1158",
     [("subsection (b)", "8 U.S.C. § 1158(b)", "§ 1158. Asylum")]),
    # 8 U.S.C. § 1101(a)(47)(B): "The order described under subparagraph (A) shall become final".
    ("legislation/us/usc_title8_chapter12.md",
     "The order described under subparagraph (A) shall become final", "§ 1101",
     [("subparagraph (A)", "8 U.S.C. § 1101(a)(47)(A)", "§ 1101. Definitions")]),
    # 8 U.S.C. § 1101(a)(15)(K): "subject to subsections (d) and (p) [footnote] of section 1184
    # of this title": § 1184's subsections, not § 1101's.
    ("legislation/us/usc_title8_chapter12.md", "subject to subsections (d) and (p)", "§ 1101", []),
]


@pytest.mark.parametrize(("document", "holding", "section", "expected"), CASES)
def test_resolved_references(index, resolver, document, holding, section, expected):
    found, chunk = _references(index, resolver, document, holding, section)
    assert [(r.text, r.label, r.section.split(" > ")[-1]) for r in found] == expected
    for r in found:
        assert chunk.text[r.start:r.end] == r.text


def test_article_3_of_the_convention_against_torture_is_left_out(index, resolver):
    found, _ = _references(index, resolver, "legislation/canada/ca_irpa_I-2.5.xml",
                           "comply with Article 33 of the Refugee Convention and Article 3 of the "
                           "Convention Against Torture")
    assert [r.label for r in found] == ["Refugee Convention, Art. 33"]


def test_cite_stage_fills_references(index):
    searcher, catalogue = index
    ctx = understand("Who bears the burden of proof that the applicant is a refugee?", searcher,
                     catalogue, k=3)
    passages = Pipeline.default().passages(ctx)
    assert passages and any(p.references for p in passages)
    for p in passages:
        for r in p.references:
            assert p.text[r.start:r.end] == r.text and r.label
    stage = Cite()
    assert stage.resolver(ctx) is stage.resolver(ctx)  # kept between requests on one index
