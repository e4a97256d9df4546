"""From a corpus folder to documents: find the files, read each with its reader, give it identity."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.catalogue import CATALOGUE_FILE, Catalogue
from ingest.document import Document, DocumentReadError, sha256_bytes
from ingest.readers.base import DocumentReader
from ingest.readers.recitals import label_recitals
from ingest.readers.registry import READERS, reader_for

# Files in a corpus folder that are PolicyQA's own bookkeeping, not documents.
_OWN_FILES = {CATALOGUE_FILE, "corpus.lock.json", "MANIFEST.tsv"}
MAX_FILE_BYTES = 256 * 1024 * 1024
UNSUPPORTED_FORMAT = "unsupported format"


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: Path
    id: str  # relative to the corpus root, forward slashes


@dataclass(frozen=True, slots=True)
class Skipped:
    id: str
    reason: str


def discover(corpus_dir: Path) -> tuple[list[SourceFile], list[Skipped]]:
    """Readable document files under the corpus root, in a stable order, and the files skipped.

    Every file no reader accepts is skipped as UNSUPPORTED_FORMAT; hidden files and folders and
    PolicyQA's own bookkeeping files are neither documents nor reported.

    Symbolic links are followed only when they stay inside the root, so a corpus can never make
    the index read (or the service serve) a file from elsewhere.
    """
    root = corpus_dir.resolve()
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name in _OWN_FILES:
                continue
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if reader_for(path) is None:
                # Reported, not passed over: a user who drops a .docx into the corpus must see
                # that it was not indexed rather than wonder why nothing in it is found.
                skipped.append(Skipped(rel, UNSUPPORTED_FORMAT))
                continue
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    skipped.append(Skipped(rel, "symbolic link to a file outside the corpus"))
                    continue
            if not path.exists():
                skipped.append(Skipped(rel, "file disappeared while the build was running "
                                            "(or is a broken link)"))
                continue
            if not path.is_file():  # opening a FIFO would block the build forever
                skipped.append(Skipped(rel, "not a regular file (FIFO, socket or device)"))
                continue
            found.append(SourceFile(path, rel))
    return found, skipped


def read_bytes(source: SourceFile) -> bytes:
    try:
        size = source.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DocumentReadError(f"file is {size // 2**20} MB, over the "
                                    f"{MAX_FILE_BYTES // 2**20} MB limit")
        return source.path.read_bytes()
    except FileNotFoundError:
        raise DocumentReadError("file disappeared while the build was running") from None
    except OSError as exc:
        raise DocumentReadError(f"cannot read file: {exc.strerror or exc}") from None


def load_document(source: SourceFile, content_hash: str, catalogue: Catalogue,
                  readers: tuple[DocumentReader, ...] = READERS) -> Document:
    """Reads one file into a Document; raises DocumentReadError for anything unreadable.

    `readers`: the readers configured for this build (ingest.readers.registry.readers)."""
    reader = reader_for(source.path, readers)
    if reader is None:
        raise DocumentReadError(f"no reader for {source.path.suffix!r} files")
    try:
        parsed = reader.read(source.path)
    except DocumentReadError:
        raise
    except MemoryError:
        raise DocumentReadError("document too large to read in memory") from None
    except Exception as exc:  # a reader bug must cost one document, not the build
        raise DocumentReadError(f"{reader.format} reader failed: "
                                f"{type(exc).__name__}: {exc}") from exc
    if not parsed.text.strip():
        raise DocumentReadError("no text in the document")
    entry = catalogue.by_file(source.id)
    title = (entry.title if entry else None) or parsed.title or _title_from_name(source.path)
    return Document(
        id=source.id, title=title, format=reader.format, text=parsed.text,
        content_hash=content_hash, sections=label_recitals(parsed.text, parsed.sections),
        pages=parsed.pages,
        warnings=parsed.warnings, metadata=entry.filter_fields() if entry else {},
        force=parsed.force, last_amended=parsed.last_amended,
    )


def iter_documents(corpus_dir: Path, catalogue: Catalogue,
                   readers: tuple[DocumentReader, ...] = READERS
                   ) -> Iterator[tuple[SourceFile, Document | Skipped]]:
    """Every document of a corpus, or why it was skipped (used where no index is involved)."""
    sources, skipped = discover(corpus_dir)
    for s in skipped:
        yield SourceFile(corpus_dir / s.id, s.id), s
    for source in sources:
        try:
            data = read_bytes(source)
            yield source, load_document(source, sha256_bytes(data), catalogue, readers)
        except DocumentReadError as exc:
            yield source, Skipped(source.id, str(exc))


def _title_from_name(path: Path) -> str:
    return path.stem.replace("_", " ").replace("-", " ").strip().capitalize()
