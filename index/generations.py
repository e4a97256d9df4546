"""Index generations on disk: each build writes a new folder and a pointer switches atomically.

Layout of an index folder:
    CURRENT                 the name of the live generation, replaced atomically
    gen-000007/             a complete generation: manifest.json, chunks.sqlite, vectors, bm25/
    building-<pid>[-<n>]/   a build in progress; never read, removed by the next build (after
                            its store is freed: a killed build's Milvus collection is dropped)
    staged/                 a staged build (index/staged.py): plan.json once the coordinator has
                            planned it, shards for the ingest workers, and generation/, which
                            finish publishes as the next gen-*
A build killed at any moment leaves CURRENT and the generation it names untouched.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from index.manifest import Manifest, ManifestError
from ingest.errors import PolicyQAError
from ingest.files import fsync_dir, write_atomic

CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
STAGED_DIR = "staged"
STAGED_GENERATION = "generation"  # inside STAGED_DIR: the folder that becomes the generation
PLAN_FILE = "plan.json"  # inside STAGED_DIR: written last, atomically, by the coordinator
_GEN_PREFIX = "gen-"
_BUILD_PREFIX = "building-"
_log = logging.getLogger(__name__)


class IndexNotFoundError(PolicyQAError):
    """There is no complete index generation in the folder."""


class NoIndexLoadedError(PolicyQAError):
    """A question came before any index generation was loaded: build one, or wait for it."""


class BuildError(PolicyQAError):
    """The build could not complete; the previous generation is still live.

    Defined here rather than in index/builder.py so that the service can map it without
    importing the build (and every reader) at start-up."""


class BuildLockedError(PolicyQAError):
    """Another build holds the index folder."""


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as f:
                os.fsync(f.fileno())
    fsync_dir(folder)


def generation_number(folder: Path) -> int:
    return int(folder.name.removeprefix(_GEN_PREFIX))


def current_generation(index_dir: Path) -> Path | None:
    """The live generation's folder, or None when nothing complete was ever published."""
    pointer = index_dir / CURRENT_FILE
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    folder = index_dir / name
    if not name.startswith(_GEN_PREFIX) or not (folder / MANIFEST_FILE).exists():
        raise IndexNotFoundError(f"{pointer} names {name!r}, which is not a complete generation")
    return folder


def read_manifest(generation: Path) -> Manifest:
    """The generation's manifest; ManifestError when it is not one this version reads."""
    path = generation / MANIFEST_FILE
    try:
        return Manifest.from_dict(json.loads(path.read_text()))
    except ValueError as exc:  # written before the rename that publishes it, so never torn
        raise ManifestError(f"{path} is not valid JSON ({exc}): rebuild the index") from exc


def next_generation_number(index_dir: Path) -> int:
    numbers = [generation_number(p) for p in index_dir.glob(_GEN_PREFIX + "*") if p.is_dir()]
    return max(numbers, default=0) + 1


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / "build.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildLockedError(f"another build is running on {index_dir}") from None
        yield


def new_build_folder(index_dir: Path, on_discard: Callable[[Path], None] | None = None) -> Path:
    """A fresh folder for a build; stale ones from killed builds are removed first.

    `on_discard(folder)` runs before each stale folder is removed (e.g. to drop the server-side
    collection a killed build created); when it raises, that folder is kept for the next build.
    """
    for stale in sorted(index_dir.glob(_BUILD_PREFIX + "*")):
        if on_discard is not None:
            try:
                on_discard(stale)
            except Exception as exc:  # noqa: BLE001 - a dead build must not block a new one
                _log.warning("kept stale build %s: could not free its store: %s", stale, exc)
                continue
        shutil.rmtree(stale, ignore_errors=True)
    folder = index_dir / f"{_BUILD_PREFIX}{os.getpid()}"
    n = 0
    while folder.exists():  # a kept stale folder of a process that had this pid
        n += 1
        folder = index_dir / f"{_BUILD_PREFIX}{os.getpid()}-{n}"
    folder.mkdir(parents=True)
    return folder


def publish(index_dir: Path, build_folder: Path, manifest: Manifest, keep: int = 2,
            on_discard: Callable[[Path], None] | None = None) -> Path:
    """Makes a finished build the live generation: data first, then the pointer, both durable.

    `on_discard(folder)` runs before each old generation folder is removed (e.g. to drop a
    server-side collection); when it raises, that folder is kept and retried by the next publish.
    """
    number = next_generation_number(index_dir)
    manifest = manifest.with_generation(number)
    (build_folder / MANIFEST_FILE).write_text(json.dumps(manifest.to_dict(), indent=2))
    _fsync_tree(build_folder)
    target = index_dir / f"{_GEN_PREFIX}{number:06d}"
    os.rename(build_folder, target)
    write_atomic(index_dir / CURRENT_FILE, target.name)
    fsync_dir(index_dir)
    _drop_old(index_dir, target, keep, on_discard)
    return target


def _drop_old(index_dir: Path, live: Path, keep: int,
              on_discard: Callable[[Path], None] | None = None) -> None:
    # Readers that still hold an older generation keep working: its files stay open until closed.
    older = sorted((p for p in index_dir.glob(_GEN_PREFIX + "*") if p.is_dir() and p != live),
                   key=generation_number)
    for folder in older[: max(len(older) - (keep - 1), 0)]:
        if on_discard is not None:
            try:
                on_discard(folder)
            except Exception as exc:  # noqa: BLE001 - the new generation is live already
                _log.warning("kept old generation %s: could not free its store: %s", folder, exc)
                continue
        shutil.rmtree(folder, ignore_errors=True)
