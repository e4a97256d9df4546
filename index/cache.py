"""The cache root for index-layer caches (ONNX exports, evaluation indexes): ingest/cache.py's,
so that OCR results and these share one root and one rule for finding it."""

from __future__ import annotations

from ingest.cache import cache_dir

__all__ = ["cache_dir"]
