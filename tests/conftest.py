"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import ADMIN_KEY, SERVER_DOCUMENTS, LiveServer, copy_documents, free_port


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
    """The real default embedder, as the service loads it (all-MiniLM-L6-v2 from its package,
    hash-checked, ONNX int8 unless POLICYQA_EMBEDDER_BACKEND says otherwise), loaded once."""
    from service.engine import load_embedder
    from service.settings import load_settings

    return load_embedder(load_settings())


@pytest.fixture(scope="session")
def live_server(shared_corpus, tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    corpus = copy_documents(shared_corpus, root / "corpus", SERVER_DOCUMENTS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_")}
    env.update({"POLICYQA_ADMIN_KEY": ADMIN_KEY, "POLICYQA_THREADS": "2"})
    server = LiveServer(corpus, root / "index", free_port(), env)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
