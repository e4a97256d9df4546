"""HTML reader: page chrome dropped, heading structure kept, hostile markup harmless."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import DocumentReadError, ParsedText, span_at
from ingest.readers.html import HtmlReader

PAGE = """<!DOCTYPE html>
<html><head><title>Asylum Guide</title><style>body { color: red }</style>
<script>alert('x')</script></head>
<body>
<nav><a href="/">Home</a> <a href="/menu">Menu item</a></nav>
<header>Site banner</header>
<h1>Asylum Guide</h1>
<p>Intro <b>text</b> here.<script>alert('inline')</script></p>
<h2>Article  33</h2>
<h3>Prohibition of refoulement</h3>
<p>No Contracting State shall expel.</p>
<h3>Commentary</h3>
<p>First line<br>second line</p>
<table><tr><td>Country</td><td>Status</td></tr><tr><td>Canada</td><td>Party</td></tr></table>
<h2>Article 34</h2>
<ul><li>One</li><li>Two</li></ul>
<aside>Related links</aside><form><input value="search">Search box</form>
<footer>Copyright</footer><noscript>Enable JS</noscript>
</body></html>
"""


def assert_well_formed(parsed: ParsedText) -> None:
    assert parsed.text.strip()
    assert parsed.pages is None
    prev_end = 0
    for span in parsed.sections:
        assert 0 <= span.start < span.end <= len(parsed.text)
        assert span.start >= prev_end
        prev_end = span.end


def path_of(parsed: ParsedText, needle: str) -> tuple[str, ...]:
    offset = parsed.text.find(needle)
    assert offset >= 0, f"{needle!r} not in text"
    return span_at(parsed.sections, offset).path


def read(tmp_path: Path, html: str | bytes, name: str = "page.html") -> ParsedText:
    source = tmp_path / name
    if isinstance(html, str):
        source.write_text(html, encoding="utf-8")
    else:
        source.write_bytes(html)
    return HtmlReader().read(source)


def test_chrome_and_scripts_are_dropped(tmp_path: Path) -> None:
    parsed = read(tmp_path, PAGE)
    for absent in ("alert", "Menu item", "Site banner", "Related links", "Search box",
                   "Copyright", "Enable JS", "color: red"):
        assert absent not in parsed.text, absent
    assert parsed.title == "Asylum Guide"
    assert_well_formed(parsed)


def test_heading_structure(tmp_path: Path) -> None:
    parsed = read(tmp_path, PAGE)
    article_33 = "Article 33 \u2013 Prohibition of refoulement"
    assert path_of(parsed, "No Contracting State shall expel.") == (article_33,)
    assert path_of(parsed, "First line\nsecond line") == (article_33, "Commentary")
    assert path_of(parsed, "Canada | Party") == (article_33, "Commentary")
    assert path_of(parsed, "One\n\nTwo") == ("Article 34",)
    assert path_of(parsed, "Intro text here.") == ("Asylum Guide",)


def test_plain_h2_sections_nest_under_h1(tmp_path: Path) -> None:
    parsed = read(tmp_path, "<h1>Guide</h1><h2>Scope</h2><p>Body one.</p><h2>Use</h2><p>Two.</p>")
    assert path_of(parsed, "Body one.") == ("Guide", "Scope")
    assert path_of(parsed, "Two.") == ("Guide", "Use")
    assert parsed.title == "Guide"


def test_main_element_is_preferred(tmp_path: Path) -> None:
    parsed = read(tmp_path, "<body><div>Cookie banner</div><main><h2>Real</h2><p>Content.</p>"
                            "</main><div>Sidebar</div></body>")
    assert "Cookie banner" not in parsed.text and "Sidebar" not in parsed.text
    assert path_of(parsed, "Content.") == ("Real",)
    assert parsed.title == None  # noqa: E711 - no <title> and no h1


def test_external_entities_are_not_loaded(tmp_path: Path) -> None:
    hostile = ('<?xml version="1.0"?><!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
               "<html><body><p>Before &xxe; after</p></body></html>")
    parsed = read(tmp_path, hostile)
    assert "root:" not in parsed.text
    assert "Before" in parsed.text


def test_invalid_utf8_html_reads_with_warning(tmp_path: Path) -> None:
    parsed = read(tmp_path, b"<html><body><h2>T\xe9st</h2><p>Body</p></body></html>", "bad.htm")
    assert parsed.warnings == ["invalid UTF-8 replaced at 1 places"]
    assert path_of(parsed, "Body") == ("T\ufffdst",)


def test_page_without_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentReadError, match="no text"):
        read(tmp_path, "<html><body><script>var x = 1;</script></body></html>")
