"""Builds over scanned PDFs with the real Tesseract: OCR'd chunks are marked in the chunk store
and in citations, counted in the report and manifest, and never OCR'd twice for one file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from index.builder import IndexBuilder
from index.chunk_store import DB_FILE, ChunkStore
from index.generations import current_generation, read_manifest
from index.searcher import IndexSearcher
from ingest.chunker import ChunkSettings
from ingest.ocr import OcrSettings
from service.ranking.pipeline import rank
from tests.scans import image_pdf, page_reads, require_tesseract, tesseract_wrapper
from tests.small_embedder import HashingEmbedder
from tests.support import copy_documents

SCAN = [["Article 1", "Every lighthouse keeper shall record", "the passing of each cormorant."],
        ["Article 2", "Fishing boats shall carry two lanterns", "between sunset and sunrise."]]
NOTE = "# Harbour rules\n\nThe harbour master sets the mooring fees for every season.\n"


@pytest.fixture()
def scanned_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A corpus of one scanned PDF and one Markdown note, and the counting Tesseract."""
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus"
    image_pdf(corpus / "scans" / "harbour_scan.pdf", SCAN)
    (corpus / "harbour.md").write_text(NOTE)
    return corpus, tesseract_wrapper(tmp_path)


def _builder(index_dir: Path, tesseract: Path, **ocr: object) -> IndexBuilder:
    return IndexBuilder(index_dir, HashingEmbedder(), ChunkSettings(),
                        ocr=OcrSettings(tesseract_cmd=str(tesseract), **ocr))


def test_scanned_pages_are_indexed_marked_and_never_read_twice(scanned_corpus, tmp_path):
    corpus, tesseract = scanned_corpus
    builder = _builder(tmp_path / "idx", tesseract)
    first = builder.build(corpus)
    assert first.skipped == [] and first.documents == 2 and first.ocr_pages == 2
    assert page_reads(tesseract) == 2
    live = current_generation(tmp_path / "idx")
    assert read_manifest(live).ocr_pages == 2
    store = ChunkStore(live / DB_FILE, readonly=True)
    scan = store.document_chunks("scans/harbour_scan.pdf")
    assert scan and all(c.ocr for c in scan)
    assert not any(c.ocr for c in store.document_chunks("harbour.md"))
    _, pages = store.document_source("scans/harbour_scan.pdf")
    assert [(index, ocr) for _, _, index, _, ocr in pages] == [(1, True), (2, True)]
    store.close()

    searcher = IndexSearcher(live, builder.embedder)
    top = rank(searcher, "fishing boats carry two lanterns", k=1)[0].passage
    searcher.close()
    assert top is not None and top.citation.document_id == "scans/harbour_scan.pdf"
    # Article 2, on the second scanned page (tiny top-level articles keep their own chunks).
    assert (top.citation.page_start, top.citation.page_end, top.citation.ocr) == (2, 2, True)
    assert top.citation.section.startswith("Article 2")

    # The file is unchanged: the next build does not read it, and a full build (which reads
    # every file again) takes its pages' text from the OCR cache.
    again = builder.build(corpus)
    assert again.unchanged_documents == 2 and again.ocr_pages == 2
    full = builder.build(corpus, full=True)
    assert full.read_documents == 2 and full.ocr_pages == 2
    assert page_reads(tesseract) == 2


def test_other_ocr_settings_re_read_every_document(scanned_corpus, tmp_path):
    corpus, tesseract = scanned_corpus
    _builder(tmp_path / "idx", tesseract).build(corpus)
    changed = _builder(tmp_path / "idx", tesseract, dpi=200).build(corpus)
    assert changed.read_documents == 2 and changed.unchanged_documents == 0
    assert page_reads(tesseract) == 4  # another resolution is another image
    off = _builder(tmp_path / "idx", tesseract, enabled=False).build(corpus)
    # Without OCR the scan has no text: skipped with the reason, its indexed version kept.
    assert [(s["path"], s.get("kept")) for s in off.skipped] == \
        [("scans/harbour_scan.pdf", "previous version")]
    assert "OCR is switched off" in off.skipped[0]["reason"]


def test_a_chunk_store_from_before_ocr_is_still_read(scanned_corpus, tmp_path):
    corpus, tesseract = scanned_corpus
    builder = _builder(tmp_path / "idx", tesseract)
    builder.build(corpus)
    live = current_generation(tmp_path / "idx")
    db = sqlite3.connect(live / DB_FILE)  # as the version before OCR wrote it
    db.execute("ALTER TABLE chunks DROP COLUMN ocr")
    for doc_id, pages in db.execute("SELECT id, pages FROM documents").fetchall():
        if pages is not None:
            old = json.dumps([p[:4] for p in json.loads(pages)])
            db.execute("UPDATE documents SET pages = ? WHERE id = ?", (old, doc_id))
    db.commit()
    db.close()
    store = ChunkStore(live / DB_FILE, readonly=True)
    chunks = store.document_chunks("scans/harbour_scan.pdf")
    assert chunks and not any(c.ocr for c in chunks)
    assert all(ocr is False for *_, ocr in store.document_source("scans/harbour_scan.pdf")[1])
    store.close()
    # A build that keeps a skipped file's old version copies its chunks from the old store.
    (corpus / "scans" / "harbour_scan.pdf").write_bytes(b"%PDF-1.4 broken")
    report = builder.build(corpus)
    assert report.skipped[0].get("kept") == "previous version"


def test_the_crc_booklet_is_indexed_and_cited_as_ocr(shared_corpus, tmp_path):
    require_tesseract()
    corpus = copy_documents(shared_corpus, tmp_path / "corpus", ["pdf/crc_unicef_uk.pdf"])
    builder = IndexBuilder(tmp_path / "idx", HashingEmbedder(), ChunkSettings())
    report = builder.build(corpus)
    assert report.skipped == [] and report.documents == 1 and report.ocr_pages == 14
    searcher = IndexSearcher(current_generation(tmp_path / "idx"), builder.embedder)
    hits = rank(searcher, "No child shall be subjected to arbitrary or unlawful interference "
                          "with his or her privacy", k=3)
    searcher.close()
    cited = [h.passage.citation for h in hits if h.passage is not None
             and "arbitrary or unlawful interference" in h.passage.text]
    assert cited and (cited[0].page_start, cited[0].page_label_start, cited[0].ocr) == \
        (5, "6", True)
