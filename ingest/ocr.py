"""Optical character recognition of page images with the Tesseract binary, cached by image hash."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ingest.cache import cache_dir
from ingest.errors import PolicyQAError
from ingest.files import write_atomic

INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-eng"
# How a document's one warning line about its OCR'd pages starts (`policyqa index status`
# lists these lines).
OCR_SUMMARY = "OCR read "
# Bump when the text made from Tesseract's output changes for the same image: the cache key and
# the index fingerprint include it, so old results are neither served nor kept in an index.
OCR_FORMAT = 1
# Tesseract's page segmentation: 3 is fully automatic, which handles one or several columns.
_PSM = "3"
# A page whose words Tesseract itself trusts this little (mean confidence, 0-100) is an
# illustration read as letters ("emfift FAL. i PECLARAT WA"): noise in the index, so dropped.
# Printed text scores above 90; the UN booklet's drawings score 30-45.
MIN_PAGE_CONFIDENCE = 50.0
# A word below this beside trusted ones is a smudge or a drawing's edge ("es } ih" between the
# cover's title lines); on the CRC's printed pages no word scores under it.
MIN_WORD_CONFIDENCE = 30.0
_TIMEOUT_SECONDS = 600  # one page; a 1200 dpi poster may take minutes, a hung binary must not
_LANGUAGES = re.compile(r"^[A-Za-z0-9_]+(?:\+[A-Za-z0-9_]+)*$")
_VERSION = re.compile(r"tesseract\s+v?(\S+)", re.IGNORECASE)


class OcrError(PolicyQAError):
    """Tesseract failed on one page; the message says how."""


@dataclass(frozen=True, slots=True)
class OcrSettings:
    """How pages without a usable text layer are read: Tesseract's binary, languages, and the
    resolution pages are rendered at."""

    enabled: bool = True
    tesseract_cmd: str = "tesseract"
    languages: str = "eng"  # Tesseract's codes, joined with "+": "eng+fra"
    dpi: int = 300

    def __post_init__(self) -> None:
        if not _LANGUAGES.match(self.languages):
            raise ValueError(f"OCR languages must be Tesseract codes joined by '+' (eng+fra), "
                             f"got {self.languages!r}")
        if not 72 <= self.dpi <= 1200:
            raise ValueError(f"OCR resolution must be 72 to 1200 dpi, got {self.dpi}")

    def fingerprint(self) -> str:
        """What decides the text OCR gives: part of the index's chunking fingerprint, so a
        change (or installing Tesseract where it was missing) makes the next build re-read."""
        if not self.enabled:
            return "ocr=off"
        version = tesseract_version(self.tesseract_cmd) or "absent"
        return f"ocr={self.languages}@{self.dpi}dpi,tesseract={version},ocr_format={OCR_FORMAT}"


@dataclass(frozen=True, slots=True)
class GrayImage:
    """A rendered page: 8-bit grey pixels, row by row, no padding."""

    width: int
    height: int
    dpi: int  # what it was rendered at: Tesseract sizes its expectations of print by it
    pixels: bytes

    def pgm(self) -> bytes:
        # Netpbm's PGM: a header and the raw pixels. Tesseract reads it from stdin, so a page
        # needs neither PNG encoding nor a temporary file.
        return b"P5\n%d %d\n255\n" % (self.width, self.height) + self.pixels


@functools.lru_cache(maxsize=16)
def tesseract_version(cmd: str) -> str | None:
    """The version `cmd --version` prints, or None when there is no such program."""
    if shutil.which(cmd) is None:
        return None
    try:
        done = subprocess.run([cmd, "--version"], capture_output=True, timeout=60,
                              env=_environment())
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search((done.stdout or done.stderr).decode("utf-8", "replace"))
    return match.group(1) if done.returncode == 0 and match else None


@functools.lru_cache(maxsize=16)
def tesseract_languages(cmd: str) -> frozenset[str]:
    try:
        done = subprocess.run([cmd, "--list-langs"], capture_output=True, timeout=60,
                              env=_environment())
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip())


class Tesseract:
    """Reads page images with `settings.tesseract_cmd`; each result is cached under the cache
    root (ingest/cache.py) by the image's hash, resolution, languages and Tesseract's version,
    so an unchanged page is never read twice. Safe to call from several threads."""

    def __init__(self, settings: OcrSettings, cache: Path | None = None) -> None:
        self.settings = settings
        self.cache = cache if cache is not None else cache_dir("ocr")

    def problem(self) -> str | None:
        """Why no page can be read here (OCR off, no Tesseract, a language missing), or None."""
        if not self.settings.enabled:
            return "OCR is switched off (POLICYQA_OCR=false)"
        if tesseract_version(self.settings.tesseract_cmd) is None:
            return f"Tesseract is not installed ({INSTALL_HINT})"
        missing = sorted(set(self.settings.languages.split("+"))
                         - tesseract_languages(self.settings.tesseract_cmd))
        if missing:
            packages = " ".join(f"tesseract-ocr-{code}" for code in missing)
            return (f"Tesseract has no data for {', '.join(missing)} (apt-get install "
                    f"{packages}, or set POLICYQA_OCR_LANGUAGES)")
        return None

    def read(self, image: GrayImage) -> str:
        """The page's text, lines separated by newlines; "" for a page with no trusted words."""
        key = self._key(image)
        cached = self.cache / key[:2] / f"{key}.txt"
        try:
            return cached.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass  # not cached yet (or unreadable): read the page again
        text = self._run(image)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(cached, text)
        except OSError:
            pass  # a read-only or full cache costs the next build time, not this page's text
        return text

    def _key(self, image: GrayImage) -> str:
        digest = hashlib.sha256(image.pgm())
        version = tesseract_version(self.settings.tesseract_cmd) or "absent"
        digest.update(f"|dpi={image.dpi}|lang={self.settings.languages}|psm={_PSM}"
                      f"|tesseract={version}|format={OCR_FORMAT}".encode())
        return digest.hexdigest()

    def _run(self, image: GrayImage) -> str:
        command = [self.settings.tesseract_cmd, "stdin", "stdout", "-l", self.settings.languages,
                   "--psm", _PSM, "--dpi", str(image.dpi), "tsv"]
        try:
            done = subprocess.run(command, input=image.pgm(), capture_output=True,
                                  timeout=_TIMEOUT_SECONDS, env=_environment())
        except subprocess.TimeoutExpired:
            raise OcrError(f"Tesseract took over {_TIMEOUT_SECONDS} s") from None
        except OSError as exc:
            raise OcrError(f"Tesseract could not be started: {exc.strerror or exc}") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrError(f"Tesseract failed (exit {done.returncode}"
                           f"{': ' + message[-1] if message else ''})")
        return text_from_tsv(done.stdout.decode("utf-8", "replace"))


def text_from_tsv(tsv: str) -> str:
    """Lines of words from Tesseract's TSV output; "" when the page's words are untrusted.

    The TSV carries each word's confidence, which plain-text output drops: that is what tells
    a drawing read as letters from a page of print.
    """
    lines: dict[tuple[str, str, str], list[str]] = {}
    weighted = letters = 0.0
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5":
            continue
        word, confidence = cells[11].strip(), float(cells[10])
        if not word or confidence < 0:
            continue
        weight = sum(c.isalnum() for c in word)
        weighted += confidence * weight
        letters += weight
        if confidence >= MIN_WORD_CONFIDENCE:
            lines.setdefault((cells[2], cells[3], cells[4]), []).append(word)
    if not letters or weighted / letters < MIN_PAGE_CONFIDENCE:
        return ""
    return "\n".join(" ".join(words) for words in lines.values())


def _environment() -> dict[str, str]:
    # One thread per Tesseract: the reader runs several at once, and OpenMP's own threads on
    # top of that would only contend for the same cores.
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}
