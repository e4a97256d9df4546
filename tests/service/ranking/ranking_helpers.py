"""What the ranking stage tests share: stored chunks made by hand, and the small real index."""

from __future__ import annotations

from pathlib import Path

from index.builder import IndexBuilder
from index.chunk_store import StoredChunk
from ingest.chunker import ChunkSettings
from service.ranking.stages import Candidate
from tests.support import copy_documents

# Three small real documents: two the catalogue names ("Protocol No. 4", "1967 Protocol") and a
# U.S. Code chapter, so that statute references ("§ 1553") have somewhere to point.
PROTOCOL_4 = "treaties/echr_protocol4_1963.md"
REFUGEE_PROTOCOL = "treaties/refugee_protocol_1967.md"
USC_13 = "legislation/us/usc_title8_chapter13.md"
DOCUMENTS = [PROTOCOL_4, REFUGEE_PROTOCOL, USC_13]


def build_index(shared_corpus: Path, root: Path, embedder) -> Path:
    corpus = copy_documents(shared_corpus, root / "corpus", DOCUMENTS)
    index_dir = root / "index"
    IndexBuilder(index_dir, embedder, ChunkSettings()).build(corpus)
    return index_dir


def chunk(chunk_id: int, text: str = "Some text.", document_id: str = "a.md") -> StoredChunk:
    return StoredChunk(id=chunk_id, document_id=document_id, ordinal=chunk_id, char_start=0,
                       char_end=len(text), text=text, section=("Article 1",), embed_text=text,
                       tokens=0, embed_tokens=0, page_start=None, page_end=None,
                       page_label_start=None, page_label_end=None)


def fetched(chunk_id: int, score: float = 1.0, text: str = "Some text.",
            document_id: str = "a.md") -> Candidate:
    return Candidate(chunk_id, score, chunk=chunk(chunk_id, text, document_id))


def ids(candidates: list[Candidate]) -> list[int]:
    return [c.chunk_id for c in candidates]
