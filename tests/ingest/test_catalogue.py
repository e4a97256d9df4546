"""The instrument catalogue: how citations name each instrument."""

from __future__ import annotations

from pathlib import Path

from ingest.catalogue import BUILTIN_CATALOGUE, load_catalogue


def test_citation_names_fall_back_to_short_names_then_title(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text('''
[[instrument]]
id = "a"
file = "a.md"
title = "Convention on Something Long"
short_names = ["Something Convention", "SC"]

[[instrument]]
id = "b"
file = "b.md"
title = "Act on Other Things"

[[instrument]]
id = "c"
file = "c.md"
title = "Regulation (EU) No 604/2013 of the European Parliament and of the Council"
short_names = ["Dublin III"]
cite_as = "Regulation (EU) No 604/2013"
short_title = "Dublin III Regulation (EU) No 604/2013"
''', encoding="utf-8")
    a, b, c = load_catalogue(path).instruments
    assert (a.citation_name, a.display_title) == ("Something Convention", "Something Convention")
    assert (b.citation_name, b.display_title) == ("Act on Other Things", "Act on Other Things")
    assert c.citation_name == "Regulation (EU) No 604/2013"
    assert c.display_title == "Dublin III Regulation (EU) No 604/2013"


def test_the_builtin_catalogue_names_every_instrument_shortly() -> None:
    catalogue = load_catalogue(BUILTIN_CATALOGUE)
    by_id = {i.id: i for i in catalogue.instruments}
    assert by_id["refugee-convention-1951"].citation_name == "Refugee Convention"
    assert by_id["dublin-iii-regulation-2013"].display_title == \
        "Dublin III Regulation (EU) No 604/2013"
    assert by_id["ca-irpa"].citation_name == "IRPA"
    assert by_id["usc-8-ch12-ina"].citation_name == "8 U.S.C."
    # A citation line leads with a name that fits on one line, never the five-line full title.
    assert all(len(i.display_title) <= 60 for i in catalogue.instruments)
