"""The index build: read changed documents, chunk, embed what is new, write and publish a generation."""

from __future__ import annotations

import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from index.build_steps import (
    ChunkSink,
    PreviousGeneration,
    ToEmbed,
    assign_ids,
    content_hash,
    write_document,
    write_failures,
)
from index.chunk_store import DB_FILE, ChunkStore
from index.embedder import Embedder
from index.generations import (
    PLAN_FILE,
    STAGED_DIR,
    STAGED_GENERATION,
    BuildError,
    build_lock,
    current_generation,
    new_build_folder,
    publish,
    read_manifest,
)
from index.lexical import Bm25Index
from index.manifest import Fingerprint, Manifest, StagedBuild
from index.stores.base import ChunkFields, StoreConfig, VectorStore
from index.stores.factory import (
    create_store,
    discard_build_stores,
    discard_store,
    fork_store,
    store_format,
)
from ingest.catalogue import Catalogue, catalogue_for
from ingest.chunker import ChunkSettings, StructureChunker
from ingest.document import DocumentReadError
from ingest.ocr import OcrSettings
from ingest.pipeline import Skipped, SourceFile, discover, load_document
from ingest.readers.registry import readers

# Chunks waiting for embedding are handed to the embedding thread this many at a time (sorted by
# word pieces, then embedded in batches of `embed_batch`): early enough for reading to overlap
# embedding, large enough that sorted batches pad little.
FLUSH_EVERY = 1024
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
    ocr_pages: int = 0  # pages of the generation's documents whose text OCR read
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    full: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class BuildBase:
    """What a build starts from: the generation whose chunks and vectors it may reuse."""

    previous: Path | None  # None: a full build, nothing reused
    rechunk: bool  # other chunking: every document is chunked again


@dataclass
class CorpusRead:
    """The corpus read, chunked and given ids: the chunk store (committed) and what to publish."""

    report: BuildReport
    next_id: int
    chunks: ChunkStore
    corpus_dir: Path


VectorWriter = Callable[[np.ndarray, np.ndarray, list[ChunkFields]], None]


def embed_sorted(embedder: Embedder, items: list[ToEmbed], batch_size: int, write: VectorWriter,
                 progress: Callable[[int, int], None]) -> int:
    """Embeds `items` in batches of similar lengths and hands each batch to `write`.

    A batch is padded to its longest text, so the backlog is sorted by word pieces first.
    Sorting by characters instead made the build's encoding 1.4x slower than one bare `encode`
    of the same texts: legal text with numbers and citations has many more word pieces per
    character than prose.
    """
    ordered = sorted(items, key=lambda item: item.tokens)
    done = 0
    for start in range(0, len(ordered), batch_size):
        batch = ordered[start:start + batch_size]
        vectors = embedder.encode([item.text for item in batch])
        write(np.asarray([item.id for item in batch], dtype=np.int64), vectors,
              [item.fields for item in batch])
        done += len(batch)
        progress(done, len(items))
    return done


class _LockedStore:
    """A build's store shared by the reading thread (deletes) and the embedding thread (adds)."""

    def __init__(self, store: VectorStore) -> None:
        self.store = store
        self._lock = threading.Lock()

    def add(self, ids: np.ndarray, vectors: np.ndarray, fields: list[ChunkFields]) -> None:
        with self._lock:
            self.store.add(ids, vectors, fields)

    def delete(self, ids: np.ndarray) -> int:
        with self._lock:
            return self.store.delete(ids)

    def update_fields(self, ids: np.ndarray, fields: list[ChunkFields]) -> None:
        with self._lock:
            self.store.update_fields(ids, fields)


