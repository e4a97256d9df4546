"""Plain-text reader, and the size-guarded byte reading and UTF-8 decoding the text-ish readers share."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.document import DocumentReadError, ParsedText, TextBuilder
from ingest.readers.headings import Block, emit_blocks, keyword_of

# The largest real text in the reference corpus (8 U.S.C. chapter 12, IRPR XML) is about 1.5 MB;
# a text file far beyond that is more likely junk than law, and would cost tens of thousands of
# embeddings. Over the limit, a file is skipped with a reason.
MAX_TEXT_BYTES = 20 * 1024 * 1024
_MB = 1024 * 1024
_BOM = "\ufeff"


def read_bytes(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The file's bytes, refusing files over `max_bytes` before reading them."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentReadError(
                f"file is {size / _MB:.1f} MB, over the {max_bytes / _MB:g} MB limit")
        return path.read_bytes()
    except OSError as exc:
        raise DocumentReadError(f"cannot read file: {exc.strerror or exc}") from exc


def decode_text(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 text with the BOM stripped and newlines normalized to \\n; never fails on bad bytes."""
    warnings: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        # U+FFFD may also be genuine in the file; count only what replacement added.
        added = text.count("\ufffd") - data.count("\ufffd".encode())
        warnings.append(f"invalid UTF-8 replaced at {max(added, 1)} places")
    if text.startswith(_BOM):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n"), warnings


def read_text(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> tuple[str, list[str]]:
    return decode_text(read_bytes(path, max_bytes))


def split_paragraphs(text: str) -> list[str]:
    """Blocks separated by blank lines, with trailing spaces trimmed from each line."""
    blocks = re.split(r"\n[ \t]*\n", text)
    out = []
    for block in blocks:
        lines = [line.rstrip() for line in block.split("\n")]
        joined = "\n".join(line for line in lines if line.strip())
        if joined.strip():
            out.append(joined)
    return out


_SENTENCE_END = tuple(".:;,!?\u2026")
_NOT_HEADING_START = re.compile(r"^(\W|\d+[.)]|see also\b)", re.IGNORECASE)


def _looks_like_heading(block: str) -> bool:
    # A lone short line in title case with no closing punctuation; articles' subheads look so.
    if "\n" in block or len(block) > 120 or block.rstrip().endswith(_SENTENCE_END):
        return False
    line = block.strip()
    if keyword_of(line) is not None:
        return True
    if _NOT_HEADING_START.match(line):
        return False
    words = [w for w in line.split() if len(w) > 3]
    if len(line.split()) < 2 or not words:
        return False
    capitalized = sum(1 for w in words if w[0].isupper())
    return capitalized * 2 >= len(words) and line[0].isupper()


class TextReader:
    format = "text"
    suffixes = (".txt",)

    def __init__(self, max_bytes: int = MAX_TEXT_BYTES) -> None:
        self.max_bytes = max_bytes

    def read(self, path: Path) -> ParsedText:
        text, warnings = read_text(path, self.max_bytes)
        paragraphs = split_paragraphs(text)
        title = None
        if paragraphs and "\n" not in paragraphs[0] and len(paragraphs[0].strip()) < 150:
            title = " ".join(paragraphs[0].split())
        blocks = []
        for i, para in enumerate(paragraphs):
            if i > 0 and _looks_like_heading(para):
                blocks.append(Block(para.strip(), level=1))
            else:
                blocks.append(Block(para))
        builder = TextBuilder()
        emit_blocks(builder, blocks)
        return finish(builder, title, warnings)


def finish(builder: TextBuilder, title: str | None, warnings: list[str]) -> ParsedText:
    """Build a non-paged result, refusing documents with no text at all."""
    parsed = builder.build(title=title, warnings=warnings, paged=False)
    if not parsed.text.strip():
        raise DocumentReadError("file has no text")
    return parsed
