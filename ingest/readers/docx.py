"""Word (.docx) reader: heading styles, outline levels and provision numbering become section paths."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docx
import lxml.etree
from docx.document import Document as WordDocument
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn

from ingest.document import DocumentReadError, ParsedText, TextBuilder
from ingest.readers.headings import (
    TITLE_SEPARATOR,
    Block,
    emit_blocks,
    is_marker,
    keyword_of,
    merge_titles,
    normalize,
)
from ingest.readers.text import MAX_TEXT_BYTES, finish, read_bytes

# Word files carry images, so the file itself may be far larger than its text; the pipeline's
# own 256 MB file limit applies on top. Unpacked, python-docx holds every part in memory and
# parses the XML ones into trees several times their size, so both are bounded before parsing
# (a zip's member sizes are enforced while it is read, so a lying header cannot get past this).
MAX_DOCX_BYTES = 128 * 1024 * 1024
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_XML_BYTES = 128 * 1024 * 1024
# Text beyond the text readers' limit is cut with a warning rather than refused: the limit is
# about embedding cost, and a Word file's first 20 MB of text are as citable as a text file's.
MAX_TEXT_CHARS = MAX_TEXT_BYTES
_MB = 1024 * 1024

_P, _TBL, _SDT, _SDT_CONTENT = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent")
_TR, _TC, _T, _TAB, _BR, _CR = qn("w:tr"), qn("w:tc"), qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
_NB_HYPHEN, _PPR, _VAL = qn("w:noBreakHyphen"), qn("w:pPr"), qn("w:val")
# Subtrees whose text is not the paragraph's own: deletions (tracked changes), text boxes (drawn
# elsewhere on the page), the fallback copy of a drawing, field instructions; and properties,
# which hold no text.
_SKIP = {qn("w:del"), qn("w:moveFrom"), qn("w:txbxContent"), qn("w:instrText"), qn("w:pPr"),
         qn("w:rPr"), "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"}
_HEADING_NAME = re.compile(r"^heading ([1-9])$", re.IGNORECASE)
_TOC_NAME = re.compile(r"^(toc [1-9]|table of figures)$", re.IGNORECASE)
_SENTENCE_END = tuple(".:;,!?\u2026")
_BASED_ON_DEPTH = 32  # styles chain by basedOn; a corrupt file may loop


def _val(el: lxml.etree._Element | None, tag: str) -> str | None:
    child = el.find(qn(tag)) if el is not None else None
    return child.get(_VAL) if child is not None else None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


@dataclass(slots=True)
class _Style:
    name: str
    based_on: str | None
    outline: int | None  # w:outlineLvl, 0-based; 9 is body text
    num: tuple[int, int] | None  # (numId, ilvl) of numbering the style applies


def _num_pr(ppr: lxml.etree._Element | None) -> tuple[int, int] | None:
    numpr = ppr.find(qn("w:numPr")) if ppr is not None else None
    if numpr is None:
        return None
    num_id = _int(_val(numpr, "w:numId"))
    return (num_id, _int(_val(numpr, "w:ilvl")) or 0) if num_id is not None else None


class _Styles:
    """Paragraph styles by id, and what a paragraph's style chain says about heading level."""

    def __init__(self, root: lxml.etree._Element | None) -> None:
        self._by_id: dict[str, _Style] = {}
        self._levels: dict[str | None, int | None] = {}
        self.default: str | None = None
        for el in root.iterfind(qn("w:style")) if root is not None else ():
            if el.get(qn("w:type")) != "paragraph" or el.get(qn("w:styleId")) is None:
                continue
            sid = el.get(qn("w:styleId"))
            ppr = el.find(_PPR)
            self._by_id[sid] = _Style(_val(el, "w:name") or sid, _val(el, "w:basedOn"),
                                      _int(_val(ppr, "w:outlineLvl")), _num_pr(ppr))
            if el.get(qn("w:default")) in ("1", "true", "on"):
                self.default = sid

    def chain(self, style_id: str | None) -> Iterator[_Style]:
        sid, seen = style_id or self.default, 0
        while sid is not None and sid in self._by_id and seen < _BASED_ON_DEPTH:
            style = self._by_id[sid]
            yield style
            sid, seen = style.based_on, seen + 1

    def heading_level(self, style_id: str | None) -> int | None:
        """0 for Title, N for Heading N or a custom style at outline level N-1; None for body."""
        if style_id not in self._levels:
            self._levels[style_id] = self._heading_level(style_id)
        return self._levels[style_id]

    def is_toc(self, style_id: str | None) -> bool:
        # A table of contents lists "Article 5 ... 12" lines; they must not open sections.
        return any(_TOC_NAME.match(s.name.strip()) for s in self.chain(style_id))

    def _heading_level(self, style_id: str | None) -> int | None:
        for style in self.chain(style_id):
            name = style.name.strip()
            if name.lower() == "title":
                return 0
            m = _HEADING_NAME.match(name)
            if m:
                return int(m.group(1))
            if style.outline is not None:
                return style.outline + 1 if 0 <= style.outline < 9 else None
        return None

    def numbering(self, style_id: str | None) -> tuple[int, int] | None:
        return next((s.num for s in self.chain(style_id) if s.num is not None), None)


