"""Milvus implementation of the vector store: one collection per index generation.

Chosen with `POLICYQA_VECTOR_STORE=milvus`; needs the optional extra (`pip install
'policyqa[milvus]'`). Where the server is comes from StoreConfig (the settings below, from
flags, POLICYQA_* variables or the TOML file); this module reads no environment:

    milvus_uri     "http://127.0.0.1:19530" by default; a standalone server, a cluster's proxy,
                   or a local ``*.db`` file for Milvus Lite
    milvus_token   optional, "user:password" or an API key
    milvus_prefix  collection name prefix, "policyqa" by default
    milvus_index   the vector field's index, FLAT (exact) by default

Generations: every build writes a new collection named ``<prefix>_<unique build id>``. `fork`
copies a published generation's collection into a new one, so the published one is never
changed. `save(folder)` writes ``milvus.json`` (collection, URI, dimension) into the generation
folder; `load(config, folder)` opens that collection on the configured server. When `publish()`
removes an old generation folder, `discard(config, folder)` drops its collection first.

Fields: beside the chunk id and its vector, each row holds the chunk's document id and the
catalogue's filter fields (jurisdiction, instrument type, year), so a filtered search is one
expression on the server (`document_id in [...] and year in [...]`) however many chunks pass it.
Rows are written with upsert, so adding an id again (a resumed or repeated ingest worker)
replaces its row instead of duplicating it. A collection of format 1 (chunk id and vector only)
is still served: a filter is resolved to chunk ids with the fields its generation's chunk store
gives (see StoreBackend.load) and searched as `chunk_id in [...]`.

Exact search: the vector field has a FLAT index with metric IP (inner product on the caller's
L2-normalized vectors), like the FAISS store; set milvus_index (POLICYQA_MILVUS_INDEX) to HNSW
for approximate search on very large collections.

Consistency: a store being built (create/fork) reads with Strong consistency, so a build's deletes
and inserts are visible to its next call at once. A published generation never changes again, so
`save` records the timestamp of the collection's last write and a loaded store reads as of that
timestamp (plus any later write of its own): exactly as consistent, without Strong's wait for the
next time tick (up to ~200 ms per search on Milvus 2.3).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from index.stores.base import (
    ChunkFields,
    ChunkFilter,
    FieldColumns,
    FieldsSource,
    StoreConfig,
    VectorStoreError,
    checked_fields,
    checked_vectors,
)
from ingest.files import atomic_file

META_FILE = "milvus.json"
ID_FIELD = "chunk_id"
VECTOR_FIELD = "vector"
DOCUMENT_FIELD = "document_id"
# The scalar fields, in ChunkFields order, with their VARCHAR limits in UTF-8 bytes (None: INT64).
# Each is named as the ChunkFields attribute it holds.
FIELDS: tuple[tuple[str, int | None], ...] = (
    (DOCUMENT_FIELD, 2048), ("jurisdiction", 256), ("instrument_type", 256), ("year", None))
FIELD_NAMES: tuple[str, ...] = tuple(name for name, _ in FIELDS)
CONSISTENCY = "Strong"
# Milvus refuses a search limit or a query window (offset + limit) above 16384.
MAX_TOPK = 16384
# Ids per `chunk_id in [...]` expression: keeps each expression around 100-200 kB, well inside
# the proxy's gRPC message limit and fast to parse.
IN_CHUNK = 10_000
INSERT_BATCH = 8_192  # 384-d float32 rows: ~12.6 MB per insert request (gRPC limit is 64 MB)
COPY_BATCH = 8_192

# Connections, not configuration: one client per server and credentials, shared by the stores.
_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def _pymilvus():
    try:
        import pymilvus
    except ImportError:
        raise VectorStoreError("the milvus vector store needs pymilvus: "
                               "pip install 'policyqa[milvus]'") from None
    return pymilvus


def client_for(uri: str, token: str = ""):
    """One shared MilvusClient per (uri, token) per process (gRPC channels are thread-safe)."""
    key = (uri, token)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            pymilvus = _pymilvus()
            try:
                client = pymilvus.MilvusClient(uri=uri, token=token, timeout=30)
            except Exception as exc:  # pymilvus raises MilvusException or grpc errors
                raise VectorStoreError(f"cannot connect to Milvus at {uri}: {exc}") from exc
            _clients[key] = client
        return client


def server_problem(uri: str, token: str = "", timeout: float = 5.0) -> str | None:
    """None when a Milvus server answers at `uri`, else why not.

    It asks through the shared client and leaves it open: pymilvus keeps one connection per
    (uri, token), so closing a client of its own here would cut the shared one too.
    """
    try:
        client_for(uri, token).list_collections(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure means "not usable"
        cause = exc.__cause__ if isinstance(exc, VectorStoreError) and exc.__cause__ else exc
        return (f"Milvus at {uri} does not answer: "
                f"{type(cause).__name__}: {cause}")
    return None


def close_clients() -> None:
    with _clients_lock:
        for client in _clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        _clients.clear()


def _client(config: StoreConfig):
    return client_for(config.milvus_uri, config.milvus_token)


def _new_collection_name(config: StoreConfig) -> str:
    return f"{config.milvus_prefix}_{uuid.uuid4().hex}"


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


def _in_expr(ids: np.ndarray) -> str:
    return f"{ID_FIELD} in [{','.join(map(str, ids.tolist()))}]"


def where_expr(where: ChunkFilter) -> str:
    """A filter as a Milvus boolean expression; "" matches everything. Strings are written as
    JSON string literals, which Milvus parses with the same escapes (tested with quotes,
    backslashes, newlines and non-ASCII ids)."""
    parts = []
    wanted = (where.document_ids, where.jurisdiction, where.instrument_type, where.year)
    for name, values in zip(FIELD_NAMES, wanted, strict=True):
        if values is not None:
            parts.append(f"{name} in [{','.join(json.dumps(v) for v in sorted(values))}]")
    return " and ".join(parts)


def _field_values(fields: ChunkFields) -> tuple[str | int, ...]:
    values = tuple(getattr(fields, name) for name in FIELD_NAMES)
    for (name, limit), value in zip(FIELDS, values):
        if limit is not None and len(str(value).encode()) > limit:
            raise VectorStoreError(f"{name} {str(value)[:80]!r}... is over the {limit}-byte "
                                   "limit of the Milvus schema")
    return values


def _missing(config: StoreConfig, meta: dict, folder: Path) -> str | None:
    uri = config.milvus_uri
    try:
        exists = _client(config).has_collection(meta["collection"])
    except Exception as exc:  # pymilvus raises MilvusException or grpc errors
        raise VectorStoreError(f"cannot reach Milvus at {uri}: {exc}") from exc
    if exists:
        return None
    return (f"Milvus collection {meta['collection']} of {folder} does not exist at {uri} "
            f"(it was written to {meta['uri']})")


class MilvusStore:
    kind: ClassVar[str] = "milvus"
    # 2: rows hold the document id and filter fields (format 1 held the chunk id and vector).
    format: ClassVar[int] = 2
    in_files: ClassVar[bool] = False

    def __init__(self, config: StoreConfig, collection: str, dimension: int,
                 read_ts: int | None = None, has_fields: bool = True,
                 fields: FieldsSource | None = None) -> None:
        self.config = config
        self.client = _client(config)
        self.collection = collection
        self.dimension = dimension
        self.uri = config.milvus_uri
        # None: Strong reads. Else: reads guaranteed to see everything written up to read_ts.
        self.read_ts = read_ts
        # False only for a generation written before the schema had fields (format 1): its
        # filters become chunk ids, from the fields `fields` gives (asked once, when needed).
        self.has_fields = has_fields
        self._fields_source = fields
        self._fields: FieldColumns | None = None

    def _consistency(self) -> dict[str, Any]:
        if self.read_ts is None:
            return {"consistency_level": CONSISTENCY}
        from pymilvus.client import ts_utils

        guarantee = max(self.read_ts, ts_utils.get_collection_ts(self.collection) or 0)
        return {"consistency_level": "Customized", "guarantee_timestamp": guarantee or 1}

    # -- making, opening and copying collections ------------------------------------------

    @classmethod
    def create(cls, config: StoreConfig, dimension: int, build_folder: Path | None = None
               ) -> MilvusStore:
        """A new, empty collection; named in `build_folder`/milvus.json at once when given, so a
        build killed from here on leaves a description that `discard` can drop."""
        pymilvus = _pymilvus()
        uri = config.milvus_uri
        client = _client(config)
        name = _new_collection_name(config)
        schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, pymilvus.DataType.INT64, is_primary=True)
        schema.add_field(VECTOR_FIELD, pymilvus.DataType.FLOAT_VECTOR, dim=dimension)
        for field, limit in FIELDS:
            if limit is None:
                schema.add_field(field, pymilvus.DataType.INT64)
            else:
                schema.add_field(field, pymilvus.DataType.VARCHAR, max_length=limit)
        index_params = pymilvus.MilvusClient.prepare_index_params()
        index_type = config.milvus_index.upper()
        params = {"M": 16, "efConstruction": 200} if index_type == "HNSW" else {}
        index_params.add_index(field_name=VECTOR_FIELD, index_type=index_type, metric_type="IP",
                               params=params)
        try:
            # With index_params the collection is also loaded, so it can be searched at once.
            client.create_collection(name, schema=schema, index_params=index_params,
                                     consistency_level=CONSISTENCY)
        except Exception as exc:
            raise VectorStoreError(f"cannot create Milvus collection {name} at {uri}: "
                                   f"{exc}") from exc
        store = cls(config, name, dimension)
        if build_folder is not None:
            try:
                store._write_meta(build_folder, last_write_ts=0)
            except OSError:
                store.drop()
                raise
        return store

    @staticmethod
    def _read_meta(folder: Path) -> dict:
        path = folder / META_FILE
        try:
            meta = json.loads(path.read_text())
            return {"collection": str(meta["collection"]), "dimension": int(meta["dimension"]),
                    "uri": meta.get("uri"), "last_write_ts": int(meta.get("last_write_ts") or 0),
                    "has_fields": bool(meta.get("fields"))}
        except FileNotFoundError:
            raise VectorStoreError(f"no Milvus store description at {path}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise VectorStoreError(f"unreadable Milvus store description {path}: {exc}") from exc

    @classmethod
    def load(cls, config: StoreConfig, folder: Path, fields: FieldsSource | None = None
             ) -> MilvusStore:
        """Opens a generation's collection on the configured server and loads it into memory."""
        meta = cls._read_meta(folder)
        problem = _missing(config, meta, folder)
        if problem:
            raise VectorStoreError(f"{problem}: rebuild the index")
        name = meta["collection"]
        try:
            _client(config).load_collection(name)
        except Exception as exc:
            raise VectorStoreError(f"cannot load Milvus collection {name}: {exc}") from exc
        return cls(config, name, meta["dimension"], read_ts=meta["last_write_ts"],
                   has_fields=meta["has_fields"], fields=fields)

    @classmethod
    def missing(cls, config: StoreConfig, folder: Path) -> str | None:
        """Why the collection a folder names is not on the configured server, or None when it is
        there. Raises VectorStoreError when the server does not answer."""
        return _missing(config, cls._read_meta(folder), folder)

    @classmethod
    def reopen(cls, config: StoreConfig, build_folder: Path) -> MilvusStore:
        """The collection a build is writing (named in its folder), read with Strong consistency
        so that a worker sees every other process's inserts: for ingest workers and their resume."""
        store = cls.load(config, build_folder)
        store.read_ts = None
        try:
            # A server timestamp later than every write acknowledged so far, by any process: a
            # finish step that wrote nothing itself records it in `save`, so that readers of the
            # published generation see all the workers' inserts. Chunk ids are never negative.
            store.client.delete(store.collection, filter=f"{ID_FIELD} in [-1]")
        except Exception as exc:
            raise VectorStoreError(f"cannot write to Milvus collection {store.collection}: "
                                   f"{exc}") from exc
        return store

    @classmethod
    def fork(cls, config: StoreConfig, folder: Path, build_folder: Path | None = None
             ) -> MilvusStore:
        """A new collection holding a copy of a generation's vectors; the original is untouched."""
        source = cls.load(config, folder)
        if not source.has_fields:
            raise VectorStoreError(f"Milvus collection {source.collection} has no fields (an "
                                   "older format): it cannot be copied; rebuild in full")
        copy = cls.create(config, source.dimension, build_folder)
        try:
            iterator = source.client.query_iterator(
                source.collection, batch_size=COPY_BATCH, filter="",
                output_fields=[ID_FIELD, VECTOR_FIELD, *FIELD_NAMES],
                **source._consistency())
            while True:
                rows = iterator.next()
                if not rows:
                    break
                # A new collection holds none of these ids: plain inserts, no upsert needed.
                copy.client.insert(copy.collection, [
                    {name: row[name] for name in (ID_FIELD, VECTOR_FIELD, *FIELD_NAMES)}
                    for row in rows])
            iterator.close()
        except VectorStoreError:
            copy.drop()
            raise
        except Exception as exc:
            copy.drop()
            raise VectorStoreError(f"cannot copy Milvus collection {source.collection}: "
                                   f"{exc}") from exc
        if copy.count() != source.count():
            found, expected = copy.count(), source.count()
            copy.drop()
            raise VectorStoreError(f"copy of Milvus collection {source.collection} holds "
                                   f"{found} vectors, expected {expected}")
        return copy

    @classmethod
    def discard(cls, config: StoreConfig, folder: Path) -> None:
        """Drops the collection of a generation or build folder about to be removed (if it
        names one)."""
        if not (folder / META_FILE).exists():
            return
        meta = cls._read_meta(folder)
        client = _client(config)
        try:
            if client.has_collection(meta["collection"]):
                client.drop_collection(meta["collection"])
        except Exception as exc:
            raise VectorStoreError(f"cannot drop Milvus collection {meta['collection']}: "
                                   f"{exc}") from exc

    def drop(self) -> None:
        try:
            self.client.drop_collection(self.collection)
        except Exception:  # noqa: BLE001 - used on error paths, where the first error matters
            pass

    # -- the VectorStore protocol ---------------------------------------------------------

    def add(self, ids: np.ndarray, vectors: np.ndarray,
            fields: Sequence[ChunkFields] | None = None) -> None:
        """Upserts rows: an id already in the collection has its row replaced."""
        ids, vectors = checked_vectors(ids, vectors, self.dimension)
        fields = checked_fields(ids, fields)
        self._upsert(ids, vectors, [_field_values(f) for f in fields])

    def update_fields(self, ids: np.ndarray, fields: Sequence[ChunkFields]) -> None:
        """Rewrites the rows of `ids` with new fields and their stored vectors; ids the
        collection does not hold are left out."""
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        new = dict(zip(ids.tolist(), (_field_values(f) for f in checked_fields(ids, fields))))
        try:
            for start in range(0, len(ids), IN_CHUNK):
                rows = self.client.query(self.collection, filter=_in_expr(ids[start:start + IN_CHUNK]),
                                         output_fields=[ID_FIELD, VECTOR_FIELD],
                                         **self._consistency())
                found = np.fromiter((r[ID_FIELD] for r in rows), dtype=np.int64, count=len(rows))
                vectors = np.asarray([r[VECTOR_FIELD] for r in rows], dtype=np.float32)
                self._upsert(found, vectors.reshape(len(rows), self.dimension),
                             [new[int(i)] for i in found])
        except VectorStoreError:
            raise
        except Exception as exc:
            raise VectorStoreError(f"cannot update fields in Milvus collection "
                                   f"{self.collection}: {exc}") from exc

    def _upsert(self, ids: np.ndarray, vectors: np.ndarray,
                values: list[tuple[str | int, ...]]) -> None:
        try:
            for start in range(0, len(ids), INSERT_BATCH):
                stop = start + INSERT_BATCH
                rows = [{ID_FIELD: i, VECTOR_FIELD: v, **dict(zip(FIELD_NAMES, row))}
                        for i, v, row in zip(ids[start:stop].tolist(), vectors[start:stop],
                                             values[start:stop])]
                self.client.upsert(self.collection, rows)
        except Exception as exc:
            raise VectorStoreError(f"cannot write to Milvus collection {self.collection}: "
                                   f"{exc}") from exc

    def existing_ids(self, ids: np.ndarray) -> np.ndarray:
        ids = np.unique(np.ascontiguousarray(ids, dtype=np.int64).reshape(-1))
        try:
            return np.unique(np.asarray(self._existing(ids), dtype=np.int64))
        except Exception as exc:
            raise VectorStoreError(f"cannot query Milvus collection {self.collection}: "
                                   f"{exc}") from exc

    def _existing(self, ids: np.ndarray) -> list[int]:
        found: list[int] = []
        for start in range(0, len(ids), IN_CHUNK):
            part = ids[start:start + IN_CHUNK]
            rows = self.client.query(self.collection, filter=_in_expr(part),
                                     output_fields=[ID_FIELD], **self._consistency())
            found.extend(int(r[ID_FIELD]) for r in rows)
        return found

    def delete(self, ids: np.ndarray) -> int:
        ids = np.unique(np.ascontiguousarray(ids, dtype=np.int64).reshape(-1))
        if not len(ids):
            return 0
        try:
            # Milvus reports the ids it was asked to delete, present or not: count them first.
            present = np.asarray(self._existing(ids), dtype=np.int64)
            for start in range(0, len(present), IN_CHUNK):
                self.client.delete(self.collection, filter=_in_expr(present[start:start + IN_CHUNK]))
        except Exception as exc:
            raise VectorStoreError(f"cannot delete from Milvus collection {self.collection}: "
                                   f"{exc}") from exc
        return len(present)

    def _search(self, query: np.ndarray, limit: int, expr: str = "") -> tuple[np.ndarray, np.ndarray]:
        params: dict[str, Any] = {"metric_type": "IP", "params": {}}
        if self.config.milvus_index.upper() == "HNSW":
            params["params"] = {"ef": max(64, limit)}
        result = self.client.search(self.collection, data=[query.tolist()], limit=limit,
                                    filter=expr, output_fields=[], search_params=params,
                                    anns_field=VECTOR_FIELD, **self._consistency())
        hits = result[0] if result else []
        ids = np.fromiter((h["id"] for h in hits), dtype=np.int64, count=len(hits))
        scores = np.fromiter((h["distance"] for h in hits), dtype=np.float32, count=len(hits))
        return ids, scores

    def search(self, query: np.ndarray, k: int, where: ChunkFilter | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        query = np.ascontiguousarray(query, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.dimension:
            raise VectorStoreError(f"expected a query of dimension {self.dimension}, "
                                   f"got {query.shape[0]}")
        if k <= 0:
            return _empty()
        if k > MAX_TOPK:
            raise VectorStoreError(f"Milvus returns at most {MAX_TOPK} results; asked for {k}")
        if where is not None and where.matches_nothing():
            return _empty()
        try:
            if where is None:
                return self._search(query, k)
            if self.has_fields:
                return self._search(query, k, where_expr(where))
            allowed = self._legacy_fields().matching(where)
            if not len(allowed):
                return _empty()
            if len(allowed) <= IN_CHUNK:
                return self._search(query, min(k, len(allowed)), _in_expr(allowed))
            return self._search_large_filter(query, k, allowed)
        except VectorStoreError:
            raise
        except Exception as exc:
            raise VectorStoreError(f"cannot search Milvus collection {self.collection}: "
                                   f"{exc}") from exc

    def _legacy_fields(self) -> FieldColumns:
        """A format 1 collection's fields, from its generation's chunk store."""
        if self._fields is None:
            if self._fields_source is None:
                raise VectorStoreError(f"Milvus collection {self.collection} has no fields (an "
                                       "older format) and was opened without its chunk "
                                       "store's: it cannot be filtered; rebuild the index")
            self._fields = self._fields_source()
        return self._fields

    def _search_large_filter(self, query: np.ndarray, k: int, allowed: np.ndarray
                             ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k within a large allowed set, without one giant expression.

        First the unfiltered best MAX_TOPK, filtered here: exact when it yields k allowed hits
        (or covers the whole collection). Otherwise one filtered search per slice of the allowed
        ids, merged by score.
        """
        total = self.count()
        ids, scores = self._search(query, min(MAX_TOPK, max(total, 1)))
        keep = np.isin(ids, allowed)
        if keep.sum() >= k or len(ids) >= total:
            return ids[keep][:k], scores[keep][:k]
        all_ids, all_scores = [], []
        for start in range(0, len(allowed), IN_CHUNK):
            part = allowed[start:start + IN_CHUNK]
            found, found_scores = self._search(query, min(k, len(part)), _in_expr(part))
            all_ids.append(found)
            all_scores.append(found_scores)
        ids, scores = np.concatenate(all_ids), np.concatenate(all_scores)
        order = np.argsort(-scores, kind="stable")[:k]
        return ids[order], scores[order]

    def save(self, folder: Path) -> None:
        """Makes the collection durable and names it in `folder`/milvus.json."""
        try:
            self.client.flush(self.collection)
        except Exception as exc:
            raise VectorStoreError(f"cannot flush Milvus collection {self.collection}: "
                                   f"{exc}") from exc
        from pymilvus.client import ts_utils

        last_write = max(self.read_ts or 0, ts_utils.get_collection_ts(self.collection) or 0)
        self._write_meta(folder, last_write)

    def _write_meta(self, folder: Path, last_write_ts: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {"collection": self.collection, "uri": self.uri, "dimension": self.dimension,
                "metric": "IP", "id_field": ID_FIELD, "vector_field": VECTOR_FIELD,
                "fields": list(FIELD_NAMES) if self.has_fields else [],
                "last_write_ts": last_write_ts}
        with atomic_file(folder / META_FILE) as f:
            f.write(json.dumps(meta, indent=2).encode())

    def count(self) -> int:
        try:
            rows = self.client.query(self.collection, filter="", output_fields=["count(*)"],
                                     **self._consistency())
        except Exception as exc:
            raise VectorStoreError(f"cannot count Milvus collection {self.collection}: "
                                   f"{exc}") from exc
        return int(rows[0]["count(*)"]) if rows else 0
