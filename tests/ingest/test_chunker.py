"""Chunker properties: exact offsets, full coverage, the embedder's limit, and structure."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunker import ChunkSettings, StructureChunker, citable_unit
from ingest.document import Document, TextBuilder
from ingest.tokens import count_tokens

WORDS = st.sampled_from(["refugee", "State", "shall", "expel", "Article", "the", "of",
                         "non-refoulement", "1.", "(a)", "Contracting", "territory", "§",
                         "asylum-seekers", "x" * 40, "Überstellung", "—", "1951"])
SENTENCE = st.lists(WORDS, min_size=1, max_size=60).map(lambda ws: " ".join(ws) + ".")
PARAGRAPH = st.lists(SENTENCE, min_size=1, max_size=8).map(" ".join)
SECTION = st.tuples(st.sampled_from(["Chapter I", "Chapter II"]),
                    st.integers(1, 40), st.lists(PARAGRAPH, min_size=1, max_size=6))


def _document(sections: list[tuple[str, int, list[str]]]) -> Document:
    builder = TextBuilder()
    for chapter, article, paragraphs in sections:
        builder.set_path((chapter, f"Article {article}"))
        builder.append(f"Article {article}\n\n")
        for para in paragraphs:
            builder.append(para + "\n\n")
    parsed = builder.build()
    return Document("doc.md", "A Convention with a reasonably long title", "markdown",
                    parsed.text, "hash", parsed.sections)


@pytest.fixture(scope="module")
def chunker(embedder) -> StructureChunker:
    return StructureChunker(ChunkSettings(target_tokens=60, overlap_tokens=10),
                            embedder.count_tokens, embedder.max_tokens)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.data_too_large])
@given(sections=st.lists(SECTION, min_size=1, max_size=6))
def test_chunks_map_back_cover_and_fit(chunker, embedder, sections):
    doc = _document(sections)
    chunks = chunker.chunk(doc)
    covered = [False] * len(doc.text)
    for n, chunk in enumerate(chunks):
        assert chunk.ordinal == n
        assert doc.text[chunk.char_start:chunk.char_end] == chunk.text
        assert chunk.embed_text.endswith(chunk.text)
        assert chunk.embed_tokens == embedder.count_tokens(chunk.embed_text)
        assert chunk.embed_tokens <= embedder.max_tokens
        for i in range(chunk.char_start, chunk.char_end):
            covered[i] = True
    missing = [i for i, c in enumerate(doc.text) if not c.isspace() and not covered[i]]
    assert missing == []


def test_target_is_respected_when_sentences_are_small(chunker):
    text_sections = [("Chapter I", 1, ["The State shall protect refugees. " * 40])]
    doc = _document(text_sections)
    chunks = chunker.chunk(doc)
    assert len(chunks) > 3
    assert all(count_tokens(c.text) <= 60 for c in chunks)
    # neighbouring chunks overlap by at most the overlap setting, and never go backwards
    for a, b in zip(chunks, chunks[1:]):
        assert a.char_start < b.char_start
        assert count_tokens(doc.text[b.char_start:max(a.char_end, b.char_start)]) <= 10


def test_chunks_do_not_span_articles_unless_tiny(embedder):
    chunker = StructureChunker(ChunkSettings(target_tokens=160, overlap_tokens=0, tiny_tokens=20),
                               embedder.count_tokens, embedder.max_tokens)
    long_para = "Each Contracting State shall grant refugees lawfully staying the right. " * 6
    doc = _document([("Chapter I", 1, ["Short."]), ("Chapter I", 2, ["Also short."]),
                     ("Chapter I", 3, [long_para]), ("Chapter I", 4, [long_para])])
    chunks = chunker.chunk(doc)
    units = [{citable_unit(s.path) for s in doc.sections
              if s.start < c.char_end and s.end > c.char_start} for c in chunks]
    # Articles 1 and 2 are tiny and may share; 3 and 4 never share a chunk.
    for c, u in zip(chunks, units):
        assert not ({("Chapter I", "Article 3"), ("Chapter I", "Article 4")} <= u), c.text
    assert any(len(u) == 2 for u in units)
    assert [c.section for c in chunks if "Article 3" in c.text][0] == ("Chapter I", "Article 3")


def test_prefix_names_title_and_heading_path(chunker):
    doc = _document([("Chapter V", 33, ["No Contracting State shall expel or return a refugee."])])
    chunk = chunker.chunk(doc)[0]
    assert chunk.embed_text.startswith("A Convention with a reasonably long title\n"
                                       "Chapter V > Article 33\n")


def test_an_overlong_word_is_split_not_truncated(chunker, embedder):
    doc = _document([("Chapter I", 1, ["z" * 5000])])
    chunks = chunker.chunk(doc)
    joined = "".join(c.text for c in chunks).replace("Article 1", "")
    assert "".join(joined.split()) == "z" * 5000
    assert all(c.embed_tokens <= embedder.max_tokens for c in chunks)


def test_settings_are_checked():
    with pytest.raises(ValueError):
        ChunkSettings(target_tokens=100, overlap_tokens=60)
    with pytest.raises(ValueError):
        ChunkSettings(target_tokens=4)


def test_real_treaty_has_no_truncated_chunk_with_default_settings(shared_corpus, embedder):
    from ingest.catalogue import catalogue_for
    from ingest.pipeline import SourceFile, load_document

    path = shared_corpus / "treaties" / "refugee_convention_1951.md"
    doc = load_document(SourceFile(path, "treaties/refugee_convention_1951.md"), "h",
                        catalogue_for(shared_corpus))
    chunker = StructureChunker(ChunkSettings(), embedder.count_tokens, embedder.max_tokens)
    chunks = chunker.chunk(doc)
    assert all(c.embed_tokens <= embedder.max_tokens for c in chunks)
    art33 = [c for c in chunks if "shall expel or return" in c.text]
    assert art33 and re.match(r"Article 33\b", art33[0].section[-1])


POLICY_MD = """# Expense policy

