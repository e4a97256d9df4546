"""The web page at GET /, driven by a real headless Chromium against a live server and index.

Needs selenium (`pip install selenium`), Debian's chromium and chromedriver, and the session
fixture `live_server` (an object with `.base_url`, serving an index that includes
treaties/refugee_convention_1951.md and pdf/refugee_convention_and_protocol_unhcr.pdf).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOT = Path("/tmp/policyqa-page.png")
REFOULEMENT_QUESTION = "Can a refugee be expelled to a country where his life would be threatened?"
UNHCR_PDF = "pdf/refugee_convention_and_protocol_unhcr.pdf"
OFFLINE_RULES = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"
SWAGGER_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

# CI installs the browser and sets POLICYQA_REQUIRE_BROWSER, so a missing one fails there.
_MISSING = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
if _MISSING and os.environ.get("POLICYQA_REQUIRE_BROWSER"):
    raise RuntimeError(f"browser tests required but {', '.join(_MISSING)} missing")
pytestmark = pytest.mark.skipif(bool(_MISSING), reason=f"{', '.join(_MISSING)} not installed")


@pytest.fixture(scope="module")
def driver():
    profile = tempfile.mkdtemp(prefix="policyqa-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-proxy-server",
                # The network closed: no host name but the live server's resolves, so a page
                # that needs a CDN stays blank here as it would on an offline machine.
                f"--host-resolver-rules={OFFLINE_RULES}",
                "--window-size=1280,1800", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options,
                               service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _open_page(driver, base_url: str) -> None:
    driver.get(base_url.rstrip("/") + "/")
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "form#ask-form"))
    driver.get_log("browser")  # start each test with an empty console log


def _ask(driver, question: str) -> None:
    box = driver.find_element(By.ID, "question")
    box.clear()
    box.send_keys(question)
    driver.find_element(By.CSS_SELECTOR, "form#ask-form button[type=submit]").click()


def _wait_done(driver) -> None:
    """Until the page shows passages, an answer with none, or an error."""
    def done(d):
        if d.find_element(By.ID, "error").text.strip():
            return True
        return "took" in d.find_element(By.ID, "meta").text

    WebDriverWait(driver, 30).until(done)


def _console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser")
            if e.get("level") == "SEVERE" and "favicon.ico" not in e.get("message", "")]


def _fetch(url: str):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return opener.open(url, timeout=30)


def test_question_shows_cited_passages_with_highlights_and_source_links(driver, live_server):
    base_url = live_server.base_url.rstrip("/")
    _open_page(driver, base_url)
    assert driver.find_element(By.CSS_SELECTOR, "label[for=question]").text
    _ask(driver, REFOULEMENT_QUESTION)
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results .passage"))
    _wait_done(driver)
    driver.save_screenshot(str(SCREENSHOT))

    passages = driver.find_elements(By.CSS_SELECTOR, "#results .passage")
    assert passages
    assert driver.find_element(By.ID, "error").text.strip() == ""
    meta = driver.find_element(By.ID, "meta").text
    assert re.search(r"took \d+ ms · generation \d+ · \d+ documents?", meta), meta

    citations = [p.find_element(By.CSS_SELECTOR, ".citation").text for p in passages]
    assert any("Article 33" in c for c in citations), citations

    marks = driver.find_elements(By.CSS_SELECTOR, "#results .passage mark")
    assert marks, "no highlighted text"
    for passage in passages:
        text = passage.find_element(By.CSS_SELECTOR, ".text").get_attribute("textContent")
        for mark in passage.find_elements(By.CSS_SELECTOR, "mark"):
            marked = mark.get_attribute("textContent")
            assert marked and marked in text

    for passage in passages:
        link = passage.find_element(By.CSS_SELECTOR, "a.source-link")
        href = link.get_attribute("href")
        assert href.startswith(base_url + "/v1/documents/"), href
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in link.get_attribute("rel")

    pdf_links = [a.get_attribute("href")
                 for a in driver.find_elements(By.CSS_SELECTOR, "#results a.source-link")
                 if UNHCR_PDF in a.get_attribute("href")]
    if pdf_links:
        href = pdf_links[0]
        assert re.search(r"/file#page=\d+$", href), href
        pdf_passage = next(p for p in passages if p.find_element(
            By.CSS_SELECTOR, "a.source-link").get_attribute("href") == href)
        page = href.rsplit("#page=", 1)[1]
        assert f"PDF page {page}" in pdf_passage.find_element(By.CSS_SELECTOR, ".citation").text
        with _fetch(href.split("#", 1)[0]) as response:
            assert response.status == 200
            assert response.headers.get_content_type() == "application/pdf"
            assert response.read(5) == b"%PDF-"

    assert _console_errors(driver) == []


def test_empty_question_shows_an_error_and_no_passages(driver, live_server):
    _open_page(driver, live_server.base_url)
    _ask(driver, "   ")
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "error").text.strip())
    error = driver.find_element(By.ID, "error")
    assert error.get_attribute("role") == "alert"
    assert "question" in error.text.lower()
    assert driver.find_elements(By.CSS_SELECTOR, "#results .passage") == []
    # An error from the API itself ({"error": {"code", "message"}}) shows the same way.
    driver.execute_script("var k = document.getElementById('k');"
                          "k.options[k.selectedIndex].value = '99';")
    _ask(driver, "refoulement")
    WebDriverWait(driver, 30).until(
        lambda d: "invalid_request" in d.find_element(By.ID, "error").text)
    assert driver.find_elements(By.CSS_SELECTOR, "#results .passage") == []
    # The page still works afterwards.
    _open_page(driver, live_server.base_url)
    _ask(driver, "refoulement")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results .passage"))
    assert driver.find_element(By.ID, "error").text.strip() == ""
    assert _console_errors(driver) == []


def test_markup_in_the_question_is_shown_as_text(driver, live_server):
    _open_page(driver, live_server.base_url)
    payload = "<script>alert(1)</script>"
    _ask(driver, f"{payload} expulsion of refugees <img src=x onerror=alert(2)>")
    _wait_done(driver)
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 - the property raises when no alert is open
    asked = driver.find_element(By.ID, "asked")
    assert payload in asked.text
    assert asked.find_elements(By.CSS_SELECTOR, "script, img") == []
    assert driver.find_elements(By.CSS_SELECTOR, "main script, main img") == []
    assert _console_errors(driver) == []


def test_api_docs_render_from_the_servers_own_files_with_the_network_closed(driver, live_server):
    base_url = live_server.base_url.rstrip("/")
    driver.get("about:blank")  # no page's Content-Security-Policy: only the network can refuse
    blocked = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {mode: 'no-cors'}).then(() => done('reached'), () => done('blocked'));",
        SWAGGER_CDN)
    assert blocked == "blocked", "the browser can reach a CDN: this test would prove nothing"
    driver.get_log("browser")  # the refused fetch's console error is the probe's, not the page's
    driver.get(base_url + "/docs")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#swagger-ui .opblock-summary-path"))
    assert "/v1/ask" in driver.find_element(By.ID, "swagger-ui").text
    paths = {e.get_attribute("data-path") for e in
             driver.find_elements(By.CSS_SELECTOR, "#swagger-ui .opblock-summary-path")}
    assert {"/v1/ask", "/v1/documents", "/v1/documents/{document_id}/text"} <= paths, paths
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(base_url + "/") for url in loaded), loaded
    assert _console_errors(driver) == []


# axe-core from the npm registry (`make test` installs it into .venv/node); its WCAG 2.1 A/AA
# and best-practice rules cover contrast, labels, focus order, landmarks and ARIA use.
AXE_JS = Path(os.environ.get("POLICYQA_AXE_JS")
              or Path(__file__).resolve().parents[2] / ".venv" / "node" / "node_modules"
              / "axe-core" / "axe.min.js")


def _axe_violations(driver) -> list[str]:
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}).then(function (r) { done(r); })"
        ".catch(function (e) { done({error: String(e)}); });")
    assert "error" not in result, result.get("error")
    assert result["passes"], "axe ran no rule"
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[n['target'] for n in v['nodes'][:3]]}" for v in result["violations"]]


def test_page_with_results_passes_the_axe_accessibility_rules(driver, live_server):
    if not AXE_JS.is_file():
        if os.environ.get("POLICYQA_REQUIRE_BROWSER"):
            raise RuntimeError(f"browser tests required but {AXE_JS} is missing")
        pytest.skip(f"axe-core not installed at {AXE_JS} (`make test` installs it)")
    driver.get(live_server.base_url.rstrip("/") + "/?q=" +
               urllib.parse.quote(REFOULEMENT_QUESTION) + "&k=5")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results .passage"))
    _wait_done(driver)
    assert _axe_violations(driver) == []
    # Keyboard: the skip link is the first stop, and it leads to the results.
    driver.find_element(By.TAG_NAME, "body").send_keys("\t")
    focused = driver.switch_to.active_element
    assert focused.get_attribute("class") == "skip" and focused.is_displayed()


def test_citation_leads_with_the_short_title_reads_as_paragraphs_and_copies(driver, live_server):
    base_url = live_server.base_url.rstrip("/")
    _open_page(driver, base_url)
    _ask(driver, "Which Member State is responsible for examining an application for "
         "international protection lodged by an unaccompanied minor?")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results .passage"))
    _wait_done(driver)
    # The page state is in the address, so a result can be shared as a link.
    assert "q=Which+Member+State" in driver.current_url and "k=5" in driver.current_url
    dublin = [p for p in driver.find_elements(By.CSS_SELECTOR, "#results .passage")
              if "eu_dublin" in p.find_element(By.CSS_SELECTOR, ".document-id").text]
    assert dublin, "no Dublin III passage for a Dublin question"
    passage = dublin[0]
    name = passage.find_element(By.CSS_SELECTOR, ".citation .title")
    assert name.text == "Dublin III Regulation (EU) No 604/2013"  # the catalogue's short title
    full = passage.find_element(By.CSS_SELECTOR, ".citation .full-title").text
    assert full.startswith("Regulation (EU) No 604/2013") and name.get_attribute("title") == full
    assert re.fullmatch(r"pp?\. \d+(–\d+)?", passage.find_element(By.CSS_SELECTOR, ".page").text)
    # Column line breaks are joined: the OJ's two narrow columns read as paragraphs.
    shown = passage.find_element(By.CSS_SELECTOR, ".text").get_attribute("textContent")
    lines = [line for line in shown.split("\n") if line.strip()]
    assert max(len(line) for line in lines) > 150, lines[:5]

    driver.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": base_url, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    button = passage.find_element(By.CSS_SELECTOR, "button.copy-citation")
    expected = button.get_attribute("data-citation")
    assert expected.startswith("Dublin III Regulation (EU) No 604/2013, ") and "[pdf/" in expected
    button.click()
    WebDriverWait(driver, 10).until(lambda d: button.text in ("copied", "copy failed"))
    assert button.text == "copied"
    pasted = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "navigator.clipboard.readText().then(done, e => done('unreadable: ' + e));")
    assert pasted == expected
    assert _console_errors(driver) == []


def test_references_link_to_a_search_for_the_referenced_provision(driver, live_server):
    _open_page(driver, live_server.base_url)
    _ask(driver, "Which Member State is responsible for examining an application for "
         "international protection lodged by an unaccompanied minor?")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results .passage"))
    _wait_done(driver)
    links = driver.find_elements(By.CSS_SELECTOR, "#results .references a.reference")
    assert links, "no passage shows the provisions it refers to"
    link = links[0]
    label = link.text
    assert re.match(r"Regulation \(EU\) No 604/2013, Art\. \d+", label), label
    assert "in the text" in link.get_attribute("title")
    assert "q=Regulation" in link.get_attribute("href")
    if AXE_JS.is_file():
        assert _axe_violations(driver) == []  # the links among them too
    link.click()
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.ID, "question").get_attribute("value") == label)
    _wait_done(driver)
    assert driver.find_elements(By.CSS_SELECTOR, "#results .passage")
    assert _console_errors(driver) == []


def test_citation_shows_its_label_and_what_the_source_says_of_its_force(driver, live_server):
    _open_page(driver, live_server.base_url.rstrip("/"))
    _ask(driver, "When must the Minister refuse to make a surrender order under the "
         "Extradition Act?")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results .passage"))
    _wait_done(driver)
    act = [p for p in driver.find_elements(By.CSS_SELECTOR, "#results .passage")
           if "ca_extradition_act" in p.find_element(By.CSS_SELECTOR, ".document-id").text]
    assert act, "no Extradition Act passage for an Extradition Act question"
    label = act[0].find_element(By.CSS_SELECTOR, ".citation .label").text
    # One section and its subsection path, or the sections a passage running from one into
    # the next spans ("ss. 43–44").
    assert re.fullmatch(r"Cite as: Extradition Act, (s\. \d+(\.\d+)?(\([0-9a-z.]+\))*"
                        r"|ss\. \d+(\.\d+)?–\d+(\.\d+)?)", label), label
    # Justice Canada XML says the Act is in force and when it was last amended.
    force = act[0].find_element(By.CSS_SELECTOR, ".citation .in-force").text
    assert force.startswith("In force") and force.endswith("act last amended 2005-07-19")
    assert not driver.find_elements(By.CSS_SELECTOR, ".citation .not-in-force")
    assert _console_errors(driver) == []


def test_a_passage_found_in_two_copies_links_the_other(driver, live_server):
    base_url = live_server.base_url.rstrip("/")
    _open_page(driver, base_url)
    _ask(driver, "Can refugees be punished for entering the country illegally?")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#results .passage"))
    _wait_done(driver)
    blocks = driver.find_elements(By.CSS_SELECTOR, "#results .passage .also-in")
    assert blocks, "no passage lists another copy of its instrument"
    assert blocks[0].text.startswith("Also in: Refugee Convention")
    link = blocks[0].find_element(By.CSS_SELECTOR, "a.also-in-copy")
    document_id = link.get_attribute("data-document-id")
    assert document_id in ("treaties/refugee_convention_1951.md", UNHCR_PDF)
    href = link.get_attribute("href")
    assert href.startswith(base_url + "/v1/documents/") and link.get_attribute("target") == "_blank"
    if document_id == UNHCR_PDF:
        assert re.search(r"/file#page=\d+$", href), href  # the copy's own page
    assert "chars " in link.get_attribute("title")
    if AXE_JS.is_file():
        assert _axe_violations(driver) == []
    assert _console_errors(driver) == []
