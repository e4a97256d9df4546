"""The ablation rows are pipelines the service accepts, each one change from the default."""

from __future__ import annotations

from eval.ablation import ROWS
from service.ranking.defaults import DEFAULT_RANKING_STAGES
from service.ranking.pipeline import Pipeline


def test_every_row_is_a_valid_pipeline_and_the_first_is_the_default():
    assert ROWS[0] == ("default", list(DEFAULT_RANKING_STAGES))
    for label, stages in ROWS:
        pipeline = Pipeline.from_settings(stages)
        assert pipeline.stages, label
    names = [[s if isinstance(s, str) else s["name"] for s in stages] for _, stages in ROWS]
    assert len({tuple(map(str, stages)) for _, stages in ROWS}) == len(ROWS)  # all differ
    assert all(abs(len(n) - len(DEFAULT_RANKING_STAGES)) <= 1 for n in names)
