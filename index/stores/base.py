"""The vector store seam: the protocol every store implements, its configuration, and filter fields.

Beside each vector a store keeps the chunk's fields (`ChunkFields`: its document and the
catalogue's filter fields) and filters on them itself (`ChunkFilter`). This module imports no
store implementation: index/stores/factory.py picks one by kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from ingest.errors import PolicyQAError


class VectorStoreError(PolicyQAError):
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
    """What a store keeps beside a chunk's vector, to filter on."""

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

    def unmatched(self, documents: Sequence[ChunkFields]) -> list[tuple[str, str | int]]:
        """The (filter, value) pairs that no one of `documents` has: a document id not indexed,
        a jurisdiction no document is in, ... so a caller can say why nothing came back."""
        out: list[tuple[str, str | int]] = []
        for name in ("document_ids", *FILTER_FIELDS):
            wanted = getattr(self, name)
            if wanted:
                field_name = "document_id" if name == "document_ids" else name
                have = {getattr(d, field_name) for d in documents}
                out.extend((name, value) for value in sorted(wanted, key=str) if value not in have)
        return out

    def matches_nothing(self) -> bool:
        return any(values is not None and not values for values in
                   (self.document_ids, self.jurisdiction, self.instrument_type, self.year))


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Which vector store to use and how to reach it: built from Settings
    (`Settings.store_config()`) and handed to every factory call; stores read nothing else."""

    kind: str = "faiss"
    faiss_index: str = "auto"  # flat, hnsw, or auto (see faiss_store.py)
    faiss_ef_search: int = 128
    milvus_uri: str = "http://127.0.0.1:19530"
    milvus_token: str = field(default="", repr=False)
    milvus_prefix: str = "policyqa"  # collections are named <prefix>_<build id>
    milvus_index: str = "FLAT"  # the vector field's index type: FLAT (exact) or HNSW

    def for_kind(self, kind: str) -> StoreConfig:
        """The same connection settings for another kind (e.g. the one a generation was built on)."""
        return self if kind == self.kind else replace(self, kind=kind)


class FieldColumns:
    """Every chunk's fields as columns: `ids` (int64), and per id a code into `table`, the
    distinct ChunkFields (one per document, mostly). What a store that keeps no fields of its
    own (a generation written before stores kept them) is given, from the chunk store."""

    def __init__(self, ids: np.ndarray, codes: np.ndarray, table: Sequence[ChunkFields]) -> None:
        self.ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        self.codes = np.ascontiguousarray(codes, dtype=np.int32).reshape(-1)
        self.table = tuple(table)
        if len(self.ids) != len(self.codes):
            raise VectorStoreError(f"{len(self.ids)} ids for {len(self.codes)} field codes")
        self._order = np.argsort(self.ids, kind="stable")

    @classmethod
    def of_documents(cls, documents: Iterable[tuple[ChunkFields, Sequence[int]]]
                     ) -> FieldColumns:
        """From each document's fields and its chunk ids."""
        table: list[ChunkFields] = []
        ids: list[np.ndarray] = []
        codes: list[np.ndarray] = []
        for fields, chunk_ids in documents:
            ids.append(np.asarray(chunk_ids, dtype=np.int64))
            codes.append(np.full(len(chunk_ids), len(table), dtype=np.int32))
            table.append(fields)
        if not ids:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int32), ())
        return cls(np.concatenate(ids), np.concatenate(codes), table)

    def matching(self, where: ChunkFilter) -> np.ndarray:
        """The ids whose fields pass `where`, in id order."""
        passing = np.fromiter((where.matches(f) for f in self.table), dtype=bool,
                              count=len(self.table))
        ordered = self.ids[self._order]
        return ordered[passing[self.codes[self._order]]] if len(passing) else ordered[:0]

    def codes_for(self, ids: np.ndarray) -> tuple[np.ndarray, tuple[ChunkFields, ...]]:
        """A code per id of `ids` into the returned table: `table` plus, last, ChunkFields("")
        (no document, which only unfiltered searches match) for ids that have no fields here."""
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        positions, found = positions_of(self.ids, self._order, ids)
        missing = np.int32(len(self.table))
        codes = np.where(found, self.codes[positions] if len(self.codes) else missing, missing)
        return codes.astype(np.int32), (*self.table, ChunkFields(""))

    def fields_of(self, ids: np.ndarray) -> list[ChunkFields]:
        """The fields of each of `ids` (see codes_for for ids without any)."""
        codes, table = self.codes_for(ids)
        return [table[c] for c in codes.tolist()]


# Called by a store only when the generation it opens keeps no fields of its own.
FieldsSource = Callable[[], FieldColumns]


class VectorStore(Protocol):
    """Inner-product search over L2-normalized vectors, each under a caller-chosen int64 id,
    with each vector's ChunkFields kept beside it for filtering."""

    @property
    def kind(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray,
            fields: Sequence[ChunkFields] | None = None) -> None:
        """Adds vectors with their fields, one per id (required: None is an error). Adding an
        id the store already holds replaces its vector and fields: adding is idempotent."""
        ...

    def update_fields(self, ids: np.ndarray, fields: Sequence[ChunkFields]) -> None:
        """Replaces the fields kept beside stored vectors; ids not stored are left out."""
        ...

    def delete(self, ids: np.ndarray) -> int:
        """Removes the vectors of `ids`; returns how many of them were stored."""
        ...

    def search(self, query: np.ndarray, k: int, where: ChunkFilter | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the k best matches, best first, among the chunks whose fields pass
        `where` (None: all of them)."""
        ...

    def save(self, folder: Path) -> None: ...

    def count(self) -> int: ...

    def existing_ids(self, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` the store holds a vector for (each once, in no set order)."""
        ...


class StoreBackend(Protocol):
    """One kind of store, as the factory uses it (implemented by a store class's classmethods).

    `create(config, dimension, build_folder)`: an empty store; one that lives outside the folders
    (a server collection) names itself in `build_folder`, when given, as soon as it exists, so
    that a killed build's leftovers can be found and discarded.
    `load(config, folder, fields)`: a published generation's store, for searching; `fields` is
    called only when that generation keeps no fields (an older format), to filter all the same.
    `fork(config, folder, build_folder)`: a previous generation's store as a copy a build may
    change freely (the previous generation stays intact until the new one is published).
    `reopen(config, build_folder)`: from any process (and machine) the store a build is writing,
    so ingest workers add to it directly; None for stores kept in files (`in_files`), whose
    workers write vector files instead.
    `discard(config, folder)`: frees what a generation's (or build folder's) store holds outside
    the folder before the folder is removed; a no-op for a folder naming nothing of its kind.
    `format` numbers what the store writes: a build never forks a generation of another format.
    """

    kind: ClassVar[str]
    format: ClassVar[int]
    in_files: ClassVar[bool]

    def create(self, config: StoreConfig, dimension: int, build_folder: Path | None = None
               ) -> VectorStore: ...

    def load(self, config: StoreConfig, folder: Path, fields: FieldsSource | None = None
             ) -> VectorStore: ...

    def fork(self, config: StoreConfig, folder: Path, build_folder: Path | None = None
             ) -> VectorStore: ...

    def reopen(self, config: StoreConfig, build_folder: Path) -> VectorStore | None: ...

    def discard(self, config: StoreConfig, folder: Path) -> None: ...


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
    """The fields given with vectors, one per id, or a VectorStoreError."""
    if fields is None:
        raise VectorStoreError("a store keeps each vector's fields: add them with the vectors")
    if len(fields) != len(ids):
        raise VectorStoreError(f"{len(ids)} ids for {len(fields)} sets of fields")
    return fields


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
