"""all-mpnet-base-v2 from its five installed part packages: assembly, hash checks, aliases, its
384-piece limit in chunking, int8 agreement with torch, and a real build and ask."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from index.embedder import ModelError, SentenceTransformerEmbedder, resolve_model
from index.models import MPNET
from index.split_model import assemble, installed_parts
from ingest.catalogue import catalogue_for
from ingest.chunker import ChunkSettings, StructureChunker
from ingest.document import sha256_bytes
from ingest.pipeline import SourceFile, load_document, read_bytes

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = ["treaties/untoc_2000.md", "treaties/iccpr_1966.md",
             "legislation/canada/ca_extradition_act_E-23.01.xml"]


def _parts() -> list[Path]:
    try:
        return installed_parts(MPNET.split_packages, f"{MPNET.split_zip}.zip", MPNET.install)
    except ModelError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def own_cache(tmp_path_factory) -> Path:
    """A cache of this module's own, so that tampering with it harms no other test."""
    _parts()
    root = tmp_path_factory.mktemp("mpnet-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POLICYQA_CACHE_DIR", str(root))
        resolved = resolve_model("mpnet")
    assert Path(resolved.location).is_relative_to(root)
    return root


@pytest.fixture(scope="module")
def mpnet_int8():
    """The ONNX int8 mpnet embedder, from the developer's cache (its export takes a minute)."""
    _parts()
    from index.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder("mpnet", quantized=True)


def test_real_parts_assemble_into_a_verified_folder(own_cache: Path, monkeypatch) -> None:
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(own_cache))
    resolved = {alias: resolve_model(alias) for alias in sorted(MPNET.aliases)}
    assert len({r.location for r in resolved.values()}) == 1
    first = next(iter(resolved.values()))
    assert first.verified_sha256 == MPNET.sha256
    folder = Path(first.location)
    assert folder.parent == own_cache / "models"
    assert json.loads((folder / "sentence_bert_config.json").read_text())["max_seq_length"] == 384
    assert not list(folder.parent.glob(f".{folder.name}.*/"))  # no staging folder left behind


def test_a_short_real_part_is_a_model_error(tmp_path: Path) -> None:
    copies = []
    for part in _parts():
        copies.append(tmp_path / part.name)
        shutil.copyfile(part, copies[-1])
    with copies[2].open("r+b") as f:
        f.truncate(copies[2].stat().st_size - 4096)
    target = tmp_path / "cache" / "mpnet"
    target.parent.mkdir()
    with pytest.raises(ModelError, match="do not form a valid zip|sha256"):
        assemble(copies, MPNET.split_zip, target, MPNET.sha256)
    assert list(target.parent.iterdir()) == [target.parent / ".mpnet.lock"]


def test_tampered_weights_in_the_cache_are_a_model_error(own_cache: Path, monkeypatch) -> None:
    monkeypatch.setenv("POLICYQA_CACHE_DIR", str(own_cache))
    weights = Path(resolve_model("mpnet").location) / "model.safetensors"
    with weights.open("r+b") as f:
        f.seek(weights.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ModelError, match="delete that folder"):
        resolve_model("all-mpnet-base-v2")
    with pytest.raises(ModelError, match="expected 78c0197b"):
        SentenceTransformerEmbedder("sentence-transformers/all-mpnet-base-v2")
    shutil.rmtree(weights.parent)  # as the message says: unpacked again from the packages
    assert resolve_model("mpnet").verified_sha256 == MPNET.sha256


def test_limits_come_from_the_model_and_chunks_fit_them(mpnet_int8, shared_corpus: Path) -> None:
    assert mpnet_int8.name == "sentence-transformers/all-mpnet-base-v2+onnx-int8"
    assert (mpnet_int8.dimension, mpnet_int8.max_tokens) == (768, 384)
    assert "keep" in mpnet_int8.onnx_path.parent.name and MPNET.sha256[:16] in str(mpnet_int8.onnx_path)
    chunker = StructureChunker(ChunkSettings(), mpnet_int8.count_tokens, mpnet_int8.max_tokens)
    catalogue = catalogue_for(shared_corpus)
    sizes = []
    for rel in DOCUMENTS:
        source = SourceFile(shared_corpus / rel, rel)
        doc = load_document(source, sha256_bytes(read_bytes(source)), catalogue)
        chunks = chunker.chunk(doc)
        sizes += [mpnet_int8.count_tokens(c.embed_text) for c in chunks]
        assert all(c.embed_tokens == mpnet_int8.count_tokens(c.embed_text) for c in chunks[:20])
    assert len(sizes) > 200 and max(sizes) <= 384
    assert mpnet_int8.count_tokens("word " * 600) > 384  # counting itself is not capped


@pytest.mark.slow
def test_int8_agrees_with_torch_fp32(mpnet_int8, shared_corpus: Path) -> None:
    """The fp32 feed-forward down-projections keep int8 close to torch on real chunks
    (eval/embedder_bench.py, 200 chunks: mean cos 0.993, top-10 overlap 0.87; with every MatMul
    in int8, 0.870 and 0.70)."""
    torch_fp32 = SentenceTransformerEmbedder("mpnet")
    assert torch_fp32.max_tokens == 384 and torch_fp32.dimension == 768
    chunker = StructureChunker(ChunkSettings(), torch_fp32.count_tokens, torch_fp32.max_tokens)
    catalogue = catalogue_for(shared_corpus)
    passages: list[str] = []
    for rel in DOCUMENTS[:2]:
        source = SourceFile(shared_corpus / rel, rel)
        doc = load_document(source, sha256_bytes(read_bytes(source)), catalogue)
        passages += [c.embed_text for c in chunker.chunk(doc)]
    passages = passages[:200]
    lines = (REPO / "eval" / "sets" / "treaties.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()]
    ref_docs, docs = torch_fp32.encode(passages), mpnet_int8.encode(passages)
    assert (ref_docs * docs).sum(axis=1).mean() >= 0.99
    ref_top = np.argsort(-(torch_fp32.encode(questions) @ ref_docs.T), axis=1)[:, :10]
    top = np.argsort(-(mpnet_int8.encode(questions) @ docs.T), axis=1)[:, :10]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ref_top, top)]) >= 0.8


def test_build_and_ask_end_to_end(mpnet_int8, shared_corpus: Path, tmp_path: Path,
                                  on_test_store) -> None:
    from index.builder import IndexBuilder
    from service.engine import AnswerEngine
    from service.settings import load_settings

    corpus = tmp_path / "corpus"
    for rel in DOCUMENTS:
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_corpus / rel, corpus / rel)
    settings = load_settings(model="all-mpnet-base-v2", corpus_dir=corpus,
                             index_dir=tmp_path / "index")
    report = IndexBuilder(settings.index_dir, mpnet_int8, settings.chunk_settings(),
                          store_config=settings.store_config()).build(corpus)
    assert report.documents == 3 and report.chunks > 200 and report.truncated_chunks == 0
    engine = AnswerEngine(settings, mpnet_int8)
    assert engine.refresh()
    try:
        assert engine.searcher.manifest.model == mpnet_int8.name
        for mode in ("dense", "hybrid"):
            answer = engine.ask("How many people does it take for a group to count as an "
                                "organized criminal group?", k=5, mode=mode)
            assert answer.passages[0].citation.document_id == "treaties/untoc_2000.md"
            assert any("three or more persons" in p.text for p in answer.passages)
    finally:
        engine.searcher.close()
