"""A FAISS generation written before the store kept fields (format 1) is still served, filters
included, and the next build over it is a full one. (Milvus format 1: test_milvus_store.py.)"""

from __future__ import annotations

import json

from index.builder import IndexBuilder
from index.generations import MANIFEST_FILE, current_generation, read_manifest
from index.searcher import ChunkFilter, IndexSearcher
from index.stores.faiss_store import FIELD_CODES_FILE, FIELD_TABLE_FILE
from ingest.chunker import ChunkSettings
from service.ranking.pipeline import rank
from tests.support import copy_documents

DOCS = ["treaties/echr_protocol4_1963.md", "treaties/refugee_protocol_1967.md"]
QUESTIONS = ["collective expulsion of aliens is prohibited", "who is a refugee"]
FILTERS = [None, ChunkFilter.of([DOCS[1]]), ChunkFilter.of(fields={"year": [1963]}),
           ChunkFilter.of(fields={"jurisdiction": ["nowhere"]})]


def _answers(searcher: IndexSearcher) -> list[list[int]]:
    return [searcher.dense(q, 10, where) for q in QUESTIONS for where in FILTERS] + \
        [[c.chunk_id for c in rank(searcher, q, k=5, where=where)]
         for q in QUESTIONS for where in FILTERS]


def test_a_generation_of_format_1_is_served_and_rebuilt_in_full(shared_corpus, tmp_path,
                                                                embedder):
    corpus = copy_documents(shared_corpus, tmp_path / "corpus", DOCS)
    (corpus / "catalogue.toml").write_text(
        '[[instrument]]\nid = "p4"\nfile = "treaties/echr_protocol4_1963.md"\ntitle = "P4"\n'
        'jurisdiction = "council-of-europe"\nyear = 1963\n')
    builder = IndexBuilder(tmp_path / "idx", embedder, ChunkSettings())
    first = builder.build(corpus)
    live = current_generation(tmp_path / "idx")
    searcher = IndexSearcher(live, embedder)
    expected = _answers(searcher)
    assert expected[1] and expected[2] and not expected[3]  # the filters pass some, not all
    searcher.close()

    # As the version before fields wrote it: no fields files, store format 1.
    (live / FIELD_CODES_FILE).unlink()
    (live / FIELD_TABLE_FILE).unlink()
    manifest = json.loads((live / MANIFEST_FILE).read_text())
    manifest["fingerprint"]["store_format"] = 1
    (live / MANIFEST_FILE).write_text(json.dumps(manifest))
    old = IndexSearcher(live, embedder)
    assert _answers(old) == expected  # fields from the chunk store, in memory
    old.close()

    second = builder.build(corpus)
    assert second.full and second.embedded_chunks == second.chunks == first.chunks
    rebuilt = current_generation(tmp_path / "idx")
    assert (rebuilt / FIELD_CODES_FILE).exists() and (rebuilt / FIELD_TABLE_FILE).exists()
    assert read_manifest(rebuilt).fingerprint.store_format == 2
    searcher = IndexSearcher(rebuilt, embedder)
    assert _answers(searcher) == expected
    searcher.close()
