"""The reader registry: suffix lookup, and every non-PDF corpus file readable through it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

if importlib.util.find_spec("ingest.readers.pdf") is None:
    pytest.skip("ingest/readers/pdf is not written yet", allow_module_level=True)

from ingest.readers.registry import READERS, reader_for, supported_suffixes  # noqa: E402

# PDFs have their own tests and take long; everything else goes through the registry here.
_SLOW_FORMATS = {"pdf"}


def test_every_format_is_registered_once() -> None:
    formats = [reader.format for reader in READERS]
    assert formats == ["pdf", "markdown", "text", "html", "justice-canada-xml", "docx"]
    suffixes = supported_suffixes()
    assert len(suffixes) == len(set(suffixes))
    assert set(suffixes) == {".pdf", ".md", ".markdown", ".txt", ".html", ".htm", ".xml",
                             ".docx"}
    for reader in READERS:
        assert all(s.startswith(".") and s == s.lower() for s in reader.suffixes)
        assert callable(reader.read)


@pytest.mark.parametrize(("name", "fmt"), [
    ("a.md", "markdown"), ("A.MARKDOWN", "markdown"), ("b.TXT", "text"), ("c.htm", "html"),
    ("d.Html", "html"), ("e.xml", "justice-canada-xml"), ("f.PDF", "pdf"),
    ("dir.with.dots/g.md", "markdown"), ("h.DOCX", "docx"),
])
def test_reader_for_picks_by_lowercased_suffix(name: str, fmt: str) -> None:
    reader = reader_for(Path(name))
    assert reader is not None and reader.format == fmt


@pytest.mark.parametrize("name", ["a.xlsx", "a.doc", "README", "archive.tar.gz", ".md"])
def test_unknown_suffixes_have_no_reader(name: str) -> None:
    assert reader_for(Path(name)) is None


def test_every_text_format_corpus_file_reads_through_the_registry(shared_corpus: Path) -> None:
    files = [p for p in sorted(shared_corpus.rglob("*")) if p.is_file()
             and p.suffix.lower() in supported_suffixes()]
    read = 0
    for path in files:
        reader = reader_for(path)
        assert reader is not None
        if reader.format in _SLOW_FORMATS:
            continue
        parsed = reader.read(path)
        assert parsed.text.strip() and parsed.sections, path.name
        ends = [(s.start, s.end) for s in parsed.sections]
        assert ends == sorted(ends) and all(a < b for a, b in ends), path.name
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(ends, ends[1:])), path.name
        assert ends[-1][1] <= len(parsed.text), path.name
        read += 1
    assert read >= 20
