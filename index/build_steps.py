"""The steps of a build, shared by the one-process build and the staged build: hash, chunk ids,
write, and turning a failure to write into a BuildError. Embedding is a ChunkSink's job and
publishing IndexBuilder.publish's; index/builder.py runs the steps in order."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

import numpy as np

from index.chunk_store import DB_FILE, ChunkStore, DocumentRecord
from index.generations import BuildError, read_manifest
from index.stores.base import ChunkFields, VectorStore, VectorStoreError
from ingest.catalogue import Instrument
from ingest.chunker import Chunk
from ingest.document import Document, sha256_bytes
from ingest.pipeline import SourceFile, read_bytes

# What a build may meet while writing: a full disk or a vanished folder, a broken SQLite file,
# an unreachable vector store. Anything else is a bug and is not dressed up as a build failure.
WRITE_ERRORS: tuple[type[BaseException], ...] = (OSError, sqlite3.Error, VectorStoreError)


class ToEmbed(NamedTuple):
    """A chunk that needs a vector: its id, the text to embed, that text's length in the
    embedder's word pieces, and the fields a store may keep beside the vector."""

    id: int
    text: str
    tokens: int
    fields: ChunkFields


class ChunkSink(Protocol):
    """The embed step: where the chunks that need a vector go while the corpus is read."""

    def add(self, item: ToEmbed) -> None: ...

    def after_document(self) -> None:
        """Called after each document (a chance to hand on a backlog)."""
        ...

    def close(self) -> int:
        """Called once at the end; returns how many chunks it embedded in all."""
        ...


@contextmanager
def write_failures(message: Callable[[str], str], cleanup: Callable[[], None] | None = None,
                   errors: tuple[type[BaseException], ...] = WRITE_ERRORS) -> Iterator[None]:
    """Turns one of `errors` raised inside into a BuildError saying `message(reason)`, after
    `cleanup` has freed what the failed step wrote (the live generation is never touched)."""
    try:
        yield
    except errors as exc:
        if cleanup is not None:
            cleanup()
        raise BuildError(message(str(getattr(exc, "strerror", None) or exc))) from exc


def content_hash(source: SourceFile) -> str:
    """The hash step: sha256 of the file's bytes, which decides whether it is read again.
    Raises DocumentReadError for a file that cannot be read."""
    data = read_bytes(source)
    try:
        return sha256_bytes(data)
    finally:
        del data  # a large PDF is not kept while the next one is read


def catalogued_alike(previous: DocumentRecord, entry: Instrument | None) -> bool:
    """Whether a document indexed before is described the same by the catalogue now: else it is
    read again, so that its title and filter fields follow the catalogue."""
    if entry is None:
        return not previous.metadata
    return previous.metadata == entry.filter_fields() and (entry.title or previous.title) == \
        previous.title


class PreviousGeneration:
    """What a build may reuse from the generation it starts from: documents whose file is
    unchanged, and the ids (so the vectors) of chunks whose embedded text is unchanged."""

    def __init__(self, folder: Path | None) -> None:
        self.chunks = ChunkStore(folder / DB_FILE, readonly=True) if folder else None
        self.next_chunk_id = read_manifest(folder).next_chunk_id if folder else 1
        self.hashes: dict[str, str] = self.chunks.document_hashes() if self.chunks else {}
        self.documents: dict[str, DocumentRecord] = (
            {d.id: d for d in self.chunks.documents()} if self.chunks else {})

    def unchanged(self, document_id: str, digest: str, entry: Instrument | None) -> bool:
        """The same file, described the same by the catalogue: copied, not read again."""
        return self.hashes.get(document_id) == digest and catalogued_alike(
            self.documents[document_id], entry)

    def reusable_ids(self, document_id: str) -> dict[str, list[int]]:
        """Embedded text -> ids of the document's chunks that had it."""
        reusable: dict[str, list[int]] = defaultdict(list)
        if self.chunks:
            for chunk in self.chunks.document_chunks(document_id):
                reusable[chunk.embed_text].append(chunk.id)
        return reusable

    def removed_chunk_ids(self, seen: set[str]) -> tuple[int, list[int]]:
        """Documents no longer in the corpus: how many, and their chunks' ids."""
        removed = [d for d in self.hashes if d not in seen]
        if not self.chunks or not removed:
            return 0, []
        return len(removed), self.chunks.chunk_ids_where(removed)

    def close(self) -> None:
        if self.chunks:
            self.chunks.close()


@dataclass
class ChunkIds:
    """The chunk-id step's result for one document."""

    assigned: list[tuple[int, Chunk]] = field(default_factory=list)  # every chunk, in order
    reused: list[int] = field(default_factory=list)  # ids whose vector is kept
    to_embed: list[ToEmbed] = field(default_factory=list)  # new ids, in chunk order
    stale: list[int] = field(default_factory=list)  # the previous chunks no longer there
    next_id: int = 1


def assign_ids(chunks: list[Chunk], reusable: dict[str, list[int]], next_id: int,
               fields: ChunkFields) -> ChunkIds:
    """Gives each chunk an id: a previous chunk's with the same embedded text (its vector is
    kept), else the next new one. `reusable` is consumed."""
    out = ChunkIds()
    for chunk in chunks:
        if reusable.get(chunk.embed_text):
            out.reused.append(reusable[chunk.embed_text].pop())
            out.assigned.append((out.reused[-1], chunk))
            continue
        out.assigned.append((next_id, chunk))
        out.to_embed.append(ToEmbed(next_id, chunk.embed_text, chunk.embed_tokens, fields))
        next_id += 1
    out.stale = [cid for ids in reusable.values() for cid in ids]
    out.next_id = next_id
    return out


def write_document(doc: Document, ids: ChunkIds, fields: ChunkFields,
                   previous: DocumentRecord | None, chunks: ChunkStore, store: VectorStore
                   ) -> int:
    """The write step for one document: its record and chunks into the chunk store, and the
    vector store brought in line (kept vectors' fields updated, stale ones deleted). Returns
    how many vectors were deleted."""
    if ids.reused and previous and ChunkFields.of(doc.id, previous.metadata) != fields:
        # The catalogue changed the document's fields: the kept vectors' go with it.
        store.update_fields(np.asarray(ids.reused, dtype=np.int64), [fields] * len(ids.reused))
    deleted = store.delete(np.asarray(ids.stale, dtype=np.int64))
    chunks.put_document(doc)
    chunks.put_chunks(ids.assigned)
    return deleted
