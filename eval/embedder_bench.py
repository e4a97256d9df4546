"""Speed and agreement of one model's torch, ONNX fp32 and ONNX int8 embedders, measured in one run."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.embedder import Embedder

SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
QUESTIONS = Path(__file__).resolve().parent / "sets" / "treaties.jsonl"


def corpus_chunks(corpus: Path, embedder: Embedder, count: int = 500, min_pieces: int = 150,
                  per_document: int = 40) -> list[str]:
    """Embed texts of real chunks of about 200 word pieces, a few from each document in turn."""
    from ingest.catalogue import catalogue_for
    from ingest.chunker import ChunkSettings, StructureChunker
    from ingest.pipeline import iter_documents

    chunker = StructureChunker(ChunkSettings(), embedder.count_tokens, embedder.max_tokens)
    texts: list[str] = []
    for _, doc in iter_documents(corpus, catalogue_for(corpus)):
        if not hasattr(doc, "text"):  # skipped file
            continue
        try:
            chunks = [c.embed_text for c in chunker.chunk(doc) if c.embed_tokens >= min_pieces]
        except Exception as exc:  # a chunker bug on one document must not stop the benchmark
            print(f"skipped {doc.id}: chunker failed: {type(exc).__name__}: {exc}")
            continue
        # Spread over the document, not just its preamble.
        step = max(1, len(chunks) // per_document)
        texts.extend(chunks[::step][:per_document])
        if len(texts) >= count:
            break
    return texts[:count]


def questions(path: Path = QUESTIONS) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]


def top_k_overlap(reference_docs: np.ndarray, reference_queries: np.ndarray, docs: np.ndarray,
                  queries: np.ndarray, k: int = 10) -> float:
    """Mean share of the reference top-k that the other embedder also puts in its top-k."""
    ref = np.argsort(-(reference_queries @ reference_docs.T), axis=1)[:, :k]
    other = np.argsort(-(queries @ docs.T), axis=1)[:, :k]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ref, other)]))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default", help="model name, alias or folder "
                        "(e.g. minilm, mpnet)")
    parser.add_argument("--corpus", type=Path, default=SHARED_CORPUS)
    parser.add_argument("--passages", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--queries", type=int, default=60, help="single queries timed per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args(argv)

    # Thread counts are set once, before any model runs: changing them later costs 2-4x.
    import torch

    torch.set_num_threads(args.threads)
    from index.embedder import SentenceTransformerEmbedder
    from index.onnx_embedder import ExportSettings, OnnxEmbedder, export_settings_for

    model = args.model
    backends: dict[str, Embedder] = {
        "torch fp32": SentenceTransformerEmbedder(model, batch_size=args.batch_size),
        "onnx fp32": OnnxEmbedder(model, quantized=False, batch_size=args.batch_size,
                                  threads=args.threads),
        "onnx int8": OnnxEmbedder(model, quantized=True, batch_size=args.batch_size,
                                  threads=args.threads),
    }
    if export_settings_for(model, quantized=True).fp32_nodes:
        # The model keeps some MatMuls in fp32: show what quantizing all of them would give.
        backends["onnx int8, all MatMuls"] = OnnxEmbedder(
            model, quantized=True, batch_size=args.batch_size, threads=args.threads,
            export=ExportSettings(quantized=True))
    reference = backends["torch fp32"]
    texts = corpus_chunks(args.corpus, reference, args.passages)
    asked = questions()
    pieces = [reference.count_tokens(t) for t in texts]
    load_before = os.getloadavg()[0]

    for embedder in backends.values():  # warm-up: first calls allocate and pick kernels
        embedder.encode(texts[:args.batch_size])
        embedder.encode_query(asked[0])
    passage_s: dict[str, list[float]] = {name: [] for name in backends}
    query_ms: dict[str, list[float]] = {name: [] for name in backends}
    # Rounds interleave the backends so a busy neighbour slows all of them alike.
    for _ in range(args.rounds):
        for name, embedder in backends.items():
            passage_s[name].append(len(texts) / _timed(lambda e=embedder: e.encode(texts)))
            for q in asked[:args.queries]:
                query_ms[name].append(1000 * _timed(lambda e=embedder, q=q: e.encode_query(q)))

    ref_docs, ref_queries = reference.encode(texts), reference.encode(asked)
    print(f"{reference.name}: {len(texts)} passages (median {int(statistics.median(pieces))} word pieces, "
          f"max {max(pieces)}), batch {args.batch_size}, {args.threads} threads, "
          f"{args.rounds} rounds; top-10 over {len(asked)} treaty questions; load average "
          f"{load_before:.2f} -> {os.getloadavg()[0]:.2f}\n")
    print("| backend | passages/s | vs torch | query p50 ms | vs torch | mean cos | min cos "
          "| top-10 overlap |")
    print("|---|---|---|---|---|---|---|---|")
    torch_rate = statistics.median(passage_s["torch fp32"])
    torch_p50 = statistics.median(query_ms["torch fp32"])
    for name, embedder in backends.items():
        rate, p50 = statistics.median(passage_s[name]), statistics.median(query_ms[name])
        docs, queries = embedder.encode(texts), embedder.encode(asked)
        cos = (docs * ref_docs).sum(axis=1)
        overlap = top_k_overlap(ref_docs, ref_queries, docs, queries)
        print(f"| {name} | {rate:.1f} | {rate / torch_rate:.2f}x | {p50:.2f} | "
              f"{torch_p50 / p50:.2f}x faster | {cos.mean():.5f} | {cos.min():.5f} | "
              f"{overlap:.3f} |")


if __name__ == "__main__":
    main()
