"""Chunk text, citations and document records in SQLite, beside the vector store."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index.stores.base import ChunkFields, FieldColumns
from ingest.chunker import Chunk
from ingest.document import Document

DB_FILE = "chunks.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    format TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT,            -- JSON [[start, end, index, label, ocr], ...] or NULL for unpaged
                           -- formats (stores from before OCR have no `ocr`: false)
    page_count INTEGER,
    warnings TEXT NOT NULL, -- JSON list of strings
    metadata TEXT NOT NULL  -- JSON object: catalogue fields
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    document_id TEXT NOT NULL REFERENCES documents(id),
    ordinal INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    section TEXT NOT NULL,  -- JSON list: the heading path
    embed_text TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    embed_tokens INTEGER NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    page_label_start TEXT,
    page_label_end TEXT,
    ocr INTEGER NOT NULL DEFAULT 0,  -- 1: some of the text was read by OCR
    in_force TEXT NOT NULL DEFAULT 'unknown',  -- 'true', 'false' or 'unknown' (not said)
    in_force_since TEXT,  -- ISO date the source says the text came into force
    last_amended TEXT     -- ISO date the source says the document was last amended
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id, ordinal);
"""


@dataclass(frozen=True, slots=True)
class StoredChunk(Chunk):
    """A chunk as the chunk store keeps it: with the id its vector is stored under."""

    id: int = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: str
    title: str
    format: str
    content_hash: str
    page_count: int | None
    warnings: list[str]
    metadata: dict[str, str | int | None]
    chunks: int = 0
    ocr_pages: int = 0  # pages whose text was read by OCR


_CHUNK_COLUMNS = ("id, document_id, ordinal, char_start, char_end, text, section, embed_text, "
                  "tokens, embed_tokens, page_start, page_end, page_label_start, page_label_end, "
                  "ocr, in_force, in_force_since, last_amended")
_CHUNK_MARKS = ",".join("?" * 18)
# Columns added after the first stores were written, with the value an older store means.
_ADDED_CHUNK_COLUMNS = {"ocr": ("INTEGER NOT NULL DEFAULT 0", "0"),
                        "in_force": ("TEXT NOT NULL DEFAULT 'unknown'", "'unknown'"),
                        "in_force_since": ("TEXT", "NULL"), "last_amended": ("TEXT", "NULL")}


def _chunk_row(row: tuple) -> StoredChunk:
    chunk_id, *values = row
    values[5] = tuple(json.loads(values[5]))  # the section path
    values[13] = bool(values[13])  # ocr
    return StoredChunk(*values, id=chunk_id)


def _page(span: list) -> tuple[int, int, int, str | None, bool]:
    start, end, index, label, *ocr = span  # no `ocr` in stores from before OCR
    return start, end, index, label, bool(ocr and ocr[0])


def _ocr_pages(pages: str | None) -> int:
    return 0 if pages is None else sum(_page(p)[4] for p in json.loads(pages))


