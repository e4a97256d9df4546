"""The Milvus store beyond the conformance suite: generations as collections, large filters, and
FAISS/Milvus agreement end to end. Needs a server: POLICYQA_MILVUS_URI (see .ci/milvus-tests)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest

from index.generations import current_generation
from index.stores.base import ChunkFields, ChunkFilter, FieldColumns, StoreConfig, VectorStoreError
from index.stores.factory import create_store, discard_store, fork_store, load_store
from tests.support import REPO, child_environ, copy_documents

URI = os.environ.get("POLICYQA_MILVUS_URI")
if not URI:
    pytest.skip("POLICYQA_MILVUS_URI is not set (.ci/milvus-tests runs a server)",
                allow_module_level=True)
from index.stores import milvus_store  # noqa: E402
from index.stores.milvus_store import META_FILE, client_for, server_problem  # noqa: E402

_problem = server_problem(URI)
if _problem:
    pytest.skip(_problem, allow_module_level=True)

DIM = 16
DOCS = ["treaties/echr_protocol4_1963.md", "treaties/refugee_protocol_1967.md"]
QUESTIONS = ["collective expulsion of aliens is prohibited",
             "who is a refugee under the protocol"]


def _vectors(n: int, seed: int = 0, dim: int = DIM) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture()
def prefix(monkeypatch):
    """Collections made by the test carry its own prefix; all are dropped afterwards."""
    name = f"policyqa_test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("POLICYQA_MILVUS_PREFIX", name)
    yield name
    client = client_for(URI)
    for collection in _collections(name):
        client.drop_collection(collection)


@pytest.fixture()
def config(prefix) -> StoreConfig:
    return StoreConfig(kind="milvus", milvus_uri=URI, milvus_prefix=prefix)


def _add(store, ids, vectors, document_id: str = "doc.md") -> None:
    store.add(ids, vectors, [ChunkFields(document_id, "eu", "regulation", 2013)] * len(ids))


def _collections(prefix: str) -> set[str]:
    return {c for c in client_for(URI).list_collections() if c.startswith(prefix)}


def _exact(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int,
           allowed: np.ndarray | None = None) -> list[int]:
    mask = np.ones(len(ids), bool) if allowed is None else np.isin(ids, allowed)
    scores = vectors[mask] @ query
    return ids[mask][np.argsort(-scores, kind="stable")[:k]].tolist()


def test_save_names_the_collection_and_load_opens_it(prefix, config, tmp_path):
    store = create_store(config, DIM)
    _add(store, np.arange(10), _vectors(10))
    store.save(tmp_path)
    meta = json.loads((tmp_path / META_FILE).read_text())
    assert meta["collection"] == store.collection and meta["collection"].startswith(prefix)
    assert meta["uri"] == URI and meta["dimension"] == DIM and meta["last_write_ts"] > 0
    loaded = load_store(config, tmp_path)
    assert loaded.count() == 10
    _add(loaded, np.array([99]), _vectors(1, seed=9))  # a loaded store still reads its own writes
    assert loaded.count() == 11 and loaded.search(_vectors(1, seed=9)[0], 1)[0][0] == 99


def test_fork_copies_and_leaves_the_original_intact(prefix, config, tmp_path):
    vectors = _vectors(3000, seed=1)
    store = create_store(config, DIM)
    _add(store, np.arange(5, 3005), vectors)
    store.save(tmp_path / "gen-1")
    fork = fork_store(config, tmp_path / "gen-1")
    assert fork.collection != store.collection and fork.count() == 3000
    assert fork.delete(np.arange(5, 105)) == 100
    _add(fork, np.arange(10_000, 10_010), _vectors(10, seed=2))
    assert fork.count() == 2910
    original = load_store(config, tmp_path / "gen-1")
    assert original.count() == 3000
    assert original.search(vectors[0], 1)[0][0] == 5
    assert 5 not in fork.search(vectors[0], 5)[0]
    assert fork.search(vectors[200], 1)[0][0] == 205


def test_fork_copies_the_fields(prefix, config, tmp_path):
    store = create_store(config, DIM)
    vectors = _vectors(20, seed=5)
    _add(store, np.arange(10), vectors[:10], "a.md")
    _add(store, np.arange(10, 20), vectors[10:], "b.md")
    store.save(tmp_path / "gen-1")
    fork = fork_store(config, tmp_path / "gen-1")
    found = fork.search(vectors[0], 20, where=ChunkFilter.of(["b.md"]))[0]
    assert sorted(found.tolist()) == list(range(10, 20))
    found = fork.search(vectors[0], 20, where=ChunkFilter.of(fields={"year": [2013]}))[0]
    assert len(found) == 20


@pytest.mark.parametrize("document_id", ['quote"d.md', "back\\slash.md", "new\nline.md",
                                         "çà/“unicode”.md", "it's.md"])
def test_document_ids_are_quoted_safely_in_expressions(prefix, config, document_id):
    store = create_store(config, DIM)
    vectors = _vectors(4, seed=6)
    _add(store, np.arange(2), vectors[:2], document_id)
    _add(store, np.arange(2, 4), vectors[2:], "other.md")
    found = store.search(vectors[2], 4, where=ChunkFilter.of([document_id]))[0]
    assert sorted(found.tolist()) == [0, 1]


def _format_1_collection(config: StoreConfig, folder, ids: np.ndarray,
                         vectors: np.ndarray) -> None:
    """A collection as format 1 wrote it (chunk id and vector only), named in `folder`."""
    from pymilvus import DataType, MilvusClient

    client = client_for(URI)
    name = f"{config.milvus_prefix}_old"
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("chunk_id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    index = MilvusClient.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index)
    for start in range(0, len(ids), 1000):
        client.insert(name, [{"chunk_id": int(i), "vector": v.tolist()} for i, v in
                             zip(ids[start:start + 1000], vectors[start:start + 1000])])
    client.flush(name)
    (folder / META_FILE).write_text(json.dumps({"collection": name, "uri": URI,
                                                "dimension": vectors.shape[1],
                                                "last_write_ts": 0}))


def test_a_generation_without_fields_is_filtered_with_the_chunk_stores(prefix, config,
                                                                       tmp_path):
    """Format 1 collections (chunk id and vector only) still serve until the next full build,
    filters included: their generation's chunk store gives the fields."""
    vectors = _vectors(5, seed=7)
    _format_1_collection(config, tmp_path, np.arange(5), vectors)
    old = load_store(config, tmp_path)
    assert not old.has_fields
    assert old.search(vectors[3], 1)[0].tolist() == [3]
    with pytest.raises(VectorStoreError, match="older format"):
        old.search(vectors[3], 2, where=ChunkFilter.of(["doc.md"]))
    with pytest.raises(VectorStoreError, match="older format"):
        fork_store(config, tmp_path)
    fields = FieldColumns.of_documents([(ChunkFields("doc.md", "eu"), [3, 4]),
                                        (ChunkFields("other.md", "us"), [0, 1, 2])])
    served = load_store(config, tmp_path, lambda: fields)
    found = served.search(vectors[3], 5, where=ChunkFilter.of(["doc.md"]))[0].tolist()
    assert found[0] == 3 and sorted(found) == [3, 4]
    us = served.search(vectors[3], 5, where=ChunkFilter.of(fields={"jurisdiction": ["US"]}))[0]
    assert sorted(us.tolist()) == [0, 1, 2]
    assert len(served.search(vectors[3], 5, where=ChunkFilter.of(["nowhere.md"]))[0]) == 0


