"""The catalogue of known instruments: titles, short names and filter fields, keyed by file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import PolicyQAError

CATALOGUE_FILE = "catalogue.toml"
# The catalogue shipped with the project, used for corpus folders that have none of their own.
BUILTIN_CATALOGUE = Path(__file__).resolve().parents[1] / "corpus" / CATALOGUE_FILE


class CatalogueError(PolicyQAError):
    """The catalogue file is missing a field or is not valid TOML."""


@dataclass(frozen=True, slots=True)
class Instrument:
    id: str
    file: str
    title: str
    short_names: tuple[str, ...] = ()
    jurisdiction: str | None = None
    instrument_type: str | None = None
    year: int | None = None
    source_url: str | None = None
    download_url: str | None = None  # a direct link to the file, where the source is a page
    sha256: str | None = field(default=None, compare=False)
    cite_as: str | None = None  # "Refugee Convention", as in "Refugee Convention, Art. 33(1)"
    short_title: str | None = None  # what a citation line leads with

    @property
    def citation_name(self) -> str:
        """How a citation names the instrument: cite_as, else its first short name, else title."""
        return self.cite_as or (self.short_names[0] if self.short_names else self.title)

    @property
    def display_title(self) -> str:
        """What a citation line leads with: short_title, else citation_name."""
        return self.short_title or self.citation_name

    def filter_fields(self) -> dict[str, str | int | None]:
        return {"catalogue_id": self.id, "jurisdiction": self.jurisdiction,
                "instrument_type": self.instrument_type, "year": self.year}


@dataclass(frozen=True, slots=True)
class Catalogue:
    instruments: tuple[Instrument, ...]
    path: Path | None = None

    def by_file(self, relative_path: str) -> Instrument | None:
        return next((i for i in self.instruments if i.file == relative_path), None)


def load_catalogue(path: Path) -> Catalogue:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CatalogueError(f"cannot read catalogue {path}: {exc}") from exc
    instruments = []
    for n, entry in enumerate(data.get("instrument", []), 1):
        missing = [k for k in ("id", "file", "title") if k not in entry]
        if missing:
            raise CatalogueError(f"{path}: instrument #{n} lacks {', '.join(missing)}")
        instruments.append(Instrument(
            id=entry["id"], file=entry["file"], title=entry["title"],
            short_names=tuple(entry.get("short_names", ())),
            jurisdiction=entry.get("jurisdiction"), instrument_type=entry.get("instrument_type"),
            year=entry.get("year"), source_url=entry.get("source_url"),
            download_url=entry.get("download_url"),
            sha256=entry.get("sha256"), cite_as=entry.get("cite_as"),
            short_title=entry.get("short_title")))
    return Catalogue(tuple(instruments), path)


def catalogue_for(corpus_dir: Path) -> Catalogue:
    """The corpus folder's own catalogue, else the project's built-in one, else an empty one."""
    for candidate in (corpus_dir / CATALOGUE_FILE, BUILTIN_CATALOGUE):
        if candidate.is_file():
            return load_catalogue(candidate)
    return Catalogue(())
