"""The vector store conformance suite on Milvus. Needs a server: POLICYQA_MILVUS_URI (see
.ci/milvus-tests)."""

from __future__ import annotations

import os
import uuid

import pytest

from index.stores.base import StoreConfig
from index.stores.testing import VectorStoreConformance

URI = os.environ.get("POLICYQA_MILVUS_URI")
if not URI:
    pytest.skip("POLICYQA_MILVUS_URI is not set (.ci/milvus-tests runs a server)",
                allow_module_level=True)
from index.stores.milvus_store import client_for, server_problem  # noqa: E402

_problem = server_problem(URI)
if _problem:
    pytest.skip(_problem, allow_module_level=True)


class TestMilvus(VectorStoreConformance):
    @pytest.fixture
    def store_config(self):
        """Collections named with a prefix of the test's own, all dropped afterwards."""
        prefix = f"policyqa_test_{uuid.uuid4().hex[:12]}"
        yield StoreConfig(kind="milvus", milvus_uri=URI, milvus_prefix=prefix)
        client = client_for(URI)
        for name in client.list_collections():
            if name.startswith(prefix):
                client.drop_collection(name)
