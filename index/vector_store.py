"""The vector store seam: add, delete, search, save, load and count vectors under stable int ids.

Beside each vector a store may keep the chunk's fields (`ChunkFields`: its document and the
catalogue's filter fields) and then filter on them itself (`ChunkFilter`); see `keeps_fields`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np


class VectorStoreError(Exception):
    """A vector store could not be written, read or searched as asked."""


# The catalogue fields a question may be filtered by (besides the document).
FILTER_FIELDS: tuple[str, ...] = ("jurisdiction", "instrument_type", "year")
UNKNOWN_YEAR = -1


def _text_value(value: object) -> str:
    """A text field as stored and compared: stripped and lower-cased; "" when unknown."""
    return "" if value is None else str(value).strip().lower()


def _year_value(value: object) -> int:
    """A year as stored and compared: an int, or UNKNOWN_YEAR for anything that is not one."""
    if isinstance(value, bool):
        return UNKNOWN_YEAR
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return UNKNOWN_YEAR


@dataclass(frozen=True, slots=True)
class ChunkFields:
    """What a store that filters by itself keeps beside a chunk's vector."""

    document_id: str
    jurisdiction: str = ""
    instrument_type: str = ""
    year: int = UNKNOWN_YEAR

    @classmethod
    def of(cls, document_id: str, metadata: Mapping[str, object]) -> ChunkFields:
        """A document's fields from its catalogue metadata, normalized as filters compare them."""
        return cls(document_id, _text_value(metadata.get("jurisdiction")),
                   _text_value(metadata.get("instrument_type")),
                   _year_value(metadata.get("year")))


@dataclass(frozen=True, slots=True)
class ChunkFilter:
    """Which chunks a search may return: any of `document_ids` (None: any document), and for
    each field given, any of its values (case-insensitive). An empty set matches nothing."""

    document_ids: frozenset[str] | None = None
    jurisdiction: frozenset[str] | None = None
    instrument_type: frozenset[str] | None = None
    year: frozenset[int] | None = None

    @classmethod
    def of(cls, document_ids: Iterable[str] | None = None,
           fields: Mapping[str, Iterable[str | int]] | None = None) -> ChunkFilter | None:
        """The filter for a request's document ids and field values; None when nothing is
        filtered. Values are normalized like ChunkFields (a year that is no integer matches
        nothing)."""
        fields = fields or {}
        unknown = sorted(set(fields) - set(FILTER_FIELDS))
        if unknown:
            raise ValueError(f"unknown filter {unknown[0]!r}; filters: document_ids, "
                             f"{', '.join(FILTER_FIELDS)}")

        def texts(name: str) -> frozenset[str] | None:
            values = fields.get(name)
            return None if not values else frozenset(v for v in map(_text_value, values) if v)

        years = fields.get("year")
        made = cls(frozenset(document_ids) if document_ids else None,
                   texts("jurisdiction"), texts("instrument_type"),
                   None if not years else frozenset(y for y in map(_year_value, years)
                                                     if y != UNKNOWN_YEAR))
        return None if made == cls() else made

    def matches(self, fields: ChunkFields) -> bool:
        return ((self.document_ids is None or fields.document_id in self.document_ids)
                and (self.jurisdiction is None or fields.jurisdiction in self.jurisdiction)
                and (self.instrument_type is None
                     or fields.instrument_type in self.instrument_type)
                and (self.year is None or fields.year in self.year))

    def within(self, other: ChunkFilter | None) -> ChunkFilter:
        """Chunks that pass both this filter and `other`."""
        if other is None:
            return self

        def both(a, b):
            return b if a is None else a if b is None else a & b

        return ChunkFilter(both(self.document_ids, other.document_ids),
                           both(self.jurisdiction, other.jurisdiction),
                           both(self.instrument_type, other.instrument_type),
                           both(self.year, other.year))

    def matches_nothing(self) -> bool:
        return any(values is not None and not values for values in
                   (self.document_ids, self.jurisdiction, self.instrument_type, self.year))


class VectorStore(Protocol):
    """Inner-product search over L2-normalized vectors, each under a caller-chosen int64 id.

    A store with `keeps_fields` keeps each vector's ChunkFields and filters on them itself
    (`search(..., where=...)`); the others ignore fields, and callers filter them by ids.
    """

    kind: str
    dimension: int
    keeps_fields: bool

    def add(self, ids: np.ndarray, vectors: np.ndarray,
            fields: Sequence[ChunkFields] | None = None) -> None:
        """Adds vectors (with their fields, one per id, for stores that keep them). Adding an
        id the store already holds replaces its vector and fields: adding is idempotent."""
        ...

    def update_fields(self, ids: np.ndarray, fields: Sequence[ChunkFields]) -> None:
        """Replaces the fields kept beside stored vectors (a no-op for stores that keep none)."""
        ...

    def delete(self, ids: np.ndarray) -> int: ...

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None,
               where: ChunkFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the k best matches, best first; only `allowed_ids` when given,
        and only chunks whose fields match `where` (given only to stores with keeps_fields)."""
        ...

    def save(self, folder: Path) -> None: ...

    def count(self) -> int: ...

    def existing_ids(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` the store holds a vector for (each once, in no set order)."""
        ...


