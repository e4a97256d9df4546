"""The search modes, defined once: the API's schema, the CLI's choices and eval all read them."""

from __future__ import annotations

from typing import Literal, get_args

# hybrid: dense and lexical fused by reciprocal rank; dense: vectors only; lexical: BM25 only.
Mode = Literal["hybrid", "dense", "lexical"]
MODES: tuple[Mode, ...] = get_args(Mode)
