"""Justice Canada legislation XML reader: sections as citable units under Part/Division headings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as DET

from ingest.document import DocumentReadError, ForceSpan, ParsedText, TextBuilder
from ingest.readers.headings import HeadingStack, normalize
from ingest.readers.text import MAX_TEXT_BYTES, finish, read_bytes

# Amendment history and the bilingual apparatus are not part of the law's text.
_DROP = {"HistoricalNote", "Footnote", "FootnoteRef", "RecentAmendments", "Identification",
         "MarginalNote", "Label", "ScheduleFormHeading", "ReaderNote", "BillHistory",
         "RunningHead", "colspec"}
_DROP_INLINE = {"HistoricalNote", "Footnote", "FootnoteRef"}
_UNITS = {"Subsection", "Paragraph", "Subparagraph", "Clause", "Subclause", "Subsubclause", "Item"}
_BLOCKS = _UNITS | {
    "Section", "Text", "Definition", "Heading", "Provision", "List", "TableGroup", "table",
    "tgroup", "thead", "tbody", "row", "Schedule", "Group", "GroupHeading", "DocumentInternal",
    "BillPiece", "RegulationPiece", "RelatedOrNotInForce", "AmendedText", "Order",
    "Introduction", "Enacts", "Note", "Caption", "Body", "Preamble", "SectionPiece", "Repealed",
    "FormGroup", "Form", "ContinuedSectionSubsection", "ContinuedParagraph",
    "ContinuedSubparagraph", "ContinuedClause", "ContinuedDefinition", "FormulaGroup", "Formula",
    "FormulaDefinition"}
_CONTAINERS = {"Body", "DocumentInternal", "RelatedOrNotInForce", "BillPiece", "RegulationPiece",
               "Group"}
_ROOTS = {"Statute", "Regulation"}
_LIMS = "{http://justice.gc.ca/lims}"
# The schedule of amendments an Act or regulation holds that are not in force yet.
_NOT_IN_FORCE_SCHEDULE = "NifProvs"


def parse_xml(data: bytes) -> ET.Element:
    """Parse with entity declarations and external references refused (no expansion, no I/O)."""
    try:
        return DET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise DocumentReadError(f"XML entity declarations are refused: {exc}") from exc
    except ET.ParseError as exc:
        raise DocumentReadError(f"malformed XML: {exc}") from exc


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def inline_text(el: ET.Element) -> str:
    """An element's text with dropped parts (footnote refs, notes) left out, whitespace collapsed."""
    parts: list[str] = [el.text or ""]
    for child in el:
        tag = _local(child.tag)
        if tag == "LineBreak":
            parts.append(" ")
        elif tag not in _DROP_INLINE:
            parts.append(inline_text(child))
        parts.append(child.tail or "")
    return normalize("".join(parts))


def _child_text(el: ET.Element, tag: str) -> str:
    child = el.find(tag)
    return inline_text(child) if child is not None else ""


def _has_blocks(el: ET.Element) -> bool:
    return any(_local(c.tag) in _BLOCKS for c in el)


class _Writer:
    """Heading lines end with "\\n", paragraphs are separated by a blank line."""

    def __init__(self) -> None:
        self.builder = TextBuilder()
        self._prev: str | None = None

    def heading(self, path: tuple[str, ...], line: str) -> None:
        if self._prev is not None:
            self.builder.append("\n" if self._prev == "heading" else "\n\n")
        self.builder.set_path(path)
        self.builder.append(line)
        self._prev = "heading"

    def para(self, path: tuple[str, ...], text: str) -> None:
        if not text:
            return
        if self._prev is not None:
            # The separator stays with the previous section so a section starts at its text.
            self.builder.append("\n" if self._prev == "heading" else "\n\n")
        self.builder.set_path(path)
        self.builder.append(text)
        self._prev = "para"


def _date(el: ET.Element, name: str) -> str | None:
    """A lims date attribute ("2018-07-31"), or None when absent or not a date."""
    value = (el.get(_LIMS + name) or "").strip()
    return value if len(value) == 10 and value[4] == "-" and value[7] == "-" else None