class _Embedding:
    """The one-process build's sink: backlogs of chunks are embedded on a background thread
    while the corpus is still being read, since the embedder spends its time outside the GIL
    (onnxruntime, torch), so reading and chunking hide behind it. At most two backlogs wait,
    which bounds memory; an error in the thread is raised by the next call here."""

    def __init__(self, builder: IndexBuilder, store: _LockedStore) -> None:
        self.builder, self.store = builder, store
        self.items: list[ToEmbed] = []
        self.queued = 0  # chunks handed to the thread so far, for the progress total
        self._done = 0
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="policyqa-embed")
        self._backlogs: deque[Future[int]] = deque()
        self._stopped = False

    def add(self, item: ToEmbed) -> None:
        self.items.append(item)

    def after_document(self) -> None:
        if len(self.items) >= FLUSH_EVERY:
            self._submit()
        while self._backlogs and (self._backlogs[0].done() or len(self._backlogs) > 2):
            self._backlogs.popleft().result()  # raises what the thread raised

    def close(self) -> int:
        try:
            self._submit()
            while self._backlogs:
                self._backlogs.popleft().result()
        finally:
            for backlog in self._backlogs:
                backlog.cancel()
            self._thread.shutdown(wait=True)
        return self._done

    def abort(self) -> None:
        """Stops embedding after the current batch (the build failed); waits for nothing."""
        self._stopped = True
        self._thread.shutdown(wait=False, cancel_futures=True)

    def _submit(self) -> None:
        if not self.items:
            return
        items, self.items = self.items, []
        self.queued += len(items)
        self._backlogs.append(self._thread.submit(self._embed, items))

    def _embed(self, items: list[ToEmbed]) -> int:
        start = self._done

        def progress(n: int, _total: int) -> None:
            if self._stopped:
                raise BuildError("build stopped")
            self.builder.progress("embed", start + n, self.queued)

        done = embed_sorted(self.builder.embedder, items, self.builder.embed_batch,
                            self.store.add, progress)
        self._done += done
        return done


