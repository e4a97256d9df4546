"""Shared by the small-embedder tests: builds and answers over the inline corpus, in one place."""

from __future__ import annotations

from pathlib import Path

from index.builder import BuildReport, IndexBuilder
from index.embedder import Embedder
from ingest.catalogue import catalogue_for
from ingest.chunker import ChunkSettings
from service.engine import Answer, AnswerEngine
from service.settings import load_settings

# Chunks the inline corpus gives with the default chunk settings and the HashingEmbedder's word
# pieces (printed by the chunker, checked by hand: one per article, section or HTML heading).
INLINE_CHUNKS = 20

# (question, the document whose words it uses): each should come first in every mode.
QUESTIONS: list[tuple[str, str]] = [
    ("Are refugees penalised for illegal entry or presence without authorization?",
     "treaties/refugee_convention_1951.md"),
    ("Is extradition granted for a political offence?",
     "treaties/european_convention_extradition_1957.md"),
    ("Do airline liaison officers decide whether a passenger may board?",
     "articles/carrier_sanctions_commentary.txt"),
    ("Eurodac fingerprints and the transfer to the responsible Member State",
     "eu/dublin_regulation_summary.html"),
    ("When must the Minister refuse a surrender order as unjust or oppressive?",
     "legislation/canada/ca_extradition_act.xml"),
    ("Deadline to file an application for asylum after arrival in the United States",
     "legislation/us/usc_title8_asylum.md"),
]


def builder(index_dir: Path, embedder: Embedder) -> IndexBuilder:
    return IndexBuilder(index_dir, embedder, ChunkSettings())


def build(index_dir: Path, corpus: Path, embedder: Embedder) -> BuildReport:
    return builder(index_dir, embedder).build(corpus)


def engine(index_dir: Path, corpus: Path, embedder: Embedder) -> AnswerEngine:
    """An engine serving the live generation of `index_dir`, with the corpus's own catalogue."""
    settings = load_settings(corpus_dir=corpus, index_dir=index_dir)
    served = AnswerEngine(settings, embedder=embedder, catalogue=catalogue_for(corpus))
    assert served.refresh(), f"no generation to serve in {index_dir}"
    return served


def ranked(answer: Answer) -> list[tuple[str, str, int, int]]:
    """What an answer cites, in rank order: document, section and character span."""
    return [(p.citation.document_id, p.citation.section, p.citation.char_start,
             p.citation.char_end) for p in answer.passages]


def current_name(index_dir: Path) -> str:
    """The live generation's folder name, as the CURRENT pointer file holds it."""
    return (index_dir / "CURRENT").read_text().strip()


def real_documents_index(shared_corpus: Path, root: Path, documents: list[str],
                         embedder: Embedder) -> tuple[Path, Path]:
    """An index over copies of a few reference-corpus documents (skipped, with the reason,
    when the corpus lacks one): (index folder, corpus folder) under `root`."""
    import pytest

    from tests.support import copy_documents

    missing = [d for d in documents if not (shared_corpus / d).is_file()]
    if missing:
        pytest.skip(f"shared corpus lacks {', '.join(missing)}")
    corpus = copy_documents(shared_corpus, root / "corpus", documents)
    build(root / "index", corpus, embedder)
    return root / "index", corpus
