"""Searcher and answer engine over the inline corpus: modes, filters and named provisions."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.generations import IndexNotFoundError
from index.searcher import IndexSearcher
from service.engine import AnswerEngine, QuestionError
from service.ranking.pipeline import rank
from service.settings import SettingsError, load_settings
from tests.inline_corpus import (
    ASYLUM_CODE,
    DOCUMENTS,
    DUBLIN,
    EXTRADITION_ACT,
    EXTRADITION_TREATY,
    JURISDICTION,
    REFUGEE,
    YEAR,
    write_inline_corpus,
)
from tests.small import helpers as h
from tests.small_embedder import HashingEmbedder

MODES = ("hybrid", "dense", "lexical")
# Words of several documents, so that every mode finds passages in most of them.
BROAD = "extradition of a refugee or an alien seeking asylum, and the Minister's surrender order"
NOTHING = [{"jurisdiction": ["atlantis"]}, {"year": [1800]}, {"year": ["not a year"]},
           {"instrument_type": ["constitution"]}, {"jurisdiction": ["canada"], "year": [1951]}]


@pytest.fixture(scope="module")
def index(tmp_path_factory, small_embedder) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("search")
    corpus = write_inline_corpus(root / "corpus")
    report = h.build(root / "idx", corpus, small_embedder)
    assert report.chunks == h.INLINE_CHUNKS
    return root / "idx", corpus


@pytest.fixture(scope="module")
def engine(index, small_embedder) -> AnswerEngine:
    return h.engine(*index, small_embedder)


def _documents(engine: AnswerEngine, question: str, mode: str, k: int = 10, **options) -> list[str]:
    return [p.citation.document_id for p in engine.ask(question, k=k, mode=mode, **options).passages]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("question", "document"), h.QUESTIONS)
def test_each_mode_finds_the_document_whose_words_a_question_uses(engine, mode, question,
                                                                   document) -> None:
    assert _documents(engine, question, mode, k=3)[0] == document


def test_the_searcher_alone_ranks_like_the_engine(index, engine, small_embedder) -> None:
    searcher = IndexSearcher.open(index[0], small_embedder)
    assert searcher.generation == 1
    assert sorted(d.id for d in searcher.documents) == sorted(DOCUMENTS)
    for question, document in h.QUESTIONS:
        assert rank(searcher, question, k=1, mode="dense")[0].chunk.document_id == document


def test_an_index_is_not_searched_with_another_embedder(index) -> None:
    with pytest.raises(IndexNotFoundError, match="rebuild the index"):
        IndexSearcher.open(index[0], HashingEmbedder(dimension=32))


def test_an_answer_says_what_it_searched_and_cites_its_passages(engine) -> None:
    answer = engine.ask("Eurodac fingerprints", k=2, mode="hybrid")
    assert (answer.generation, answer.documents, answer.chunks) == (1, 6, h.INLINE_CHUNKS)
    assert [p.rank for p in answer.passages] == [1, 2]
    top = answer.passages[0]
    assert top.citation.document_id == top.citation.source_path == DUBLIN
    assert top.citation.title == "Dublin III Regulation: a summary"  # from the catalogue
    assert top.citation.section.endswith("Eurodac fingerprints and transfers")
    assert top.text.startswith("Eurodac fingerprints and transfers")
    # Highlights are the sentences sharing the question's words, not the one about transfers.
    highlighted = [top.text[s:e] for s, e in top.highlights]
    assert any(s.startswith("Fingerprints taken and stored in the Eurodac database")
               for s in highlighted)
    assert not any("six months" in s for s in highlighted)
    assert answer.passages[0].score >= answer.passages[1].score


@pytest.mark.parametrize("mode", MODES)
def test_filters_by_document_jurisdiction_type_and_year(engine, mode) -> None:
    assert set(_documents(engine, BROAD, mode, document_ids=[EXTRADITION_ACT])) == {
        EXTRADITION_ACT}
    assert set(_documents(engine, BROAD, mode, document_ids=[REFUGEE, ASYLUM_CODE])) == {
        REFUGEE, ASYLUM_CODE}
    for document in (EXTRADITION_ACT, ASYLUM_CODE, REFUGEE):
        by_place = _documents(engine, BROAD, mode, filters={"jurisdiction": [JURISDICTION[document]]})
        by_year = _documents(engine, BROAD, mode, filters={"year": [YEAR[document]]})
        assert set(by_place) == set(by_year) == {document}
    statutes = _documents(engine, BROAD, mode, filters={"instrument_type": ["Statute"]})
    assert set(statutes) == {EXTRADITION_ACT, ASYLUM_CODE}
    # A filter narrows what a question would otherwise find first.
    assert _documents(engine, "Eurodac fingerprints", "dense")[0] == DUBLIN
    assert DUBLIN not in _documents(engine, "Eurodac fingerprints", mode,
                                    filters={"jurisdiction": ["canada", "us"]})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("filters", NOTHING)
def test_a_filter_matching_nothing_returns_nothing(engine, mode, filters) -> None:
    assert _documents(engine, BROAD, mode, filters=filters) == []


@pytest.mark.parametrize("mode", MODES)
def test_unknown_documents_match_nothing(engine, mode) -> None:
    assert _documents(engine, BROAD, mode, document_ids=["treaties/not_indexed.md"]) == []


def test_a_filter_on_an_unknown_field_is_refused(engine) -> None:
    with pytest.raises(QuestionError, match="unknown filter 'country'"):
        engine.ask(BROAD, filters={"country": ["canada"]})


@pytest.mark.parametrize("mode", MODES)
def test_a_named_provision_of_a_catalogued_instrument_comes_first(engine, mode) -> None:
    # Its words are Article 31's (illegal entry), but the question names Article 33.
    question = "Does the Refugee Convention punish refugees for illegal entry without authorization?"
    assert engine.ask(question, k=1, mode=mode).passages[0].citation.section.endswith(
        "Article 31 – Refugees unlawfully in the country of refuge")
    named = engine.ask("Does Article 33 of the Refugee Convention punish refugees for illegal "
                       "entry without authorization?", k=3, mode=mode)
    top = named.passages[0].citation
    assert top.document_id == REFUGEE and "Article 33 – Prohibition of expulsion" in top.section
    # "Article 3" is not Article 33 or 31: the number is matched whole.
    death = engine.ask("Article 3 of the European Convention on Extradition and the death penalty",
                       k=1, mode=mode).passages[0].citation
    assert (death.document_id, death.section) == (EXTRADITION_TREATY,
                                                  "Article 3 – Political offences")


def test_a_provision_without_its_instrument_is_not_boosted(engine) -> None:
    # No instrument named: "Article 3" alone could be any treaty's, so words decide.
    top = engine.ask("Article 3 on the death penalty", k=1, mode="hybrid").passages[0].citation
    assert top.section == "Article 11 – Capital punishment"


@pytest.mark.parametrize("mode", MODES)
def test_a_us_code_section_needs_no_instrument_name(engine, mode) -> None:
    top = engine.ask("What does 8 U.S.C. 1225 say about applying for asylum?", k=1,
                     mode=mode).passages[0].citation
    assert (top.document_id, top.section.rsplit(" > ", 1)[-1]) == (
        ASYLUM_CODE, "§ 1225. Inspection by immigration officers")


def test_a_named_provision_obeys_the_filters(engine) -> None:
    answer = engine.ask("Article 33 of the Refugee Convention", k=3, mode="hybrid",
                        filters={"jurisdiction": ["eu"]})
    assert {p.citation.document_id for p in answer.passages} == {DUBLIN}


def test_an_empty_filtered_answer_says_which_filter_value_matched_no_document(engine) -> None:
    assert engine.ask("extradition", filters={"jurisdiction": ["eu"]}).warnings == []
    unknown = engine.ask("extradition", document_ids=["nope.md", REFUGEE],
                         filters={"jurisdiction": ["atlantis", "international"],
                                  "year": [1951, 1492]})
    assert unknown.warnings == [
        "document 'nope.md' matches no indexed document",
        "jurisdiction 'atlantis' matches no indexed document",
        "year 1492 matches no indexed document",
    ]
    assert {p.citation.document_id for p in unknown.passages} == {REFUGEE}
    apart = engine.ask("extradition", filters={"jurisdiction": ["eu"], "year": [1951]})
    assert apart.passages == []
    assert apart.warnings == ["no indexed document passes all the filters together"]


def test_the_question_length_limit_is_the_settings(index, small_embedder) -> None:
    index_dir, corpus = index
    short = AnswerEngine(load_settings(corpus_dir=corpus, index_dir=index_dir,
                                       max_question_chars=20), embedder=small_embedder)
    assert short.refresh()
    assert short.ask("x" * 20, k=1).passages is not None
    with pytest.raises(QuestionError, match="longer than 20 characters"):
        short.ask("Eurodac fingerprints of applicants", k=1)
    with pytest.raises(SettingsError, match="max_question_chars"):
        load_settings(max_question_chars=5000)  # never above the HTTP API's own limit
