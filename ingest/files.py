"""Durable atomic file writes: a file appears whole at its path or not at all, and survives a crash."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path) -> Path:
    """Where a file is written before it is renamed to `path`: beside it, so that the rename
    stays within one file system and is atomic."""
    return path.with_name(path.name + PARTIAL_SUFFIX)


def fsync_dir(folder: Path) -> None:
    """Makes the folder's entries (a rename, a new file) durable, not only the files' data."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_durably(written: Path, target: Path) -> None:
    """Flushes a file written by other code (a library given a path) to disk, then renames it
    over `target`. Without the fsync a crash soon after the rename can leave `target` empty."""
    with written.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(written, target)


class AtomicFile:
    """An open file that becomes `path` on commit() and vanishes on discard().

    For writers that keep several files open at once; otherwise use atomic_file()."""

    def __init__(self, path: Path, text: bool = False) -> None:
        self.path, self.partial = path, partial_path(path)
        self.file: IO = (self.partial.open("w", encoding="utf-8") if text
                         else self.partial.open("wb"))

    def commit(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        self.file.close()
        self.partial.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears at `path` whole or not at all: written to `path`.partial,
    fsynced, then renamed over `path`. When the body raises, nothing is renamed and the partial
    file is removed."""
    writer = AtomicFile(path)
    try:
        yield writer.file  # type: ignore[misc]
    except BaseException:
        writer.discard()
        raise
    writer.commit()


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Like atomic_file, for code that writes a file given its path (an exporter, a copy): the
    body writes the yielded path, which is then fsynced and renamed over `path`."""
    partial = partial_path(path)
    try:
        yield partial
        replace_durably(partial, path)
    finally:
        partial.unlink(missing_ok=True)  # gone already after the rename; left by a failure


def write_atomic(path: Path, data: str | bytes) -> None:
    """Writes `data` (text as UTF-8) to `path` atomically and durably."""
    with atomic_file(path) as f:
        f.write(data.encode() if isinstance(data, str) else data)


@contextmanager
def waiting_lock(path: Path) -> Iterator[None]:
    """Holds an exclusive lock on the file `path` (created, with its folder), waiting for it:
    for work two processes must not both do at once, such as unpacking or exporting a model."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
