"""Scanned PDFs made in the tests (page images drawn with Pillow, no text layer), and a real
`tesseract` behind a wrapper that logs each call, for the OCR tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from ingest.ocr import INSTALL_HINT

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CALL_LOG = "tesseract-calls.log"


def require_tesseract() -> None:
    """Skips the test where Tesseract is missing; fails it when POLICYQA_REQUIRE_TESSERACT is
    set (CI installs Tesseract, so a missing one is a broken set-up there, not a skip)."""
    if shutil.which("tesseract"):
        return
    reason = f"Tesseract is not installed ({INSTALL_HINT})"
    if os.environ.get("POLICYQA_REQUIRE_TESSERACT"):
        pytest.fail(f"POLICYQA_REQUIRE_TESSERACT is set but {reason}", pytrace=False)
    pytest.skip(reason)


def tesseract_wrapper(folder: Path) -> Path:
    """An executable `folder`/bin/tesseract that appends its arguments to `folder`/CALL_LOG and
    then runs the real Tesseract with them."""
    require_tesseract()
    log = folder / CALL_LOG
    wrapper = folder / "bin" / "tesseract"
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{shutil.which("tesseract")}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def page_reads(wrapper: Path) -> int:
    """Pages the wrapper was asked to read (not --version or --list-langs)."""
    log = wrapper.parent.parent / CALL_LOG
    return sum("stdin" in line for line in log.read_text().splitlines()) if log.exists() else 0


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size) if FONT.exists() else ImageFont.load_default(size)


def page_image(lines: list[str]) -> Image.Image:
    """A US Letter page at 150 dpi with `lines` printed on it (blank for no lines)."""
    image = Image.new("L", (1275, 1650), 255)
    draw = ImageDraw.Draw(image)
    for n, line in enumerate(lines):
        draw.text((150, 200 + n * 60), line, fill=0, font=_font(34))
    return image


def image_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF of page images only, as a scanner writes it: no text layer at all."""
    images = [page_image(lines) for lines in pages]
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, "PDF", resolution=150.0, save_all=True, append_images=images[1:])
    return path
