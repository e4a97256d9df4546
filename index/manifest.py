"""A generation's typed records: the fingerprint its vectors depend on and its manifest.json."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ingest.errors import PolicyQAError

# The layout of a generation's files; a build never reuses a generation of another one.
FORMAT_VERSION = 1
# Of manifest.json itself. 1: the manifests written before the field existed, read unchanged.
# 3: ocr_pages (older manifests are read as 0 and written back without it).
MANIFEST_VERSION = 3
# What must match for a worker's or a searcher's vectors to fit a plan's or a generation's.
COMPATIBILITY = ("model", "dimension", "chunking", "store", "store_format")


class ManifestError(PolicyQAError, ValueError):
    """A manifest (or plan) is not one this version can read; the message says what to do."""


def known_fields(cls: type, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`data` split into the fields of dataclass `cls` and the rest."""
    names = {f.name for f in fields(cls)}
    return ({k: v for k, v in data.items() if k in names},
            {k: v for k, v in data.items() if k not in names})


def check_version(kind: str, found: object, newest: int) -> int:
    if not isinstance(found, int) or not 1 <= found <= newest:
        raise ManifestError(f"{kind} version {found!r} is not one this PolicyQA reads (1 to "
                            f"{newest}): it was written by another version; rebuild the index")
    return found


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What must match for a previous generation's chunks and vectors to be reused."""

    model: str
    dimension: int
    chunking: str  # ChunkSettings.fingerprint(), OcrSettings.fingerprint()
    store: str = "faiss"  # generations from before other stores
    store_format: int = 1  # generations from before stores had formats
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": self.format_version, "model": self.model,
                "dimension": self.dimension, "chunking": self.chunking, "store": self.store,
                "store_format": self.store_format}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        known, _ = known_fields(cls, data)
        try:
            return cls(**known)
        except TypeError as exc:  # a required field missing
            raise ManifestError(f"incomplete fingerprint {dict(data)!r}: {exc}") from None

    def differences(self, other: Fingerprint) -> list[str]:
        """The compatibility fields (COMPATIBILITY) whose values differ."""
        return [name for name in COMPATIBILITY if getattr(self, name) != getattr(other, name)]

    def vectors_fit(self, other: Fingerprint) -> bool:
        """Whether vectors stored under `other` can be reused here: everything but the chunking
        matches (a chunk whose embedded text is unchanged keeps its vector)."""
        return self.format_version == other.format_version and \
            self.differences(other) in ([], ["chunking"])


@dataclass(frozen=True, slots=True)
class StagedBuild:
    """Which staged build published a generation (index/staged.py)."""

    build_id: str
    shards: int


@dataclass(frozen=True, slots=True)
class Manifest:
    """manifest.json of a generation: what it holds and how it was built."""

    fingerprint: Fingerprint
    next_chunk_id: int
    documents: int
    chunks: int
    model: str
    corpus: str | None = None
    skipped: list[dict[str, str]] = field(default_factory=list)
    truncated_chunks: int = 0
    warnings: list[dict[str, str]] = field(default_factory=list)
    created: float = 0.0
    ocr_pages: int = 0  # pages of its documents read by OCR (0 in manifests from before OCR)
    generation: int = 0  # given by publish
    staged_build: StagedBuild | None = None
    # Keys this version does not know (e.g. eval/scale.py's scaled_from): kept, written back.
    extra: dict[str, Any] = field(default_factory=dict)
    version: int = MANIFEST_VERSION

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "manifest_version": self.version, "generation": self.generation,
            "fingerprint": self.fingerprint.to_dict(), "next_chunk_id": self.next_chunk_id,
            "documents": self.documents, "chunks": self.chunks, "model": self.model,
            "corpus": self.corpus, "skipped": self.skipped,
            "truncated_chunks": self.truncated_chunks, "warnings": self.warnings,
            "created": self.created}
        if self.version >= 3:
            data["ocr_pages"] = self.ocr_pages
        if self.staged_build is not None:
            data["staged_build"] = {"build_id": self.staged_build.build_id,
                                    "shards": self.staged_build.shards}
        return {**self.extra, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        data = dict(data)
        version = check_version("manifest", data.pop("manifest_version", 1), MANIFEST_VERSION)
        known, extra = known_fields(cls, data)
        for name in ("extra", "version"):  # not keys of the file
            if name in known:
                extra[name] = known.pop(name)
        if "fingerprint" not in known:
            raise ManifestError("the manifest has no fingerprint: it is not a PolicyQA index")
        known["fingerprint"] = Fingerprint.from_dict(known["fingerprint"])
        if known.get("staged_build") is not None:
            known["staged_build"] = StagedBuild(**known["staged_build"])
        try:
            return cls(**known, extra=extra, version=version)
        except TypeError as exc:
            raise ManifestError(f"incomplete manifest: {exc}") from None

    def with_generation(self, number: int) -> Manifest:
        return replace(self, generation=number)
