"""The pipeline: stages by name from settings, checked, run in order; the engine runs it."""

from __future__ import annotations

import json

import pytest

from index.generations import NoIndexLoadedError
from ingest.tokens import count_tokens
from service.engine import AnswerEngine, QuestionError
from service.ranking.pipeline import STAGES, Pipeline, rank, stage_from
from service.ranking.stages import StageError
from service.ranking.understand import understand
from service.settings import DEFAULT_RANKING_STAGES, SettingsError, load_settings
from tests.service.ranking.ranking_helpers import PROTOCOL_4

DIVERSE = ["candidates", "fuse", "boost", {"name": "diversify", "per_document": 1}, "budget",
           "cite"]


def test_the_default_is_todays_ranking():
    assert [s.name for s in Pipeline.default().stages] == list(DEFAULT_RANKING_STAGES) == [
        "candidates", "fuse", "compare", "boost", "define", "collapse", "budget", "cite"]
    assert load_settings().ranking_stages == list(DEFAULT_RANKING_STAGES)


def test_a_pipeline_written_down_reads_back_the_same():
    pipeline = Pipeline.from_settings(DIVERSE)
    written = pipeline.to_dict()
    assert written[3] == {"name": "diversify", "per_document": 1, "window": 50}
    assert Pipeline.from_settings(written).to_dict() == written
    assert json.loads(json.dumps(written)) == written


@pytest.mark.parametrize("entries, message", [
    (["candidates", "fuse", "rerank-x", "cite"], "unknown ranking stage 'rerank-x'; stages: "),
    (["fuse", "candidates", "cite"], "must start with 'candidates', not 'fuse'"),
    ([], "must start with 'candidates', not 'nothing'"),
    (["candidates", "fuse", "budget"], "must end with 'cite', not 'budget'"),
    (["candidates", "fuse", "fuse", "cite"], "'fuse' is listed twice"),
    (["candidates", {"k": 3}, "cite"], "a ranking stage is a name or a table with a name"),
    (["candidates", {"name": "fuse", "k": 0}, "cite"], "'fuse': k must be a positive integer"),
])
def test_impossible_pipelines_are_refused_with_the_reason(entries, message):
    with pytest.raises(StageError, match=message.replace("(", r"\(")):
        Pipeline.from_settings(entries)


def test_the_registry_names_every_stage_by_its_own_name():
    assert list(STAGES) == ["candidates", "fuse", "compare", "boost", "define", "diversify",
                            "rescore", "collapse", "budget", "cite"]
    assert all(stage.name == name for name, stage in STAGES.items())
    assert stage_from("boost").to_dict() == {"name": "boost"}


def test_settings_check_the_stages_from_flags_environment_and_file(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match="ranking_stages: .*unknown ranking stage 'bogus'"):
        load_settings(ranking_stages=["candidates", "bogus", "cite"])
    monkeypatch.setenv("POLICYQA_RANKING_STAGES", json.dumps(DIVERSE))
    assert load_settings().ranking_stages == DIVERSE
    monkeypatch.delenv("POLICYQA_RANKING_STAGES")
    config = tmp_path / "policyqa.toml"
    config.write_text('ranking_stages = ["candidates", {name = "fuse", k = 20}, "boost", '
                      '"budget", "cite"]\n')
    assert load_settings(config=config).ranking_stages[1] == {"name": "fuse", "k": 20}
    config.write_text('ranking_stages = ["candidates", "cite", "fuse"]\n')
    with pytest.raises(SettingsError, match="must end with 'cite'"):
        load_settings(config=config)


def test_a_named_provision_comes_first_and_the_budget_holds(context):
    ctx = context("Article 4 of Protocol No. 4", k=4, max_context_tokens=200)
    got = Pipeline.default().run(ctx)
    assert got[0].chunk_id in ctx.provision_chunk_ids
    assert got[0].chunk.section[-1].startswith("Article 4 ")
    assert got[0].score > 1 > got[-1].score
    assert 0 < len(got) <= 4
    assert sum(count_tokens(c.chunk.text) for c in got) <= 200
    assert [c.passage.rank for c in got] == list(range(1, len(got) + 1))


def test_rank_runs_the_default_pipeline_without_an_engine(searcher):
    top = rank(searcher, "collective expulsion of aliens", k=2)
    assert len(top) == 2 and top[0].chunk.document_id == PROTOCOL_4
    assert top[0].passage is not None


@pytest.fixture()
def engine(searcher, catalogue, embedder):
    def make(**settings) -> AnswerEngine:
        made = AnswerEngine(load_settings(index_dir=searcher.path.parent, **settings),
                            embedder=embedder, catalogue=catalogue)
        assert made.refresh()
        return made

    return make


def test_the_engine_answers_with_the_pipeline_its_settings_name(engine, searcher, catalogue):
    question = "expulsion of aliens"
    answer = engine().ask(question, k=3)
    expected = Pipeline.default().passages(understand(question, searcher, catalogue, k=3))
    assert answer.passages == expected
    assert (answer.question, answer.mode, answer.generation, answer.chunks) == (
        question, "hybrid", searcher.generation, searcher.chunk_count)
    diverse = engine(ranking_stages=DIVERSE).ask(question, k=3)
    assert len({p.citation.document_id for p in diverse.passages}) == 3
    assert {p.citation.document_id for p in diverse.passages} != {
        p.citation.document_id for p in answer.passages}


def test_the_engine_still_refuses_bad_questions_and_answers_nothing_unloaded(engine, embedder,
                                                                              tmp_path):
    ready = engine()
    with pytest.raises(QuestionError, match="empty"):
        ready.ask("   ")
    with pytest.raises(QuestionError, match="unknown mode"):
        ready.ask("x", mode="fuzzy")
    with pytest.raises(QuestionError, match="unknown filter"):
        ready.ask("x", filters={"country": ["fr"]})
    unloaded = AnswerEngine(load_settings(index_dir=tmp_path), embedder=embedder)
    with pytest.raises(NoIndexLoadedError, match="no index is loaded"):
        unloaded.ask("x")
