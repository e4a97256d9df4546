"""The HTTP API under generated and hostile requests: no 5xx, body limits, admin key, closed CORS."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.support import ADMIN_KEY

# (generation mode, examples per operation): schema-valid requests, then schema-breaking ones.
BUDGETS = [(GenerationMode.POSITIVE, 50), (GenerationMode.NEGATIVE, 25)]


@pytest.fixture(scope="module")
def client(live_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.base_url, timeout=60) as c:
        yield c


def _check(case) -> None:
    response = case.call(timeout=60)
    where = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}"
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and body["error"]["code"], f"{where}: {response.text[:300]}"


def test_generated_requests_never_get_a_server_error(live_server):
    # schemathesis' pytest loader (from_fixture) fails under pytest 9, so each operation's
    # strategy is driven with hypothesis directly. The rebuild operation stays in: without a key
    # it must answer 401 and never start a build.
    api = schemathesis.openapi.from_url(live_server.base_url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/ask", "/v1/documents", "/v1/index/rebuild"}
    failures: list[str] = []
    for operation in operations:
        for mode, examples in BUDGETS:
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate],  # no shrinking: the case is shown
                      suppress_health_check=list(HealthCheck))
            def run(case) -> None:
                _check(case)

            try:
                run()
            except Unsatisfiable:
                pass  # no parameters and no body: nothing can break this operation's schema
            except Exception as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    assert failures == [], "\n".join(failures)


def _chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    yield b'{"question": "'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}'


def test_chunked_body_over_the_limit_gets_413(client):
    # A generator body goes out with Transfer-Encoding: chunked and no Content-Length.
    response = client.post("/v1/ask", content=_chunks(256 * 1024),
                           headers={"content-type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text[:300]
    assert response.json()["error"]["code"] == "body_too_large"


def test_chunked_body_under_the_limit_is_answered(client):
    body = [b'{"question": ', b'"smuggling of migrants', b' by sea", "k": 2}']
    response = client.post("/v1/ask", content=iter(body),
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()["passages"]) == 2


def test_declared_length_over_the_limit_is_refused_before_reading(live_server):
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    connection.putrequest("POST", "/v1/ask")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10 * 2**30))  # 10 GiB announced, none sent
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    connection.close()


@pytest.mark.parametrize("authorization", [
    f"Bearer {ADMIN_KEY[:-1]}",              # correct prefix, one character short
    f"Bearer {ADMIN_KEY}x",                  # correct prefix, one character long
    f"Bearer {ADMIN_KEY[:-1]}Z",             # same length, last character wrong
    "Bearer k",                              # much shorter
    f"Bearer {ADMIN_KEY * 40}",              # much longer
    f"Basic {ADMIN_KEY}",                    # right key, wrong scheme
    f"Bearer{ADMIN_KEY}",                    # no separator
    "Bearer",
    "",
])
def test_wrong_admin_keys_get_401(client, authorization):
    response = client.get("/v1/index/status", headers={"Authorization": authorization})
    assert response.status_code == 401, response.text[:300]
    assert response.json()["error"]["code"] == "unauthorized"


def test_non_ascii_admin_key_gets_401_not_500(live_server):
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    connection.putrequest("GET", "/v1/index/status")
    connection.putheader("Authorization", b"Bearer \xe9\xff" + ADMIN_KEY.encode())
    connection.endheaders()
    assert connection.getresponse().status == 401
    connection.close()


def test_right_admin_key_passes(client):
    response = client.get("/v1/index/status", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert response.status_code == 200


def test_cors_is_closed_by_default(client):
    preflight = client.options("/v1/ask", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-credentials" not in preflight.headers
    simple = client.get("/v1/documents", headers={"Origin": "https://evil.example"})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
