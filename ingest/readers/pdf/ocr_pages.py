"""Text for PDF pages without a usable text layer: each rendered with pdfium, read by Tesseract."""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pypdfium2

from ingest.ocr import GrayImage, OcrError, Tesseract

# A poster rendered at 300 dpi can be gigapixels; past this many pixels the page is rendered at
# the resolution that fits (Tesseract reads print from about 150 dpi up).
MAX_PIXELS = 60_000_000
_POINTS_PER_INCH = 72


def ocr_workers() -> int:
    """Tesseract processes at once: the build reads documents in one thread, so a document's
    pages are read two at a time, or one on a single core."""
    return max(1, min(2, os.cpu_count() or 1))


def ocr_pages(path: Path, indexes: list[int], tesseract: Tesseract,
              warnings_: list[str]) -> dict[int, str]:
    """The OCR text of the pages `indexes` (0-based) of the PDF at `path`.

    Pages are rendered here, one at a time (pdfium is not thread-safe), and read by Tesseract
    processes on a small pool while the next page renders; at most two pages per process wait,
    which bounds memory on a long scan. A page that cannot be rendered or read becomes a
    warning and is left out.
    """
    results: dict[int, str] = {}
    workers = ocr_workers()
    pending: deque[tuple[int, Future[str]]] = deque()

    def collect() -> None:
        i, future = pending.popleft()
        try:
            results[i] = future.result()
        except OcrError as exc:
            warnings_.append(f"page {i + 1}: OCR failed ({exc})")

    try:
        pdf = pypdfium2.PdfDocument(path)
    except Exception as exc:  # pypdf read the file, pdfium cannot: the text layer still counts
        warnings_.append(f"{len(indexes)} pages could not be rendered for OCR: pdfium cannot "
                         f"open the file ({type(exc).__name__}: {exc})")
        return results
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policyqa-ocr") as pool:
            for i in indexes:
                try:
                    image = render_page(pdf, i, tesseract.settings.dpi)
                except Exception as exc:  # pdfium raises PdfiumError and others on bad pages
                    warnings_.append(f"page {i + 1}: could not be rendered for OCR "
                                     f"({type(exc).__name__}: {exc})")
                    continue
                pending.append((i, pool.submit(tesseract.read, image)))
                while len(pending) > 2 * workers:
                    collect()
            while pending:
                collect()
    finally:
        pdf.close()
    return results


def render_page(pdf: pypdfium2.PdfDocument, i: int, dpi: int) -> GrayImage:
    """Page `i` in grey at `dpi` (lower for a page too large for MAX_PIXELS)."""
    page = pdf[i]
    try:
        width, height = page.get_size()
        area = max(width * height, 1.0) / _POINTS_PER_INCH ** 2  # square inches
        dpi = min(dpi, int(math.sqrt(MAX_PIXELS / area)))
        bitmap = page.render(scale=dpi / _POINTS_PER_INCH, grayscale=True)
        try:
            pixels = bitmap.to_numpy()
            if pixels.ndim == 3:  # a colour bitmap after all: average the channels
                pixels = pixels[..., :3].mean(axis=2).astype(np.uint8)
            pixels = np.ascontiguousarray(pixels)
            return GrayImage(width=pixels.shape[1], height=pixels.shape[0], dpi=dpi,
                             pixels=pixels.tobytes())
        finally:
            bitmap.close()
    finally:
        page.close()
