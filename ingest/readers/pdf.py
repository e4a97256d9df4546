"""PDF reader: per-page text via pypdf, cleaned of running heads, with page labels and headings."""

from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pypdf

from ingest.document import DocumentReadError, ParsedText, TextBuilder

# Extraction mode: pypdf's default ("plain") mode follows the content stream, which for the
# two-column EU Official Journal yields whole columns in reading order; "layout" mode interleaves
# the two columns line by line, which is unreadable for a two-column page.
_EXTRACTION_MODE = "plain"

# A page this long is almost certainly garbage (a text layer gone wrong); cap it so one page
# cannot dominate memory or the index.
MAX_PAGE_CHARS = 2_000_000

_EDGE_LINES = 2  # lines at the top and at the bottom of a page that may be running heads
_HEADER_MIN_PAGES = 3
_HEADER_MIN_SHARE = 0.30
_LABEL_MIN_PAGES = 3
_LABEL_MIN_SHARE = 0.50
# A repeated line this distinctive (non-digit characters) is removed wherever it sits on a page:
# footnotes can push an Official Journal footer above the last two lines.
_DISTINCTIVE_HEADER_CHARS = 12
_MAX_HEADING_WORDS = 12
_MAX_TITLE_CHARS = 120

_SOFT_HYPHEN = "\u00ad"
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000\t\f\v]")
_LIGATURES = re.compile(r"[\ufb00-\ufb06]")
_SPACES = re.compile(r" {2,}")
# Small-caps fonts sometimes map one glyph to a capital inside a lowercase word ("prohiBition").
_CASE_GLITCH = re.compile(r"\b[a-z]+[A-Z][a-z]*\b")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]\s*)?(?:page\s+)?(\d{1,4}|[ivxlcdm]{1,7}|[IVXLCDM]{1,7})(?:\s*[-–—])?$",
    re.IGNORECASE,
)
_ARABIC_PAGE_NUMBER = re.compile(r"^(?:[-–—]\s*)?(?:page\s+)?(\d{1,4})(?:\s*[-–—])?$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# A list marker before a paragraph's first word: "1.", "(a)", "B.(1)", "A.".
_ENUM = r"(?:[(\[]?[0-9A-Za-z]{1,5}[.)\]](?:\s*\([0-9a-z]{1,4}\))?\s+)?"
# A decorative initial split from its word: "1. T he", "A. F or" (one letter, one or two spaces).
_DROP_CAP = re.compile(rf"^(\s*{_ENUM})([A-Z]) {{1,2}}([a-z]+)")
# ... or split onto its own line: "(1) H" + "as been", or an opening quote: "(a) “" + "events".
_DROP_CAP_LINE = re.compile(rf"^\s*{_ENUM}([A-Z]|[“‘\"'(])$")

_WORD_BREAK_SOFT = re.compile(r"(\w) ?\u00ad$")
_WORD_BREAK_HARD = re.compile(r"([a-z])-$")

_LEVELS = {"part": 0, "annex": 0, "chapter": 1, "section": 2, "article": 3}
_HEADING = re.compile(
    r"^(?P<kw>article|chapter|part|section|annex)"
    r"(?:\s+(?P<num>\d{1,3}[a-z]?|[ivxlc](?:\s?[ivxlc]){0,6})\b)?"
    r"(?:\s+(?P<suffix>bis|ter|quater|quinquies|sexies)\b)?"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_HEADING_SEPARATOR = re.compile(r"^\s*[:.–—-]\s*")
_ROMAN = re.compile(r"^[ivxlc]+$", re.IGNORECASE)
_BAD_TITLES = re.compile(
    r"(^microsoft (word|powerpoint|excel)\b)|(\.(docx?|pdf|rtf|odt|indd|qxd|txt|p65)$)"
    r"|(^(untitled|layout \d+|document\d*|title)$)|(^[\W\d_]*$)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _Heading:
    level: int
    label: str
    title_lines: int  # lines after the heading that are its title and belong to it


class PdfReader:
    """Reads a PDF's text layer page by page; raises DocumentReadError for unreadable files."""

    format = "pdf"
    suffixes = (".pdf",)

    def read(self, path: Path) -> ParsedText:
        with _quiet_pypdf():
            try:
                return _read(Path(path))
            except DocumentReadError:
                raise
            except Exception as exc:  # pypdf raises many types on malformed input
                raise DocumentReadError(f"could not read PDF: {type(exc).__name__}: {exc}") from exc


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
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


def _read(path: Path) -> ParsedText:
    reader = _open(path)
    page_count = _page_count(reader)
    warnings_: list[str] = []
    raw_pages = [_extract_page(reader, i, warnings_) for i in range(page_count)]
    pages = [_normalize_lines(text) for text in raw_pages]
    del raw_pages
    if not any(pages):
        raise DocumentReadError(
            f"no extractable text on any of {page_count} pages (scanned PDF? OCR is not supported)"
        )
    for index, lines in enumerate(pages, start=1):
        if not lines:
            warnings_.append(f"page {index}: no extractable text (image-only?)")
    scrambled = [i for i, lines in enumerate(pages, 1) if _scrambled(lines)]
    if len(scrambled) * 2 > sum(1 for lines in pages if lines):
        raise DocumentReadError(
            f"the text layer is scrambled on {len(scrambled)} of {page_count} pages (fonts "
            "without a Unicode map?); indexing it would only add noise")
    warnings_.extend(f"page {i}: text layer looks scrambled" for i in scrambled)
    labels = _page_labels(reader, pages)
    pages = _strip_running_heads(pages)
    vocabulary = _vocabulary(pages)
    soft_breaks = any(_WORD_BREAK_SOFT.search(line) for lines in pages for line in lines)
    pages = [_join_lines(lines, vocabulary, soft_breaks) for lines in pages]
    builder = _build_text(pages, labels, vocabulary, soft_breaks)
    return builder.build(title=_title(reader), warnings=warnings_, paged=True)


_LETTER_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]{2,}(?![^\W\d_])")
_DIGIT_IN_WORD = re.compile(r"[^\W\d_]\d|\d[^\W\d_]")


def _scrambled(lines: list[str]) -> bool:
    """Whether a page's text looks like glyph codes rather than words.

    Fonts without a Unicode map come out as strings like "9E;k3j0))k;MW0": letters, digits and
    punctuation run together. Real text, in any alphabet, is mostly whole words of letters.
    """
    text = " ".join(lines)
    visible = sum(not c.isspace() for c in text)
    if visible < 200:
        return False
    in_words = sum(len(m.group()) for m in _LETTER_WORD.finditer(text))
    mixed = len(_DIGIT_IN_WORD.findall(text))
    return in_words < 0.5 * visible or mixed > visible / 40


def _open(path: Path) -> pypdf.PdfReader:
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


def _page_count(reader: pypdf.PdfReader) -> int:
    try:
        count = len(reader.pages)
    except Exception as exc:
        raise DocumentReadError(f"PDF page tree is unreadable ({type(exc).__name__}: {exc})") from exc
    if count == 0:
        raise DocumentReadError("PDF has no pages")
    return count


def _extract_page(reader: pypdf.PdfReader, i: int, warnings_: list[str]) -> str:
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


# --- character and line normalization ---------------------------------------------------------


def _normalize_lines(text: str) -> list[str]:
    """Clean characters and whitespace; drop empty lines."""
    text = _LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _ODD_SPACES.sub(" ", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        # Soft hyphens inside a line are invisible break hints; the one ending a line is handled
        # when lines are joined, because it marks a word broken across the line.
        core = line[:-1] if line.endswith(_SOFT_HYPHEN) else line
        core = re.sub(r"(?<=\w) ?\u00ad ?(?=\w)", "", core).replace(_SOFT_HYPHEN, "")
        line = core + _SOFT_HYPHEN if line.endswith(_SOFT_HYPHEN) else core
        line = _CASE_GLITCH.sub(lambda m: m.group().lower(), line)
        if line and line != _SOFT_HYPHEN:
            lines.append(line)
    return lines


# --- page labels ---------------------------------------------------------------------------------


def _page_labels(reader: pypdf.PdfReader, pages: list[list[str]]) -> list[str]:
    """Printed page labels: /PageLabels when meaningful, else inferred from printed numbers."""
    count = len(pages)
    declared = _declared_labels(reader, count)
    if declared is not None:
        return declared
    offset = _infer_offset(pages)
    if offset is None:
        return [str(i) for i in range(1, count + 1)]
    return [str(i + offset) if i + offset > 0 else str(i) for i in range(1, count + 1)]


def _declared_labels(reader: pypdf.PdfReader, count: int) -> list[str] | None:
    try:
        if "/PageLabels" not in reader.trailer["/Root"]:
            return None
        labels = list(reader.page_labels)
    except Exception:  # a broken /PageLabels tree is no reason to fail the document
        return None
    trivial = [str(i) for i in range(1, count + 1)]
    if len(labels) != count or labels == trivial or not all(labels):
        return None
    return labels


def _infer_offset(pages: list[list[str]]) -> int | None:
    """The constant (printed number - PDF index) shared by enough pages, if there is one."""
    votes: Counter[int] = Counter()
    with_text = 0
    for index, lines in enumerate(pages, start=1):
        if not lines:
            continue
        with_text += 1
        offsets = set()
        for line in _edge_lines(lines):
            match = _ARABIC_PAGE_NUMBER.match(line)
            if match:
                offsets.add(int(match.group(1)) - index)
        votes.update(offsets)
    if not votes:
        return None
    offset, support = votes.most_common(1)[0]
    if support >= _LABEL_MIN_PAGES and support >= _LABEL_MIN_SHARE * with_text:
        return offset
    return None


def _edge_lines(lines: list[str]) -> list[str]:
    if len(lines) <= 2 * _EDGE_LINES:
        return list(lines)
    return lines[:_EDGE_LINES] + lines[-_EDGE_LINES:]


# --- running headers and footers ------------------------------------------------------------------


def _head_key(line: str) -> str:
    return re.sub(r"\d", "#", line.replace(" ", "").lower())


def _strip_running_heads(pages: list[list[str]]) -> list[list[str]]:
    """Drop lines repeated at page edges across many pages, and bare page numbers at edges."""
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_head_key(line) for line in _edge_lines(lines)})
    threshold = max(_HEADER_MIN_PAGES, _HEADER_MIN_SHARE * len(pages))
    repeated = {key for key, n in counts.items() if n >= threshold}
    return [_strip_page(lines, repeated) for lines in pages]


def _strip_page(lines: list[str], repeated: set[str]) -> list[str]:
    edge = set(range(min(_EDGE_LINES, len(lines)))) | set(range(max(len(lines) - _EDGE_LINES, 0), len(lines)))
    kept = []
    for i, line in enumerate(lines):
        key = _head_key(line)
        distinctive = len(key.replace("#", "")) >= _DISTINCTIVE_HEADER_CHARS
        at_edge = i in edge
        if key in repeated and (at_edge or distinctive):
            continue
        if at_edge and _PAGE_NUMBER.match(line):
            continue
        kept.append(line)
    return kept


# --- word breaks and drop caps -------------------------------------------------------------------


def _vocabulary(pages: list[list[str]]) -> Counter[str]:
    """Lowercased word counts, leaving out fragments of split drop caps ("T he" -> not "he")."""
    vocab: Counter[str] = Counter()
    for lines in pages:
        after_initial = False
        for line in lines:
            match = _DROP_CAP.match(line)
            if match:
                line = line[match.end():]
            elif after_initial and line[:1].islower():  # "(2) A" + "ny Contracting State"
                line = _WORD.sub("", line, count=1)
            vocab.update(w.lower() for w in _WORD.findall(line))
            after_initial = bool(_DROP_CAP_LINE.match(line))
    return vocab


def _join_lines(lines: list[str], vocab: Counter[str], soft_breaks: bool) -> list[str]:
    """Rejoin words broken across lines and initials split from their words."""
    out: list[str] = []
    for line in lines:
        if out:
            merged = _merge(out[-1], line, vocab, soft_breaks)
            if merged is not None:
                out[-1] = merged
                continue
        out.append(line)
    return [_fix_drop_cap(line, vocab) for line in out]


def _merge(previous: str, line: str, vocab: Counter[str], soft_breaks: bool) -> str | None:
    """`previous` and `line` as one line when a word is split between them, else None."""
    if previous.endswith(_SOFT_HYPHEN):
        return _WORD_BREAK_SOFT.sub(r"\1", previous).rstrip(_SOFT_HYPHEN) + line
    if _DROP_CAP_LINE.match(previous) and line[:1].islower():
        head = previous[-1]
        first = _WORD.match(line)
        if not head.isalpha() or (first and (head + first.group()).lower() in vocab):
            return previous + line
        return None
    hyphen = _WORD_BREAK_HARD.search(previous)
    # A lowercase heading ("chapter i v: Welfare") misplaced after a broken word is no continuation.
    if hyphen and line[:1].islower() and _parse_heading([line], 0) is None:
        return _join_hyphenated(previous, line, vocab, soft_breaks)
    return None


def _join_hyphenated(previous: str, line: str, vocab: Counter[str], soft_breaks: bool) -> str:
    """Join "appli-" + "cation"; keep the hyphen of a real compound ("well-" + "founded")."""
    before = re.search(r"([^\W\d_]+)-$", previous)
    after = _WORD.match(line)
    left = before.group(1).lower() if before else ""
    right = after.group().split("-")[0].lower() if after else ""
    compound = f"{left}-{right}"
    joined = f"{left}{right}"
    # Evidence from the document itself beats any rule; a document that breaks words with soft
    # hyphens uses a real hyphen at line end only for compounds.
    keep_hyphen = vocab[compound] > vocab[joined] or (soft_breaks and vocab[joined] == 0)
    return previous + line if keep_hyphen else previous[:-1] + line


def _fix_drop_cap(line: str, vocab: Counter[str]) -> str:
    """"1. T he" -> "1. The" when the joined word is a word of the document and the parts are not."""
    match = _DROP_CAP.match(line)
    if not match:
        return line
    enum, initial, rest = match.groups()
    # A fragment that is no word of the document ("E nsuring") is a split initial; "T he" is one
    # when the joined word occurs elsewhere. "A" and "I" are words themselves: "A refugee" stays.
    fragment = len(rest) == 1 or vocab[rest.lower()] == 0
    if not fragment and (initial in "AI" or (initial + rest).lower() not in vocab):
        return line
    return enum + initial + rest + line[match.end():]


# --- headings --------------------------------------------------------------------------------------


def _parse_heading(lines: list[str], i: int) -> _Heading | None:
    """A structural heading at the start of `lines[i]`, or None for running text and references."""
    line = lines[i]
    match = _HEADING.match(line)
    if not match or len(line.split()) > _MAX_HEADING_WORDS:
        return None
    keyword = match.group("kw").lower()
    number = match.group("num")
    if number is None and keyword != "annex":
        return None
    if keyword == "annex" and not (line.startswith("ANNEX") or line.startswith("Annex")):
        return None
    title = _inline_title(match.group("rest"), number)
    if title is None:
        return None
    label = _heading_label(keyword, number, match.group("suffix"))
    title_lines = 0
    if not title:
        title_lines = _title_lines(lines, i + 1)
        title = " ".join(lines[i + 1:i + 1 + title_lines])
    if title:
        label = f"{label} {_clean_title(title)}"
    return _Heading(_LEVELS[keyword], label, title_lines)


def _inline_title(rest: str, number: str | None) -> str | None:
    """The title after the number: "" when none, None when the line is not a heading at all."""
    if not rest.strip():
        return ""
    separator = _HEADING_SEPARATOR.match(rest)
    if separator:
        title = rest[separator.end():].strip()
        return title if title and _is_title_text(title) else None
    if not rest.startswith(" "):  # "Article 13(4)", "Article 5,"
        return None
    title = rest.strip()
    if not title[:1].isupper() or _parse_number_only(title):
        return None
    return title if _is_title_text(title) else None


def _parse_number_only(text: str) -> bool:
    match = _HEADING.match(text)
    return bool(match and match.group("num"))


def _is_title_text(title: str) -> bool:
    return len(title) <= _MAX_TITLE_CHARS and not title.endswith((",", ";", "."))


def _title_lines(lines: list[str], i: int) -> int:
    """How many lines from `lines[i]` title a bare heading (0-2), not the start of its text.

    A title is short, and what follows it starts a new block; a line followed by lowercase text
    is the first line of a sentence ("Article 4" / "States Parties shall ... other" / "measures").
    """
    if not _is_title_line(lines, i):
        return 0
    if _starts_block(lines, i + 1):
        return 1
    wrapped = i + 1 < len(lines) and lines[i + 1][:1].islower() and _is_title_line(lines, i + 1)
    if wrapped and len(f"{lines[i]} {lines[i + 1]}") <= _MAX_TITLE_CHARS and _starts_block(lines, i + 2):
        return 2
    return 0


def _is_title_line(lines: list[str], i: int) -> bool:
    if i >= len(lines):
        return False
    line = lines[i]
    if len(line.split()) > _MAX_HEADING_WORDS or not line[:1].isalpha():
        return False
    if re.match(r"^[(\[]?[0-9A-Za-z]{1,5}[.)\]]\s", line):  # "A. The ...": a list item
        return False
    if _parse_number_only(line):
        return False
    return _is_title_text(line) and not line.endswith(":")


def _starts_block(lines: list[str], i: int) -> bool:
    """Whether `lines[i]` can begin a new paragraph (or the page ends before it)."""
    return i >= len(lines) or not lines[i][:1].islower()


def _heading_label(keyword: str, number: str | None, suffix: str | None) -> str:
    parts = [keyword.capitalize()]
    if number:
        compact = number.replace(" ", "")
        parts.append(compact.upper() if _ROMAN.match(compact) else compact)
    if suffix:
        parts.append(suffix.lower())
    return " ".join(parts)


def _clean_title(title: str) -> str:
    """Sentence case for all-caps or lowercase titles; others as printed."""
    title = title.strip()
    if title.isupper() or title[:1].islower():
        return title[:1].upper() + title[1:].lower()
    return title


def _next_path(path: tuple[tuple[int, str], ...], heading: _Heading) -> tuple[tuple[int, str], ...]:
    """A heading replaces its level and clears every deeper one."""
    kept = tuple(entry for entry in path if entry[0] < heading.level)
    return kept + ((heading.level, heading.label),)


def _hoist_page_end_heading(lines: list[str]) -> list[str]:
    """Move a chapter/part heading found at the very end of a page to its start.

    Some layouts (the UNHCR booklet) print the chapter banner at the top of the page but put it
    last in the content stream; a chapter heading with nothing under it on its page is that case.
    """
    for take in (1, 2):
        if len(lines) <= take:
            continue
        tail = lines[-take:]
        heading = _parse_heading(tail, 0)
        if heading and heading.level < _LEVELS["article"] and heading.title_lines == take - 1:
            return tail + lines[:-take]
    return lines


# --- assembly --------------------------------------------------------------------------------------


def _build_text(pages: list[list[str]], labels: list[str], vocab: Counter[str],
                soft_breaks: bool) -> TextBuilder:
    builder = TextBuilder()
    path: tuple[tuple[int, str], ...] = ()
    glue = False  # the previous page with text ended inside a word: no break before this one
    for index, (lines, label) in enumerate(zip(pages, labels), start=1):
        # Every page gets a span, even an empty one, so the page map is complete.
        builder.start_page(index, label)
        lines = _hoist_page_end_heading(lines)
        i = 0
        while i < len(lines):
            heading = _parse_heading(lines, i)
            separator = _separator(builder, i, heading is not None, glue)
            if heading:
                path = _next_path(path, heading)
                # Before the heading's own text, so the heading line belongs to its section.
                builder.set_path(tuple(label_ for _, label_ in path))
                for _ in range(heading.title_lines):
                    builder.append(separator + lines[i])
                    separator, i = "\n", i + 1
            line = lines[i]
            if i == len(lines) - 1:
                line, glue = _page_end_break(line, index, pages, vocab, soft_breaks)
            builder.append(separator + line)
            i += 1
    return builder


def _separator(builder: TextBuilder, i: int, is_heading: bool, glue: bool) -> str:
    if builder.length == 0:
        return ""
    if i == 0:
        return "" if glue and not is_heading else "\n\n"
    return "\n\n" if is_heading else "\n"


def _page_end_break(line: str, index: int, pages: list[list[str]], vocab: Counter[str],
                    soft_breaks: bool) -> tuple[str, bool]:
    """A word broken across the page turn: drop the break hyphen and glue the next page on."""
    # The next page's first line as it will be written, i.e. after a banner heading is hoisted.
    following = next((_hoist_page_end_heading(p) for p in pages[index:] if p), None)
    if not following or not following[0][:1].islower():
        return line.rstrip(_SOFT_HYPHEN), False
    merged = _merge(line, following[0], vocab, soft_breaks)
    if merged is None:
        return line, False
    # The merge tells us whether the hyphen stays; keep only this page's part of the result.
    return merged[: len(merged) - len(following[0])], True


def _title(reader: pypdf.PdfReader) -> str | None:
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
