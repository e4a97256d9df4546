"""Groups of names for one legal thing, read from the TOML files in service/data/."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources


@cache
def term_groups(name: str) -> tuple[tuple[str, ...], ...]:
    """The `[[group]] terms = [...]` of service/data/NAME, lowercased, in file order."""
    data = tomllib.loads(resources.files("service").joinpath(f"data/{name}")
                         .read_text(encoding="utf-8"))
    return tuple(tuple(term.lower() for term in group["terms"]) for group in data["group"])
