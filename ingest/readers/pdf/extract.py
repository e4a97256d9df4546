"""Opening a PDF with pypdf, extracting each page's raw text, and spotting scrambled text layers."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdf

from ingest.document import DocumentReadError

# Extraction mode: pypdf's default ("plain") mode follows the content stream, which for the
# two-column EU Official Journal yields whole columns in reading order; "layout" mode interleaves
# the two columns line by line, which is unreadable for a two-column page.
_EXTRACTION_MODE = "plain"

# A page this long is almost certainly garbage (a text layer gone wrong); cap it so one page
# cannot dominate memory or the index.
MAX_PAGE_CHARS = 2_000_000

_BAD_TITLES = re.compile(
    r"(^microsoft (word|powerpoint|excel)\b)|(\.(docx?|pdf|rtf|odt|indd|qxd|txt|p65)$)"
    r"|(^(untitled|layout \d+|document\d*|title)$)|(^[\W\d_]*$)",
    re.IGNORECASE,
)
_LETTER_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]{2,}(?![^\W\d_])")
_DIGIT_IN_WORD = re.compile(r"[^\W\d_]\d|\d[^\W\d_]")


@contextmanager
def quiet_pypdf() -> Iterator[None]:
    """Silence pypdf's warnings about malformed files for the duration of one read."""
    logger = logging.getLogger("pypdf")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(previous)


def open_pdf(path: Path) -> pypdf.PdfReader:
    try:
        reader = pypdf.PdfReader(path, strict=False)
    except Exception as exc:
        raise DocumentReadError(f"not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if reader.is_encrypted:
        _decrypt(reader)
    return reader


def _decrypt(reader: pypdf.PdfReader) -> None:
    """Open PDFs that are encrypted only against editing (empty user password); refuse others."""
    try:
        result = reader.decrypt("")
    except Exception as exc:  # e.g. AES without the optional crypto dependency
        raise DocumentReadError(f"PDF is encrypted and could not be decrypted: {exc}") from exc
    if result == pypdf.PasswordType.NOT_DECRYPTED:
        raise DocumentReadError("PDF is encrypted with a password; provide an unencrypted copy")


def page_count(reader: pypdf.PdfReader) -> int:
    try:
        count = len(reader.pages)
    except Exception as exc:
        raise DocumentReadError(f"PDF page tree is unreadable ({type(exc).__name__}: {exc})") from exc
    if count == 0:
        raise DocumentReadError("PDF has no pages")
    return count


def extract_page(reader: pypdf.PdfReader, i: int, warnings_: list[str]) -> str:
    """One page's text; a page that fails becomes a warning so the rest of the file survives."""
    try:
        text = reader.pages[i].extract_text(extraction_mode=_EXTRACTION_MODE) or ""
    except Exception as exc:
        warnings_.append(f"page {i + 1}: text extraction failed ({type(exc).__name__}: {exc})")
        return ""
    if len(text) > MAX_PAGE_CHARS:
        warnings_.append(f"page {i + 1}: text truncated to {MAX_PAGE_CHARS} characters")
        text = text[:MAX_PAGE_CHARS]
    return text


def scrambled(lines: list[str], min_visible: int = 200) -> bool:
    """Whether a page's text looks like glyph codes rather than words.

    Fonts without a Unicode map come out as strings like "9E;k3j0))k;MW0": letters, digits and
    punctuation run together. Real text, in any alphabet, is mostly whole words of letters.
    A page with fewer than `min_visible` characters is too short to judge alone.
    """
    text = " ".join(lines)
    visible = sum(not c.isspace() for c in text)
    if visible < min_visible:
        return False
    in_words = sum(len(m.group()) for m in _LETTER_WORD.finditer(text))
    mixed = len(_DIGIT_IN_WORD.findall(text))
    return in_words < 0.5 * visible or mixed > visible / 40


def metadata_title(reader: pypdf.PdfReader) -> str | None:
    """The /Title metadata when it names the document, not a file or a template."""
    try:
        metadata = reader.metadata
        title = metadata.title if metadata else None
    except Exception:
        return None
    if not isinstance(title, str):
        return None
    title = " ".join(title.split())
    if len(title) < 3 or _BAD_TITLES.search(title):
        return None
    return title