class IndexBuilder:
    """Builds index generations. `settings` cut the chunks; `ocr` says how the PDF reader reads
    pages without a usable text layer (both are in the fingerprint's chunking, so a change
    re-reads every document)."""

    def __init__(self, index_dir: Path, embedder: Embedder, settings: ChunkSettings,
                 store_config: StoreConfig | None = None, embed_batch: int = 256,
                 progress: Progress | None = None, ocr: OcrSettings | None = None) -> None:
        self.index_dir = index_dir
        self.embedder = embedder
        self.settings = settings
        self.ocr = ocr if ocr is not None else OcrSettings()
        self.readers = readers(self.ocr)
        self.store_config = store_config or StoreConfig()
        self.store_kind = self.store_config.kind
        self.embed_batch = embed_batch
        self.progress = progress or (lambda stage, done, total: None)
        self.chunker = StructureChunker(settings, embedder.count_tokens, embedder.max_tokens)

    def fingerprint(self) -> Fingerprint:
        """What must match for a previous generation's chunks and vectors to be reused."""
        return Fingerprint(model=self.embedder.name, dimension=self.embedder.dimension,
                           chunking=f"{self.settings.fingerprint()},{self.ocr.fingerprint()}",
                           store=self.store_kind,
                           store_format=store_format(self.store_kind))

    def build(self, corpus_dir: Path, full: bool = False,
              catalogue: Catalogue | None = None) -> BuildReport:
        """Builds in this process: read, chunk, embed, publish (see index/staged.py for workers)."""
        started = time.perf_counter()
        catalogue = self.catalogue(corpus_dir, catalogue)
        with self.locked():
            self.refuse_pending_staged()
            with write_failures(cannot_write(self.index_dir), errors=(OSError,)):
                folder = new_build_folder(self.index_dir, on_discard=self.discard_build_stores)
                base = self.base(full)
            # A full disk or a vanished folder: free what this build wrote, keep the live one.
            with write_failures(not_written(self.index_dir),
                                lambda: remove_build_folder(folder, self.store_config)):
                store = self.open_store(base, folder)
                shared = _LockedStore(store)
                sink = _Embedding(self, shared)
                try:
                    read = self.read_corpus(folder, corpus_dir, catalogue, base, shared, sink)
                except BaseException:
                    sink.abort()
                    raise
                report = self.publish(folder, read, store)
            report.seconds = round(time.perf_counter() - started, 3)
            return report

    # -- the steps, shared by the one-process build and the staged build (index/staged.py) ------

    @staticmethod
    def catalogue(corpus_dir: Path, catalogue: Catalogue | None) -> Catalogue:
        if not corpus_dir.is_dir():
            raise BuildError(f"corpus folder {corpus_dir} does not exist")
        return catalogue if catalogue is not None else catalogue_for(corpus_dir)

    def locked(self) -> AbstractContextManager[None]:
        return locked(self.index_dir)

    def refuse_pending_staged(self) -> None:
        """A one-process build must not destroy a staged build that workers may be embedding;
        a staged folder without a plan is a killed coordinator's, and is freed here."""
        staged = self.index_dir / STAGED_DIR
        if (staged / PLAN_FILE).exists():
            raise BuildError(f"a staged build is pending in {staged}: complete it with "
                             "`policyqa index build --workers N` (or `index work` and `index "
                             "finish`), or drop it with `policyqa index abandon`")
        if staged.exists():
            remove_staged(staged, self.store_config)

    def base(self, full: bool) -> BuildBase:
        previous = current_generation(self.index_dir)
        old = read_manifest(previous).fingerprint if previous else None
        new = self.fingerprint()
        if old is None or not new.vectors_fit(old):
            full = True  # another model or store: no stored vector can be reused
        # Other chunking: every document is chunked again, but a chunk whose embedded text is
        # unchanged keeps its vector.
        return BuildBase(previous if previous is not None and not full else None,
                         old is None or old.chunking != new.chunking)

    def open_store(self, base: BuildBase, folder: Path) -> VectorStore:
        """The build's store: a copy of the previous generation's, or a new one; a store kept
        outside the folders names itself in `folder` at once (see new_build_folder)."""
        if base.previous is not None:
            return fork_store(self.store_config, base.previous, folder)
        return create_store(self.store_config, self.embedder.dimension, folder)

    def refuse_emptying(self, corpus_dir: Path, sources: list[SourceFile],
                        skipped: list[Skipped]) -> None:
        """A corpus folder with no document in it (a wrong path, an unmounted share) must not
        turn a live index with documents into an empty one: that is a BuildError, not a build."""
        if sources:
            return
        live = current_generation(self.index_dir)
        held = read_manifest(live).documents if live is not None else 0
        if held:
            n = len(skipped)
            unsupported = f" ({n} file{'s' * (n != 1)} of no supported format)" if n else ""
            raise BuildError(
                f"corpus folder {corpus_dir.resolve()} holds no documents{unsupported}; the "
                f"index in {self.index_dir} keeps its {held} documents. Point --corpus (or "
                "POLICYQA_CORPUS_DIR) at the documents, or remove the index folder to start "
                "an empty index")

    def read_corpus(self, folder: Path, corpus_dir: Path, catalogue: Catalogue, base: BuildBase,
                    store: VectorStore, sink: ChunkSink) -> CorpusRead:
        """Runs the hash, chunk and write steps over the corpus: reads changed documents,
        chunks them and assigns chunk ids (reusing the previous generation's by content hash
        and by embedded text); deletes stale vectors from `store` and hands every chunk that
        needs a vector to `sink` (the embed step)."""
        previous = PreviousGeneration(base.previous)
        new = ChunkStore(folder / DB_FILE)
        next_id = previous.next_chunk_id
        sources, skipped = discover(corpus_dir)
        self.refuse_emptying(corpus_dir, sources, skipped)
        report = BuildReport(generation=0, documents=0, chunks=0, full=base.previous is None,
                             skipped=[{"path": s.id, "reason": s.reason} for s in skipped])
        seen: set[str] = set()
        for n, source in enumerate(sources, 1):
            self.progress("read", n, len(sources))
            seen.add(source.id)
            digest: str | None = None
            try:
                digest = content_hash(source)
                if not base.rechunk and previous.unchanged(source.id, digest,
                                                           catalogue.by_file(source.id)):
                    new.copy_document_from(previous.chunks, source.id)  # type: ignore[arg-type]
                    report.unchanged_documents += 1
                    continue
                doc = load_document(source, digest, catalogue, self.readers)
            except DocumentReadError as exc:
                self._skip(report, source, str(exc), previous, new, digest)
                continue
            report.read_documents += 1
            report.warnings.extend({"path": doc.id, "warning": w} for w in doc.warnings)
            chunks = self.chunker.chunk(doc)
            fields = ChunkFields.of(doc.id, doc.metadata)
            ids = assign_ids(chunks, previous.reusable_ids(doc.id), next_id, fields)
            next_id = ids.next_id
            for item in ids.to_embed:
                sink.add(item)
            report.reused_chunks += len(ids.reused)
            report.deleted_chunks += write_document(doc, ids, fields,
                                                    previous.documents.get(doc.id), new, store)
            report.truncated_chunks += sum(c.embed_tokens > self.embedder.max_tokens
                                           for c in chunks)
            sink.after_document()
        report.embedded_chunks += sink.close()
        report.removed_documents, gone = previous.removed_chunk_ids(seen)
        if gone:
            report.deleted_chunks += store.delete(np.asarray(gone, dtype=np.int64))
        new.commit()
        previous.close()
        return CorpusRead(report, next_id, new, corpus_dir)

    def publish(self, folder: Path, read: CorpusRead, store: VectorStore,
                staged_build: StagedBuild | None = None) -> BuildReport:
        """BM25, the store saved, the vector count checked, then `folder` published as the next
        generation (`staged_build` says which staged build made it)."""
        report, new = read.report, read.chunks
        self.progress("lexical", 0, 1)
        ids, texts = zip(*new.iter_chunk_texts()) if new.counts()[1] else ((), ())
        Bm25Index.build(list(ids), list(texts)).save(folder)
        store.save(folder)
        report.documents, report.chunks = new.counts()
        records = new.documents()
        index_warnings = [{"path": d.id, "warning": w} for d in records for w in d.warnings]
        report.ocr_pages = sum(d.ocr_pages for d in records)
        if store.count() != report.chunks:
            raise BuildError(f"vector store holds {store.count()} vectors for "
                             f"{report.chunks} chunks; refusing to publish")
        new.close()
        manifest = Manifest(fingerprint=self.fingerprint(), next_chunk_id=read.next_id,
                            documents=report.documents, chunks=report.chunks,
                            model=self.embedder.name, corpus=str(read.corpus_dir.resolve()),
                            skipped=report.skipped, truncated_chunks=report.truncated_chunks,
                            warnings=index_warnings, created=time.time(),
                            ocr_pages=report.ocr_pages, staged_build=staged_build)
        live = publish(self.index_dir, folder, manifest, on_discard=self.discard_generation_store)
        report.generation = read_manifest(live).generation
        return report

    def discard_build_stores(self, folder: Path) -> None:
        discard_build_stores(self.store_config, folder)

    def discard_generation_store(self, generation: Path) -> None:
        """Frees an old generation's store (e.g. drops its Milvus collection) before it is
        removed."""
        try:
            kind = read_manifest(generation).fingerprint.store
        except (OSError, ValueError):
            return  # an incomplete or foreign folder: nothing to free but its files
        discard_store(self.store_config.for_kind(kind), generation)

    @staticmethod
    def _skip(report: BuildReport, source: SourceFile, reason: str,
              previous: PreviousGeneration, new: ChunkStore, digest: str | None) -> None:
        """Reports an unreadable file; a version indexed earlier stays rather than vanishing.
        The file's hash, when it could be read, tells a later check that it is still the file
        that was skipped (index/freshness.py)."""
        entry = {"path": source.id, "reason": reason}
        if digest is not None:
            entry["sha256"] = digest
        if previous.chunks and source.id in previous.hashes:
            new.copy_document_from(previous.chunks, source.id)
            entry["kept"] = "previous version"
        report.skipped.append(entry)


