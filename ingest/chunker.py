"""Structure-aware chunking: citable units first, then paragraphs, sentences and words, in tokens."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from ingest.document import Document, SectionSpan
from ingest.sentences import sentence_spans
from ingest.tokens import count_tokens

# A heading path component that names a citable unit: chunks never span two of these unless
# both are tiny. Deeper components (paragraphs, subsections) may share a chunk.
_CITABLE = re.compile(
    r"^(article|art\.|§|s\.|section|rule|regulation|schedule|annex|paragraph|preamble|recital)\b",
    re.IGNORECASE,
)
# A heading numbered in a decimal outline: "1 Scope", "2.2 Approval", "2.2.1. Delegation".
_OUTLINE_NUMBER = re.compile(r"^\d{1,3}(?:\.\d{1,3})*\.?\s+[^\W\d_]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_LINE_BREAK = re.compile(r"\n")
_WORD = re.compile(r"\S+")

SECTION_SEPARATOR = " > "
# 2: tiny sections under decimal-numbered headings keep their own chunks. 3: EU recitals are
# sections of their own (ingest/readers/recitals.py), each a citable unit; tiny neighbours
# merge only where they share a heading path (never into an empty cite); PDF pages without a
# usable text layer are read by OCR, and chunks say so. 4: PDF preambles are sections of their
# own, and the UDHR booklet's side-label article headings are read. A new version also makes
# the next build re-read every document, so reader fixes reach unchanged files too.
CHUNKER_VERSION = 4


@dataclass(frozen=True, slots=True)
class ChunkSettings:
    target_tokens: int = 160  # tiktoken tokens of chunk text, before the prefix
    overlap_tokens: int = 24
    tiny_tokens: int = 48  # sections this small may share a chunk with their neighbours
    max_prefix_tokens: int = 48  # embedder word pieces kept for title + heading path

    def __post_init__(self) -> None:
        if self.target_tokens < 16:
            raise ValueError("chunk target must be at least 16 tokens")
        if not 0 <= self.overlap_tokens < self.target_tokens // 2:
            raise ValueError("chunk overlap must be between 0 and half the target")

    def fingerprint(self) -> str:
        # CHUNKER_VERSION changes whenever the same settings would cut chunks differently.
        return (f"v{CHUNKER_VERSION},target={self.target_tokens},overlap={self.overlap_tokens},"
                f"tiny={self.tiny_tokens},prefix={self.max_prefix_tokens}")


@dataclass(frozen=True, slots=True)
class Chunk:
    document_id: str
    ordinal: int
    char_start: int
    char_end: int
    text: str
    section: tuple[str, ...]
    embed_text: str
    tokens: int  # tiktoken tokens of `text`
    embed_tokens: int  # embedder word pieces of `embed_text`, special tokens included
    page_start: int | None = None
    page_end: int | None = None
    page_label_start: str | None = None
    page_label_end: str | None = None
    ocr: bool = False  # some of `text` was read by OCR from a page image
    in_force: str = "unknown"  # "true", "false" or "unknown": see Document.in_force_at
    in_force_since: str | None = None  # the date the source says the text came into force
    last_amended: str | None = None  # the document's, as its source says

    @property
    def section_label(self) -> str:
        return SECTION_SEPARATOR.join(self.section)


@dataclass(frozen=True, slots=True)
class _Piece:
    start: int
    end: int
    tokens: int
    paragraph_start: bool


class StructureChunker:
    """Splits a document into chunks that respect its structure and fit the embedder.

    `limit_counter` counts what the embedder will see (its own word pieces, special tokens
    included) and `limit` is the most it reads: every chunk's embed text is checked against it
    and split further rather than truncated.
    """

    def __init__(self, settings: ChunkSettings, limit_counter: Callable[[str], int],
                 limit: int, token_counter: Callable[[str], int] = count_tokens) -> None:
        self.settings = settings
        self.limit_counter = limit_counter
        self.limit = limit
        self.count = token_counter
        self._prefixes: dict[tuple[str, tuple[str, ...]], str] = {}

    def chunk(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        for unit_start, unit_end in self._units(doc):
            for start, end in self._split(doc.text, unit_start, unit_end):
                chunks.extend(self._fit(doc, start, end, self._path(doc, start, end), len(chunks)))
        return [self._renumber(c, i) for i, c in enumerate(chunks)]

    # -- structure ---------------------------------------------------------------------------

    @staticmethod
    def _path(doc: Document, start: int, end: int) -> tuple[str, ...]:
        """The heading path a chunk is cited by: what all the sections it touches share."""
        paths = {s.path for s in doc.sections if s.start < end and s.end > start}
        # A heading that only introduces its children (a chapter title) does not narrow the cite.
        leaves = [p for p in paths if not any(q[:len(p)] == p and q != p for q in paths)]
        return _common_path(sorted(leaves)) if leaves else doc.section_at(start)

    def _units(self, doc: Document) -> Iterator[tuple[int, int]]:
        """Groups of adjacent sections that may share chunks: one citable unit, or tiny ones."""
        sections = doc.sections or [SectionSpan(0, len(doc.text), ())]
        tiny, target = self.settings.tiny_tokens, self.settings.target_tokens
        group: list[SectionSpan] = []
        group_tokens = last_tokens = 0
        for section in sections:
            tokens = self.count(doc.text[section.start:section.end])
            previous = group[-1].path if group else None
            same_unit = previous is not None and (
                citable_unit(previous) == citable_unit(section.path)
                # a lone heading (e.g. a chapter title) goes with what it introduces
                or (last_tokens <= tiny and section.path[:len(previous)] == previous))
            both_tiny = (bool(group) and tokens <= tiny and last_tokens <= tiny
                         and group_tokens + tokens <= target
                         and not _outlined(previous) and not _outlined(section.path)
                         # merged, they must still cite something: not "Chapter VII Art. 36"
                         # and "Chapter VIII Art. 37" under an empty path
                         and (bool(_common_path([group[0].path, section.path]))
                              or not (group[0].path or section.path)))
            if same_unit or both_tiny:
                group.append(section)
                group_tokens += tokens
            else:
                if group:
                    yield group[0].start, group[-1].end
                group, group_tokens = [section], tokens
            last_tokens = tokens
        if group:
            yield group[0].start, group[-1].end

    # -- sizing ------------------------------------------------------------------------------

    def _split(self, text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
        """Packs paragraphs, then sentences, then words into spans of about the target size."""
        pieces = list(self._pieces(text, start, end))
        if not pieces:
            return
        target, overlap = self.settings.target_tokens, self.settings.overlap_tokens
        i = 0
        while i < len(pieces):
            j, total = i, 0
            while j < len(pieces) and (j == i or total + pieces[j].tokens <= target):
                total += pieces[j].tokens
                j += 1
            # Prefer ending at a paragraph boundary in the second half of the chunk.
            if j < len(pieces) and not pieces[j].paragraph_start:
                running = 0
                for cut in range(j - 1, i, -1):
                    running += pieces[cut].tokens
                    if pieces[cut].paragraph_start and running <= total / 2:
                        j = cut
                        break
            yield pieces[i].start, pieces[j - 1].end
            if j >= len(pieces):
                return
            back, carried = j, 0
            while back - 1 > i and carried + pieces[back - 1].tokens <= overlap:
                back -= 1
                carried += pieces[back].tokens
            i = back

    def _pieces(self, text: str, start: int, end: int) -> Iterator[_Piece]:
        target = self.settings.target_tokens
        for para_start, para_end in _segments(text, start, end, _PARAGRAPH_BREAK):
            first = True
            for line_start, line_end in _segments(text, para_start, para_end, _LINE_BREAK):
                for s_start, s_end in sentence_spans(text, line_start, line_end):
                    tokens = self.count(text[s_start:s_end])
                    if tokens <= target:
                        yield _Piece(s_start, s_end, tokens, first)
                        first = False
                        continue
                    for w_start, w_end, w_tokens in self._word_windows(text, s_start, s_end):
                        yield _Piece(w_start, w_end, w_tokens, first)
                        first = False

    def _word_windows(self, text: str, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """Splits an overlong sentence at word boundaries (or inside a word if it must).

        Each window is found by galloping then bisecting over word counts, so a sentence of
        n characters costs O(n log n) tokenization rather than O(n^2) (a 50 MB single-line
        file must not stall the build).
        """
        target = self.settings.target_tokens
        words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]

        def fits(i: int, j: int) -> bool:  # do words[i:j] fit the target?
            return self.count(text[words[i][0]:words[j - 1][1]]) <= target

        i = 0
        while i < len(words):
            good, step = i + 1, 1
            while good + step <= len(words) and fits(i, good + step):
                good, step = good + step, step * 2
            bad = min(good + step, len(words) + 1)
            while bad - good > 1:
                middle = (good + bad) // 2
                good, bad = (middle, bad) if fits(i, middle) else (good, middle)
            w_start, w_end = words[i][0], words[good - 1][1]
            tokens = self.count(text[w_start:w_end])
            if tokens > target:  # a single giant "word": cut it by characters
                step = max(1, (w_end - w_start) * target // tokens)
                for s in range(w_start, w_end, step):
                    e = min(s + step, w_end)
                    yield s, e, self.count(text[s:e])
            else:
                yield w_start, w_end, tokens
            i = good

    # -- the embedder's limit ----------------------------------------------------------------

    def _fit(self, doc: Document, start: int, end: int, path: tuple[str, ...],
             ordinal: int) -> list[Chunk]:
        prefix = self.prefix(doc.title, path)
        text = doc.text[start:end]
        embed_text = prefix + text
        pieces = self.limit_counter(embed_text)
        if pieces <= self.limit or self.count(text) <= 1:
            return [self._make(doc, start, end, path, embed_text, pieces, ordinal)]
        middle = _split_point(doc.text, start, end)
        return (self._fit(doc, start, middle, path, ordinal)
                + self._fit(doc, *_trim(doc.text, middle, end), path, ordinal))

    def prefix(self, title: str, path: tuple[str, ...]) -> str:
        """Title and heading path, cut from the top of the path until it fits its budget."""
        key = (title, path)
        if key not in self._prefixes:  # every chunk of a section shares its prefix
            self._prefixes[key] = self._make_prefix(title, path)
        return self._prefixes[key]

    def _make_prefix(self, title: str, path: tuple[str, ...]) -> str:
        budget = self.settings.max_prefix_tokens
        parts = list(path)
        while True:
            prefix = "\n".join([title, SECTION_SEPARATOR.join(parts)] if parts else [title]) + "\n"
            if self.limit_counter(prefix) <= budget or not parts:
                break
            parts.pop(0)
        if self.limit_counter(prefix) > budget:
            words = prefix.split()
            while words and self.limit_counter(" ".join(words)) > budget:
                words.pop()
            prefix = " ".join(words) + "\n"
        return prefix

    def _make(self, doc: Document, start: int, end: int, path: tuple[str, ...],
              embed_text: str, embed_tokens: int, ordinal: int) -> Chunk:
        first, last = doc.page_at(start), doc.page_at(max(start, end - 1))
        return Chunk(
            document_id=doc.id, ordinal=ordinal, char_start=start, char_end=end,
            text=doc.text[start:end], section=path, embed_text=embed_text,
            tokens=self.count(doc.text[start:end]), embed_tokens=embed_tokens,
            page_start=first.index if first else None, page_end=last.index if last else None,
            page_label_start=first.label if first else None,
            page_label_end=last.label if last else None,
            ocr=bool(doc.pages) and any(p.ocr for p in doc.pages if p.start < end and p.end > start),
            **dict(zip(("in_force", "in_force_since"), doc.in_force_at(start, end))),
            last_amended=doc.last_amended,
        )

    @staticmethod
    def _renumber(chunk: Chunk, ordinal: int) -> Chunk:
        return chunk if chunk.ordinal == ordinal else replace(chunk, ordinal=ordinal)


def citable_unit(path: tuple[str, ...]) -> tuple[str, ...]:
    """The path up to and including its deepest citable component (the whole path if none)."""
    for i in range(len(path) - 1, -1, -1):
        if _CITABLE.match(path[i]):
            return path[: i + 1]
    return path


def _outlined(path: tuple[str, ...] | None) -> bool:
    """Whether a heading path runs through decimal-numbered headings ("2.2 Approval").

    Tiny Articles may share a chunk cited by their chapter, but numbered clauses of a policy
    are cited by their own number: merged, "2.2.1 Delegation" and "2.3 Records" would both be
    cited as the top heading alone.
    """
    return bool(path) and any(_OUTLINE_NUMBER.match(part) for part in path)


def _common_path(paths: list[tuple[str, ...]]) -> tuple[str, ...]:
    common = paths[0]
    for p in paths[1:]:
        n = 0
        while n < min(len(common), len(p)) and common[n] == p[n]:
            n += 1
        common = common[:n]
    return common


def _segments(text: str, start: int, end: int, separator: re.Pattern[str]
              ) -> Iterator[tuple[int, int]]:
    """Non-blank stretches of text[start:end] between separators, trimmed of whitespace."""
    pos = start
    for m in separator.finditer(text, start, end):
        if m.start() > pos:
            s, e = _trim(text, pos, m.start())
            if e > s:
                yield s, e
        pos = m.end()
    s, e = _trim(text, pos, end)
    if e > s:
        yield s, e


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _split_point(text: str, start: int, end: int) -> int:
    """A whitespace position near the middle of text[start:end], so both halves are smaller."""
    middle = (start + end) // 2
    for offset in range(0, (end - start) // 2):
        for pos in (middle - offset, middle + offset):
            if start < pos < end and text[pos].isspace():
                return pos
    return middle