# 1 Scope

This policy applies to all staff who incur costs on the organisation's behalf.

# 2 Procedure

Claims follow the steps below.

## 2.1 Submission

Submit each claim within thirty days of the expense, with the original receipts attached.

## 2.2 Approval

The budget holder approves every claim before it is paid.

### 2.2.1 Delegation

A budget holder may delegate approval to a deputy in writing for up to three months.

### 2.2.2 Limits

Claims above five thousand euros also need the finance director's signature.

## 2.3 Payment

Approved claims are paid with the next monthly salary.

# 3 Records

Finance keeps claims and receipts for seven years.
"""


def test_plain_markdown_policy_chunks_cite_their_full_heading_path(tmp_path, embedder):
    from ingest.catalogue import Catalogue
    from ingest.pipeline import SourceFile, load_document

    path = tmp_path / "expense_policy.md"
    path.write_text(POLICY_MD, encoding="utf-8")
    doc = load_document(SourceFile(path, path.name), "h", Catalogue([]))
    chunks = StructureChunker(ChunkSettings(), embedder.count_tokens,
                              embedder.max_tokens).chunk(doc)

    def cited(needle: str) -> tuple[str, ...]:
        found = [c.section for c in chunks if needle in c.text]
        assert found, needle
        return found[0]

    assert cited("delegate approval") == ("2 Procedure", "2.2 Approval", "2.2.1 Delegation")
    assert cited("finance director") == ("2 Procedure", "2.2 Approval", "2.2.2 Limits")
    assert cited("within thirty days") == ("2 Procedure", "2.1 Submission")
    assert cited("monthly salary") == ("2 Procedure", "2.3 Payment")
    assert cited("seven years") == ("3 Records",)
    assert cited("all staff") == ("1 Scope",)
