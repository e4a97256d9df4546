"""Where PolicyQA keeps what it can rebuild: OCR results, ONNX exports, evaluation indexes."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """$POLICYQA_CACHE_DIR/<kind>, else $XDG_CACHE_HOME/policyqa/<kind>, else ~/.cache/...

    Never inside the corpus or the installed packages: both may be read-only.
    """
    base = os.environ.get("POLICYQA_CACHE_DIR")
    if base:
        return Path(base).expanduser() / kind
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "policyqa" / kind
