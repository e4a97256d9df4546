"""HTML reader: the main content's text with h1–h6 structure; page chrome and scripts dropped."""

from __future__ import annotations

import re
from pathlib import Path

import lxml.etree
import lxml.html

from ingest.document import DocumentReadError, ParsedText, TextBuilder
from ingest.readers.headings import Block, emit_blocks, merge_titles, normalize
from ingest.readers.text import MAX_TEXT_BYTES, finish, read_text

_DROP = {"script", "style", "nav", "header", "footer", "aside", "noscript", "template", "svg",
         "form", "head", "iframe", "object", "embed", "canvas", "button", "select", "math"}
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCKS = {"p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table",
           "tr", "thead", "tbody", "tfoot", "caption", "blockquote", "pre", "figure",
           "figcaption", "address", "hr", "details", "summary", "body", "html", "center",
           "fieldset", "legend"}
_CELLS = {"td", "th"}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def _parser() -> lxml.html.HTMLParser:
    return lxml.html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True,
                                huge_tree=False, recover=True)


class _Collector:
    """Turns an element tree into heading and paragraph blocks."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._buf: list[str] = []

    def flush(self) -> None:
        lines = [normalize(line) for line in "".join(self._buf).split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            self.blocks.append(Block(text))
        self._buf.clear()

    def walk(self, el: lxml.html.HtmlElement) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if not tag or tag in _DROP or el.get("hidden") is not None:
            return
        if tag in _HEADINGS:
            self.flush()
            text = normalize(el.text_content())
            if text:
                self.blocks.append(Block(text, level=_HEADINGS[tag]))
            return
        if tag == "br":
            self._buf.append("\n")
            return
        block = tag in _BLOCKS
        if block:
            self.flush()
        if tag in _CELLS and self._buf and "".join(self._buf).strip():
            self._buf.append(" | ")
        self._buf.append(el.text or "")
        for child in el:
            self.walk(child)
            self._buf.append(child.tail or "")
        if block:
            self.flush()


def _content_roots(doc: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    # Prefer the page's main content over its chrome when the page marks it.
    for query in ("//main", "//article[not(ancestor::article)]"):
        found = doc.xpath(query)
        if found:
            return found if "article" in query else found[:1]
    body = doc.find("body")
    return [body if body is not None else doc]


def _title(doc: lxml.html.HtmlElement) -> str | None:
    title = doc.find(".//title")
    if title is not None and normalize(title.text_content()):
        return normalize(title.text_content())
    for h1 in doc.iter("h1"):
        text = normalize(h1.text_content())
        if text:
            return text
    return None


class HtmlReader:
    format = "html"
    suffixes = (".html", ".htm")

    def __init__(self, max_bytes: int = MAX_TEXT_BYTES) -> None:
        self.max_bytes = max_bytes

    def read(self, path: Path) -> ParsedText:
        text, warnings = read_text(path, self.max_bytes)
        text = _XML_DECL.sub("", text, count=1)
        if not text.strip():
            raise DocumentReadError("file has no text")
        try:
            doc = lxml.html.document_fromstring(text, parser=_parser())
        except (lxml.etree.ParserError, ValueError) as exc:
            raise DocumentReadError(f"malformed HTML: {exc}") from exc
        collector = _Collector()
        try:
            for root in _content_roots(doc):
                collector.walk(root)
                collector.flush()
        except RecursionError as exc:
            raise DocumentReadError("HTML is nested too deeply to read") from exc
        blocks = merge_titles(collector.blocks)
        builder = TextBuilder()
        emit_blocks(builder, blocks)
        return finish(builder, _title(doc), warnings)
