"""Whether the live generation still reflects a corpus folder: what `policyqa serve` checks first."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from index.build_steps import PreviousGeneration, content_hash
from index.generations import current_generation, read_manifest
from ingest.document import DocumentReadError
from ingest.pipeline import discover

if TYPE_CHECKING:
    from index.builder import IndexBuilder

NAMED = 3  # files named per kind of change; the rest are counted


def index_changes(builder: IndexBuilder, corpus_dir: Path) -> list[str]:
    """Why the live index does not serve `corpus_dir` as it is now (one line each), or [] when it
    does: no index yet, another corpus folder, other model/chunking/store settings, or files
    added, changed (content or catalogue entry) or removed since the live generation was built.

    A file the live generation skipped counts as known while its content is what was skipped
    (or, for a skip recorded without a hash, while it is still there), so an unreadable file
    does not make every start rebuild.
    """
    live = current_generation(builder.index_dir)
    if live is None:
        return [f"no index has been built in {builder.index_dir} yet"]
    manifest = read_manifest(live)
    root = corpus_dir.resolve()
    if manifest.corpus and Path(manifest.corpus) != root:
        return [f"the index in {builder.index_dir} was built from {manifest.corpus}, not {root}"]
    differs = manifest.fingerprint.differences(builder.fingerprint())
    if differs:
        return [f"the index in {builder.index_dir} was built with other settings "
                f"({', '.join(differs)})"]
    catalogue = builder.catalogue(corpus_dir, None)
    skipped_then = {s["path"]: s.get("sha256") for s in manifest.skipped}
    sources, _ = discover(corpus_dir)
    added: list[str] = []
    changed: list[str] = []
    previous = PreviousGeneration(live)
    try:
        for source in sources:
            try:
                digest = content_hash(source)
            except DocumentReadError:
                digest = None
            if source.id in skipped_then and skipped_then[source.id] in (None, digest):
                continue  # skipped last time, and still the file that was skipped
            if source.id not in previous.hashes:
                added.append(source.id)
            elif digest is None or not previous.unchanged(source.id, digest,
                                                          catalogue.by_file(source.id)):
                changed.append(source.id)
        seen = {s.id for s in sources}
        removed = [d for d in previous.hashes if d not in seen]
    finally:
        previous.close()
    return [line for line in (_files("added", added), _files("changed", changed),
                              _files("removed", removed)) if line]


def _files(what: str, paths: list[str]) -> str:
    if not paths:
        return ""
    named = ", ".join(paths[:NAMED]) + (f" and {len(paths) - NAMED} more"
                                        if len(paths) > NAMED else "")
    return f"{len(paths)} {'file' if len(paths) == 1 else 'files'} {what} since the live " \
           f"generation ({named})"
