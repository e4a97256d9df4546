"""One root error: every project error derives from PolicyQAError and has an HTTP status."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from fastapi.testclient import TestClient

import index
import ingest
import service
from index.generations import BuildLockedError, NoIndexLoadedError
from ingest.errors import PolicyQAError
from service.app import ERROR_STATUS, create_app, error_status
from service.engine import AnswerEngine, QuestionError
from service.settings import Settings

# Errors the HTTP service never meets: the command line's own.
COMMAND_LINE_ONLY = {"service.cli"}


def _project_errors() -> list[type[PolicyQAError]]:
    for package in (ingest, index, service):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found, todo = [], [PolicyQAError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return [cls for cls in found if cls.__module__.split(".")[0] in ("ingest", "index", "service")
            and cls.__module__ not in COMMAND_LINE_ONLY]


def test_the_known_errors_share_one_root():
    from eval.datasets import EvalSetError
    from eval.server import ServerError
    from index.builder import BuildError
    from index.embedder import ModelError
    from index.generations import IndexNotFoundError
    from ingest.catalogue import CatalogueError
    from ingest.document import DocumentReadError
    from service.cli import CliError
    from service.settings import SettingsError

    for cls in (DocumentReadError, CatalogueError, IndexNotFoundError, BuildLockedError,
                NoIndexLoadedError, ModelError, BuildError, CliError, SettingsError,
                QuestionError, EvalSetError, ServerError):
        assert issubclass(cls, PolicyQAError), cls
    assert issubclass(QuestionError, ValueError)  # callers that caught ValueError still do
    assert issubclass(ServerError, RuntimeError)


def test_every_project_error_has_its_own_status():
    errors = _project_errors()
    assert len(errors) >= 9
    fallback = ERROR_STATUS[PolicyQAError]
    for cls in errors:
        status, code = error_status(cls("x"))
        assert (status, code) != fallback, f"{cls.__module__}.{cls.__name__} has no status"
        assert 400 <= status < 600 and code.isidentifier()


def test_a_subclass_takes_its_nearest_base_entry():
    class Narrower(QuestionError):
        pass

    assert error_status(Narrower("x")) == (422, "invalid_question")
    assert error_status(PolicyQAError("x")) == (500, "internal_error")


@pytest.fixture()
def client(tmp_path, embedder):
    settings = Settings(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus")
    engine = AnswerEngine(settings, embedder=embedder)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as c:
        yield c, engine


def test_no_index_is_503_no_index(client):
    c, _ = client
    response = c.post("/v1/ask", json={"question": "asylum"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "no_index"
    assert "policyqa index build" in response.json()["error"]["message"]


@pytest.mark.parametrize(("error", "status", "code"), [
    (QuestionError("unknown mode"), 422, "invalid_question"),
    (NoIndexLoadedError("not yet"), 503, "no_index"),
    (BuildLockedError("busy"), 409, "build_locked"),
])
def test_the_handler_maps_what_the_engine_raises(client, monkeypatch, error, status, code):
    c, engine = client

    def ask(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(engine, "ask", ask)
    response = c.get("/v1/ask", params={"q": "asylum"})
    assert response.status_code == status, response.text
    assert response.json() == {"error": {"code": code, "message": str(error)}}


def test_the_cli_reports_any_project_error_in_one_line(tmp_path, capsys):
    """A broken catalogue is a CatalogueError, which the old list of caught classes missed."""
    from service.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "catalogue.toml").write_text("[[instrument]\nfile = ", encoding="utf-8")
    code = main(["corpus", "fetch", "--corpus", str(corpus), "--index-dir", str(tmp_path / "i")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("policyqa: error:") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