def checked_vectors(ids: np.ndarray, vectors: np.ndarray, dimension: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Ids as int64 and vectors as float32 rows of `dimension`, or a VectorStoreError."""
    ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[1] != dimension:
        raise VectorStoreError(f"expected vectors of dimension {dimension}, "
                               f"got shape {vectors.shape}")
    if len(ids) != len(vectors):
        raise VectorStoreError(f"{len(ids)} ids for {len(vectors)} vectors")
    if len(np.unique(ids)) != len(ids):
        raise VectorStoreError("the same id twice in one add")
    return ids, vectors


def checked_fields(ids: np.ndarray, fields: Sequence[ChunkFields] | None) -> Sequence[ChunkFields]:
    """The fields of a store that keeps them, one per id, or a VectorStoreError."""
    if fields is None:
        raise VectorStoreError("this store keeps each vector's fields: add them with the vectors")
    if len(fields) != len(ids):
        raise VectorStoreError(f"{len(ids)} ids for {len(fields)} sets of fields")
    return fields


# create(dimension, build_folder) and fork(generation, build_folder): a store that lives outside
# the folders (a server collection) names itself in `build_folder` (when given) as soon as it
# exists, so that a killed build's leftovers can be found and discarded.
def positions_of(stored: np.ndarray, order: np.ndarray, wanted: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `wanted` stands in `stored` (ids, `order` = their argsort), by binary search.

    Returns the positions and a mask of the `wanted` ids found; positions of ids not found are
    meaningless. For stores and indexes that keep ids in insertion order.
    """
    if not len(stored):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    slots = np.searchsorted(stored, wanted, sorter=order)
    positions = order[np.minimum(slots, len(stored) - 1)]
    return positions, stored[positions] == wanted


StoreFactory = Callable[[int, Path | None], VectorStore]
StoreForker = Callable[[Path, Path | None], VectorStore]
StoreLoader = Callable[[Path], VectorStore]
StoreDiscarder = Callable[[Path], None]


@dataclass(frozen=True, slots=True)
class StoreKind:
    """How to make, load and copy one kind of store.

    `fork` opens a previous generation's store as a copy that a build may change freely: the
    previous generation must stay intact until the new one is published. `discard`, when set,
    frees what a generation's (or a build folder's) store holds outside its folder (e.g. a
    server-side collection) before that folder is removed; it is a no-op for a folder that
    names nothing of its kind. `reopen`, when set, opens from any process (and any machine) the
    store a build is writing, named in its build folder, so ingest workers add to it directly;
    stores without it live in files, and their workers write vector files instead. `format`
    numbers what a store writes: a build never reuses (forks) a generation of another format.
    """

    create: StoreFactory
    load: StoreLoader
    fork: StoreForker
    discard: StoreDiscarder | None = None
    reopen: StoreLoader | None = None
    format: int = 1


_REGISTRY: dict[str, StoreKind] = {}


def register_store(kind: str, create: StoreFactory, load: StoreLoader, fork: StoreForker,
                   discard: StoreDiscarder | None = None,
                   reopen: StoreLoader | None = None, format: int = 1) -> None:
    _REGISTRY[kind] = StoreKind(create, load, fork, discard, reopen, format)


def _entry(kind: str) -> StoreKind:
    import index.faiss_store  # noqa: F401  (registers the built-in stores)
    import index.milvus_store  # noqa: F401  (imports pymilvus only when used)

    try:
        return _REGISTRY[kind]
    except KeyError:
        raise VectorStoreError(f"unknown vector store {kind!r}; known: "
                               f"{', '.join(sorted(_REGISTRY))}") from None


def store_format(kind: str) -> int:
    """The format a kind of store writes now (see StoreKind.format)."""
    return _entry(kind).format


def create_store(kind: str, dimension: int, build_folder: Path | None = None) -> VectorStore:
    """An empty store; one kept outside the folders is named in `build_folder` when given."""
    return _entry(kind).create(dimension, build_folder)


def load_store(kind: str, folder: Path) -> VectorStore:
    """The store of a published generation, for searching."""
    return _entry(kind).load(folder)


def fork_store(kind: str, folder: Path, build_folder: Path | None = None) -> VectorStore:
    """A changeable copy of a published generation's store, for an incremental build."""
    return _entry(kind).fork(folder, build_folder)


def reopen_store(kind: str, build_folder: Path) -> VectorStore | None:
    """The store a build is writing, opened to add to it; None for stores kept in files."""
    reopen = _entry(kind).reopen
    return reopen(build_folder) if reopen is not None else None


def stored_in_files(kind: str) -> bool:
    """True for stores whose ingest workers write vector files (see StoreKind.reopen)."""
    return _entry(kind).reopen is None


def discard_store(kind: str, folder: Path) -> None:
    """Frees a generation's store before its folder is removed; a no-op for file-only stores."""
    discard = _entry(kind).discard
    if discard is not None:
        discard(folder)


def discard_build_stores(folder: Path) -> None:
    """Frees whatever a build folder's store of any kind holds outside it (a killed build's
    server collection) before the folder is removed; the store kind of a dead build is unknown."""
    _entry("faiss")  # registers the built-in stores
    for entry in list(_REGISTRY.values()):
        if entry.discard is not None:
            entry.discard(folder)
