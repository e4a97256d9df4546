"""The real server over HTTP: answers with citations, filters, budgets, errors and rebuilds."""

from __future__ import annotations

import http.client
import threading
import time

import httpx
import pytest

from ingest.tokens import count_tokens
from tests.support import ADMIN_KEY, copy_documents

REFOULEMENT = "Can a refugee be expelled to a country where his life would be threatened?"


@pytest.fixture(scope="module")
def client(live_server):
    with httpx.Client(base_url=live_server.base_url, timeout=60) as c:
        yield c


def ask(client, **body):
    response = client.post("/v1/ask", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    assert "Traceback" not in response.text
    return body["error"]


def test_the_served_index_is_on_the_store_under_test(client, live_server, store_env):
    """FAISS by default; Milvus in .ci/milvus-tests: the stage must not pass on FAISS by mistake."""
    from index.generations import current_generation, read_manifest

    live = current_generation(live_server.index_dir)
    wanted = store_env.get("POLICYQA_VECTOR_STORE", "faiss")
    assert read_manifest(live).fingerprint.store == wanted
    assert (live / "milvus.json").exists() == (wanted == "milvus")
    assert ask(client, question="refugee")["index"]["generation"] == read_manifest(live).generation


def test_refoulement_question_cites_article_33(client):
    data = ask(client, question=REFOULEMENT, k=5)
    assert set(data) == {"question", "mode", "took_ms", "index", "passages", "warnings"}
    assert data["mode"] == "hybrid" and data["index"]["documents"] >= 6
    top = data["passages"][0]
    assert "Article 33" in top["citation"]["section"]
    assert top["citation"]["document_id"] in ("treaties/refugee_convention_1951.md",
                                              "pdf/refugee_convention_and_protocol_unhcr.pdf")
    assert set(top["citation"]) == {"document_id", "title", "source_path", "section",
                                    "page_start", "page_end", "page_label_start",
                                    "page_label_end", "char_start", "char_end", "short_title",
                                    "printed_pages", "text", "label", "ocr", "in_force",
                                    "in_force_since", "last_amended"}
    assert top["citation"]["label"].startswith("Refugee Convention, Art. 33")
    assert set(top) == {"rank", "score", "text", "highlights", "citation", "display_text",
                        "defined_terms", "references", "also_in"}
    for p in data["passages"]:
        for r in p["references"]:
            assert set(r) == {"text", "start", "end", "document_id", "section", "label"}
            assert p["text"][r["start"]:r["end"]] == r["text"] and r["label"]
    assert len(top["display_text"]) == len(top["text"])
    # The booklet's Article 33, a passage of its own or the same text listed under the
    # Markdown copy's (the collapse stage), cites its PDF page and printed page.
    booklet = [c for p in data["passages"] for c in (p["citation"], *p["also_in"])
               if c["document_id"].endswith("unhcr.pdf") and "Article 33" in c["section"]]
    assert booklet, "the UNHCR booklet's Article 33 should be among the top five"
    assert booklet[0]["page_start"] == 32
    assert booklet[0]["page_label_start"] == "30"
    md = [p for p in data["passages"] if p["citation"]["document_id"].endswith(".md")]
    assert all(p["citation"]["page_start"] is None for p in md)


def test_the_same_article_in_two_copies_is_one_passage_listing_the_other(client):
    data = ask(client, question="Can refugees be punished for entering the country illegally?",
               k=5)
    article_31 = [p for p in data["passages"] if "Article 31" in p["citation"]["section"]]
    assert len(article_31) == 1, [p["citation"]["text"] for p in data["passages"]]
    passage = article_31[0]
    [copy] = passage["also_in"]
    assert {passage["citation"]["document_id"], copy["document_id"]} == {
        "treaties/refugee_convention_1951.md", "pdf/refugee_convention_and_protocol_unhcr.pdf"}
    assert set(copy) == set(passage["citation"])  # a citation of its own, every field
    assert "Article 31" in copy["section"]
    assert copy["label"].startswith("Refugee Convention, Art. 31")
    text = client.get(f"/v1/documents/{copy['document_id']}/text").json()["text"]
    assert "penalties" in text[copy["char_start"]:copy["char_end"]]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    also_in = schemas["Passage"]["properties"]["also_in"]
    assert "other copies" in also_in["description"]
    assert also_in["items"] == {"$ref": "#/components/schemas/Citation"}


def test_dublin_article_21_cites_official_journal_page(client):
    data = ask(client, question="Art. 21 Dublin III take charge request deadline", k=3)
    top = data["passages"][0]["citation"]
    assert top["document_id"] == "pdf/eu_dublin_iii_regulation_604_2013_oj_l180.pdf"
    assert "Article 21" in top["section"]
    first = [p for p in data["passages"] if "Article 21" in p["citation"]["section"]]
    assert min(p["citation"]["page_start"] for p in first) == 13
    assert "43" in {p["citation"]["page_label_start"] for p in first}


@pytest.mark.parametrize("question, document, section", [
    ("What does Article 31 of the Refugee Convention say?", "refugee_convention", "Article 31"),
    ("Art. 28 Dublin III", "dublin_iii", "Article 28"),
    ("What is in 8 U.S.C. 1732?", "usc_title8_chapter15", "§ 1732"),
    ("Article 6 of the Smuggling of Migrants Protocol", "smuggling", "Article 6"),
])
def test_named_provision_ranks_first(client, question, document, section):
    data = ask(client, question=question, k=3)
    top = data["passages"][0]["citation"]
    assert document in top["document_id"]
    assert any(part.startswith(section) for part in top["section"].split(" > ")), top


def test_document_and_catalogue_filters(client):
    only = "treaties/smuggling_of_migrants_protocol_2000.md"
    data = ask(client, question=REFOULEMENT, k=5, filters={"document_ids": [only]})
    assert {p["citation"]["document_id"] for p in data["passages"]} == {only}
    eu = ask(client, question="responsibility for examining an asylum application", k=5,
             filters={"jurisdiction": ["eu"]})
    assert eu["passages"] and all("dublin" in p["citation"]["document_id"]
                                  for p in eu["passages"])
    none = ask(client, question="extradition", k=5, filters={"year": [1800]})
    assert none["passages"] == []
    assert none["warnings"] == ["year 1800 matches no indexed document"]
    assert eu["warnings"] == data["warnings"] == []
    # Every field at once, in another case: still the Dublin III regulation (on Milvus, one
    # expression over the fields kept beside its vectors).
    dublin = ask(client, question="responsibility for examining an asylum application", k=5,
                 mode="dense", filters={"jurisdiction": ["EU", "canada"], "year": [2013],
                                        "instrument_type": ["Regulation"]})
    assert dublin["passages"] and all("dublin" in p["citation"]["document_id"]
                                      for p in dublin["passages"])
    apart = ask(client, question="asylum", k=5, mode="dense",
                filters={"document_ids": [only], "jurisdiction": ["eu"]})
    assert apart["passages"] == []
    assert apart["warnings"] == ["no indexed document passes all the filters together"]


def test_in_force_filter_and_citation_fields(client):
    question = "extradition surrender order refused unjust or oppressive"
    statute = ask(client, question=question, k=5, filters={"in_force": ["true"]})
    assert statute["passages"]
    for p in statute["passages"]:
        c = p["citation"]
        assert c["document_id"] == "legislation/canada/ca_extradition_act_E-23.01.xml"
        assert c["in_force"] == "true" and c["last_amended"] == "2005-07-19"
        assert c["in_force_since"] is None or len(c["in_force_since"]) == 10
    # Treaties say nothing of their status; "any" (a bare string is a list of one) keeps all.
    everything = ask(client, question=REFOULEMENT, k=10, filters={"in_force": "any"})
    assert {"unknown"} <= {p["citation"]["in_force"] for p in everything["passages"]}


def test_highlights_lie_inside_the_passage(client):
    data = ask(client, question="penalties on refugees for illegal entry or presence", k=5)
    for p in data["passages"]:
        assert 1 <= len(p["highlights"]) <= 3
        for start, end in p["highlights"]:
            assert 0 <= start < end <= len(p["text"])
    top = data["passages"][0]
    marked = " ".join(top["text"][s:e] for s, e in top["highlights"]).lower()
    assert "penalties" in marked or "illegal" in marked


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_modes(client, mode):
    data = ask(client, question="smuggling of migrants by sea", k=4, mode=mode)
    assert data["mode"] == mode and len(data["passages"]) == 4
    assert [p["rank"] for p in data["passages"]] == [1, 2, 3, 4]
    scores = [p["score"] for p in data["passages"]]
    assert scores == sorted(scores, reverse=True)


def test_context_budget(client):
    data = ask(client, question=REFOULEMENT, k=10, max_context_tokens=300)
    total = sum(count_tokens(p["text"]) for p in data["passages"])
    assert data["passages"] and total <= 300
    tiny = ask(client, question=REFOULEMENT, k=10, max_context_tokens=1)
    assert tiny["passages"] == []


def test_get_ask(client):
    response = client.get("/v1/ask", params={"q": REFOULEMENT, "k": 2, "mode": "dense"})
    assert response.status_code == 200
    assert len(response.json()["passages"]) == 2


@pytest.mark.parametrize("body, status, code", [
    ({"question": ""}, 422, "invalid_request"),
    ({"question": "   "}, 422, "invalid_request"),
    ({"question": "x" * 2001}, 422, "invalid_request"),
    ({"question": "asylum", "k": 0}, 422, "invalid_request"),
    ({"question": "asylum", "k": 51}, 422, "invalid_request"),
    ({"question": "asylum", "k": "five"}, 422, "invalid_request"),
    ({"question": "asylum", "mode": "magic"}, 422, "invalid_request"),
    ({"question": "asylum", "filters": {"colour": ["red"]}}, 422, "invalid_request"),
    ({"question": "asylum", "filters": {"in_force": ["repealed"]}}, 422, "invalid_request"),
    ({"question": "asylum", "surprise": 1}, 422, "invalid_request"),
    ({"question": "asylum", "max_context_tokens": 0}, 422, "invalid_request"),
    ({}, 422, "invalid_request"),
    ([1, 2], 422, "invalid_request"),
])
def test_bad_requests_get_json_4xx(client, body, status, code):
    error = error_of(client.post("/v1/ask", json=body), status)
    assert error["code"] == code


def test_malformed_and_oversized_bodies(client):
    bad = client.post("/v1/ask", content=b'{"question": "asylum",',
                      headers={"content-type": "application/json"})
    assert error_of(bad, 400)["code"] == "malformed_json"
    huge = client.post("/v1/ask", content=b'{"question": "' + b"a" * 200_000 + b'"}',
                       headers={"content-type": "application/json"})
    assert error_of(huge, 413)["code"] == "body_too_large"
    assert error_of(client.get("/v1/ask"), 422)["code"] == "invalid_request"
    assert error_of(client.get("/v1/ask", params={"q": "a", "k": 99}), 422)
    assert error_of(client.delete("/v1/ask"), 405)["code"] == "method_not_allowed"
    assert error_of(client.get("/nowhere"), 404)["code"] == "not_found"


def test_documents(client, live_server):
    docs = client.get("/v1/documents").json()
    ids = {d["id"] for d in docs}
    assert "pdf/refugee_convention_and_protocol_unhcr.pdf" in ids
    booklet = client.get("/v1/documents/pdf/refugee_convention_and_protocol_unhcr.pdf").json()
    assert booklet["format"] == "pdf" and booklet["pages"] >= 50 and booklet["chunks"] > 10
    assert len(booklet["hash"]) == 64
    md = next(d for d in docs if d["id"] == "treaties/refugee_convention_1951.md")
    assert md["pages"] is None and md["title"] == "Convention relating to the Status of Refugees"
    assert error_of(client.get("/v1/documents/nope.pdf"), 404)["code"] == "not_found"
    pdf = client.get("/v1/documents/pdf/refugee_convention_and_protocol_unhcr.pdf/file")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == (live_server.corpus / "pdf/refugee_convention_and_protocol_unhcr.pdf"
                           ).read_bytes()
    text = client.get("/v1/documents/treaties/refugee_convention_1951.md/file")
    assert text.headers["content-type"].startswith("text/plain")


def _page_at(pages: list[dict], offset: int) -> dict:
    """The page span holding the character at `offset` (empty spans hold none)."""
    holding = [p for p in pages if p["start"] <= offset < p["end"]]
    assert len(holding) == 1, (offset, holding)
    return holding[0]


def test_document_text_is_what_passage_offsets_point_into(client):
    texts: dict[str, dict] = {}
    passages = [p for q in (REFOULEMENT, "Art. 21 Dublin III take charge request deadline",
                            "definition of a refugee")
                for p in ask(client, question=q, k=10)["passages"]]
    for passage in passages:
        c = passage["citation"]
        if c["document_id"] not in texts:
            response = client.get(f"/v1/documents/{c['document_id']}/text")
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/json"
            texts[c["document_id"]] = response.json()
        document = texts[c["document_id"]]
        assert document["id"] == c["document_id"]
        assert document["text"][c["char_start"]:c["char_end"]] == passage["text"]
        if c["page_start"] is None:
            assert document["pages"] is None
            continue
        first = _page_at(document["pages"], c["char_start"])
        last = _page_at(document["pages"], c["char_end"] - 1)
        assert (first["index"], first["label"]) == (c["page_start"], c["page_label_start"])
        assert (last["index"], last["label"]) == (c["page_end"], c["page_label_end"])
    pdfs = [d for d in texts.values() if d["pages"] is not None]
    assert pdfs and any(not d["id"].endswith(".pdf") for d in texts.values())
    for document in pdfs:  # the spans tile the text in order
        pages = document["pages"]
        assert pages[0]["start"] == 0 and pages[-1]["end"] == len(document["text"])
        assert all(a["end"] == b["start"] and a["index"] <= b["index"]
                   for a, b in zip(pages, pages[1:]))
        assert not any(p["ocr"] for p in pages)  # every server document has its text layer


def test_responses_match_their_documented_models(client):
    """The routes return ready JSON without FastAPI re-validating it: the models still hold."""
    from service.api_models import AskResponse, DocumentOut, DocumentText

    schema = client.get("/openapi.json").json()
    for method in ("get", "post"):
        ok = schema["paths"]["/v1/ask"][method]["responses"]["200"]["content"]
        assert ok["application/json"]["schema"] == {"$ref": "#/components/schemas/AskResponse"}
    answer = ask(client, question=REFOULEMENT, k=5)
    assert AskResponse.model_validate(answer).model_dump(mode="json") == answer
    got = client.get("/v1/ask", params={"q": REFOULEMENT, "k": 5})
    assert got.headers["content-type"] == "application/json"
    AskResponse.model_validate(got.json())
    for document in client.get("/v1/documents").json():
        DocumentOut.model_validate(document)
    DocumentText.model_validate(
        client.get("/v1/documents/pdf/refugee_convention_and_protocol_unhcr.pdf/text").json())


def test_document_text_of_an_unknown_id_is_a_json_404(client):
    assert error_of(client.get("/v1/documents/nope.pdf/text"), 404)["code"] == "not_found"
    assert error_of(client.get("/v1/documents/treaties/../../etc/passwd/text"),
                    404)["code"] == "not_found"


def test_document_text_is_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/v1/documents/{document_id}/text"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/DocumentText"}
    assert "404" in operation["responses"]
    model = schema["components"]["schemas"]["DocumentText"]
    assert set(model["properties"]) == {"id", "text", "pages"}
    assert set(schema["components"]["schemas"]["PageSpan"]["properties"]) == {
        "start", "end", "index", "label", "ocr"}


