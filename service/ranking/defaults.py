"""The default ranking pipeline's stage names, apart from the stages so settings stay cheap."""

from __future__ import annotations

# Today's ranking, stage by stage (service/ranking/): rerank and diversify slots left empty.
DEFAULT_RANKING_STAGES: tuple[str, ...] = ("candidates", "fuse", "boost", "budget", "cite")