class ChunkStore:
    """One SQLite file per generation; opened read-only by searchers."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = path
        if readonly:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.db = sqlite3.connect(path, check_same_thread=False)
            self.db.executescript(_SCHEMA)
        self._select = self._chunk_select(readonly)

    def _chunk_select(self, readonly: bool) -> str:
        """The chunk columns to SELECT: a store written before a column existed is read (or,
        when writable, altered) as holding that column's old meaning."""
        have = {row[1] for row in self.db.execute("PRAGMA table_info(chunks)")}
        self._stored_columns = have
        columns = _CHUNK_COLUMNS.split(", ")
        for name, (declaration, old_value) in _ADDED_CHUNK_COLUMNS.items():
            if name in have:
                continue
            if readonly:
                columns[columns.index(name)] = f"{old_value} AS {name}"
            else:
                self.db.execute(f"ALTER TABLE chunks ADD COLUMN {name} {declaration}")
        return ", ".join(columns)

    def close(self) -> None:
        self.db.close()

    # -- writing -----------------------------------------------------------------------------

    def put_document(self, doc: Document) -> None:
        pages = ([[p.start, p.end, p.index, p.label, p.ocr] for p in doc.pages]
                 if doc.pages is not None else None)
        page_count = max((p.index for p in doc.pages), default=0) if doc.pages is not None \
            else None
        self.db.execute(
            "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.id, doc.title, doc.format, doc.content_hash, doc.text,
             json.dumps(pages) if pages is not None else None, page_count,
             json.dumps(doc.warnings), json.dumps(doc.metadata)))

    def put_chunks(self, items: Iterable[tuple[int, Chunk]]) -> None:
        self.db.executemany(
            f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES ({_CHUNK_MARKS})",
            [(cid, c.document_id, c.ordinal, c.char_start, c.char_end, c.text,
              json.dumps(list(c.section)), c.embed_text, c.tokens, c.embed_tokens,
              c.page_start, c.page_end, c.page_label_start, c.page_label_end, int(c.ocr),
              c.in_force, c.in_force_since, c.last_amended)
             for cid, c in items])

    def copy_document_from(self, other: ChunkStore, document_id: str) -> None:
        """Carries an unchanged document and its chunks over from the previous generation."""
        row = other.db.execute("SELECT * FROM documents WHERE id = ?", (document_id,)).fetchone()
        self.db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        rows = other.db.execute(f"SELECT {other._select} FROM chunks WHERE document_id = ?",
                                (document_id,)).fetchall()
        self.db.executemany(f"INSERT INTO chunks ({_CHUNK_COLUMNS}) VALUES ({_CHUNK_MARKS})",
                            rows)

    def commit(self) -> None:
        self.db.commit()

    # -- reading -----------------------------------------------------------------------------

    def chunks(self, ids: Iterable[int]) -> dict[int, StoredChunk]:
        ids = [int(i) for i in ids]
        found: dict[int, StoredChunk] = {}
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            marks = ",".join("?" * len(batch))
            for row in self.db.execute(
                    f"SELECT {self._select} FROM chunks WHERE id IN ({marks})", batch):
                chunk = _chunk_row(row)
                found[chunk.id] = chunk
        return found

    def document_chunks(self, document_id: str) -> list[StoredChunk]:
        rows = self.db.execute(f"SELECT {self._select} FROM chunks WHERE document_id = ? "
                               "ORDER BY ordinal", (document_id,))
        return [_chunk_row(r) for r in rows]

    def iter_chunk_texts(self) -> Iterator[tuple[int, str]]:
        yield from self.db.execute("SELECT id, embed_text FROM chunks ORDER BY id")

    def chunk_ids_where(self, document_ids: Iterable[str]) -> list[int]:
        ids = list(document_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return [r[0] for r in self.db.execute(
            f"SELECT id FROM chunks WHERE document_id IN ({marks})", ids)]

    def in_force_ids(self) -> dict[str, list[int]]:
        """The ids of the chunks whose in-force status is known, by status ("true", "false");
        every other chunk's is "unknown" (as is every chunk of a store from before statuses)."""
        out: dict[str, list[int]] = {"true": [], "false": []}
        if "in_force" not in self._stored_columns:  # a read-only store from before statuses
            return out
        for chunk_id, status in self.db.execute(
                "SELECT id, in_force FROM chunks WHERE in_force != 'unknown' ORDER BY id"):
            out.setdefault(status, []).append(chunk_id)
        return out

    def chunk_fields(self) -> FieldColumns:
        """Every chunk's filter fields (its document's, from the catalogue metadata), for a
        vector store of a format that keeps none of its own."""
        ids: dict[str, list[int]] = {}
        for chunk_id, document_id in self.db.execute("SELECT id, document_id FROM chunks"):
            ids.setdefault(document_id, []).append(chunk_id)
        return FieldColumns.of_documents((ChunkFields.of(d.id, d.metadata), ids.get(d.id, []))
                                         for d in self.documents())

    def document_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, content_hash FROM documents"))

    def documents(self) -> list[DocumentRecord]:
        counts = dict(self.db.execute(
            "SELECT document_id, COUNT(*) FROM chunks GROUP BY document_id"))
        rows = self.db.execute("SELECT id, title, format, content_hash, page_count, warnings, "
                               "metadata, pages FROM documents ORDER BY id")
        return [DocumentRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]),
                               counts.get(r[0], 0), _ocr_pages(r[7])) for r in rows]

    def document(self, document_id: str) -> DocumentRecord | None:
        return next((d for d in self.documents() if d.id == document_id), None)

    def document_text(self, document_id: str) -> str | None:
        row = self.db.execute("SELECT text FROM documents WHERE id = ?", (document_id,)).fetchone()
        return row[0] if row else None

    def document_slice(self, document_id: str, start: int, end: int) -> str:
        """text[start:end] of a document's extracted text ("" for an unknown id), read without
        loading the whole text."""
        row = self.db.execute("SELECT substr(text, ?, ?) FROM documents WHERE id = ?",
                              (start + 1, max(0, end - start), document_id)).fetchone()
        return row[0] if row and row[0] is not None else ""

    def document_source(self, document_id: str
                        ) -> tuple[str, list[tuple[int, int, int, str | None, bool]] | None] | None:
        """A document's extracted text (what chunk offsets index) and its page map, as
        (start, end, page index, page label, read by OCR) spans over that text; None for an
        unknown id."""
        row = self.db.execute("SELECT text, pages FROM documents WHERE id = ?",
                              (document_id,)).fetchone()
        if row is None:
            return None
        pages = None if row[1] is None else [_page(p) for p in json.loads(row[1])]
        return row[0], pages

    def counts(self) -> tuple[int, int]:
        docs = self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return docs, chunks
