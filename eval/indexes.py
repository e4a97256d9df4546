"""Indexes for evaluation: reuse the configured one when it covers the corpus, else a cached build."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from urllib.parse import quote, unquote

from eval.datasets import beir_documents
from index.builder import IndexBuilder
from index.cache import cache_dir
from index.chunk_store import DB_FILE, ChunkStore
from index.embedder import Embedder
from index.generations import current_generation, read_manifest
from index.manifest import FORMAT_VERSION
from index.stores.factory import store_format
from ingest.document import sha256_bytes
from ingest.pipeline import discover, read_bytes
from service.settings import Settings


def cache_root() -> Path:
    return cache_dir("eval")


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def settings_key(settings: Settings, embedder: Embedder) -> str:
    """What an index depends on besides the documents: model, chunking, store (its format and,
    for FAISS, its index type), format."""
    store = {"kind": settings.vector_store, "format": store_format(settings.vector_store)}
    if settings.vector_store == "faiss":
        store["index"] = settings.faiss_index
    return _digest({"model": embedder.name, "dimension": embedder.dimension,
                    "chunking": settings.chunk_settings().fingerprint(),
                    "ocr": settings.ocr_settings().fingerprint(),
                    "store": store, "format": FORMAT_VERSION})


def corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """Document id -> sha256 of the file, for every file the pipeline would index."""
    sources, _ = discover(corpus_dir)
    return {s.id: sha256_bytes(read_bytes(s)) for s in sources}


def index_covers(index_dir: Path, hashes: dict[str, str]) -> bool:
    """True when the live generation holds exactly these documents at these contents."""
    live = current_generation(index_dir)
    if live is None:
        return False
    store = ChunkStore(live / DB_FILE, readonly=True)
    try:
        return store.document_hashes() == hashes
    finally:
        store.close()


def store_problem(index_dir: Path, settings: Settings) -> str | None:
    """Why the live generation cannot serve these settings' vector store, or None when it can.

    The generation must have been built on the configured store kind; a Milvus generation's
    collection lives on the server, not in the folder, so it must still exist there (it is gone
    once the server's data is, e.g. after `.ci/milvus-tests` stops its throwaway server).
    Raises VectorStoreError when the Milvus server does not answer.
    """
    live = current_generation(index_dir)
    if live is None:
        return f"no index in {index_dir}"
    kind = read_manifest(live).fingerprint.store
    if kind != settings.vector_store:
        return f"{live} was built on the {kind} store, not {settings.vector_store}"
    if kind == "milvus":
        from index.stores.milvus_store import MilvusStore

        return MilvusStore.missing(settings.store_config(), live)
    return None


def build_cached(name: str, corpus_dir: Path, content_key: str, settings: Settings,
                 embedder: Embedder) -> Path:
    """An index over `corpus_dir` in the cache, built once per content and settings (the store
    kind is part of the key), and built again when its Milvus collection has gone."""
    index_dir = cache_root() / f"{name}-{content_key}" / f"index-{settings_key(settings, embedder)}"
    if current_generation(index_dir) is not None:
        problem = store_problem(index_dir, settings)
        if problem is None:
            print(f"reusing cached index {index_dir}", file=sys.stderr)
            return index_dir
        print(f"not reusing cached index {index_dir}: {problem}; building it again",
              file=sys.stderr)
        shutil.rmtree(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    print(f"building an index over {corpus_dir} into {index_dir} ...", file=sys.stderr)
    builder = IndexBuilder(index_dir, embedder, settings.chunk_settings(),
                           store_config=settings.store_config(),
                           embed_batch=max(settings.embed_batch_size, 64),
                           ocr=settings.ocr_settings())
    report = builder.build(corpus_dir)
    print(f"built {report.documents} documents, {report.chunks} chunks in {report.seconds:.0f} s"
          f" ({len(report.skipped)} skipped)", file=sys.stderr)
    return index_dir


def folder_index(name: str, corpus_dir: Path, settings: Settings, embedder: Embedder,
                 preferred: Path | None = None, insist: bool = False) -> Path:
    """The preferred index if it covers the folder exactly on the configured store, else a cached
    build over it.

    With `insist` (an index the user named) an existing preferred index is used even when its
    documents or store differ, with a warning.
    """
    hashes = corpus_hashes(corpus_dir)
    if not hashes:
        raise FileNotFoundError(f"no readable documents in {corpus_dir}")
    if preferred is not None and current_generation(preferred) is not None:
        problem = store_problem(preferred, settings)
        if problem is None and index_covers(preferred, hashes):
            return preferred
        if insist:
            why = problem or f"it does not hold exactly the documents of {corpus_dir}"
            print(f"warning: index {preferred}: {why}; evaluating it anyway", file=sys.stderr)
            return preferred
    return build_cached(name, corpus_dir, _digest(hashes), settings, embedder)


def beir_file_name(doc_id: str) -> str:
    # Percent-quoting keeps ids with "/" or odd characters one flat, reversible file name;
    # the "d" prefix stops ids starting with "." from becoming hidden files, which are skipped.
    return "d" + quote(doc_id, safe="") + ".txt"


def beir_doc_id(document_id: str) -> str:
    """The BEIR id of an indexed document written by `write_beir_corpus`."""
    stem = document_id.rsplit("/", 1)[-1].removesuffix(".txt")
    return unquote(stem[1:])


def write_beir_corpus(corpus_jsonl: Path, name: str) -> tuple[Path, str]:
    """BEIR documents as .txt files (title line, blank line, text) in a cache corpus folder."""
    content_key = hashlib.sha256(corpus_jsonl.read_bytes()).hexdigest()[:16]
    folder = cache_root() / f"{name}-{content_key}" / "corpus"
    done = folder.parent / "corpus.complete"
    if done.is_file():
        return folder, content_key
    folder.mkdir(parents=True, exist_ok=True)
    documents = beir_documents(corpus_jsonl)
    for doc_id, title, text in documents:
        body = f"{title.strip()}\n\n{text.strip()}\n" if title.strip() else f"{text.strip()}\n"
        (folder / beir_file_name(doc_id)).write_text(body, encoding="utf-8")
    done.write_text(str(len(documents)))
    return folder, content_key
