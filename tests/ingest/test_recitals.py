"""EU acts' recitals are sections of their own ("Preamble > Recital (21)"), in any format."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.catalogue import catalogue_for
from ingest.chunker import ChunkSettings, StructureChunker
from ingest.document import SectionSpan, sha256_file
from ingest.pipeline import SourceFile, load_document
from ingest.readers.recitals import CITATIONS, PREAMBLE, label_recitals
from tests.small_embedder import HashingEmbedder

ACT = ("REGULATION (EU) No 1/2099 OF THE EUROPEAN PARLIAMENT AND OF THE COUNCIL\n"
       "on a test\n"
       "Having regard to the Treaty on the Functioning of the European Union,\n"
       "Whereas:\n"
       "(1) A first recital, which cites (3) of another act.\n"
       "(3) Not a recital: out of sequence.\n"
       "(2) A second recital.\n"
       "HAVE ADOPTED THIS REGULATION:\n"
       "\n\nArticle 1\nSubject matter\n1. This Regulation applies.\n")


def _paths(text: str, sections: list[SectionSpan]) -> list[tuple[str, tuple[str, ...]]]:
    return [(text[s.start:s.end].split("\n")[0], s.path) for s in sections]


def test_recitals_citations_and_enacting_formula_are_labelled() -> None:
    article = ACT.index("\n\nArticle 1")
    sections = [SectionSpan(0, article, ()), SectionSpan(article, len(ACT), ("Article 1",))]
    labelled = label_recitals(ACT, sections)
    assert _paths(ACT, labelled) == [
        ("REGULATION (EU) No 1/2099 OF THE EUROPEAN PARLIAMENT AND OF THE COUNCIL", ()),
        ("Having regard to the Treaty on the Functioning of the European Union,", CITATIONS),
        ("(1) A first recital, which cites (3) of another act.", (PREAMBLE, "Recital (1)")),
        ("(2) A second recital.", (PREAMBLE, "Recital (2)")),  # the enacting formula with it
        ("", ("Article 1",)),
    ]
    assert ACT[labelled[3].start:labelled[3].end].endswith("HAVE ADOPTED THIS REGULATION:\n")
    # Contiguous, nothing lost or added.
    assert labelled[0].start == 0 and labelled[-1].end == len(ACT)
    assert all(a.end == b.start for a, b in zip(labelled, labelled[1:]))


@pytest.mark.parametrize("text", [
    ACT.replace("Whereas:", "Considering:"),
    ACT.replace("HAVE ADOPTED THIS REGULATION:", "Done at Brussels."),
    ACT.replace("(1) A first", "A first").replace("(2) A second", "A second"),
])
def test_text_without_the_whole_layout_is_left_alone(text: str) -> None:
    sections = [SectionSpan(0, len(text), ())]
    assert label_recitals(text, sections) == sections


def test_spans_a_reader_labelled_keep_their_path() -> None:
    sections = [SectionSpan(0, len(ACT), ("Annex",))]
    assert label_recitals(ACT, sections) == sections


@pytest.mark.parametrize("name, recitals, cited, first_words", [
    ("eu_dublin_iii_regulation_604_2013_oj_l180.pdf", 42, 21,
     "(21) Deficiencies in, or the collapse"),
    ("eu_qualification_regulation_2024_1347_oj.pdf", 78, 24,
     "(24) When examining whether applicants have"),
])
def test_eu_regulations_cite_recitals_and_keep_only_front_matter_unlabelled(
        shared_corpus: Path, name: str, recitals: int, cited: int, first_words: str) -> None:
    path = shared_corpus / "pdf" / name
    doc = load_document(SourceFile(path, f"pdf/{name}"), sha256_file(path),
                        catalogue_for(shared_corpus))
    labelled = [s for s in doc.sections if s.path[1:2] and s.path[1].startswith("Recital (")]
    assert [s.path[1] for s in labelled] == [f"Recital ({n})" for n in range(1, recitals + 1)]
    assert doc.text[labelled[cited - 1].start:].startswith(first_words)
    embedder = HashingEmbedder()
    chunks = StructureChunker(ChunkSettings(), embedder.count_tokens, embedder.max_tokens
                              ).chunk(doc)
    unlabelled = [c for c in chunks if not c.section]
    # Only the title block before the citations: "REGULATION (EU) ... OF THE COUNCIL ...".
    assert len(unlabelled) == 1 and unlabelled[0].char_start == 0
    assert doc.text[unlabelled[0].char_start:unlabelled[0].char_end].startswith("REGULATION (EU)")
    assert "Having regard" not in doc.text[unlabelled[0].char_start:unlabelled[0].char_end]
    # A recital long enough for a chunk of its own is cited by its number; two tiny neighbours
    # may share a chunk, cited by what they share ("Preamble").
    own = [c for c in chunks if c.section[-1:] == (f"Recital ({cited})",)]
    assert own and doc.text[own[0].char_start:].startswith(first_words)
    assert all(c.section[:1] == (PREAMBLE,) for c in chunks if c.char_end <= labelled[-1].end
               and c.char_start >= labelled[0].start)
