"""Every chunk of the reference corpus is cited by a section, but a document's front matter;
preambles and the UDHR booklet's side-label article headings are read as sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.catalogue import catalogue_for
from ingest.chunker import Chunk, ChunkSettings, StructureChunker
from ingest.document import ParsedText, span_at
from ingest.pipeline import Skipped, iter_documents
from ingest.readers.pdf import PdfReader
from ingest.readers.pdf.side_labels import number_side_labels

UDHR_BOOKLET = "pdf/udhr_un_illustrated_booklet.pdf"


@pytest.fixture(scope="module")
def corpus_chunks(shared_corpus: Path, embedder) -> dict[str, list[Chunk]]:
    chunker = StructureChunker(ChunkSettings(), embedder.count_tokens, embedder.max_tokens)
    chunks: dict[str, list[Chunk]] = {}
    for source, doc in iter_documents(shared_corpus, catalogue_for(shared_corpus)):
        if not isinstance(doc, Skipped):  # the CRC booklet, where Tesseract is missing
            chunks[source.id] = chunker.chunk(doc)
    return chunks


@pytest.mark.slow
def test_only_front_matter_has_no_section(corpus_chunks: dict[str, list[Chunk]]) -> None:
    """Front matter is what comes before a document's first heading (cover, contents, foreword,
    an introductory note, the title block): every chunk without a section is there."""
    assert len(corpus_chunks) >= 36
    for doc_id, chunks in corpus_chunks.items():
        first = next((c.ordinal for c in chunks if c.section), None)
        assert first is not None, f"{doc_id}: no chunk has a section"
        late = [c.ordinal for c in chunks[first:] if not c.section]
        assert not late, f"{doc_id}: chunks {late} have no section after the first heading"


@pytest.mark.slow
def test_front_matter_counts(corpus_chunks: dict[str, list[Chunk]]) -> None:
    """The documents with the most front matter, each counted and checked by hand: the cover,
    copyright page, foreword and introduction (UDHR booklet, 7); the cover, editors' note and
    contents (ECtHR booklet, 9); the Official Journal's proclamation in eleven languages and
    its signatures (EU Charter, 13). Their preambles are no longer among them."""
    def empty(doc_id: str) -> int:
        return sum(1 for c in corpus_chunks[doc_id] if not c.section)

    assert empty(UDHR_BOOKLET) == 7
    assert empty("pdf/echr_court_booklet_prot15_16.pdf") == 9
    assert empty("pdf/eu_charter_fundamental_rights_2000_oj_c364.pdf") == 13


_parsed: dict[str, ParsedText] = {}


def _read(shared_corpus: Path, name: str) -> ParsedText:
    if name not in _parsed:
        _parsed[name] = PdfReader().read(shared_corpus / name)
    return _parsed[name]


def _where(parsed: ParsedText, needle: str) -> tuple[int, tuple[str, ...]]:
    at = parsed.text.find(needle)
    assert at >= 0, f"{needle!r} not in the text"
    return span_at(parsed.pages, at).index, span_at(parsed.sections, at).path


# Pages of the UDHR booklet checked by hand against the printed booklet: its article text on the
# page, with the number the page prints beside the "Article" label (as artwork, for most).
_UDHR_ARTICLES = [
    (13, "All human beings are born free and", "Article 1"),
    (19, "No one shall be held in slavery or", "Article 4"),  # "04" in the text layer
    (39, "Everyone has the right to seek and", "Article 14"),
    (47, "Everyone has the right to freedom of\nthought, conscience and religion", "Article 18"),
    (71, "Nothing in this Declaration may be", "Article 30"),
]


@pytest.mark.parametrize(("page", "quote", "article"), _UDHR_ARTICLES)
def test_udhr_booklet_articles(shared_corpus: Path, page: int, quote: str, article: str) -> None:
    parsed = _read(shared_corpus, UDHR_BOOKLET)
    assert _where(parsed, quote) == (page, (article,))


def test_udhr_booklet_printed_numbers_leave_the_text(shared_corpus: Path) -> None:
    parsed = _read(shared_corpus, UDHR_BOOKLET)
    assert "shall be prohibited in all their forms.\n" in parsed.text  # was "forms.04"
    assert "or punishment.\n" in parsed.text  # was "or punishment. 05"
    assert "\n02\n" not in parsed.text
    # Its preamble, labelled beside the text but last in the page's content stream.
    assert _where(parsed, "Whereas recognition of the inherent dignity") == (10, ("Preamble",))


def test_side_labels_are_numbered_only_when_the_printed_numbers_agree() -> None:
    pages = [["Article", "Everyone has the right to life."], ["Article", "02", "No one shall."],
             ["Article", "All are equal.03"]]
    numbered, headings = number_side_labels(pages)
    assert numbered == [["Article 1", "Everyone has the right to life."],
                        ["Article 2", "No one shall."], ["Article 3", "All are equal."]]
    assert [h.label for h in headings.values()] == ["Article 1", "Article 2", "Article 3"]
    # A page the numbering skipped ("04" where the third label would be 3): nothing is guessed.
    skipped = [pages[0], pages[1], ["Article", "04", "Everyone is entitled."]]
    assert number_side_labels(skipped) == (skipped, {})
    # Nor with no printed number at all to confirm the order.
    bare = [["Article", "Text one."], ["Article", "Text two."], ["Article", "Text three."]]
    assert number_side_labels(bare) == (bare, {})


@pytest.mark.parametrize(("name", "quote", "path"), [
    # Headed "PREAMBLE"; Chapter I closes it.
    ("pdf/eu_charter_fundamental_rights_2000_oj_c364.pdf", "The peoples of Europe, in creating",
     ("Preamble",)),
    # No heading: "The Governments signatory hereto" (small capitals) ... "Have agreed as follows:".
    ("pdf/echr_court_booklet_prot15_16.pdf", "Considering the Universal Declaration of Human Rights",
     ("Preamble",)),
    ("pdf/echr_ets5_coe_as_amended_prot11_14.pdf", "Reaffirming their profound belief",
     ("Preamble",)),
    ("pdf/refugee_convention_and_protocol_unhcr.pdf", "considering that the grant of asylum may place",
     ("Preamble",)),
    ("pdf/udhr_ohchr_eng.pdf", "Whereas recognition of the inherent dignity", ("Preamble",)),
])
def test_preambles_are_sections(shared_corpus: Path, name: str, quote: str,
                                path: tuple[str, ...]) -> None:
    assert _where(_read(shared_corpus, name), quote)[1] == path


def test_a_protocols_preamble_sits_under_its_title(shared_corpus: Path) -> None:
    parsed = _read(shared_corpus, "pdf/echr_court_booklet_prot15_16.pdf")
    _, path = _where(parsed, "Being resolved to take steps to ensure the collective enforcement of\n")
    assert path[0].startswith("Protocol No. 4 to the Convention") and path[1:] == ("Preamble",)
    # The article after it closes it.
    _, path = _where(parsed, "No one shall be deprived of his liberty merely on the ground")
    assert path[-1].startswith("Article 1")
