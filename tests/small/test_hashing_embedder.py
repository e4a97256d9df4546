"""The tests' HashingEmbedder: deterministic across processes, normalised, and really similar."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from tests.inline_corpus import TEXTS
from tests.small_embedder import HashingEmbedder
from tests.support import REPO

SAMPLES = ["No Contracting State shall expel or return a refugee to the frontiers of territories",
           "Fingerprints stored in the Eurodac database", "", "   ", "?!", "Article 33",
           "§ 1158. Asylum — an alien may apply"]

_PRINT_VECTORS = (
    "import sys\n"
    "from tests.small_embedder import HashingEmbedder\n"
    "texts = sys.stdin.read().split('\\x1e')\n"
    "sys.stdout.write(HashingEmbedder().encode(texts).tobytes().hex())\n")


def _cosine(embedder: HashingEmbedder, a: str, b: str) -> float:
    va, vb = embedder.encode([a, b])
    return float(va @ vb)


def test_vectors_are_the_same_in_processes_with_other_hash_seeds(small_embedder) -> None:
    # str hashes are salted per process: a vector derived from hash() would differ here.
    expected = small_embedder.encode(SAMPLES).tobytes().hex()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO)}
        out = subprocess.run([sys.executable, "-c", _PRINT_VECTORS], input="\x1e".join(SAMPLES),
                             capture_output=True, text=True, env=env, cwd=REPO, check=True)
        assert out.stdout == expected, f"vectors differ under PYTHONHASHSEED={seed}"


def test_vectors_are_unit_float32_rows_of_the_dimension(small_embedder) -> None:
    vectors = small_embedder.encode(SAMPLES)
    assert vectors.shape == (len(SAMPLES), 64) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert small_embedder.encode([]).shape == (0, 64)
    query = small_embedder.encode_query(SAMPLES[0])
    assert query.shape == (64,) and np.array_equal(query, vectors[0])


def test_texts_sharing_words_are_nearer_than_unrelated_ones(small_embedder) -> None:
    question = "may a state return a refugee to a frontier where his life is threatened"
    near = _cosine(small_embedder, question, SAMPLES[0])
    far = _cosine(small_embedder, question, "Fingerprints stored in the Eurodac database")
    assert near > 0.4 and near > far + 0.3
    # Stemming: inflections of the same words land on the same features.
    assert _cosine(small_embedder, "refugees expelled", "refugee expels") == pytest.approx(1.0)
    # Case and stop words do not matter either.
    assert _cosine(small_embedder, "THE Eurodac Database", "eurodac database") == pytest.approx(1.0)


def test_each_inline_document_is_nearest_to_itself(small_embedder) -> None:
    ids = list(TEXTS)
    vectors = small_embedder.encode([TEXTS[i] for i in ids])
    similarity = vectors @ vectors.T
    assert list(similarity.argmax(axis=1)) == list(range(len(ids)))
    off_diagonal = similarity[~np.eye(len(ids), dtype=bool)]
    assert off_diagonal.max() < 0.9


def test_word_pieces_are_words_and_symbols_plus_two_special_tokens(small_embedder) -> None:
    assert small_embedder.count_tokens("") == 2
    assert small_embedder.count_tokens("Article 33.") == 5
    assert small_embedder.count_tokens("§ 1158(a)(2)") == 2 + 8  # § 1158 ( a ) ( 2 )


def test_only_the_first_max_tokens_pieces_are_read() -> None:
    embedder = HashingEmbedder(max_tokens=6)  # 4 pieces after the two special tokens
    head = "refugee expulsion frontier persecution"
    assert np.array_equal(embedder.encode_query(head + " eurodac fingerprints"),
                          embedder.encode_query(head))
    assert embedder.count_tokens(head + " eurodac") == 7 > embedder.max_tokens


def test_the_name_records_the_settings_that_change_vectors() -> None:
    names = {HashingEmbedder().name, HashingEmbedder(dimension=32).name,
             HashingEmbedder(max_tokens=128).name}
    assert len(names) == 3
    assert HashingEmbedder().name == HashingEmbedder().name
