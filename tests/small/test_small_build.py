"""The one-process build over the inline corpus with the HashingEmbedder: counts, reuse, removal."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.generations import BuildError
from index.searcher import IndexSearcher
from tests.inline_corpus import DOCUMENTS, DUBLIN, REFUGEE
from tests.small import helpers as h
from tests.small_embedder import RecordingEmbedder

ARTICLE_34 = ("\n### Article 34 – Naturalization\n\nThe Contracting States shall as far as possible "
              "facilitate the assimilation and naturalization of refugees. They shall in "
              "particular make every effort to expedite naturalization proceedings and to reduce "
              "as far as possible the charges and costs of such proceedings, so that a refugee "
              "who has lived among them for some years may become a citizen of the country.\n")


def _all_cited(index_dir: Path, corpus: Path, embedder) -> list[tuple[str, str, int, int]]:
    """Every chunk, found by the vector search alone: a chunk without a vector is not here."""
    engine = h.engine(index_dir, corpus, embedder)
    return h.ranked(engine.ask("refugee extradition asylum", k=100, mode="dense"))


def test_build_reads_every_document_and_gives_every_chunk_a_vector(inline_corpus, tmp_path,
                                                                    small_embedder):
    report = h.build(tmp_path / "idx", inline_corpus, small_embedder)
    assert report.documents == len(DOCUMENTS) == report.read_documents
    assert report.chunks == report.embedded_chunks == h.INLINE_CHUNKS
    assert report.skipped == [] and report.truncated_chunks == 0 and report.full
    assert report.generation == 1 and h.current_name(tmp_path / "idx") == "gen-000001"

    searcher = IndexSearcher.open(tmp_path / "idx", small_embedder)
    assert sorted(d.id for d in searcher.documents) == sorted(DOCUMENTS)
    assert searcher.chunk_count == searcher.store.count() == h.INLINE_CHUNKS
    cited = _all_cited(tmp_path / "idx", inline_corpus, small_embedder)
    assert len(set(cited)) == h.INLINE_CHUNKS
    assert {doc for doc, *_ in cited} == set(DOCUMENTS)


def test_unchanged_rebuild_embeds_nothing_and_switches_current(inline_corpus, tmp_path,
                                                                small_embedder):
    first = h.build(tmp_path / "idx", inline_corpus, small_embedder)
    recorder = RecordingEmbedder()
    second = h.build(tmp_path / "idx", inline_corpus, recorder)
    assert recorder.encoded == []
    assert second.generation == first.generation + 1 == 2 and not second.full
    assert second.unchanged_documents == len(DOCUMENTS) and second.embedded_chunks == 0
    assert second.chunks == first.chunks
    assert h.current_name(tmp_path / "idx") == "gen-000002"
    assert IndexSearcher.open(tmp_path / "idx", small_embedder).generation == 2


def test_editing_one_file_embeds_only_its_new_chunk(inline_corpus, tmp_path, small_embedder):
    first = h.build(tmp_path / "idx", inline_corpus, small_embedder)
    served = h.engine(tmp_path / "idx", inline_corpus, small_embedder)
    path = inline_corpus / REFUGEE
    path.write_text(path.read_text() + ARTICLE_34)

    recorder = RecordingEmbedder()
    second = h.build(tmp_path / "idx", inline_corpus, recorder)
    assert second.read_documents == 1 and second.unchanged_documents == len(DOCUMENTS) - 1
    assert second.embedded_chunks == 1 and second.deleted_chunks == 0
    assert second.reused_chunks == 4  # the Refugee Convention's other articles kept their vectors
    assert len(recorder.encoded) == 1 and "Article 34 – Naturalization" in recorder.encoded[0]
    assert second.chunks == first.chunks + 1

    # A running engine picks the new generation up on refresh, and finds the new article.
    assert served.refresh()
    top = served.ask("expedite naturalization proceedings for refugees", k=1, mode="dense")
    assert top.generation == second.generation == 2
    assert top.passages[0].citation.section.endswith("Article 34 – Naturalization")
    assert top.chunks == h.INLINE_CHUNKS + 1


def test_editing_an_article_replaces_its_vector(inline_corpus, tmp_path, small_embedder):
    h.build(tmp_path / "idx", inline_corpus, small_embedder)
    path = inline_corpus / REFUGEE
    path.write_text(path.read_text().replace("well-founded fear of being persecuted",
                                             "a well-founded and continuing fear of persecution"))
    recorder = RecordingEmbedder()
    report = h.build(tmp_path / "idx", inline_corpus, recorder)
    assert report.embedded_chunks == 1 and report.deleted_chunks == 1
    assert report.chunks == h.INLINE_CHUNKS
    assert "continuing fear of persecution" in recorder.encoded[0]
    searcher = IndexSearcher.open(tmp_path / "idx", small_embedder)
    assert searcher.store.count() == searcher.chunk_count == h.INLINE_CHUNKS


def test_a_deleted_file_loses_its_chunks(inline_corpus, tmp_path, small_embedder):
    h.build(tmp_path / "idx", inline_corpus, small_embedder)
    before = h.engine(tmp_path / "idx", inline_corpus, small_embedder)
    dublin_chunks = sum(doc == DUBLIN for doc, *_ in _all_cited(tmp_path / "idx", inline_corpus,
                                                               small_embedder))
    assert dublin_chunks == 3
    (inline_corpus / DUBLIN).unlink()

    recorder = RecordingEmbedder()
    report = h.build(tmp_path / "idx", inline_corpus, recorder)
    assert recorder.encoded == []
    assert report.removed_documents == 1 and report.deleted_chunks == dublin_chunks
    assert report.documents == len(DOCUMENTS) - 1
    assert report.chunks == h.INLINE_CHUNKS - dublin_chunks
    cited = _all_cited(tmp_path / "idx", inline_corpus, small_embedder)
    assert len(cited) == report.chunks and DUBLIN not in {doc for doc, *_ in cited}
    lexical = h.engine(tmp_path / "idx", inline_corpus, small_embedder).ask(
        "Eurodac fingerprints", k=5, mode="lexical")
    assert lexical.passages == []
    # The engine that was serving the old generation still answers from it until refreshed.
    old = before.ask("Eurodac fingerprints", k=1, mode="lexical")
    assert old.passages[0].citation.document_id == DUBLIN


def test_an_empty_corpus_folder_never_empties_a_live_index(inline_corpus, tmp_path,
                                                            small_embedder):
    """A wrong --corpus (or an unmounted share) is a BuildError; the live index stays served."""
    h.build(tmp_path / "idx", inline_corpus, small_embedder)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.csv").write_text("a,b\n", encoding="utf-8")
    for full in (False, True):
        with pytest.raises(BuildError, match=r"holds no documents \(1 file of no supported "
                                             r"format\); the index .* keeps its "
                                             f"{len(DOCUMENTS)} documents"):
            h.builder(tmp_path / "idx", small_embedder).build(empty, full=full)
    assert h.current_name(tmp_path / "idx") == "gen-000001"
    assert IndexSearcher.open(tmp_path / "idx", small_embedder).chunk_count == h.INLINE_CHUNKS
    # With no live index there is nothing to lose: an empty corpus builds an empty index.
    assert h.build(tmp_path / "fresh", empty, small_embedder).documents == 0
