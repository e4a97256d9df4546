"""The vector store with the HashingEmbedder's vectors of the inline corpus's paragraphs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.catalogue import catalogue_for
from ingest.document import Document
from ingest.pipeline import iter_documents
from tests.inline_corpus import DUBLIN, EXTRADITION_ACT, REFUGEE, write_inline_corpus
from tests.small_store import (
    ChunkFields,
    ChunkFilter,
    StoreConfig,
    VectorStore,
    create_store,
    load_store,
)

KINDS = ["faiss"]
EURODAC = "fingerprints stored in Eurodac and the transfer of the applicant"


class Paragraphs:
    """The inline corpus cut at blank lines: ids from 100, texts, fields and vectors."""

    def __init__(self, corpus: Path, embedder) -> None:
        self.ids: list[int] = []
        self.texts: list[str] = []
        self.fields: dict[int, ChunkFields] = {}
        for _, doc in iter_documents(corpus, catalogue_for(corpus)):
            assert isinstance(doc, Document), doc
            for text in (t.strip() for t in doc.text.split("\n\n")):
                if len(text) > 60:  # headings alone say too little to be found by
                    cid = 100 + len(self.ids)
                    self.ids.append(cid)
                    self.texts.append(text)
                    self.fields[cid] = ChunkFields.of(doc.id, doc.metadata)
        self.vectors = embedder.encode(self.texts)

    def of(self, document_id: str) -> list[int]:
        return [cid for cid in self.ids if self.fields[cid].document_id == document_id]

    def add_to(self, store: VectorStore) -> None:
        store.add(np.asarray(self.ids, dtype=np.int64), self.vectors,
                  [self.fields[cid] for cid in self.ids])


@pytest.fixture(scope="module")
def paragraphs(tmp_path_factory, small_embedder) -> Paragraphs:
    return Paragraphs(write_inline_corpus(tmp_path_factory.mktemp("store") / "corpus"),
                      small_embedder)


@pytest.fixture(params=KINDS)
def store(request, paragraphs, small_embedder) -> VectorStore:
    made = create_store(StoreConfig(kind=request.param), small_embedder.dimension)
    paragraphs.add_to(made)
    return made


def search(store: VectorStore, query: np.ndarray, k: int, where: ChunkFilter | None,
           paragraphs: Paragraphs) -> list[int]:
    """Filtered search as the searcher does it: every store filters by the fields it keeps;
    the result is checked against the fields of the paragraphs it returns."""
    ids, _ = store.search(query, k, where=where)
    found = [int(i) for i in ids]
    assert where is None or all(where.matches(paragraphs.fields[c]) for c in found)
    return found


def test_the_corpus_gives_paragraphs_from_every_document(paragraphs) -> None:
    assert len({f.document_id for f in paragraphs.fields.values()}) == 6
    assert len(paragraphs.of(DUBLIN)) == 3 and len(paragraphs.of(REFUGEE)) == 7


def test_each_paragraph_is_its_own_nearest_vector(store, paragraphs) -> None:
    assert store.count() == len(paragraphs.ids)
    held = store.existing_ids(np.asarray([*paragraphs.ids, 7, 9999], dtype=np.int64))
    assert sorted(int(i) for i in held) == paragraphs.ids
    for row, cid in enumerate(paragraphs.ids):
        ids, scores = store.search(paragraphs.vectors[row], 1)
        assert int(ids[0]) == cid and scores[0] == pytest.approx(1.0, abs=1e-5)


def test_a_question_finds_the_paragraph_sharing_its_words(store, paragraphs, small_embedder
                                                          ) -> None:
    top = search(store, small_embedder.encode_query(EURODAC), 3, None, paragraphs)
    assert paragraphs.fields[top[0]].document_id == DUBLIN
    assert "Eurodac" in paragraphs.texts[paragraphs.ids.index(top[0])]


def test_filters_by_document_and_jurisdiction(store, paragraphs, small_embedder) -> None:
    query = small_embedder.encode_query(EURODAC)
    by_document = search(store, query, 5, ChunkFilter.of([REFUGEE]), paragraphs)
    assert len(by_document) == 5 and set(by_document) <= set(paragraphs.of(REFUGEE))
    canada = search(store, query, 10, ChunkFilter.of(fields={"jurisdiction": ["Canada"]}),
                    paragraphs)
    assert sorted(canada) == sorted(paragraphs.of(EXTRADITION_ACT))
    statutes = search(store, query, 50, ChunkFilter.of(fields={"instrument_type": ["statute"]}),
                      paragraphs)
    assert {paragraphs.fields[c].jurisdiction for c in statutes} == {"canada", "us"}
    nothing = ChunkFilter.of(fields={"jurisdiction": ["atlantis"]})
    assert search(store, query, 5, nothing, paragraphs) == []


def test_delete_removes_vectors_from_counts_and_results(store, paragraphs, small_embedder
                                                        ) -> None:
    dublin = paragraphs.of(DUBLIN)
    assert store.delete(np.asarray(dublin, dtype=np.int64)) == len(dublin)
    assert store.delete(np.asarray(dublin, dtype=np.int64)) == 0
    assert store.count() == len(paragraphs.ids) - len(dublin)
    found = search(store, small_embedder.encode_query(EURODAC), len(paragraphs.ids), None,
                   paragraphs)
    assert len(found) == store.count() and not set(found) & set(dublin)


def test_existing_ids_leaves_out_deleted_ones(store, paragraphs) -> None:
    dublin = paragraphs.of(DUBLIN)
    store.delete(np.asarray(dublin, dtype=np.int64))
    held = store.existing_ids(np.asarray(paragraphs.ids, dtype=np.int64))
    assert sorted(int(i) for i in held) == sorted(set(paragraphs.ids) - set(dublin))


def test_adding_an_id_again_replaces_its_vector(store, paragraphs, small_embedder) -> None:
    target = paragraphs.of(REFUGEE)[0]
    text = "lighthouses shall be kept lit for stranded vessels at sea"
    store.add(np.asarray([target], dtype=np.int64), small_embedder.encode([text]),
              [paragraphs.fields[target]])
    assert store.count() == len(paragraphs.ids)
    ids, scores = store.search(small_embedder.encode_query(text), 1)
    assert int(ids[0]) == target and scores[0] == pytest.approx(1.0, abs=1e-5)


def test_save_and_load_give_the_same_results(store, paragraphs, small_embedder, tmp_path
                                             ) -> None:
    store.delete(np.asarray(paragraphs.of(DUBLIN)[:1], dtype=np.int64))
    store.save(tmp_path)
    loaded = load_store(StoreConfig(kind=store.kind), tmp_path)
    assert loaded.count() == store.count() == len(paragraphs.ids) - 1
    for question in (EURODAC, "penalties for illegal entry of refugees",
                     "surrender order unjust or oppressive"):
        query = small_embedder.encode_query(question)
        for where in (None, ChunkFilter.of(fields={"year": [1951, 1999]})):
            assert search(loaded, query, 6, where, paragraphs) == \
                search(store, query, 6, where, paragraphs)
        a_ids, a_scores = loaded.search(query, 4)
        b_ids, b_scores = store.search(query, 4)
        assert np.array_equal(a_ids, b_ids) and np.allclose(a_scores, b_scores)
