"""ChunkFields and ChunkFilter: one normalization for the chunk store's filter and a store's own."""

from __future__ import annotations

import pytest

from index.stores.base import UNKNOWN_YEAR, ChunkFields, ChunkFilter


def test_fields_are_normalized_from_catalogue_metadata():
    fields = ChunkFields.of("a.md", {"jurisdiction": " EU ", "instrument_type": "Regulation",
                                     "year": "2013", "catalogue_id": "dublin"})
    assert fields == ChunkFields("a.md", "eu", "regulation", 2013)
    assert ChunkFields.of("b.md", {}) == ChunkFields("b.md", "", "", UNKNOWN_YEAR)
    assert ChunkFields.of("c.md", {"year": "c.2023"}).year == UNKNOWN_YEAR
    assert ChunkFields.of("c.md", {"year": True}).year == UNKNOWN_YEAR


def test_filters_match_case_insensitively_and_by_year_value():
    dublin = ChunkFields("a.md", "eu", "regulation", 2013)
    assert ChunkFilter.of(fields={"jurisdiction": ["EU", "us"]}).matches(dublin)
    assert ChunkFilter.of(fields={"year": ["2013"]}).matches(dublin)
    assert ChunkFilter.of(["a.md"], {"instrument_type": ["REGULATION"]}).matches(dublin)
    assert not ChunkFilter.of(["b.md"]).matches(dublin)
    assert not ChunkFilter.of(fields={"year": [2014]}).matches(dublin)


def test_no_filter_is_none_and_impossible_values_match_nothing():
    assert ChunkFilter.of() is None and ChunkFilter.of([], {"year": []}) is None
    for impossible in ({"year": ["none"]}, {"jurisdiction": [""]}):
        where = ChunkFilter.of(fields=impossible)
        assert where is not None and where.matches_nothing()
        # "none" used to match documents without a year; an unknown value matches nothing now.
        assert not where.matches(ChunkFields("a.md"))


def test_unknown_filter_names_are_refused():
    with pytest.raises(ValueError, match="unknown filter 'country'"):
        ChunkFilter.of(fields={"country": ["fr"]})


def test_within_intersects_both_filters():
    named = ChunkFilter.of(["a.md", "b.md"])
    asked = ChunkFilter.of(["b.md", "c.md"], {"year": [2013]})
    both = named.within(asked)
    assert both == ChunkFilter(frozenset({"b.md"}), None, None, frozenset({2013}))
    assert named.within(None) is named
    assert ChunkFilter.of(["a.md"]).within(ChunkFilter.of(["c.md"])).matches_nothing()
