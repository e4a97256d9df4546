"""The ONNX embedder against the torch one on real texts: agreement, counting, and its export cache.

On all-MiniLM-L6-v2 whatever the default model (tests/index/test_mpnet.py has all-mpnet-base-v2)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index import onnx_embedder
from index.onnx_embedder import OnnxEmbedder
from ingest.catalogue import catalogue_for
from ingest.chunker import ChunkSettings, StructureChunker
from ingest.document import sha256_bytes
from ingest.pipeline import SourceFile, load_document, read_bytes

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = ["treaties/untoc_2000.md", "treaties/iccpr_1966.md"]
MODEL = "minilm"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("policyqa-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POLICYQA_CACHE_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def torch_embedder():
    """The sentence-transformers (torch fp32) embedder: the reference the ONNX ones must match."""
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(MODEL)


@pytest.fixture(scope="module")
def fp32(cache_dir) -> OnnxEmbedder:
    return OnnxEmbedder(MODEL, quantized=False)


@pytest.fixture(scope="module")
def int8(cache_dir) -> OnnxEmbedder:
    return OnnxEmbedder(MODEL, quantized=True)


@pytest.fixture(scope="module")
def questions() -> list[str]:
    lines = (REPO / "eval" / "sets" / "treaties.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


@pytest.fixture(scope="module")
def passages(shared_corpus, fp32) -> list[str]:
    """200 embed texts of real treaty chunks, as the index builder would embed them."""
    chunker = StructureChunker(ChunkSettings(), fp32.count_tokens, fp32.max_tokens)
    catalogue = catalogue_for(shared_corpus)
    texts: list[str] = []
    for rel in DOCUMENTS:
        source = SourceFile(shared_corpus / rel, rel)
        doc = load_document(source, sha256_bytes(read_bytes(source)), catalogue)
        texts.extend(c.embed_text for c in chunker.chunk(doc))
    assert len(texts) >= 200
    return texts[:200]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_interface_matches_the_torch_embedder(fp32, int8, torch_embedder):
    assert fp32.name == torch_embedder.name + "+onnx"
    assert int8.name == torch_embedder.name + "+onnx-int8"
    assert fp32.dimension == int8.dimension == torch_embedder.dimension == 384
    assert fp32.max_tokens == int8.max_tokens == torch_embedder.max_tokens == 256
    empty = int8.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_count_tokens_equals_the_torch_embedder(int8, torch_embedder, passages):
    texts = [passages[0], passages[0] * 3, "", "Überstellung — § 1158(a)(2)(A)", "non-refoulement",
             "x" * 500, " ".join(passages[:4])]
    assert any(torch_embedder.count_tokens(t) > 256 for t in texts)  # past both 128 and 256
    assert [int8.count_tokens(t) for t in texts] == [torch_embedder.count_tokens(t) for t in texts]


def test_fp32_matches_torch(fp32, torch_embedder, questions, passages):
    texts = questions[:10] + passages[:10] + [passages[0] * 3]  # the last one is truncated
    vectors = fp32.encode(texts)
    assert vectors.dtype == np.float32 and vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert _cosines(vectors, torch_embedder.encode(texts)).min() >= 0.9999


def test_batches_sorted_by_length_come_back_in_order(fp32, questions, passages):
    texts = [passages[3], questions[0], passages[7], questions[1]]
    together = fp32.encode(texts)
    alone = np.stack([fp32.encode_query(t) for t in texts])
    assert _cosines(together, alone).min() >= 0.99999


def test_int8_agrees_with_torch_and_keeps_the_top_ten(int8, torch_embedder, questions, passages):
    reference_docs, docs = torch_embedder.encode(passages), int8.encode(passages)
    assert _cosines(docs, reference_docs).mean() >= 0.98
    reference_top = np.argsort(-(torch_embedder.encode(questions) @ reference_docs.T), axis=1)[:, :10]
    top = np.argsort(-(int8.encode(questions) @ docs.T), axis=1)[:, :10]
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(reference_top, top)])
    assert overlap >= 0.8


def test_second_construction_reuses_the_cache(int8, cache_dir, monkeypatch):
    files = sorted(cache_dir.glob("onnx/*/model.*"))
    assert len(files) == 4  # fp32 and int8, each with its record
    before = {f: f.stat().st_mtime_ns for f in files}

    def no_export(*args: object) -> None:
        raise AssertionError("exported again although the cache was valid")

    monkeypatch.setattr(onnx_embedder, "_export_fp32", no_export)
    monkeypatch.setattr(onnx_embedder, "_quantize", no_export)
    again = OnnxEmbedder(MODEL, quantized=True)
    assert again.onnx_path == int8.onnx_path
    assert {f: f.stat().st_mtime_ns for f in files} == before
    assert not list(cache_dir.glob("onnx/*/.tmp-*"))


def test_corrupted_or_unfinished_cache_is_exported_again(int8, cache_dir, questions):
    path = int8.onnx_path
    record = path.with_suffix(".json")
    good = json.loads(record.read_text())["onnx_sha256"]
    with path.open("r+b") as f:  # a flipped byte in the middle of the weights
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    rebuilt = OnnxEmbedder(MODEL, quantized=True)
    assert onnx_embedder.sha256_file(path) == json.loads(record.read_text())["onnx_sha256"]
    assert np.allclose(rebuilt.encode(questions[:3]), int8.encode(questions[:3]), atol=1e-6)

    record.unlink()  # killed after the model was renamed into place, before its record
    OnnxEmbedder(MODEL, quantized=True)
    assert json.loads(record.read_text())["onnx_sha256"] == good


def test_cache_key_holds_the_model_hash_and_export_settings(int8, fp32):
    assert int8.onnx_path.parent != fp32.onnx_path.parent
    for path, settings in ((int8.onnx_path, "int8-pc"), (fp32.onnx_path, "fp32")):
        assert "53aa51172d142c89" in path.parent.name and settings in path.parent.name
        assert "site-packages" not in str(path)
