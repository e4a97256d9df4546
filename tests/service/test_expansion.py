"""Legal-terminology expansion: the other names of the legal terms a question uses."""

from __future__ import annotations

from service.expansion import TERMS_FILE, expansion
from service.term_groups import term_groups


def test_the_other_names_of_each_term_the_question_uses():
    assert expansion("Can a minor be deported?").split() == [
        "expulsion", "expel", "removal", "refoulement", "child", "juvenile"]
    # "deported" is "deport" and "deportation" once stemmed: neither is added back
    assert "deport" not in expansion("Can a minor be deported?").split()
    assert expansion("asylum application deadline") == (
        "international protection refugee protection refugee status")


def test_a_phrase_matches_as_words_in_a_row_only():
    assert expansion("trafficking in persons") == "trafficking in human beings human trafficking"
    assert expansion("persons trafficking") == ""  # the words, not in the term's order
    assert expansion("the weather in Strasbourg") == ""


def test_every_group_has_terms_and_a_source():
    import tomllib
    from importlib import resources

    data = tomllib.loads(resources.files("service").joinpath(f"data/{TERMS_FILE}")
                         .read_text(encoding="utf-8"))
    assert all(len(g["terms"]) >= 2 and g["source"].strip() for g in data["group"])
    assert len(term_groups(TERMS_FILE)) == len(data["group"])