def test_fields_over_the_schema_limits_are_refused(prefix, config):
    store = create_store(config, DIM)
    with pytest.raises(VectorStoreError, match="limit"):
        store.add(np.arange(1), _vectors(1), [ChunkFields("x" * 3000)])
    with pytest.raises(VectorStoreError, match="fields"):
        store.add(np.arange(1), _vectors(1))


def test_delete_counts_only_ids_that_were_there(prefix, config):
    store = create_store(config, DIM)
    _add(store, np.arange(20), _vectors(20))
    assert store.delete(np.array([1, 1, 2, 500])) == 2
    assert store.delete(np.array([1, 2])) == 0
    assert store.count() == 18


@pytest.mark.parametrize("path", ["post-filter", "sliced"])
def test_large_allowed_sets_stay_exact(prefix, config, monkeypatch, tmp_path, path):
    """A format 1 collection's filter becomes chunk ids: many of them are searched exactly."""
    # Small limits stand in for Milvus's real ones (10,000 ids per expression, top-k 16,384).
    monkeypatch.setattr(milvus_store, "IN_CHUNK", 50)
    monkeypatch.setattr(milvus_store, "MAX_TOPK", 200)
    vectors = _vectors(2000, seed=3)
    ids = np.arange(2000) * 3 + 1
    _format_1_collection(config, tmp_path, ids, vectors)
    query = vectors[0]
    order = ids[np.argsort(-(vectors @ query))]
    # post-filter: many allowed ids among the nearest; sliced: only far-away ids are allowed.
    allowed = order[::2][:500] if path == "post-filter" else order[-400:]
    fields = FieldColumns.of_documents([(ChunkFields("allowed.md"), allowed),
                                        (ChunkFields("other.md"), np.setdiff1d(ids, allowed))])
    store = load_store(config, tmp_path, lambda: fields)
    found, scores = store.search(query, 10, ChunkFilter.of(["allowed.md"]))
    assert found.tolist() == _exact(vectors, ids, query, 10, allowed)
    assert list(scores) == sorted(scores, reverse=True)


