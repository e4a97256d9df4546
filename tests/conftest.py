"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_corpus_dir() -> Path:
    """The read-only reference corpus: $POLICYQA_SHARED_CORPUS, else ../shared/corpus beside the repo."""
    env = os.environ.get("POLICYQA_SHARED_CORPUS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    root = shared_corpus_dir()
    if not root.is_dir():
        pytest.skip(f"shared corpus not found at {root} (set POLICYQA_SHARED_CORPUS)")
    return root


@pytest.fixture(scope="session")
def embedder():
    """The real default embedder (all-MiniLM-L6-v2 from its package, hash-checked), loaded once."""
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()
