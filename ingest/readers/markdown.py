"""Markdown reader tolerant of the corpus's malformed headings (`###Article  35`, titles on `####`)."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.document import ParsedText, TextBuilder
from ingest.readers.headings import Block, emit_blocks, keyword_of, merge_titles, normalize
from ingest.readers.text import MAX_TEXT_BYTES, finish, read_text

_HEADING = re.compile(r"^[ ]{0,3}(#+)[ \t]*(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^[ ]{0,3}(```|~~~)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_REF_LINK = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_STARS = re.compile(r"\*+")
_UNDERSCORES = re.compile(r"(?<![\w])_{1,2}(?=\S)|(?<=\S)_{1,2}(?![\w])")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_RULE = re.compile(r"^[ ]{0,3}([-*_])([ \t]*\1){2,}[ \t]*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
# The treaty texts lost the space between sentences: "Convention,Considering", "(1)Has".
_GLUED_SENTENCE = re.compile(r"(?<=[a-z)\"”’][,;.])(?=[A-Z][a-z])")
_GLUED_MARKER = re.compile(r"^(\(\d+\))(?=[A-Z])", re.MULTILINE)
# US Code files carry subchapters and parts as plain lines: "SUBCHAPTER II— IMMIGRATION".
_PLAIN_HEADING = re.compile(r"^(SUBCHAPTER|SUBTITLE|PART|Part|SUBPART|Subpart)\s+[IVXLCDM0-9]+[A-Z]?\s*—")


def _stars(match: re.Match[str]) -> str:
    # An emphasis marker glued between words ("*Preamble*The") stood for a space.
    s, i, j = match.string, match.start(), match.end()
    before = s[i - 1] if i > 0 else " "
    after = s[j] if j < len(s) else " "
    if before.isspace() and after.isspace():
        return match.group(0)
    if (before.isalnum() or before in ".,;:") and after.isalpha():
        return " "
    return ""


def clean_inline(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _STARS.sub(_stars, text)
    return _UNDERSCORES.sub("", text)


def _clean_body(text: str) -> str:
    lines = []
    for line in clean_inline(text).split("\n"):
        if _TABLE_RULE.match(line):
            continue
        lines.append(line.rstrip())
    text = "\n".join(line for line in lines if line.strip())
    text = _GLUED_SENTENCE.sub(" ", text)
    return _GLUED_MARKER.sub(r"\1 ", text)


def parse_blocks(text: str) -> list[Block]:
    """Headings and paragraphs of a markdown text, with markup removed."""
    text = _COMMENT.sub("", text)
    blocks: list[Block] = []
    para: list[str] = []
    fenced = False

    def flush() -> None:
        if para:
            body = _clean_body("\n".join(para))
            if body.strip():
                blocks.append(Block(body))
            para.clear()

    for line in text.split("\n"):
        if _FENCE.match(line):
            flush()
            fenced = not fenced
            continue
        if fenced:
            para.append(line)
            continue
        heading = _HEADING.match(line)
        if heading and heading.group(2).strip():
            flush()
            label = normalize(clean_inline(heading.group(2)))
            if label:
                blocks.append(Block(label, level=len(heading.group(1))))
        elif not line.strip() or _RULE.match(line):
            flush()
        elif not para and _PLAIN_HEADING.match(line.strip()):
            blocks.append(Block(normalize(line), level=0))
        else:
            para.append(line)
    flush()
    return merge_titles(blocks)


def document_title(blocks: list[Block]) -> str | None:
    """The opening heading when the file starts with one (joined with its chapter in US Code files)."""
    if not blocks or not blocks[0].is_heading or len(blocks[0].text) > 300:
        return None
    title = normalize(blocks[0].text)
    if (len(blocks) > 1 and blocks[1].is_heading and keyword_of(title) == "title"
            and keyword_of(blocks[1].text) == "chapter"):
        title = f"{title}, {normalize(blocks[1].text)}"
    return title


class MarkdownReader:
    format = "markdown"
    suffixes = (".md", ".markdown")

    def __init__(self, max_bytes: int = MAX_TEXT_BYTES) -> None:
        self.max_bytes = max_bytes

    def read(self, path: Path) -> ParsedText:
        text, warnings = read_text(path, self.max_bytes)
        blocks = parse_blocks(text)
        builder = TextBuilder()
        emit_blocks(builder, blocks)
        return finish(builder, document_title(blocks), warnings)
