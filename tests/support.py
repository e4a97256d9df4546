"""Helpers shared by the tests: copying corpus files and running the real server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from eval import server as eval_server
from eval.server import REPO, free_port, scrubbed_environ

__all__ = ["ADMIN_KEY", "REPO", "SERVER_DOCUMENTS", "STORE_SWITCH", "STORE_VARIABLES",
           "TEST_MODEL", "ServeProcess", "StoreSwitchError", "child_environ", "copy_documents",
           "drop_test_collections", "free_port", "store_switch_env"]

# The suite's builds, searches and servers (child processes too) run on all-MiniLM-L6-v2, the
# fast real model: they test mechanics, which any model exercises alike. The treaty gate
# measures the shipped default model (index/models.py DEFAULT_MODEL) itself. POLICYQA_MODEL set
# before pytest starts runs the whole suite on another model.
TEST_MODEL = "minilm"


def suite_model() -> str:
    """The model the suite's builds use: POLICYQA_MODEL (tests/conftest.py sets TEST_MODEL)."""
    return os.environ.get("POLICYQA_MODEL") or TEST_MODEL


def child_environ(**extra: str) -> dict[str, str]:
    """The environment of a `policyqa` child process: none of the developer's POLICYQA_*
    settings, the suite's model, the checkout on PYTHONPATH, then `extra`."""
    return {**scrubbed_environ(), "PYTHONPATH": str(REPO), "POLICYQA_MODEL": suite_model(),
            **extra}


class ServeProcess(eval_server.ServeProcess):
    """eval.server.ServeProcess on the suite's model unless `env` names another."""

    def __init__(self, index_dir: Path, log: Path, *, env=None, **kwargs) -> None:
        super().__init__(index_dir, log, env={"POLICYQA_MODEL": suite_model(), **(env or {})},
                         **kwargs)

# Real documents for the HTTP and browser tests: small enough to embed in about a minute,
# varied enough to cover every reader and citation type.
SERVER_DOCUMENTS = [
    "treaties/refugee_convention_1951.md",
    "treaties/smuggling_of_migrants_protocol_2000.md",
    "pdf/refugee_convention_and_protocol_unhcr.pdf",
    "pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf",
    "legislation/canada/ca_extradition_act_E-23.01.xml",
    "legislation/us/usc_title8_chapter15.md",
]
ADMIN_KEY = "test-admin-key-0123456789"


def copy_documents(source: Path, target: Path, documents: list[str]) -> Path:
    for rel in documents:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, target / rel)
    return target


STORE_SWITCH = "POLICYQA_TEST_VECTOR_STORE"
# The settings that choose and reach a vector store: scrubbed before the test store's are set.
STORE_VARIABLES = ("POLICYQA_VECTOR_STORE", "POLICYQA_MILVUS_URI", "POLICYQA_MILVUS_TOKEN",
                   "POLICYQA_MILVUS_PREFIX")


class StoreSwitchError(RuntimeError):
    """POLICYQA_TEST_VECTOR_STORE asks for a store the tests cannot use."""


def store_switch_env(prefix: str = "policyqa_test") -> dict[str, str]:
    """POLICYQA_* variables putting the servers and builds the tests start on the chosen store.

    POLICYQA_TEST_VECTOR_STORE unset or "faiss": {} (FAISS, the default). "milvus": the Milvus
    server at POLICYQA_MILVUS_URI (and POLICYQA_MILVUS_TOKEN if set), collections named with
    `prefix`; raises StoreSwitchError when no server answers there, since a stage that asked for
    Milvus must not quietly test FAISS or skip.
    """
    kind = os.environ.get(STORE_SWITCH, "").strip().lower() or "faiss"
    if kind == "faiss":
        return {}
    if kind != "milvus":
        raise StoreSwitchError(f"{STORE_SWITCH}={kind!r}: expected faiss or milvus")
    uri = os.environ.get("POLICYQA_MILVUS_URI")
    if not uri:
        raise StoreSwitchError(f"{STORE_SWITCH}=milvus needs POLICYQA_MILVUS_URI "
                               "(bash .ci/milvus-tests starts a server and sets it)")
    from index.stores.milvus_store import server_problem

    token = os.environ.get("POLICYQA_MILVUS_TOKEN", "")
    problem = server_problem(uri, token, timeout=10)
    if problem:
        raise StoreSwitchError(f"{STORE_SWITCH}=milvus: {problem}")
    env = {"POLICYQA_VECTOR_STORE": "milvus", "POLICYQA_MILVUS_URI": uri,
           "POLICYQA_MILVUS_PREFIX": prefix}
    if token:
        env["POLICYQA_MILVUS_TOKEN"] = token
    return env


def drop_test_collections(env: dict[str, str]) -> None:
    """Drops the Milvus collections named with the prefix in `env` (made by `store_switch_env`)."""
    if env.get("POLICYQA_VECTOR_STORE") != "milvus":
        return
    from index.stores.milvus_store import client_for

    client = client_for(env["POLICYQA_MILVUS_URI"], env.get("POLICYQA_MILVUS_TOKEN", ""))
    prefix = env["POLICYQA_MILVUS_PREFIX"] + "_"
    for name in client.list_collections():
        if name.startswith(prefix):
            client.drop_collection(name)
