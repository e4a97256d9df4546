"""Shared pytest fixtures."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.inline_corpus import write_inline_corpus
from tests.small_embedder import HashingEmbedder
from tests.support import (
    ADMIN_KEY,
    SERVER_DOCUMENTS,
    STORE_VARIABLES,
    TEST_MODEL,
    ServeProcess,
    StoreSwitchError,
    copy_documents,
    drop_test_collections,
    store_switch_env,
)

# The suite runs on the fast model (tests/support.py TEST_MODEL); `default_embedder` is the
# shipped default, for the treaty gate.
os.environ.setdefault("POLICYQA_MODEL", TEST_MODEL)


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
    """The suite's real embedder (POLICYQA_MODEL: all-MiniLM-L6-v2 unless set), as the service
    loads it (from its package, hash-checked, ONNX int8 unless POLICYQA_EMBEDDER_BACKEND says
    otherwise), loaded once."""
    from service.engine import load_embedder
    from service.settings import load_settings

    return load_embedder(load_settings())


@pytest.fixture(scope="session")
def default_embedder(embedder):
    """The shipped default model (index/models.py DEFAULT_MODEL), as the service loads it: the
    suite's embedder when that is the default."""
    from index.models import DEFAULT_ALIAS, canonical_name
    from service.engine import load_embedder
    from service.settings import load_settings

    settings = load_settings(model=DEFAULT_ALIAS)
    if canonical_name(settings.model) == embedder.name.split("+")[0]:
        return embedder
    return load_embedder(settings)


@pytest.fixture(scope="session")
def store_env():
    """POLICYQA_* variables putting the servers and builds of the HTTP tests and the treaty gate
    on the vector store under test: FAISS by default; with POLICYQA_TEST_VECTOR_STORE=milvus, the
    Milvus server at POLICYQA_MILVUS_URI (an error, not a skip, when none answers). Collections
    the session made are dropped at its end."""
    try:
        env, problem = store_switch_env(f"policyqa_test_{uuid.uuid4().hex[:8]}"), None
    except StoreSwitchError as exc:
        env, problem = {}, str(exc)
    if problem:
        pytest.fail(problem, pytrace=False)
    yield env
    drop_test_collections(env)


@pytest.fixture()
def on_test_store(store_env, monkeypatch):
    """This process's settings (`load_settings`) on the store under test, for in-process builds
    and servers: the developer's own store variables are set aside for the test."""
    for name in STORE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in store_env.items():
        monkeypatch.setenv(name, value)
    return store_env


@pytest.fixture(scope="session")
def live_server(shared_corpus, tmp_path_factory, store_env):
    root = tmp_path_factory.mktemp("live")
    corpus = copy_documents(shared_corpus, root / "corpus", SERVER_DOCUMENTS)
    server = ServeProcess(root / "index", root / "server.log", corpus=corpus,
                          env={"POLICYQA_ADMIN_KEY": ADMIN_KEY, "POLICYQA_THREADS": "2",
                               **store_env})
    try:
        server.wait_ready(timeout=600)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def small_embedder() -> HashingEmbedder:
    """A deterministic model-free embedder (hashed stemmed words, 64 dimensions), for tests of
    builds and searches that need real similarity but not the real model."""
    return HashingEmbedder()


@pytest.fixture()
def inline_corpus(tmp_path: Path) -> Path:
    """A fresh copy of the six-document inline corpus (tests/inline_corpus.py) with its
    catalogue.toml, in this test's tmp_path: a test may edit or delete its files."""
    return write_inline_corpus(tmp_path / "corpus")
