"""FAISS implementation of the vector store: exact inner product when small, HNSW when large.

Which index a store uses is the `faiss_index` setting (`POLICYQA_FAISS_INDEX`):

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
graph is rebuilt from the live vectors (read back from the HNSW's own flat storage). Nothing is
pickled: the index goes through faiss.write_index, the tombstones through np.save without pickle.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from index.generations import atomic_file
from index.vector_store import (
    ChunkFields,
    ChunkFilter,
    VectorStoreError,
    checked_vectors,
    positions_of,
    register_store,
)

INDEX_FILE = "vectors.faiss"
TOMBSTONES_FILE = "tombstones.npy"

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

_configured: dict[str, str] = {}


def configure(index_type: str | None, ef_search: int | None = None) -> None:
    """Sets the index type and HNSW efSearch for this process (from Settings); None falls back
    to the environment (POLICYQA_FAISS_INDEX, POLICYQA_FAISS_EF_SEARCH), then the defaults."""
    if index_type is None:
        _configured.pop("index", None)
    else:
        _configured["index"] = _checked_type(index_type)
    if ef_search is None:
        _configured.pop("ef_search", None)
    else:
        _configured["ef_search"] = str(_checked_ef(ef_search))


def configured_ef_search() -> int:
    """HNSW search breadth: higher finds more of the exact neighbours, more slowly."""
    value = _configured.get("ef_search") or os.environ.get("POLICYQA_FAISS_EF_SEARCH")
    return _checked_ef(value) if value else HNSW_EF_SEARCH


def _checked_ef(value: int | str) -> int:
    try:
        ef = int(value)
    except ValueError:
        ef = 0
    if not EF_SEARCH_MIN <= ef <= EF_SEARCH_MAX:
        raise VectorStoreError(f"HNSW efSearch must be an integer from {EF_SEARCH_MIN} to "
                               f"{EF_SEARCH_MAX}, got {value!r}")
    return ef


def configured_index_type() -> IndexType:
    value = _configured.get("index") or os.environ.get("POLICYQA_FAISS_INDEX") or "auto"
    return _checked_type(value)  # type: ignore[return-value]


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
    kind = "faiss"
    keeps_fields = False  # filters arrive as allowed ids, resolved from the chunk store

    def __init__(self, dimension: int, index: faiss.Index | None = None,
                 tombstones: np.ndarray | None = None, index_type: str | None = None,
                 threshold: int = HNSW_THRESHOLD) -> None:
        self.dimension = dimension
        self.index_type = _checked_type(index_type or configured_index_type())
        self.threshold = threshold
        if index is None:
            start = wanted_type(self.index_type, 0, threshold)
            index = new_hnsw_index(dimension) if start == "hnsw" else new_flat_index(dimension)
        self.index = index
        self._tombstones: set[int] = set(int(t) for t in tombstones) if tombstones is not None \
            else set()
        self._ids: np.ndarray | None = None  # external ids in storage order; rebuilt lazily
        self._order: np.ndarray | None = None
        self._alive: tuple[faiss.IDSelector, faiss.IDSelector] | None = None
        self._max: int | None = None  # see _max_id

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
        """Adds vectors; an id already stored has its vector replaced. Fields are not kept."""
        ids, vectors = checked_vectors(ids, vectors, self.dimension)
        if not len(ids):
            return
        if self.index.ntotal and int(ids.min()) <= self._max_id():
            # Not only new ids (a build's are): replace the stored ones.
            self.delete(self.existing_ids(ids))
        if self._tombstones and any(int(i) in self._tombstones for i in ids):
            # A tombstoned id coming back would be hidden by its tombstone: purge them first.
            self.rebuild()
        self.index.add_with_ids(vectors, ids)
        self._ids = self._order = None
        self._max = max(self._max_id(), int(ids.max()))

    def update_fields(self, ids: np.ndarray, fields: Sequence[ChunkFields]) -> None:
        """Nothing to do: this store keeps no fields."""

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
            return int(self.index.remove_ids(faiss.IDSelectorBatch(ids)))
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
        ids, vectors = self._live_ids_and_vectors()
        index = new_hnsw_index(self.dimension) if target == "hnsw" \
            else new_flat_index(self.dimension)
        if len(ids):
            index.add_with_ids(vectors, ids)
        self.index, self._tombstones = index, set()
        self._ids = self._order = self._alive = None

    def settle(self) -> None:
        """Brings the index to the type the setting wants at the current size."""
        target = wanted_type(self.index_type, self.count(), self.threshold)
        if target != self.current_type or self._tombstones and target == "flat":
            self.rebuild(target)

    # -- searching -----------------------------------------------------------------------------

    def search(self, query: np.ndarray, k: int, allowed_ids: np.ndarray | None = None,
               where: ChunkFilter | None = None) -> tuple[np.ndarray, np.ndarray]:
        if where is not None:
            raise VectorStoreError("the FAISS store keeps no fields to filter on: pass the "
                                   "allowed ids instead")
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
        k = min(k, self.count())
        if k <= 0:
            return _empty()
        if allowed_ids is not None:
            allowed = np.ascontiguousarray(allowed_ids, dtype=np.int64)
            if not len(allowed):
                return _empty()
            if self.current_type == "hnsw" and len(allowed) <= EXACT_FILTER_LIMIT:
                return self._exact_among(query[0], allowed, k)
            return self._search(query, k, faiss.IDSelectorBatch(allowed))
        return self._search(query, k, None)

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
            params = faiss.SearchParametersHNSW(efSearch=max(configured_ef_search(), k))
            if selector is not None:
                params.sel = selector
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        scores, ids = self.index.search(query, k, params=params)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def _exact_among(self, query: np.ndarray, allowed: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray]:
        positions, found = positions_of(self._stored_ids(), self._id_order(), allowed)
        positions, ids = positions[found], allowed[found]
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

    def _live_ids_and_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        ids = self._stored_ids()
        vectors = self._storage()
        if self._tombstones:
            alive = ~np.isin(ids, np.fromiter(self._tombstones, dtype=np.int64))
            return ids[alive].copy(), np.ascontiguousarray(vectors[alive])
        # A view, not a copy (1.5 GB at 1M vectors): valid while this store keeps its index.
        return ids.copy(), vectors

    # -- files ---------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        self.settle()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / INDEX_FILE
        partial = folder / (INDEX_FILE + ".partial")
        try:
            faiss.write_index(self.index, str(partial))
        except RuntimeError as exc:  # FAISS reports a failed write (e.g. a full disk) this way
            partial.unlink(missing_ok=True)
            raise VectorStoreError(f"cannot write FAISS index {target}: {exc}") from exc
        _fsync_replace(partial, target)
        self._save_tombstones(folder)

    def _save_tombstones(self, folder: Path) -> None:
        target = folder / TOMBSTONES_FILE
        if not self._tombstones:
            target.unlink(missing_ok=True)
            return
        with atomic_file(target) as f:
            np.save(f, np.array(sorted(self._tombstones), dtype=np.int64), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> FaissStore:
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
        return cls(index.d, index, tombstones)


def _fsync_replace(partial: Path, target: Path) -> None:
    with partial.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)


# Loading reads the whole index into memory, so a loaded store is already an independent copy.
# Everything lives in the folders: nothing to name in a build folder, nothing to discard.
register_store("faiss", lambda dimension, build_folder=None: FaissStore(dimension), FaissStore.load,
               fork=lambda generation, build_folder=None: FaissStore.load(generation))
