"""`policyqa corpus fetch`: fill a corpus folder with the catalogue's documents, pinned by sha256."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from ingest.catalogue import Instrument, catalogue_for
from ingest.document import sha256_file
from ingest.files import atomic_file, write_atomic

LOCK_FILE = "corpus.lock.json"
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024


@dataclass
class FetchResult:
    fetched: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # file, old, new sha256
    failed: list[tuple[str, str]] = field(default_factory=list)  # file, reason

    def lines(self) -> list[str]:
        out = [f"fetched {f}" for f in self.fetched]
        out += [f"CHANGED {f}: sha256 was {old[:12]}..., now {new[:12]}... (check the source)"
                for f, old, new in self.changed]
        out += [f"failed {f}: {why}" for f, why in self.failed]
        out.append(f"{len(self.fetched)} fetched, {len(self.unchanged)} unchanged, "
                   f"{len(self.changed)} changed, {len(self.failed)} failed")
        return out


def _download(url: str, out: BinaryIO, timeout: float) -> None:
    if urlparse(url).scheme not in ("http", "https"):
        raise ValueError(f"refusing to fetch {url!r}: only http and https")
    request = urllib.request.Request(url, headers={"User-Agent": "policyqa-corpus-fetch"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        total = 0
        while block := response.read(1 << 16):
            total += len(block)
            if total > MAX_DOWNLOAD_BYTES:
                raise ValueError(f"larger than {MAX_DOWNLOAD_BYTES // 2**20} MB")
            out.write(block)


def _fetch_one(item: Instrument, target: Path, mirror: Path | None, timeout: float) -> str:
    """Writes the document to `target` atomically (a failed fetch leaves the old file) and
    returns its sha256."""
    if mirror is not None:
        source = mirror / item.file
        if not source.is_file():
            raise FileNotFoundError(f"not in the mirror ({source})")
    elif not item.download_url:
        raise ValueError("the catalogue gives no download_url for it; use --from MIRROR")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(target) as out:
        if mirror is not None:
            with (mirror / item.file).open("rb") as f:
                shutil.copyfileobj(f, out)
        else:
            _download(item.download_url, out, timeout)
    return sha256_file(target)


def fetch_corpus(corpus_dir: Path, mirror: Path | None = None, timeout: float = 60.0
                 ) -> FetchResult:
    catalogue = catalogue_for(corpus_dir)
    lock_path = corpus_dir / LOCK_FILE
    lock = json.loads(lock_path.read_text()) if lock_path.exists() else {}
    result = FetchResult()
    for item in catalogue.instruments:
        target = corpus_dir / item.file
        if not target.resolve().is_relative_to(corpus_dir.resolve()):
            result.failed.append((item.file, "path leaves the corpus folder"))
            continue
        try:
            digest = _fetch_one(item, target, mirror, timeout)
        except (OSError, ValueError) as exc:
            result.failed.append((item.file, str(exc)))
            continue
        previous = lock.get(item.file, {}).get("sha256")
        if previous is None:
            result.fetched.append(item.file)
        elif previous == digest:
            result.unchanged.append(item.file)
        else:
            result.changed.append((item.file, previous, digest))
        lock[item.file] = {"sha256": digest, "source": str(mirror / item.file) if mirror
                           else item.download_url, "fetched": time.strftime("%Y-%m-%d")}
    corpus_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(lock_path, json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return result