def cannot_write(index_dir: Path) -> Callable[[str], str]:
    return lambda reason: f"cannot write to index folder {index_dir}: {reason}"


def not_written(index_dir: Path) -> Callable[[str], str]:
    return lambda reason: (f"index folder {index_dir} could not be written ({reason}); the "
                           "previous generation is still live")


@contextmanager
def locked(index_dir: Path) -> Iterator[None]:
    """Holds the index folder's build lock: one coordinator (build, plan, finish) at a time."""
    with ExitStack() as stack:
        with write_failures(cannot_write(index_dir), errors=(OSError,)):
            stack.enter_context(build_lock(index_dir))
        yield


def remove_build_folder(folder: Path, store_config: StoreConfig) -> None:
    """Removes an unfinished build's folder, freeing its store first where it names one."""
    try:
        discard_build_stores(store_config, folder)
    except Exception:  # noqa: BLE001 - on error paths the first error is the one to report
        pass
    shutil.rmtree(folder, ignore_errors=True)


def remove_staged(root: Path, store_config: StoreConfig) -> None:
    """Removes a staged build's folder, freeing the store of its generation first."""
    remove_build_folder(root / STAGED_GENERATION, store_config)
    shutil.rmtree(root, ignore_errors=True)


__all__ = ["BuildError", "BuildReport", "IndexBuilder", "Skipped", "ToEmbed", "embed_sorted"]