def test_passage_references_are_documented(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "left out" in schemas["Passage"]["properties"]["references"]["description"]
    assert set(schemas["Reference"]["properties"]) == {
        "text", "start", "end", "document_id", "section", "label"}


@pytest.mark.parametrize("path", [
    "/v1/documents/../../../../etc/passwd/file",
    "/v1/documents/%2e%2e/%2e%2e/%2e%2e/etc/passwd/file",
    "/v1/documents/..%2f..%2f..%2fetc%2fpasswd/file",
    "/v1/documents//etc/passwd/file",
    "/v1/documents/treaties/../../index/CURRENT/file",
])
def test_file_endpoint_refuses_traversal(live_server, path):
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=30)
    connection.request("GET", path)  # sent as written: no client-side normalization
    response = connection.getresponse()
    body = response.read()
    assert response.status in (400, 404)
    assert b"root:" not in body and b"gen-" not in body


def test_health_ready_and_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["generation"] >= 1
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/v1/ask" in schema["paths"]


def test_admin_requires_the_bearer_key(client):
    assert error_of(client.post("/v1/index/rebuild"), 401)["code"] == "unauthorized"
    wrong = client.post("/v1/index/rebuild", headers={"Authorization": "Bearer nope"})
    assert error_of(wrong, 401)["code"] == "unauthorized"
    assert error_of(client.get("/v1/index/status"), 401)
    ok = client.get("/v1/index/status", headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert ok.status_code == 200 and ok.json()["generation"] >= 1


def test_rebuild_while_serving_switches_generation(client, live_server, shared_corpus):
    auth = {"Authorization": f"Bearer {ADMIN_KEY}"}
    before = ask(client, question="trafficking in persons", k=3)["index"]
    copy_documents(shared_corpus, live_server.corpus,
                   ["treaties/palermo_trafficking_protocol_2000.md"])
    failures: list[str] = []
    generations: set[int] = set()
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=live_server.base_url, timeout=60) as c:
            while not stop.is_set():
                r = c.post("/v1/ask", json={"question": "trafficking in persons", "k": 3})
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                else:
                    generations.add(r.json()["index"]["generation"])

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    started = client.post("/v1/index/rebuild", headers=auth)
    assert started.status_code == 202, started.text
    again = client.post("/v1/index/rebuild", headers=auth)
    assert again.status_code in (202, 409)
    deadline = time.monotonic() + 300
    while True:
        status = client.get("/v1/index/status", headers=auth).json()
        if status["state"] in ("succeeded", "failed"):
            break
        assert time.monotonic() < deadline, "rebuild did not finish"
        time.sleep(0.3)
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert status["state"] == "succeeded", status
    assert failures == []
    after = ask(client, question="trafficking in persons", k=3)
    assert after["index"]["generation"] > before["generation"]
    assert after["index"]["documents"] == before["documents"] + 1
    assert status["report"]["embedded_chunks"] > 0
    assert status["report"]["unchanged_documents"] == before["documents"]
    assert "palermo" in after["passages"][0]["citation"]["document_id"]
    assert generations <= {before["generation"], after["index"]["generation"]}


def test_admin_endpoints_refuse_everything_without_a_configured_key(live_server, embedder,
                                                                    on_test_store):
    """A second real server over the same index, started in-process, with no admin key."""
    import uvicorn

    from service.app import create_app
    from service.engine import AnswerEngine
    from service.settings import load_settings
    from tests.support import free_port

    settings = load_settings(index_dir=live_server.index_dir, corpus_dir=live_server.corpus,
                             admin_key="")
    app = create_app(settings, AnswerEngine(settings, embedder=embedder))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for headers in ({}, {"Authorization": f"Bearer {ADMIN_KEY}"},
                            {"Authorization": "Bearer anything"}):
                assert error_of(c.post("/v1/index/rebuild", headers=headers),
                                403)["code"] == "admin_disabled"
                assert error_of(c.get("/v1/index/status", headers=headers), 403)
            assert c.get("/readyz").status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=30)