def test_discard_drops_the_collection(prefix, config, tmp_path):
    store = create_store(config, DIM)
    store.save(tmp_path)
    assert store.collection in _collections(prefix)
    discard_store(config, tmp_path)
    assert store.collection not in _collections(prefix)
    discard_store(config, tmp_path / "nothing-here")  # no milvus.json: nothing to drop
    with pytest.raises(VectorStoreError, match="does not exist"):
        load_store(config, tmp_path)


def test_builds_keep_one_collection_per_generation(prefix, config, shared_corpus, tmp_path, embedder):
    from index.builder import IndexBuilder
    from index.searcher import IndexSearcher
    from ingest.chunker import ChunkSettings
    from service.ranking.pipeline import rank

    corpus = copy_documents(shared_corpus, tmp_path / "corpus", DOCS)
    index_dir = tmp_path / "idx"
    builder = IndexBuilder(index_dir, embedder, ChunkSettings(), store_config=config)
    first = builder.build(corpus)
    gen1 = current_generation(index_dir)
    changed = corpus / DOCS[1]
    changed.write_text(changed.read_text() + "\n\n## Article 99\n\nStates shall maintain "
                       "lighthouses for stranded vessels at sea.\n")
    second = builder.build(corpus)  # incremental: forks generation 1's collection
    assert not second.full and second.embedded_chunks >= 1 and second.reused_chunks > 0
    assert load_store(config, gen1).count() == first.chunks  # the old generation is intact
    (corpus / DOCS[0]).unlink()
    third = builder.build(corpus)
    assert third.removed_documents == 1
    live = current_generation(index_dir)
    generations = sorted(index_dir.glob("gen-*"))
    assert len(generations) == 2 and gen1 not in generations
    named = {json.loads((g / META_FILE).read_text())["collection"] for g in generations}
    assert _collections(prefix) == named  # generation 1's collection was dropped with its folder
    searcher = IndexSearcher(live, embedder, config)
    assert searcher.store.count() == searcher.chunk_count == third.chunks
    top = rank(searcher, "maintaining lighthouses for ships in distress", k=1, mode="dense")
    assert "lighthouses" in top[0].chunk.text
    searcher.close()


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "service.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _same_up_to_ties(a: list[tuple[str, int, float]], b: list[tuple[str, int, float]]) -> bool:
    """Same passages in the same order, except where equal scores let two passages swap."""
    if {(d, s) for d, s, _ in a} != {(d, s) for d, s, _ in b}:
        return False
    return all(x[:2] == y[:2] or abs(x[2] - y[2]) < 1e-4 for x, y in zip(a, b))


# Milvus filters these on its own fields (an expression), FAISS on its field codes.
FILTERED = [("dense", ["--filter", "jurisdiction=Council-of-Europe"]),
            ("hybrid", ["--document", DOCS[1], "--filter", "year=1967"]),
            ("dense", ["--filter", "instrument_type=protocol", "--filter", "year=1963"])]


def test_policyqa_ask_answers_alike_on_faiss_and_milvus(prefix, shared_corpus, tmp_path):
    corpus = copy_documents(shared_corpus, tmp_path / "corpus", DOCS)
    base = child_environ(POLICYQA_THREADS="2", POLICYQA_MILVUS_PREFIX=prefix)
    answers: dict[str, list[list[tuple[str, int, float]]]] = {}
    for kind in ("faiss", "milvus"):
        env = {**base, "POLICYQA_VECTOR_STORE": kind}
        if kind == "milvus":
            env["POLICYQA_MILVUS_URI"] = URI
        index_dir = str(tmp_path / f"idx-{kind}")
        _cli(["index", "build", "--corpus", str(corpus), "--index-dir", index_dir, "--json"], env)
        answers[kind] = []
        for question in QUESTIONS:
            for mode, filters in (("dense", []), ("hybrid", []), *FILTERED):
                answer = json.loads(_cli(["ask", question, "-k", "5", "--mode", mode, "--json",
                                          "--index-dir", index_dir, *filters], env))
                answers[kind].append([(p["citation"]["document_id"], p["citation"]["char_start"],
                                       p["score"]) for p in answer["passages"]])
    assert len(_collections(prefix)) == 1
    for faiss_answer, milvus_answer in zip(answers["faiss"], answers["milvus"]):
        assert faiss_answer, "no passages"
        assert _same_up_to_ties(faiss_answer, milvus_answer), (faiss_answer, milvus_answer)
