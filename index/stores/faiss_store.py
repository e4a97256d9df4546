"""FAISS implementation of the vector store: exact inner product when small, HNSW when large.

Which index a store uses is StoreConfig.faiss_index (the `faiss_index` setting,
`POLICYQA_FAISS_INDEX`):

    flat   IndexFlatIP in an IndexIDMap2: exact, search time grows linearly (about 5 ms per
           query at 100k vectors, 50 ms at 1M on one core)
    hnsw   IndexHNSWFlat (M 32, efConstruction 200, efSearch 128) in an IndexIDMap2:
           approximate, about 0.1-0.5 ms per query at 100k-1M; recall@10 vs exact is measured
           by `python -m eval.bench`
    auto   (default) flat below HNSW_THRESHOLD live vectors, hnsw at or above it; decided when
           the store is saved, so a build adds into whatever it has and converts once at the end

HNSW in FAISS cannot remove vectors, so `delete` on an HNSW store keeps tombstones: the deleted
ids, excluded at search time through an IDSelector and saved beside the index as
`tombstones.npy`. When tombstones pass TOMBSTONE_REBUILD_FRACTION of the stored vectors, the
graph is rebuilt from the live vectors (read back from the HNSW's own flat storage).

Fields: each stored vector's ChunkFields are an int32 code per vector, aligned with the index's
storage order (`fields.npy`), into a table of the distinct ChunkFields (`fields.json`, about one
entry per document). A filter is matched against the table once, then the codes give the ids
that pass it: searched exactly among them when few, through an IDSelector otherwise.
Generations of format 1 have no fields files; they are served with fields from their chunk
store (see StoreBackend.load). Nothing is pickled: the index goes through faiss.write_index,
the arrays through np.save without pickle, the table as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Literal

import faiss
import numpy as np

from index.stores.base import (
    ChunkFields,
    ChunkFilter,
    FieldsSource,
    StoreConfig,
    VectorStoreError,
    checked_fields,
    checked_vectors,
    positions_of,
)
from ingest.files import atomic_file, atomic_path, write_atomic

INDEX_FILE = "vectors.faiss"
TOMBSTONES_FILE = "tombstones.npy"
FIELD_CODES_FILE = "fields.npy"
FIELD_TABLE_FILE = "fields.json"

IndexType = Literal["auto", "flat", "hnsw"]
INDEX_TYPES: tuple[str, ...] = ("auto", "flat", "hnsw")
# Where flat's linear scan stops being cheap. Side by side in one eval.bench run (k=100, one
# query at a time, shared machine): 10k flat 1.2 ms vs HNSW 0.5 ms; 100k flat 49 ms vs HNSW
# 4.7 ms with recall@10 0.966. At 100k flat costs more than encoding the query, so HNSW from 50k.
HNSW_THRESHOLD = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
EF_SEARCH_MIN, EF_SEARCH_MAX = 16, 4096  # the faiss_ef_search setting's bounds too
TOMBSTONE_REBUILD_FRACTION = 0.10
# A filter this small is answered exactly from the stored vectors: HNSW with a selective filter
# walks a graph whose neighbours are mostly filtered out and can return fewer than k hits.
EXACT_FILTER_LIMIT = 50_000


def _checked_ef(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or not EF_SEARCH_MIN <= value <= EF_SEARCH_MAX:
        raise VectorStoreError(f"HNSW efSearch must be an integer from {EF_SEARCH_MIN} to "
                               f"{EF_SEARCH_MAX}, got {value!r}")
    return value


def _checked_type(value: str) -> str:
    if value not in INDEX_TYPES:
        raise VectorStoreError(f"unknown FAISS index type {value!r}; use one of "
                               f"{', '.join(INDEX_TYPES)}")
    return value


def wanted_type(index_type: str, live_vectors: int, threshold: int = HNSW_THRESHOLD) -> str:
    """The concrete index ("flat" or "hnsw") a setting asks for at a given size."""
    if index_type == "auto":
        return "hnsw" if live_vectors >= threshold else "flat"
    return index_type


def new_flat_index(dimension: int) -> faiss.Index:
    # IndexIDMap2 keeps caller ids and supports removal and reconstruction.
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def new_hnsw_index(dimension: int) -> faiss.Index:
    hnsw = faiss.IndexHNSWFlat(dimension, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.hnsw.efSearch = HNSW_EF_SEARCH
    return faiss.IndexIDMap2(hnsw)


def _is_hnsw(index: faiss.Index) -> bool:
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    return isinstance(inner, faiss.IndexHNSW)


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


class FaissStore:
    kind: ClassVar[str] = "faiss"
    format: ClassVar[int] = 2  # 2: fields files beside the index; 1: the index alone
    in_files: ClassVar[bool] = True

    def __init__(self, dimension: int, index: faiss.Index | None = None,
                 tombstones: np.ndarray | None = None, index_type: str = "auto",
                 threshold: int = HNSW_THRESHOLD, ef_search: int = HNSW_EF_SEARCH,
                 codes: np.ndarray | None = None, table: Sequence[ChunkFields] = ()) -> None:
        """`codes` and `table`: the fields of `index`'s vectors (see the module docstring);
        None for a given index means they are unknown, and the store can then only be searched
        unfiltered."""
        self.dimension = dimension
        self.index_type = _checked_type(index_type)
        self.ef_search = _checked_ef(ef_search)
        self.threshold = threshold
        if index is None:
            start = wanted_type(self.index_type, 0, threshold)
            index = new_hnsw_index(dimension) if start == "hnsw" else new_flat_index(dimension)
            codes = np.zeros(0, dtype=np.int32)
        self.index = index
        if codes is not None and len(codes) != index.ntotal:
            raise VectorStoreError(f"{len(codes)} field codes for {index.ntotal} vectors")
        self._codes: np.ndarray | None = None if codes is None \
            else np.ascontiguousarray(codes, dtype=np.int32)
        self._table: list[ChunkFields] = list(table)
        self._code_of: dict[ChunkFields, int] = {f: i for i, f in enumerate(self._table)}
        self._tombstones: set[int] = set(int(t) for t in tombstones) if tombstones is not None \
            else set()
        self._ids: np.ndarray | None = None  # external ids in storage order; rebuilt lazily
        self._order: np.ndarray | None = None
        self._alive: tuple[faiss.IDSelector, faiss.IDSelector] | None = None
        self._max: int | None = None  # see _max_id

    # -- the backend: making, loading and copying stores (see StoreBackend) ----------------------

    @classmethod
    def create(cls, config: StoreConfig, dimension: int, build_folder: Path | None = None
               ) -> FaissStore:
        """Everything lives in the folders: nothing to name in a build folder."""
        return cls(dimension, index_type=config.faiss_index, ef_search=config.faiss_ef_search)

    @classmethod
    def load(cls, config: StoreConfig, folder: Path, fields: FieldsSource | None = None
             ) -> FaissStore:
        """Reads a saved store into memory: a loaded store is already an independent copy."""
        path = folder / INDEX_FILE
        if not path.exists():
            raise VectorStoreError(f"no FAISS index at {path}")
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise VectorStoreError(f"cannot read FAISS index {path}: {exc}") from exc
        tombstones_path = folder / TOMBSTONES_FILE
        tombstones = (np.load(tombstones_path, allow_pickle=False)
                      if tombstones_path.exists() else None)
        codes, table = _read_fields(folder)
        if codes is None and fields is not None:  # format 1: fields from the chunk store
            stored = faiss.vector_to_array(index.id_map).astype(np.int64, copy=False)
            codes, table = fields().codes_for(stored)
        return cls(index.d, index, tombstones, index_type=config.faiss_index,
                   ef_search=config.faiss_ef_search, codes=codes, table=table)

    @classmethod
    def fork(cls, config: StoreConfig, folder: Path, build_folder: Path | None = None
             ) -> FaissStore:
        store = cls.load(config, folder)
        if store._codes is None:
            raise VectorStoreError(f"the FAISS store in {folder} keeps no fields (an older "
                                   "format): it cannot be copied; rebuild in full")
        return store

    @classmethod
    def reopen(cls, config: StoreConfig, build_folder: Path) -> None:
        """None: workers write vector files, which the finish step adds."""
        return None

    @classmethod
    def discard(cls, config: StoreConfig, folder: Path) -> None:
        """Nothing outside the folder to free."""

    # -- what the store is ---------------------------------------------------------------------

    @property
    def current_type(self) -> str:
        return "hnsw" if _is_hnsw(self.index) else "flat"

    @property
    def tombstones(self) -> frozenset[int]:
        return frozenset(self._tombstones)

    def count(self) -> int:
        return int(self.index.ntotal) - len(self._tombstones)

    def existing_ids(self, ids: np.ndarray) -> np.ndarray:
        ids = np.unique(np.ascontiguousarray(ids, dtype=np.int64).reshape(-1))
        found = ids[np.isin(ids, self._stored_ids())]
        if self._tombstones:
            found = found[~np.isin(found, np.fromiter(self._tombstones, dtype=np.int64))]
        return found

    # -- changing ------------------------------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray,
            fields: Sequence[ChunkFields] | None = None) -> None:
        """Adds vectors and their fields; an id already stored has both replaced."""
        ids, vectors = checked_vectors(ids, vectors, self.dimension)
        fields = checked_fields(ids, fields)
        if not len(ids):
            return
        self._known_codes()
        if self.index.ntotal and int(ids.min()) <= self._max_id():
            # Not only new ids (a build's are): replace the stored ones.
            self.delete(self.existing_ids(ids))
        if self._tombstones and any(int(i) in self._tombstones for i in ids):
            # A tombstoned id coming back would be hidden by its tombstone: purge them first.
            self.rebuild()
        codes = self._encode(fields)
        self.index.add_with_ids(vectors, ids)
        self._codes = np.concatenate([self._known_codes(), codes])
        self._ids = self._order = None
        self._max = max(self._max_id(), int(ids.max()))

    def update_fields(self, ids: np.ndarray, fields: Sequence[ChunkFields]) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        codes = self._encode(checked_fields(ids, fields))
        positions, found = positions_of(self._stored_ids(), self._id_order(), ids)
        self._known_codes()[positions[found]] = codes[found]

    def _encode(self, fields: Sequence[ChunkFields]) -> np.ndarray:
        codes = np.empty(len(fields), dtype=np.int32)
        for i, item in enumerate(fields):
            code = self._code_of.get(item)
            if code is None:
                code = self._code_of[item] = len(self._table)
                self._table.append(item)
            codes[i] = code
        return codes

    def _known_codes(self) -> np.ndarray:
        if self._codes is None:
            raise VectorStoreError("this FAISS store was written before stores kept fields and "
                                   "was opened without them: load it with its chunk store's "
                                   "fields, or rebuild the index")
        return self._codes

    def _max_id(self) -> int:
        """An upper bound of the stored ids (deleted ones may count), kept between adds."""
        if self._max is None:
            stored = self._stored_ids()
            self._max = int(stored.max()) if len(stored) else -1
        return self._max

    def delete(self, ids: np.ndarray) -> int:
        ids = np.unique(np.ascontiguousarray(ids, dtype=np.int64))
        if not len(ids):
            return 0
        if self.current_type == "flat":
            # IndexIDMap2 compacts its storage and id map in order: the codes follow suit.
            keep = ~np.isin(self._stored_ids(), ids)
            removed = int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))
            if self._codes is not None:
                self._codes = self._codes[keep]
            self._ids = self._order = None
            return removed
        present = ids[np.isin(ids, self._stored_ids())]
        fresh = [int(i) for i in present if int(i) not in self._tombstones]
        self._tombstones.update(fresh)
        self._alive = None
        if len(self._tombstones) > TOMBSTONE_REBUILD_FRACTION * max(self.index.ntotal, 1):
            self.rebuild()
        return len(fresh)

    def rebuild(self, target_type: str | None = None) -> None:
        """Re-creates the index from the live vectors: drops tombstones, or changes the type."""
        target = target_type or self.current_type
        alive = self._alive_mask()
        ids, vectors = self.live_vectors()
        index = new_hnsw_index(self.dimension) if target == "hnsw" \
            else new_flat_index(self.dimension)
        if len(ids):
            index.add_with_ids(vectors, ids)
        if self._codes is not None:
            self._codes = self._codes[alive]
        self.index, self._tombstones = index, set()
        self._ids = self._order = self._alive = None

    def settle(self) -> None:
        """Brings the index to the type the setting wants at the current size."""
        target = wanted_type(self.index_type, self.count(), self.threshold)
        if target != self.current_type or self._tombstones and target == "flat":
            self.rebuild(target)

    # -- searching -----------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, where: ChunkFilter | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, self.count())
        if k <= 0:
            return _empty()
        if where is None:
            return self._search(query, k, None)
        if where.matches_nothing():
            return _empty()
        positions = self._passing(where)
        if not len(positions):
            return _empty()
        if self.current_type == "hnsw" and len(positions) <= EXACT_FILTER_LIMIT:
            return self._exact_among(query[0], positions, k)
        return self._search(query, k, faiss.IDSelectorBatch(self._stored_ids()[positions]))

    def _passing(self, where: ChunkFilter) -> np.ndarray:
        """Storage positions of the vectors whose fields pass `where` (tombstones included)."""
        codes = self._known_codes()
        table = np.fromiter((where.matches(f) for f in self._table), dtype=bool,
                            count=len(self._table))
        return np.flatnonzero(table[codes]) if len(table) else np.zeros(0, dtype=np.int64)

    def _search(self, query: np.ndarray, k: int, selector: faiss.IDSelector | None
                ) -> tuple[np.ndarray, np.ndarray]:
        keep_alive: list[faiss.IDSelector] = []  # SWIG does not own the selectors it is given
        if self._tombstones:
            alive = self._alive_selector()
            if selector is not None:
                keep_alive.append(selector)
                selector = faiss.IDSelectorAnd(selector, alive)
            else:
                selector = alive
        if self.current_type == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
            if selector is not None:
                params.sel = selector
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        scores, ids = self.index.search(query, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def _exact_among(self, query: np.ndarray, positions: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        ids = self._stored_ids()[positions]
        if self._tombstones:
            alive = ~np.isin(ids, np.fromiter(self._tombstones, dtype=np.int64))
            positions, ids = positions[alive], ids[alive]
        if not len(ids):
            return _empty()
        scores = self._storage()[positions] @ query
        k = min(k, len(ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return ids[top], scores[top].astype(np.float32)

    def _alive_selector(self) -> faiss.IDSelector:
        """Excludes the tombstones; built once per set of tombstones (hashing 100k ids costs ms)."""
        if self._alive is None:
            dead = faiss.IDSelectorBatch(np.fromiter(self._tombstones, dtype=np.int64))
            self._alive = (faiss.IDSelectorNot(dead), dead)  # the Not does not own `dead`
        return self._alive[0]

    # -- the stored vectors --------------------------------------------------------------------

    def _stored_ids(self) -> np.ndarray:
        if self._ids is None:
            self._ids = faiss.vector_to_array(self.index.id_map).astype(np.int64, copy=False)
        return self._ids

    def _id_order(self) -> np.ndarray:
        """Storage positions sorted by id, for looking ids up with searchsorted."""
        if self._order is None or len(self._order) != len(self._stored_ids()):
            self._order = np.argsort(self._stored_ids(), kind="stable")
        return self._order

    def _storage(self) -> np.ndarray:
        """All stored vectors in storage order, as a view (no copy) of FAISS's own array."""
        inner = faiss.downcast_index(self.index.index)
        flat = faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSW) \
            else inner
        n = int(flat.ntotal)
        if n == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return faiss.rev_swig_ptr(flat.get_xb(), n * self.dimension).reshape(n, self.dimension)

    def _alive_mask(self) -> np.ndarray:
        """Per storage position: True unless tombstoned."""
        if not self._tombstones:
            return np.ones(len(self._stored_ids()), dtype=bool)
        return ~np.isin(self._stored_ids(), np.fromiter(self._tombstones, dtype=np.int64))

    def live_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The ids and vectors of every live (not deleted) vector, in storage order.

        Without tombstones the vectors are a view, not a copy (1.5 GB at 1M vectors), of FAISS's
        own array: valid while this store keeps its index.
        """
        ids = self._stored_ids()
        vectors = self._storage()
        if self._tombstones:
            alive = self._alive_mask()
            return ids[alive].copy(), np.ascontiguousarray(vectors[alive])
        return ids.copy(), vectors

    def fields_of(self, ids: np.ndarray) -> list[ChunkFields]:
        """The fields kept beside each of `ids` (all must be stored)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        positions, found = positions_of(self._stored_ids(), self._id_order(), ids)
        if not found.all():
            raise VectorStoreError(f"{int((~found).sum())} of the ids are not stored")
        codes = self._known_codes()[positions]
        return [self._table[c] for c in codes.tolist()]

    # -- files ---------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        self.settle()
        codes = self._compacted_codes()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / INDEX_FILE
        try:
            with atomic_path(target) as partial:
                faiss.write_index(self.index, str(partial))
        except RuntimeError as exc:  # FAISS reports a failed write (e.g. a full disk) this way
            raise VectorStoreError(f"cannot write FAISS index {target}: {exc}") from exc
        self._save_tombstones(folder)
        with atomic_file(folder / FIELD_CODES_FILE) as f:
            np.save(f, codes, allow_pickle=False)
        write_atomic(folder / FIELD_TABLE_FILE, json.dumps(
            [[t.document_id, t.jurisdiction, t.instrument_type, t.year] for t in self._table],
            ensure_ascii=False))

    def _compacted_codes(self) -> np.ndarray:
        """Drops table entries no vector uses any more (documents deleted since)."""
        used, codes = np.unique(self._known_codes(), return_inverse=True)
        self._table = [self._table[c] for c in used.tolist()]
        self._code_of = {f: i for i, f in enumerate(self._table)}
        self._codes = codes.astype(np.int32).reshape(-1)
        return self._codes

    def _save_tombstones(self, folder: Path) -> None:
        target = folder / TOMBSTONES_FILE
        if not self._tombstones:
            target.unlink(missing_ok=True)
            return
        with atomic_file(target) as f:
            np.save(f, np.array(sorted(self._tombstones), dtype=np.int64), allow_pickle=False)


def _read_fields(folder: Path) -> tuple[np.ndarray | None, list[ChunkFields]]:
    """The saved field codes and table; (None, []) for a store of format 1, which has none."""
    codes_path, table_path = folder / FIELD_CODES_FILE, folder / FIELD_TABLE_FILE
    if not codes_path.exists():
        return None, []
    try:
        codes = np.load(codes_path, allow_pickle=False)
        table = [ChunkFields(str(d), str(j), str(t), int(y))
                 for d, j, t, y in json.loads(table_path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError) as exc:
        raise VectorStoreError(f"unreadable FAISS store fields in {folder}: {exc}") from exc
    if len(codes) and (codes.min() < 0 or codes.max() >= len(table)):
        raise VectorStoreError(f"FAISS store fields in {folder} name entries their table lacks")
    return codes.astype(np.int32, copy=False), table
