"""The Word reader on .docx files made here with python-docx: text, structure, tables, bad files."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from ingest.catalogue import Catalogue
from ingest.chunker import ChunkSettings, StructureChunker
from ingest.document import DocumentReadError, ParsedText, span_at
from ingest.pipeline import SourceFile, discover, load_document
from ingest.readers.docx import DocxReader
from ingest.readers.registry import reader_for
from tests.small import helpers as h
from tests.small_embedder import HashingEmbedder

PART = "PART I \u2013 General Provisions"
ARTICLE_1 = "Article 1 \u2013 Scope"
TABLE_ROW = "Lodging | 120 EUR | per night, receipts required"


def _travel_act(path: Path, core_title: str | None = "Staff Travel Act 2026") -> Path:
    """Title, three heading levels, a plain-text "Article 2", a numbered list and a table."""
    d = docx.Document()
    if core_title is not None:
        d.core_properties.title = core_title
    d.add_paragraph("Staff Travel Regulations", style="Title")
    d.add_paragraph("Adopted by the Board on 3 March 2026.")
    d.add_heading(PART, level=1)
    d.add_heading(ARTICLE_1, level=2)
    d.add_paragraph("These rules apply to all staff travelling abroad on official business.")
    d.add_heading("Definitions", level=3)
    d.add_paragraph("A traveller is a member of staff on an approved mission.")
    d.add_paragraph("Article 2")  # no heading style: recognised by its provision marker
    d.add_paragraph("Travellers are reimbursed within the caps in the table below.")
    table = d.add_table(rows=3, cols=3)
    rows = [("Item", "Cap", "Notes"), ("Lodging", "120 EUR", "per night, receipts required"),
            ("Meals", "40 EUR", "per day")]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            table.cell(i, j).text = value
    d.add_paragraph("Claims are filed through the travel desk.")
    d.add_paragraph("Book the cheapest fare.", style="List Number")
    d.add_paragraph("Keep every boarding pass.", style="List Number")
    d.add_paragraph("Report changes to the desk.", style="List Bullet")
    d.save(path)
    return path


def _auto_numbered(path: Path) -> Path:
    """A regulation whose "Article N" and "(a)" come from Word's numbering, not from its text,
    in a custom heading style that only its outline level marks as a heading."""
    d = docx.Document()
    numbering = d.part.numbering_part.element
    numbering.insert(0, parse_xml(
        f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
        '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
        '<w:lvlText w:val="Article %1"/></w:lvl>'
        '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/>'
        '<w:lvlText w:val="(%2)"/></w:lvl></w:abstractNum>'))
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90">'
                               '<w:abstractNumId w:val="90"/></w:num>'))
    clause = d.styles.add_style("Clause Heading", WD_STYLE_TYPE.PARAGRAPH)
    clause.element.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {nsdecls("w")} w:val="1"/>'))
    d.add_heading("Regulation on Transfers", level=1)
    for title, points in (("Scope", ["applications lodged in a Member State",
                                     "transfers to the responsible State"]),
                          ("Time limits", ["the request within three months",
                                           "the reply within two months"])):
        heading = d.add_paragraph(title, style="Clause Heading")
        _number(heading, 0)
        for point in points:
            _number(d.add_paragraph(f"This Regulation covers {point}."), 1)
    d.save(path)
    return path


def _number(paragraph, ilvl: int) -> None:
    paragraph._p.get_or_add_pPr().append(parse_xml(
        f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/><w:numId w:val="90"/></w:numPr>'))


def path_of(parsed: ParsedText, needle: str) -> tuple[str, ...]:
    offset = parsed.text.find(needle)
    assert offset >= 0, f"{needle!r} not in text"
    return span_at(parsed.sections, offset).path


def test_docx_files_have_a_reader() -> None:
    reader = reader_for(Path("notes/Policy.DOCX"))
    assert reader is not None and reader.format == "docx"


def test_text_in_document_order_with_the_table_between_paragraphs(tmp_path: Path) -> None:
    parsed = DocxReader().read(_travel_act(tmp_path / "act.docx"))
    text = parsed.text
    assert text.startswith("Staff Travel Regulations\nAdopted by the Board")
    assert ("Travellers are reimbursed within the caps in the table below.\n\n"
            "Item | Cap | Notes\n" + TABLE_ROW + "\nMeals | 40 EUR | per day\n\n"
            "Claims are filed through the travel desk.") in text
    # python-docx leaves Word's list numbers out of paragraph text; the reader puts them back.
    assert "1. Book the cheapest fare.\n\n2. Keep every boarding pass.\n\n\u2022 Report" in text
    assert parsed.pages is None and parsed.warnings == []


def test_heading_styles_and_provision_markers_make_the_section_paths(tmp_path: Path) -> None:
    parsed = DocxReader().read(_travel_act(tmp_path / "act.docx"))
    assert path_of(parsed, "Adopted by the Board") == ("Staff Travel Regulations",)
    # A keyword heading (PART I) closes the title, as "# Title" then "## PART I" does in Markdown.
    assert path_of(parsed, "apply to all staff") == (PART, ARTICLE_1)
    assert path_of(parsed, "A traveller is") == (PART, ARTICLE_1, "Definitions")
    assert path_of(parsed, "Travellers are reimbursed") == (PART, "Article 2")
    assert path_of(parsed, TABLE_ROW) == (PART, "Article 2")
    span = next(s for s in parsed.sections if s.path == (PART, "Article 2"))
    assert parsed.text[span.start:].startswith("Article 2\nTravellers")


def test_automatic_numbering_and_outline_levels(tmp_path: Path) -> None:
    parsed = DocxReader().read(_auto_numbered(tmp_path / "reg.docx"))
    assert "Article 1 \u2013 Scope\n(a) This Regulation covers applications" in parsed.text
    assert "(b) This Regulation covers transfers" in parsed.text
    # The sub-items restart under each article.
    assert "Article 2 \u2013 Time limits\n(a) This Regulation covers the request" in parsed.text
    # Keyword headings outrank unkeyed ones, whatever their style level (as in every reader).
    assert path_of(parsed, "(b) This Regulation covers the reply") == (
        "Article 2 \u2013 Time limits",)
    assert parsed.title == "Regulation on Transfers"  # no core title: the first Heading 1


def test_title_comes_from_core_properties_then_title_paragraph_then_file_name(tmp_path) -> None:
    assert DocxReader().read(_travel_act(tmp_path / "a.docx")).title == "Staff Travel Act 2026"
    assert DocxReader().read(_travel_act(tmp_path / "b.docx", core_title=None)).title == (
        "Staff Travel Regulations")
    d = docx.Document()
    d.add_paragraph("Only a body paragraph, no heading at all.")
    d.save(tmp_path / "travel_rules.docx")
    assert DocxReader().read(tmp_path / "travel_rules.docx").title is None
    doc = load_document(SourceFile(tmp_path / "travel_rules.docx", "travel_rules.docx"), "h",
                        Catalogue(()))
    assert doc.title == "Travel rules" and doc.format == "docx"


def test_chunks_cite_the_sections_and_the_table_row_is_searchable_text(tmp_path: Path) -> None:
    path = _travel_act(tmp_path / "act.docx")
    doc = load_document(SourceFile(path, "act.docx"), "h", Catalogue(()))
    embedder = HashingEmbedder()
    # No tiny-section merging: these sections are a sentence long, real ones are not.
    chunks = StructureChunker(ChunkSettings(tiny_tokens=0), embedder.count_tokens,
                              embedder.max_tokens).chunk(doc)
    assert [c.section for c in chunks] == [
        ("Staff Travel Regulations",), (PART,), (PART, ARTICLE_1, "Definitions"),
        (PART, "Article 2")]
    assert "A traveller is a member" in chunks[2].text
    assert chunks[3].text.startswith("Article 2\nTravellers") and TABLE_ROW in chunks[3].text
    assert all(doc.text[c.char_start:c.char_end] == c.text for c in chunks)


def _docx_bytes(path: Path) -> bytes:
    return _travel_act(path).read_bytes()


def _replace_member(data: bytes, name: str, content: bytes | None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w",
                                                                   zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info.filename, src.read(info.filename))
        if content is not None:
            dst.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(("damage", "reason"), [
    (lambda data: b"Plain text saved with the wrong suffix.\n", "not a Word file: not a zip archive"),
    (lambda data: data[: len(data) // 2], "not a Word file: not a zip archive"),
    (lambda data: _replace_member(data, "word/document.xml", b"<w:document><w:body>"),
     "corrupt Word file: malformed XML"),
    (lambda data: _replace_member(data, "word/document.xml", None), "corrupt Word file: missing part"),
    (lambda data: _replace_member(data, "[Content_Types].xml", None), "corrupt Word file"),
    (lambda data: _replace_member(data, "_rels/.rels", b"<notes>well-formed, wrong kind</notes>"),
     "corrupt Word file: a part is not what its name says"),
])
def test_damaged_files_are_read_errors_with_a_reason(tmp_path, damage, reason) -> None:
    path = tmp_path / "bad.docx"
    path.write_bytes(damage(_docx_bytes(tmp_path / "good.docx")))
    with pytest.raises(DocumentReadError, match=f"^{reason}"):
        DocxReader().read(path)


def test_a_workbook_renamed_docx_is_refused_as_not_a_word_document(tmp_path: Path) -> None:
    data = _docx_bytes(tmp_path / "good.docx")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        types = zf.read("[Content_Types].xml").replace(
            b"wordprocessingml.document.main+xml", b"spreadsheetml.sheet.main+xml")
    (tmp_path / "book.docx").write_bytes(_replace_member(data, "[Content_Types].xml", types))
    with pytest.raises(DocumentReadError, match="^not a Word document: .*not a Word file"):
        DocxReader().read(tmp_path / "book.docx")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    data = _docx_bytes(tmp_path / "good.docx")
    # 8 MB of zeros deflates to a few kB: the member's unpacked size, not the file's, is bounded.
    bomb = _replace_member(data, "word/media/image1.png", bytes(8 * 1024 * 1024))
    (tmp_path / "bomb.docx").write_bytes(bomb)
    assert len(bomb) < 100_000
    with pytest.raises(DocumentReadError, match=r"^Word file unpacks to 8\.\d MB, over the 4 MB"):
        DocxReader(max_unpacked_bytes=4 * 1024 * 1024).read(tmp_path / "bomb.docx")
    assert DocxReader().read(tmp_path / "bomb.docx").text  # under the default limit it reads


def test_a_huge_document_is_cut_at_the_text_limit_with_a_warning(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_heading("Long Annexes", level=1)
    for i in range(200):
        d.add_paragraph(f"Paragraph {i} of the annex repeats the same schedule of fees. " * 3)
    d.save(tmp_path / "long.docx")
    parsed = DocxReader(max_text_chars=5_000).read(tmp_path / "long.docx")
    assert 4_000 < len(parsed.text) <= 5_000
    assert parsed.warnings == ["text truncated after 5000 characters"]
    assert DocxReader().read(tmp_path / "long.docx").warnings == []
    # One paragraph longer than the limit is cut at a word, not dropped.
    d = docx.Document()
    d.add_paragraph("fees " * 3_000)
    d.save(tmp_path / "one.docx")
    one = DocxReader(max_text_chars=1_000).read(tmp_path / "one.docx")
    assert one.text == ("fees " * 200).strip() and one.warnings


def test_build_indexes_the_docx_and_reports_a_broken_one(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "policies").mkdir(parents=True)
    _travel_act(corpus / "policies" / "travel.docx")
    (corpus / "policies" / "broken.docx").write_bytes(b"PK\x03\x04 not a real Word file")
    (corpus / "notes.md").write_text("# Notes\n\nThe canteen opens at noon.\n", encoding="utf-8")
    found, skipped = discover(corpus)
    assert [f.id for f in found] == ["notes.md", "policies/broken.docx", "policies/travel.docx"]
    assert skipped == []

    embedder = HashingEmbedder()
    report = h.build(tmp_path / "idx", corpus, embedder)
    assert report.documents == 2
    assert [s["path"] for s in report.skipped] == ["policies/broken.docx"]
    assert report.skipped[0]["reason"].startswith("not a Word file: not a zip archive")

    answer = h.engine(tmp_path / "idx", corpus, embedder).ask(
        "lodging cap per night receipts", k=3, mode="lexical")
    top = answer.passages[0]
    assert top.citation.document_id == "policies/travel.docx"
    assert TABLE_ROW in top.text
    assert top.citation.section.endswith("Article 2")
    assert top.citation.title == "Staff Travel Act 2026"


def _body_xml(d, xml: str) -> None:
    d.element.body.insert(len(d.element.body) - 1, parse_xml(xml))  # before the w:sectPr


def test_revisions_links_content_controls_and_contents_lines(tmp_path: Path) -> None:
    d = docx.Document()
    d.add_heading("Travel Policy", level=1)
    toc = d.styles.add_style("toc 1", WD_STYLE_TYPE.PARAGRAPH)
    d.add_paragraph("Article 5 Reimbursement", style=toc)
    w = nsdecls("w")
    # A tracked change: the inserted words are the text now, the deleted ones are not.
    _body_xml(d, f'<w:p {w}><w:r><w:t xml:space="preserve">Fares are </w:t></w:r>'
                 '<w:del w:id="1" w:author="A"><w:r><w:delText>never</w:delText></w:r></w:del>'
                 '<w:ins w:id="2" w:author="A"><w:r><w:t>always</w:t></w:r></w:ins>'
                 '<w:r><w:t xml:space="preserve"> booked by the </w:t></w:r>'
                 '<w:hyperlink><w:r><w:t>travel desk</w:t></w:r></w:hyperlink>'
                 '<w:r><w:t>.</w:t></w:r></w:p>')
    _body_xml(d, f'<w:sdt {w}><w:sdtPr/><w:sdtContent><w:p><w:pPr><w:pStyle w:val="Heading2"/>'
                 '</w:pPr><w:r><w:t>Article 5 – Reimbursement</w:t></w:r></w:p><w:p><w:r>'
                 '<w:t>Claims are paid within thirty days.</w:t></w:r></w:p>'
                 '</w:sdtContent></w:sdt>')
    d.save(tmp_path / "policy.docx")
    parsed = DocxReader().read(tmp_path / "policy.docx")
    assert "Fares are always booked by the travel desk." in parsed.text
    assert "never" not in parsed.text
    assert path_of(parsed, "Article 5 Reimbursement") == ("Travel Policy",)  # a contents line
    assert path_of(parsed, "Claims are paid") == ("Article 5 \u2013 Reimbursement",)