@dataclass(slots=True)
class _Level:
    fmt: str
    text: str
    start: int


@dataclass(slots=True)
class _Numbering:
    """Word's automatic numbering, rendered: python-docx leaves "Article 5", "(a)" out of the text."""

    abstracts: dict[int, dict[int, _Level]] = field(default_factory=dict)
    nums: dict[int, tuple[int, dict[int, int]]] = field(default_factory=dict)  # abstract, restarts
    _counters: dict[int, dict[int, int]] = field(default_factory=dict)
    _started: set[int] = field(default_factory=set)

    @classmethod
    def parse(cls, root: lxml.etree._Element | None) -> _Numbering:
        out = cls()
        for ab in root.iterfind(qn("w:abstractNum")) if root is not None else ():
            levels: dict[int, _Level] = {}
            for lvl in ab.iterfind(qn("w:lvl")):
                ilvl = _int(lvl.get(qn("w:ilvl")))
                if ilvl is not None:
                    levels[ilvl] = _Level(_val(lvl, "w:numFmt") or "decimal",
                                          _val(lvl, "w:lvlText") or "",
                                          _int(_val(lvl, "w:start")) or 0)
            ab_id = _int(ab.get(qn("w:abstractNumId")))
            if ab_id is not None:
                out.abstracts[ab_id] = levels
        for num in root.iterfind(qn("w:num")) if root is not None else ():
            num_id, ab_id = _int(num.get(qn("w:numId"))), _int(_val(num, "w:abstractNumId"))
            if num_id is None or ab_id is None:
                continue
            restarts = {}
            for override in num.iterfind(qn("w:lvlOverride")):
                ilvl, start = _int(override.get(qn("w:ilvl"))), _int(_val(override, "w:startOverride"))
                if ilvl is not None and start is not None:
                    restarts[ilvl] = start
            out.nums[num_id] = (ab_id, restarts)
        return out

    def label(self, num_id: int, ilvl: int) -> str:
        """The next label of list `num_id` at level `ilvl`, counting as Word does."""
        if num_id not in self.nums:
            return ""  # numId 0 (or a dangling one) switches numbering off
        ab_id, restarts = self.nums[num_id]
        levels = self.abstracts.get(ab_id, {})
        if ilvl not in levels:
            return ""
        # Lists of one abstract definition count on together unless a list restarts a level.
        counters = self._counters.setdefault(ab_id, {})
        if num_id not in self._started:
            self._started.add(num_id)
            for lvl, start in restarts.items():
                counters[lvl] = start - 1
        counters[ilvl] = counters.get(ilvl, levels[ilvl].start - 1) + 1
        for deeper in [lvl for lvl in counters if lvl > ilvl]:
            del counters[deeper]  # a new item restarts its sub-items
        level = levels[ilvl]
        if level.fmt == "bullet":
            return "\u2022"  # the glyph is in a symbol font ("\uf0b7", "§"): never its own text
        if level.fmt == "none":
            return ""

        def placeholder(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            lvl = levels.get(k)
            if lvl is None:
                return ""
            return _format(counters.get(k, lvl.start), lvl.fmt)

        return normalize(re.sub(r"%([1-9])", placeholder, level.text))


def _roman(n: int) -> str:
    out = []
    for value, digits in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):
        count, n = divmod(n, value)
        out.append(digits * count)
    return "".join(out)


