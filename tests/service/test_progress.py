"""Progress lines for stderr that is not a terminal: when they are printed and what they say."""

from __future__ import annotations

import io

from service.progress import ProgressLines


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_lines_at_start_every_interval_and_at_completion() -> None:
    out, clock = io.StringIO(), Clock()
    progress = ProgressLines(out, interval=10, clock=clock)
    progress("read", 0, 40)
    clock.now += 3
    progress("read", 5, 40)  # within the interval: nothing
    clock.now += 7
    progress("read", 20, 40)  # 20 files in 10 s: 2/s, 10 s left
    clock.now += 10
    progress("read", 40, 40)
    assert out.getvalue().splitlines() == [
        "policyqa: read 0/40 files",
        "policyqa: read 20/40 files (2/s, about 10 s left)",
        "policyqa: read 40/40 files in 20.0 s",
    ]


def test_a_growing_total_does_not_print_a_line_per_batch() -> None:
    """Embedding catches up with reading after many batches; its total grows each time."""
    out, clock = io.StringIO(), Clock()
    progress = ProgressLines(out, interval=10, clock=clock)
    for total in range(64, 64 * 20, 64):
        clock.now += 1
        progress("embed", total, total)
    lines = out.getvalue().splitlines()
    assert lines[0] == "policyqa: embed 64/64 chunks in 0.0 s"
    assert lines[1:] == ["policyqa: embed 704/704 chunks in 10.0 s"]  # 10 s after the first
    progress("lexical", 0, 1)
    assert out.getvalue().splitlines()[-1] == "policyqa: lexical 0/1 steps"
