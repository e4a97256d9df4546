"""Filter fields follow the catalogue: a rebuild after a catalogue edit re-files unchanged
documents without embedding them again, and the fields each store keeps beside the vectors are
rewritten. Runs on the store under test (FAISS; Milvus in .ci/milvus-tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.builder import IndexBuilder
from index.searcher import ChunkFilter, IndexSearcher
from ingest.chunker import ChunkSettings
from service.ranking.pipeline import rank
from service.settings import load_settings
from tests.support import copy_documents

DOCS = {"treaties/echr_protocol4_1963.md": ("echr-p4", "council-of-europe", 1963),
        "treaties/refugee_protocol_1967.md": ("refugee-protocol", "international", 1967)}
QUESTION = "collective expulsion of aliens"


def _catalogue(corpus: Path, jurisdictions: dict[str, str]) -> None:
    entries = []
    for file, (id_, _, year) in DOCS.items():
        entries.append(f'[[instrument]]\nid = "{id_}"\nfile = "{file}"\ntitle = "{id_}"\n'
                       f'jurisdiction = "{jurisdictions[file]}"\ninstrument_type = "protocol"\n'
                       f"year = {year}\n")
    (corpus / "catalogue.toml").write_text("\n".join(entries))


def _documents_found(searcher: IndexSearcher, mode: str, **fields) -> set[str]:
    hits = rank(searcher, QUESTION, k=50, mode=mode, where=ChunkFilter.of(fields=fields))
    return {h.chunk.document_id for h in hits}


@pytest.mark.usefixtures("on_test_store")
def test_a_catalogue_edit_moves_an_unchanged_document_between_filters(shared_corpus, tmp_path,
                                                                      embedder):
    corpus = copy_documents(shared_corpus, tmp_path / "corpus", list(DOCS))
    echr = "treaties/echr_protocol4_1963.md"
    _catalogue(corpus, {f: j for f, (_, j, _) in DOCS.items()})
    config = load_settings().store_config()
    builder = IndexBuilder(tmp_path / "idx", embedder, ChunkSettings(), store_config=config)
    first = builder.build(corpus)
    searcher = IndexSearcher.open(tmp_path / "idx", embedder, config)
    assert searcher.store.kind == config.kind
    assert _documents_found(searcher, "dense", jurisdiction=["council-of-europe"]) == {echr}
    echr_chunks = len(searcher.sections(echr))

    _catalogue(corpus, {f: "eu" if f == echr else j for f, (_, j, _) in DOCS.items()})
    second = builder.build(corpus)
    assert second.read_documents == 1 and second.unchanged_documents == 1
    assert second.embedded_chunks == 0 and second.reused_chunks == echr_chunks > 0
    searcher = IndexSearcher.open(tmp_path / "idx", embedder, config)
    assert searcher.generation == first.generation + 1
    record = next(d for d in searcher.documents if d.id == echr)
    assert record.metadata["jurisdiction"] == "eu"
    for mode in ("dense", "lexical", "hybrid"):
        assert _documents_found(searcher, mode, jurisdiction=["EU"]) == {echr}, mode
        assert _documents_found(searcher, mode, jurisdiction=["council-of-europe"]) == set(), mode
        assert _documents_found(searcher, mode, year=[1963]) == {echr}, mode
    assert searcher.store.count() == searcher.chunk_count == first.chunks

    third = builder.build(corpus)  # nothing changed since: nothing is read again
    assert third.read_documents == 0 and third.unchanged_documents == 2
