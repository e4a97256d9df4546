"""Citation labels over a small real index: each passage's label read from its provision."""

from __future__ import annotations

import pytest

from index.searcher import IndexSearcher
from ingest.catalogue import catalogue_for
from service.ranking.cite import passage_label
from tests.small.helpers import engine, real_documents_index

DOCUMENTS = [
    "treaties/refugee_convention_1951.md",
    "pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
    "legislation/canada/ca_irpr_SOR-2002-227.xml",
    "legislation/us/usc_title8_chapter12.md",
]


@pytest.fixture(scope="module")
def built(shared_corpus, tmp_path_factory, small_embedder):
    return real_documents_index(shared_corpus, tmp_path_factory.mktemp("labels"), DOCUMENTS,
                                small_embedder)


@pytest.fixture(scope="module")
def labels(built, small_embedder):
    """{(document, first 100 characters of a chunk's text): its label}, for every chunk."""
    index_dir, corpus = built
    catalogue = catalogue_for(corpus)
    searcher = IndexSearcher.open(index_dir, small_embedder)
    try:
        out = {}
        for document in DOCUMENTS:
            cite_as = catalogue.by_file(document).citation_name
            for chunk in searcher.chunks.document_chunks(document):
                out[(document, chunk.text[:100])] = passage_label(searcher, chunk, cite_as)
        return out
    finally:
        searcher.close()


def _label(labels, document: str, start: str) -> str:
    found = [v for (d, text), v in labels.items() if d == document and text.startswith(start)]
    assert found, f"no chunk of {document} starts with {start!r}"
    return found[0]


# (document, how a chunk's text starts, its label), each checked by hand against the text.
CASES = [
    ("treaties/refugee_convention_1951.md", "(2) As a result of events occurring",
     "Refugee Convention, Art. 1A(2)"),
    ("treaties/refugee_convention_1951.md", "(b)he has committed a serious non-political",
     "Refugee Convention, Art. 1F(b)"),
    ("treaties/refugee_convention_1951.md", "Article 33 – Prohibition of Expulsion",
     "Refugee Convention, Art. 33"),
    ("treaties/refugee_convention_1951.md", "Preamble The High Contracting Parties",
     "Refugee Convention"),
    ("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf", "(c) where visas are of different",
     "Regulation (EU) No 604/2013, Art. 12(3)(c)"),
    ("pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf", "SECTION II\nProcedures for take",
     "Regulation (EU) No 604/2013, Art. 21"),
    ("legislation/canada/ca_irpr_SOR-2002-227.xml", "s. 159.3 Designation — United States",
     "IRPR, s. 159.3"),
    ("legislation/canada/ca_irpr_SOR-2002-227.xml", "Exception — land border other than",
     "IRPR, s. 159.4(1.1)"),
    ("legislation/us/usc_title8_chapter12.md", "(B) Burden of proof",
     "8 U.S.C. § 1158(b)(1)(B)"),
    ("legislation/us/usc_title8_chapter12.md", "(iii) there are serious reasons for believing",
     "8 U.S.C. § 1158(b)(2)(A)(iii)"),
    # Chunks that run from one provision into the next: their heading path stops at the part
    # both are in, and the label names the provisions they span.
    ("legislation/canada/ca_irpr_SOR-2002-227.xml", "(a) the spouse or common-law partner of "
     "the person;\n\n(b) a dependent child", "IRPR, ss. 1–1.1"),  # s. 1(3) into s. 1.1
    ("legislation/us/usc_title8_chapter12.md", "(i) Grants and contracts\nThe Secretary of "
     "Health", "8 U.S.C. §§ 1232–1252"),  # § 1232(i), Part V's heading, § 1252(a)
    ("legislation/us/usc_title8_chapter12.md", "(g) Rule of construction regarding classified",
     "8 U.S.C. §§ 1153a–1154"),
    ("treaties/refugee_convention_1951.md", "Article 2 – General Obligations",
     "Refugee Convention, Arts. 2–4"),  # Articles 2, 3 and 4 whole
]


@pytest.mark.parametrize(("document", "start", "label"), CASES)
def test_a_chunk_is_labelled_from_its_provision(labels, document, start, label):
    assert _label(labels, document, start) == label


def test_every_label_leads_with_the_instruments_citation_name(labels):
    names = {"Refugee Convention", "Regulation (EU) No 604/2013", "IRPR", "8 U.S.C."}
    assert all(any(v.startswith(n) for n in names) for v in labels.values())


def test_the_engine_answers_with_labels(built, small_embedder):
    index_dir, corpus = built
    answer = engine(index_dir, corpus, small_embedder).ask(
        "Article 33 of the Refugee Convention: expulsion or return to frontiers of territories",
        k=3)
    top = answer.passages[0].citation
    assert top.label.startswith("Refugee Convention, Art. 33"), top
    usc = engine(index_dir, corpus, small_embedder).ask("8 U.S.C. § 1158(b)(1)(B) burden of proof",
                                                        k=5)
    assert all(p.citation.label.startswith("8 U.S.C. § 1158") for p in usc.passages), \
        [p.citation.label for p in usc.passages]