class _Walker:
    def __init__(self) -> None:
        self.out = _Writer()
        self.force: list[ForceSpan] = []
        self.in_force = True  # False inside the schedule of amendments not in force

    def _status(self, el: ET.Element, start: int) -> None:
        """Records what the source says of the text written since `start` for `el`."""
        end = self.out.builder.length
        if end > start:
            self.force.append(ForceSpan(start, end, self.in_force,
                                        _date(el, "inforce-start-date") if self.in_force
                                        else None))

    def container(self, el: ET.Element, base: tuple[str, ...]) -> None:
        """Children of Body, a Schedule or similar: headings open levels, sections sit under them."""
        stack = HeadingStack()
        for child in el:
            tag = _local(child.tag)
            if tag in _DROP:
                continue
            if tag == "Heading":
                label = " ".join(x for x in (_child_text(child, "Label"),
                                             _child_text(child, "TitleText")) if x)
                if not label:
                    continue
                level = child.get("level") or "1"
                path = base + stack.push(float(level) if level.isdigit() else 1.0, label)
                self.out.heading(path, label)
            else:
                self.block(child, base + stack.path)

    def block(self, el: ET.Element, path: tuple[str, ...]) -> None:
        tag = _local(el.tag)
        if tag in _DROP:
            return
        if tag == "Section":
            self.section(el, path)
        elif tag in _UNITS:
            self.unit(el, path)
        elif tag == "Provision" and el.find("Label") is not None:
            self.unit(el, path, extend=False)
        elif tag == "Definition":
            self.definition(el, path)
        elif tag == "Schedule":
            self.schedule(el, path)
        elif tag == "row":
            cells = [inline_text(c) for c in el if _local(c.tag) == "entry"]
            self.out.para(path, " | ".join(c for c in cells if c))
        elif tag in _CONTAINERS and any(_local(c.tag) == "Heading" for c in el):
            self.container(el, path)
        elif _has_blocks(el):
            for child in el:
                self.block(child, path)
        else:
            self.out.para(path, inline_text(el))

    def section(self, el: ET.Element, path: tuple[str, ...]) -> None:
        label = " ".join(x for x in ("s.", _child_text(el, "Label"), _child_text(el, "MarginalNote"))
                         if x)
        path = path + (label,)
        start = self.out.builder.length
        self.out.heading(path, label)
        for child in el:
            self.block(child, path)
        self._status(el, start)

    def unit(self, el: ET.Element, path: tuple[str, ...], extend: bool = True) -> None:
        label = _child_text(el, "Label")
        note = _child_text(el, "MarginalNote")
        if label and extend:
            path = path + (label,)
        if note:
            self.out.para(path, note)
        first = True
        for child in el:
            tag = _local(child.tag)
            if tag == "Text" and first and label:
                self.out.para(path, f"{label} {inline_text(child)}")
                first = False
            else:
                self.block(child, path)
        if first and label and not _has_blocks(el):
            self.out.para(path, label)

    def definition(self, el: ET.Element, path: tuple[str, ...]) -> None:
        term = el.find(".//DefinedTermEn")
        if term is not None and inline_text(term):
            path = path + (inline_text(term),)
        for child in el:
            self.block(child, path)

    def schedule(self, el: ET.Element, path: tuple[str, ...]) -> None:
        head = el.find("ScheduleFormHeading")
        label = "Schedule"
        if head is not None:
            label = " ".join(x for x in (_child_text(head, "Label"), _child_text(head, "TitleText"))
                             if x) or label
        path = path + (label,)
        outer, start = self.in_force, self.out.builder.length
        if el.get("id") == _NOT_IN_FORCE_SCHEDULE or "NOT IN FORCE" in label.upper():
            self.in_force = False
        self.out.heading(path, label)
        self.container(el, path)
        if not self.in_force:
            self._status(el, start)
        self.in_force = outer


def _title(root: ET.Element) -> str | None:
    ident = root.find("Identification")
    if ident is None:
        return None
    for tag in ("ShortTitle", "LongTitle"):
        text = _child_text(ident, tag)
        if text:
            return text
    return None


class JusticeCanadaXmlReader:
    format = "justice-canada-xml"
    suffixes = (".xml",)

    def __init__(self, max_bytes: int = MAX_TEXT_BYTES) -> None:
        self.max_bytes = max_bytes

    def read(self, path: Path) -> ParsedText:
        root = parse_xml(read_bytes(path, self.max_bytes))
        tag = _local(root.tag)
        if tag not in _ROOTS:
            return _read_generic(root, tag)
        walker = _Walker()
        ident = root.find("Identification")
        long_title = _child_text(ident, "LongTitle") if ident is not None else ""
        if long_title:
            walker.out.para((), long_title)
        try:
            for child in root:
                walker.block(child, ())
        except RecursionError as exc:
            raise DocumentReadError("XML is nested too deeply to read") from exc
        parsed = finish(walker.out.builder, _title(root), [])
        if root.get("in-force") != "no":
            # The Act or regulation as consolidated is law in force, but for what its sections
            # and the schedule of amendments not in force say of their own text.
            parsed.force = [ForceSpan(0, len(parsed.text), True), *walker.force]
        else:
            parsed.force = [ForceSpan(0, len(parsed.text), False)]
        parsed.last_amended = _date(root, "lastAmendedDate")
        return parsed


def _read_generic(root: ET.Element, tag: str) -> ParsedText:
    # Unknown vocabularies still have text worth searching; their structure is not known.
    out = _Writer()
    try:
        _generic(root, out)
    except RecursionError as exc:
        raise DocumentReadError("XML is nested too deeply to read") from exc
    warning = f"unsupported XML vocabulary <{tag}>: read as plain text without structure"
    return finish(out.builder, None, [warning])


def _generic(el: ET.Element, out: _Writer) -> None:
    mixed = (el.text or "").strip() or any((c.tail or "").strip() for c in el)
    if len(el) and not mixed:
        for child in el:
            _generic(child, out)
    else:
        out.para((), inline_text(el))
