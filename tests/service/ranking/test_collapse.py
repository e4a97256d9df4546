"""The collapse stage: the same text in another copy of an instrument is one result that lists
the other copies (`also_in`)."""

from __future__ import annotations

import pytest

from index.builder import IndexBuilder
from index.searcher import IndexSearcher
from ingest.catalogue import Catalogue, Instrument
from ingest.chunker import ChunkSettings
from service.ranking.collapse import Collapse, collapse, containment, instruments, shingles
from service.ranking.pipeline import Pipeline
from service.ranking.stages import Candidate, StageError
from service.ranking.understand import understand
from tests.service.ranking.ranking_helpers import fetched, ids
from tests.support import copy_documents

ARTICLE_31 = ("The Contracting States shall not impose penalties, on account of their illegal "
              "entry or presence, on refugees who, coming directly from a territory where their "
              "life or freedom was threatened, enter or are present in their territory without "
              "authorization.")
OTHER = ("Each Contracting State shall issue identity papers to any refugee in their territory "
         "who does not possess a valid travel document.")
COPIES = {"a.md": "Refugee Convention", "b.pdf": "Refugee Convention",
          "c.md": "Refugee Convention"}


def test_shingles_and_containment():
    assert shingles("The cat sat on the mat") == {("the", "cat", "sat"), ("cat", "sat", "on"),
                                                  ("sat", "on", "the"), ("on", "the", "mat")}
    assert shingles("Article 31") == {("article", "31")}
    assert shingles("") == frozenset()
    half = shingles(ARTICLE_31.split(" on refugees")[0])  # cut between words
    assert containment(half, shingles(ARTICLE_31)) == 1.0  # the smaller set, wholly inside
    assert containment(shingles(OTHER), shingles(ARTICLE_31)) < 0.1
    assert containment(frozenset(), shingles(OTHER)) == 0.0


def test_a_copys_repeat_folds_into_the_better_ranked_passage():
    ranking = [fetched(1, text=ARTICLE_31, document_id="a.md"),
               fetched(2, text=OTHER, document_id="a.md"),
               # the PDF's line breaks and a page header differ: still the same text
               fetched(3, text="Article 31\n" + ARTICLE_31.replace(" who, ", "\nwho, "),
                       document_id="b.pdf"),
               fetched(4, text=ARTICLE_31, document_id="c.md"),
               fetched(5, text=OTHER, document_id="b.pdf")]
    out = collapse(ranking, COPIES, 0.5)
    assert ids(out) == [1, 2]
    assert [c.id for c in out[0].copies] == [3, 4]
    assert [c.id for c in out[1].copies] == [5]


def test_the_same_document_and_other_instruments_never_fold():
    ranking = [fetched(1, text=ARTICLE_31, document_id="a.md"),
               fetched(2, text=ARTICLE_31, document_id="a.md"),  # a repeat within one copy
               fetched(3, text=ARTICLE_31, document_id="x.md"),  # a document with no copies
               fetched(4, text=OTHER, document_id="b.pdf")]  # a copy, with other text
    assert ids(collapse(ranking, COPIES, 0.5)) == [1, 2, 3, 4]
    assert all(not c.copies for c in collapse(ranking, COPIES, 0.5))


def test_one_copy_per_document_and_per_passage():
    # b.pdf repeats the first passage twice (two chunks overlapping it): one is listed, the
    # other stays in the ranking, where it is no repeat of a passage b.pdf is not yet in.
    ranking = [fetched(1, text=ARTICLE_31, document_id="a.md"),
               fetched(2, text=ARTICLE_31[:120], document_id="b.pdf"),
               fetched(3, text=ARTICLE_31[60:], document_id="b.pdf")]
    out = collapse(ranking, COPIES, 0.5)
    assert ids(out) == [1, 3] and [c.id for c in out[0].copies] == [2]


def test_copies_are_catalogue_entries_sharing_a_citation_name():
    catalogue = Catalogue((
        Instrument("rc", "treaties/rc.md", "Convention", cite_as="Refugee Convention"),
        Instrument("rc-pdf", "pdf/rc.pdf", "Convention and Protocol",
                   cite_as="Refugee Convention"),
        Instrument("udhr", "treaties/udhr.md", "Universal Declaration", cite_as="UDHR")))
    assert instruments(catalogue) == {"treaties/rc.md": "Refugee Convention",
                                      "pdf/rc.pdf": "Refugee Convention"}


def test_parameters_and_unfetched_candidates():
    stage = Collapse.from_dict({"name": "collapse", "overlap": 80})
    assert stage.to_dict() == {"name": "collapse", "window": 50, "overlap": 80}
    with pytest.raises(StageError, match="overlap is a percentage"):
        Collapse.from_dict({"overlap": 150})
    with pytest.raises(StageError, match="window must be a positive integer"):
        Collapse.from_dict({"window": 0})
    with pytest.raises(ValueError, match="not fetched"):
        collapse([Candidate(1, 1.0)], COPIES, 0.5)


REFUGEE_COPIES = ["treaties/refugee_convention_1951.md",
                  "pdf/refugee_convention_and_protocol_unhcr.pdf"]
PENALTIES = "Can refugees be punished for entering the country illegally?"


@pytest.fixture(scope="module")
def two_copies(shared_corpus, tmp_path_factory, embedder, catalogue):
    root = tmp_path_factory.mktemp("copies")
    corpus = copy_documents(shared_corpus, root / "corpus", REFUGEE_COPIES)
    IndexBuilder(root / "index", embedder, ChunkSettings()).build(corpus)
    searcher = IndexSearcher.open(root / "index", embedder)
    yield searcher
    searcher.close()


def test_on_the_two_refugee_conventions_article_31_comes_once_with_its_copy(two_copies,
                                                                         catalogue):
    def top(stages):
        ctx = understand(PENALTIES, two_copies, catalogue, k=5)
        return [c.passage for c in Pipeline.from_settings(stages).run(ctx)]

    plain = top(["candidates", "fuse", "budget", "cite"])
    collapsed = top(["candidates", "fuse", "collapse", "budget", "cite"])
    # Without the stage the two copies' Article 31 both take places in the top 5.
    assert sum("Article 31" in p.citation.section for p in plain) >= 2
    first = next(p for p in collapsed if "Article 31" in p.citation.section)
    copy = first.also_in[0]
    assert {first.citation.document_id, copy.document_id} == set(REFUGEE_COPIES)
    assert "Article 31" in copy.section and copy.label.startswith("Refugee Convention, Art. 31")
    pdf = first.citation if first.citation.document_id.endswith(".pdf") else copy
    assert pdf.page_start is not None and pdf.printed_pages  # the booklet's own page numbers
    text = two_copies.chunks.document_slice(copy.document_id, copy.char_start, copy.char_end)
    assert "penalties" in text
    assert sum("Article 31" in p.citation.section for p in collapsed) == 1
    assert len(collapsed) == 5  # the freed places go to other passages