def _letters(n: int) -> str:
    # Word's letters repeat past z: a .. z, aa .. zz, aaa ...
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _format(n: int, fmt: str) -> str:
    if n <= 0:
        return str(n)
    if fmt == "lowerLetter":
        return _letters(n)
    if fmt == "upperLetter":
        return _letters(n).upper()
    if fmt == "lowerRoman":
        return _roman(n)
    if fmt == "upperRoman":
        return _roman(n).upper()
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)  # decimal, and the language-specific formats a search cannot use anyway


def _run_text(p: lxml.etree._Element) -> str:
    """A paragraph's visible text, including runs in hyperlinks, insertions and content controls."""
    parts: list[str] = []
    stack = list(reversed(p))
    while stack:
        el = stack.pop()
        tag = el.tag
        if tag in _SKIP or not isinstance(tag, str):
            continue
        if tag == _T:
            parts.append(el.text or "")
        elif tag in (_TAB, _NB_HYPHEN):
            parts.append("\t" if tag == _TAB else "-")
        elif tag == _CR or (tag == _BR and el.get(qn("w:type")) in (None, "textWrapping")):
            parts.append("\n")
        else:
            stack.extend(reversed(el))
    return "".join(parts)


def _provision(text: str) -> bool:
    """A body paragraph that opens a provision ("Article 5", "Section 3 – Scope", "IV")."""
    if "\n" in text or len(text) > 120:
        return False
    return is_marker(text) or (keyword_of(text) is not None and not text.endswith(_SENTENCE_END))


class _Reader:
    """One document's walk: blocks in body order, with its first title-like heading."""

    def __init__(self, styles: _Styles, numbering: _Numbering, max_chars: int) -> None:
        self.styles = styles
        self.numbering = numbering
        self.max_chars = max_chars
        self.blocks: list[Block] = []
        self.heading_title: str | None = None
        self.chars = 0
        self.truncated = False

    def _add(self, block: Block) -> None:
        if self.truncated:
            return
        room = self.max_chars - self.chars
        if len(block.text) > room:
            self.truncated = True
            # The paragraph that crosses the limit keeps its words up to it, so that one huge
            # paragraph (a whole annex without breaks) is cut, not lost.
            cut = block.text[:room].rsplit(" ", 1)[0] if not block.is_heading and room > 0 else ""
            if cut.strip():
                self.blocks.append(Block(cut))
            return
        self.chars += len(block.text) + 2  # the blank line emit_blocks puts between blocks
        self.blocks.append(block)

    def walk(self, parent: lxml.etree._Element) -> None:
        for child in parent:
            if self.truncated:
                return
            if child.tag == _P:
                self.paragraph(child)
            elif child.tag == _TBL:
                self.table(child)
            elif child.tag == _SDT:
                # A content control (a form field, a clause from a template) holds body content.
                content = child.find(_SDT_CONTENT)
                if content is not None:
                    self.walk(content)

    def paragraph(self, p: lxml.etree._Element) -> None:
        ppr = p.find(_PPR)
        style_id = _val(ppr, "w:pStyle")
        text = _run_text(p).strip()
        num = _num_pr(ppr) or self.styles.numbering(style_id)
        label = self.numbering.label(*num) if num is not None else ""
        outline = _int(_val(ppr, "w:outlineLvl"))
        if outline is not None:
            level = outline + 1 if 0 <= outline < 9 else None
        else:
            level = self.styles.heading_level(style_id)
        if not text and not label:
            return
        if level is not None:
            text = normalize(text)
            if label:
                sep = TITLE_SEPARATOR if is_marker(label) and text else " "
                text = f"{label}{sep}{text}".strip()
            if self.heading_title is None and level <= 1 and text:
                self.heading_title = text
            self._add(Block(text, level=level))
            return
        if label:
            text = f"{label} {text}".strip()
        promote = _provision(normalize(text)) and not self.styles.is_toc(style_id)
        self._add(Block(text, level=1) if promote else Block(text))

    def table(self, tbl: lxml.etree._Element) -> None:
        rows = []
        for tr in tbl.iterfind(_TR):
            # Every paragraph of a cell, nested tables' too, in order; a merged cell appears once.
            cells = [normalize(" ".join(_run_text(p) for p in tc.iter(_P))) for tc in tr.iterfind(_TC)]
            if any(cells):
                rows.append(" | ".join(cells))
        if rows:
            self._add(Block("\n".join(rows)))


