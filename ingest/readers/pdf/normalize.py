"""Normalization of PDF text: odd spaces, ligatures, words broken across lines, split drop caps."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from ingest.readers.pdf.headings import parse_heading

SOFT_HYPHEN = "\u00ad"
_ODD_SPACES = re.compile(r"[\u00a0\u2000-\u200b\u202f\u205f\u3000\t\f\v]")
_LIGATURES = re.compile(r"[\ufb00-\ufb06]")
_SPACES = re.compile(r" {2,}")
# Small-caps fonts sometimes map one glyph to a capital inside a lowercase word ("prohiBition").
_CASE_GLITCH = re.compile(r"\b[a-z]+[A-Z][a-z]*\b")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# A list marker before a paragraph's first word: "1.", "(a)", "B.(1)", "A.".
_ENUM = r"(?:[(\[]?[0-9A-Za-z]{1,5}[.)\]](?:\s*\([0-9a-z]{1,4}\))?\s+)?"
# A decorative initial split from its word: "1. T he", "A. F or" (one letter, one or two spaces).
_DROP_CAP = re.compile(rf"^(\s*{_ENUM})([A-Z]) {{1,2}}([a-z]+)")
# ... or split onto its own line: "(1) H" + "as been", or an opening quote: "(a) “" + "events".
_DROP_CAP_LINE = re.compile(rf"^\s*{_ENUM}([A-Z]|[“‘\"'(])$")

WORD_BREAK_SOFT = re.compile(r"(\w) ?\u00ad$")
_WORD_BREAK_HARD = re.compile(r"([a-z])-$")


def normalize_lines(text: str) -> list[str]:
    """Clean characters and whitespace; drop empty lines."""
    text = _LIGATURES.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)
    text = _ODD_SPACES.sub(" ", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        # Soft hyphens inside a line are invisible break hints; the one ending a line is handled
        # when lines are joined, because it marks a word broken across the line.
        core = line[:-1] if line.endswith(SOFT_HYPHEN) else line
        core = re.sub(r"(?<=\w) ?\u00ad ?(?=\w)", "", core).replace(SOFT_HYPHEN, "")
        line = core + SOFT_HYPHEN if line.endswith(SOFT_HYPHEN) else core
        line = _CASE_GLITCH.sub(lambda m: m.group().lower(), line)
        if line and line != SOFT_HYPHEN:
            lines.append(line)
    return lines


# --- word breaks and drop caps -------------------------------------------------------------------


def vocabulary(pages: list[list[str]]) -> Counter[str]:
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


def join_lines(lines: list[str], vocab: Counter[str], soft_breaks: bool) -> list[str]:
    """Rejoin words broken across lines and initials split from their words."""
    out: list[str] = []
    for line in lines:
        if out:
            merged = merge(out[-1], line, vocab, soft_breaks)
            if merged is not None:
                out[-1] = merged
                continue
        out.append(line)
    return [_fix_drop_cap(line, vocab) for line in out]


def merge(previous: str, line: str, vocab: Counter[str], soft_breaks: bool) -> str | None:
    """`previous` and `line` as one line when a word is split between them, else None."""
    if previous.endswith(SOFT_HYPHEN):
        return WORD_BREAK_SOFT.sub(r"\1", previous).rstrip(SOFT_HYPHEN) + line
    if _DROP_CAP_LINE.match(previous) and line[:1].islower():
        head = previous[-1]
        first = _WORD.match(line)
        if not head.isalpha() or (first and (head + first.group()).lower() in vocab):
            return previous + line
        return None
    hyphen = _WORD_BREAK_HARD.search(previous)
    # A lowercase heading ("chapter i v: Welfare") misplaced after a broken word is no continuation.
    if hyphen and line[:1].islower() and parse_heading([line], 0) is None:
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
