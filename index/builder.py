"""The index build: read changed documents, chunk, embed what is new, write and publish a generation."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index.chunk_store import DB_FILE, ChunkStore
from index.embedder import Embedder
from index.generations import (
    build_lock,
    current_generation,
    new_build_folder,
    publish,
    read_manifest,
)
from index.lexical import Bm25Index
from index.vector_store import (
    VectorStore,
    VectorStoreError,
    create_store,
    discard_store,
    fork_store,
)
from ingest.catalogue import Catalogue, catalogue_for
from ingest.chunker import Chunk, ChunkSettings, StructureChunker
from ingest.document import DocumentReadError, sha256_bytes
from ingest.pipeline import Skipped, SourceFile, discover, load_document, read_bytes

FORMAT_VERSION = 1
# Chunks waiting for embedding are flushed this many at a time (sorted by length, then embedded
# in batches of `embed_batch`): bounded memory, little padding.
FLUSH_EVERY = 4096
Progress = Callable[[str, int, int], None]  # stage, done, total


@dataclass
class BuildReport:
    generation: int
    documents: int
    chunks: int
    unchanged_documents: int = 0
    read_documents: int = 0
    removed_documents: int = 0
    embedded_chunks: int = 0
    reused_chunks: int = 0
    deleted_chunks: int = 0
    truncated_chunks: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    full: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class BuildError(Exception):
    """The build could not complete; the previous generation is still live."""


@dataclass
class _Pending:
    """Chunks waiting to be embedded, flushed into the store in batches."""

    ids: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


class IndexBuilder:
    def __init__(self, index_dir: Path, embedder: Embedder, settings: ChunkSettings,
                 store_kind: str = "faiss", embed_batch: int = 256,
                 progress: Progress | None = None) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self.settings = settings
        self.store_kind = store_kind
        self.embed_batch = embed_batch
        self.progress = progress or (lambda stage, done, total: None)
        self.chunker = StructureChunker(settings, embedder.count_tokens, embedder.max_tokens)

    def fingerprint(self) -> dict:
        """What must match for a previous generation's chunks and vectors to be reused."""
        return {"format_version": FORMAT_VERSION, "model": self.embedder.name,
                "dimension": self.embedder.dimension, "chunking": self.settings.fingerprint(),
                "store": self.store_kind}

    def build(self, corpus_dir: Path, full: bool = False,
              catalogue: Catalogue | None = None) -> BuildReport:
        started = time.perf_counter()
        if not corpus_dir.is_dir():
            raise BuildError(f"corpus folder {corpus_dir} does not exist")
        catalogue = catalogue if catalogue is not None else catalogue_for(corpus_dir)
        with ExitStack() as stack:
            try:
                stack.enter_context(build_lock(self.index_dir))
                previous = current_generation(self.index_dir)
                folder = new_build_folder(self.index_dir)
            except OSError as exc:
                raise BuildError(f"cannot write to index folder {self.index_dir}: "
                                 f"{exc.strerror or exc}") from exc
            old = read_manifest(previous).get("fingerprint", {}) if previous else {}
            new = self.fingerprint()
            if any(old.get(key) != new[key] for key in new if key != "chunking"):
                full = True  # another model or store: no stored vector can be reused
            reuse = previous if previous is not None and not full else None
            # Other chunking: every document is chunked again, but a chunk whose embedded text
            # is unchanged keeps its vector.
            rechunk = old.get("chunking") != new["chunking"]
            try:
                report = self._build_into(folder, corpus_dir, catalogue, reuse, rechunk)
            except (OSError, sqlite3.Error, VectorStoreError) as exc:
                # A full disk or a vanished folder: free what this build wrote, keep the live one.
                shutil.rmtree(folder, ignore_errors=True)
                raise BuildError(f"index folder {self.index_dir} could not be written "
                                 f"({getattr(exc, 'strerror', None) or exc}); the previous "
                                 "generation is still live") from exc
            report.full = reuse is None
            report.seconds = round(time.perf_counter() - started, 3)
            return report

    def _build_into(self, folder: Path, corpus_dir: Path, catalogue: Catalogue,
                    previous: Path | None, rechunk: bool = False) -> BuildReport:
        old = ChunkStore(previous / DB_FILE, readonly=True) if previous else None
        store: VectorStore = (fork_store(self.store_kind, previous) if previous
                              else create_store(self.store_kind, self.embedder.dimension))
        next_id = (read_manifest(previous)["next_chunk_id"] if previous else 1)
        new = ChunkStore(folder / DB_FILE)
        old_hashes = old.document_hashes() if old else {}
        sources, skipped = discover(corpus_dir)
        report = BuildReport(generation=0, documents=0, chunks=0,
                             skipped=[{"path": s.id, "reason": s.reason} for s in skipped])
        pending = _Pending()
        seen: set[str] = set()
        for n, source in enumerate(sources, 1):
            self.progress("read", n, len(sources))
            seen.add(source.id)
            try:
                data = read_bytes(source)
                content_hash = sha256_bytes(data)
                del data
                if old and not rechunk and old_hashes.get(source.id) == content_hash:
                    new.copy_document_from(old, source.id)
                    report.unchanged_documents += 1
                    continue
                doc = load_document(source, content_hash, catalogue)
            except DocumentReadError as exc:
                self._skip(report, source, str(exc), old, new, old_hashes)
                continue
            report.read_documents += 1
            report.warnings.extend({"path": doc.id, "warning": w} for w in doc.warnings)
            chunks = self.chunker.chunk(doc)
            reusable = self._reusable_ids(old, doc.id)
            assigned: list[tuple[int, Chunk]] = []
            for chunk in chunks:
                if reusable.get(chunk.embed_text):
                    assigned.append((reusable[chunk.embed_text].pop(), chunk))
                    report.reused_chunks += 1
                    continue
                assigned.append((next_id, chunk))
                pending.ids.append(next_id)
                pending.texts.append(chunk.embed_text)
                next_id += 1
            stale = [cid for ids in reusable.values() for cid in ids]
            report.deleted_chunks += store.delete(np.asarray(stale, dtype=np.int64))
            new.put_document(doc)
            new.put_chunks(assigned)
            report.truncated_chunks += sum(c.embed_tokens > self.embedder.max_tokens
                                           for c in chunks)
            if len(pending.ids) >= FLUSH_EVERY:
                report.embedded_chunks += self._flush(store, pending)
        report.embedded_chunks += self._flush(store, pending)
        removed = [d for d in old_hashes if d not in seen]
        if old and removed:
            report.removed_documents = len(removed)
            gone = np.asarray(old.chunk_ids_where(removed), dtype=np.int64)
            report.deleted_chunks += store.delete(gone)
        new.commit()
        self.progress("lexical", 0, 1)
        ids, texts = zip(*new.iter_chunk_texts()) if new.counts()[1] else ((), ())
        Bm25Index.build(list(ids), list(texts)).save(folder)
        store.save(folder)
        report.documents, report.chunks = new.counts()
        index_warnings = [{"path": d.id, "warning": w} for d in new.documents() for w in d.warnings]
        if store.count() != report.chunks:
            raise BuildError(f"vector store holds {store.count()} vectors for "
                             f"{report.chunks} chunks; refusing to publish")
        new.close()
        if old:
            old.close()
        manifest = {"fingerprint": self.fingerprint(), "next_chunk_id": next_id,
                    "documents": report.documents, "chunks": report.chunks,
                    "model": self.embedder.name, "corpus": str(corpus_dir.resolve()),
                    "skipped": report.skipped, "truncated_chunks": report.truncated_chunks,
                    "warnings": index_warnings, "created": time.time()}
        live = publish(self.index_dir, folder, manifest, on_discard=_discard_generation_store)
        report.generation = read_manifest(live)["generation"]
        return report

    def _skip(self, report: BuildReport, source: SourceFile, reason: str,
              old: ChunkStore | None, new: ChunkStore, old_hashes: dict[str, str]) -> None:
        """Reports an unreadable file; a version indexed earlier stays rather than vanishing."""
        entry = {"path": source.id, "reason": reason}
        if old and source.id in old_hashes:
            new.copy_document_from(old, source.id)
            entry["kept"] = "previous version"
        report.skipped.append(entry)

    @staticmethod
    def _reusable_ids(old: ChunkStore | None, document_id: str) -> dict[str, list[int]]:
        reusable: dict[str, list[int]] = defaultdict(list)
        if old:
            for chunk in old.document_chunks(document_id):
                reusable[chunk.embed_text].append(chunk.id)
        return reusable

    def _flush(self, store: VectorStore, pending: _Pending) -> int:
        if not pending.ids:
            return 0
        done = 0
        # Batches of similar lengths pad less: sorting the whole backlog by length first keeps
        # the embedder's work close to a bare encode of all texts at once.
        order = sorted(range(len(pending.texts)), key=lambda i: len(pending.texts[i]))
        for start in range(0, len(order), self.embed_batch):
            batch = order[start:start + self.embed_batch]
            vectors = self.embedder.encode([pending.texts[i] for i in batch])
            store.add(np.asarray([pending.ids[i] for i in batch], dtype=np.int64), vectors)
            done += len(batch)
            self.progress("embed", done, len(pending.texts))
        pending.ids.clear()
        pending.texts.clear()
        return done


def _discard_generation_store(generation: Path) -> None:
    """Frees an old generation's store (e.g. drops its Milvus collection) before it is removed."""
    try:
        kind = read_manifest(generation)["fingerprint"]["store"]
    except (OSError, ValueError, KeyError, TypeError):
        return  # an incomplete or foreign folder: nothing to free but its files
    discard_store(kind, generation)


__all__ = ["BuildError", "BuildReport", "IndexBuilder", "Skipped"]