def _open(data: bytes, max_unpacked: int) -> WordDocument:
    """The package, once its sizes are known to be within bounds; every failure given a reason."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentReadError(
            "not a Word file: not a zip archive (a .docx is one; an old binary .doc or a "
            f"password-protected document is not): {exc}") from None
    unpacked = sum(i.file_size for i in infos)
    if unpacked > max_unpacked:
        raise DocumentReadError(f"Word file unpacks to {unpacked / _MB:.1f} MB, over the "
                                f"{max_unpacked / _MB:g} MB limit")
    xml = sum(i.file_size for i in infos if i.filename.endswith((".xml", ".rels")))
    if xml > min(MAX_XML_BYTES, max_unpacked):
        raise DocumentReadError(f"Word file has {xml / _MB:.1f} MB of XML, over the "
                                f"{min(MAX_XML_BYTES, max_unpacked) / _MB:g} MB limit")
    try:
        return docx.Document(io.BytesIO(data))
    except PackageNotFoundError as exc:
        raise DocumentReadError(f"not a Word file: {exc}") from None
    except ValueError as exc:  # python-docx: "file '...' is not a Word file, content type is ..."
        raise DocumentReadError(f"not a Word document: {exc}") from None
    except KeyError as exc:
        raise DocumentReadError(f"corrupt Word file: missing part {exc}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise DocumentReadError(f"corrupt Word file: damaged archive: {exc}") from None
    except lxml.etree.XMLSyntaxError as exc:
        raise DocumentReadError(f"corrupt Word file: malformed XML: {exc}") from None
    except (AttributeError, TypeError) as exc:
        # python-docx assumes well-formed parts are the right elements; a part of the wrong kind
        # (a relationships file holding something else) surfaces as an attribute it lacks.
        raise DocumentReadError(f"corrupt Word file: a part is not what its name says ({exc})") from None


@dataclass(frozen=True, slots=True)
class _Parts:
    styles: lxml.etree._Element | None
    numbering: lxml.etree._Element | None
    body: lxml.etree._Element
    core_title: str


def _parts(document: WordDocument) -> _Parts:
    """The parts the reader walks; python-docx builds them lazily, so damage shows up here too."""
    try:
        try:
            numbering = document.part.part_related_by(RT.NUMBERING).element
        except KeyError:
            numbering = None  # a document with no lists has no numbering part
        body = document.element.body
        if body is None:
            raise DocumentReadError("corrupt Word file: the document has no body")
        return _Parts(document.styles.element, numbering, body,
                      normalize(document.core_properties.title or ""))
    except (AttributeError, TypeError, ValueError) as exc:
        raise DocumentReadError(f"corrupt Word file: a part is not what its name says ({exc})") from None
    except lxml.etree.XMLSyntaxError as exc:
        raise DocumentReadError(f"corrupt Word file: malformed XML: {exc}") from None


class DocxReader:
    format = "docx"
    suffixes = (".docx",)

    def __init__(self, max_bytes: int = MAX_DOCX_BYTES, max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
                 max_text_chars: int = MAX_TEXT_CHARS) -> None:
        self.max_bytes = max_bytes
        self.max_unpacked_bytes = max_unpacked_bytes
        self.max_text_chars = max_text_chars

    def read(self, path: Path) -> ParsedText:
        parts = _parts(_open(read_bytes(path, self.max_bytes), self.max_unpacked_bytes))
        reader = _Reader(_Styles(parts.styles), _Numbering.parse(parts.numbering),
                         self.max_text_chars)
        try:
            reader.walk(parts.body)
        except RecursionError as exc:
            raise DocumentReadError("Word file is nested too deeply to read") from exc
        warnings = []
        if reader.truncated:
            warnings.append(f"text truncated after {self.max_text_chars} characters")
        builder = TextBuilder()
        emit_blocks(builder, merge_titles(reader.blocks))
        return finish(builder, parts.core_title or reader.heading_title, warnings)
