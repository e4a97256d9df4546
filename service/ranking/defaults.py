"""The default ranking pipeline's stage names, apart from the stages so settings stay cheap."""

from __future__ import annotations

# Today's ranking, stage by stage (service/ranking/): rerank and diversify slots left empty;
# compare before boost, so a provision a comparison names still comes first; define after
# boost, so a definition asked for comes before the rest of its provision; collapse last before
# the budget, so that copies fold into whichever copy the ranking put first.
DEFAULT_RANKING_STAGES: tuple[str, ...] = ("candidates", "fuse", "compare", "boost", "define",
                                           "collapse", "budget", "cite")
