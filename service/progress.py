"""Progress of long work on stderr: bars on a terminal, periodic plain lines everywhere else."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

Progress = Callable[[str, int, int], None]

# What each build stage counts (index/builder.py reports "read", "embed" and "lexical").
UNITS = {"read": "files", "embed": "chunks", "lexical": "steps"}
LINE_INTERVAL = 10.0  # seconds between two lines of the same stage


def unit_of(stage: str) -> str:
    return UNITS.get(stage, "chunks")


@dataclass(slots=True)
class _Stage:
    started: float
    first_done: int
    shown: float
    done_at: int | None = None  # the total that a completion line was printed for


class ProgressLines:
    """A progress callback printing lines such as
    `policyqa: embed 3,200/7,692 chunks (110/s, about 40 s left)`: one when a stage starts, one
    every `interval` seconds while it runs, and one when it completes. For stderr under a
    process manager, CI or a pipe, where bars would print nothing useful for minutes."""

    def __init__(self, stream: TextIO | None = None, interval: float = LINE_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self._stages: dict[str, _Stage] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = self.clock()
        state = self._stages.get(stage)
        if state is None:
            state = self._stages[stage] = _Stage(now, done, now)
            if done < total:
                self._print(f"{stage} {done:,}/{total:,} {unit_of(stage)}")
                return
        if done >= total:
            # Embedding catches up with reading many times while a corpus is read (its total
            # grows with each document): a "done" line the first time, then at most one per
            # interval; the build's summary follows the last one anyway.
            if state.done_at != total and (state.done_at is None
                                           or now - state.shown >= self.interval):
                state.done_at, state.shown = total, now
                self._print(f"{stage} {done:,}/{total:,} {unit_of(stage)} in "
                            f"{now - state.started:.1f} s")
            return
        if now - state.shown < self.interval:
            return
        state.shown = now
        self._print(f"{stage} {done:,}/{total:,} {unit_of(stage)}"
                    f"{self._rate(state, done, total, now)}")

    @staticmethod
    def _rate(state: _Stage, done: int, total: int, now: float) -> str:
        elapsed = now - state.started
        if elapsed <= 0 or done <= state.first_done:
            return ""
        rate = (done - state.first_done) / elapsed
        return f" ({rate:,.0f}/s, about {(total - done) / rate:,.0f} s left)"

    def _print(self, text: str) -> None:
        print(f"policyqa: {text}", file=self.stream or sys.stderr, flush=True)


def progress_bars() -> Progress:
    """A progress callback drawing one tqdm bar per stage on stderr."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit=unit_of(stage)[:-1],
                                     leave=False, file=sys.stderr)
        if total != bar.total:
            bar.total = total
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()
            bars.pop(stage, None)

    return progress


def progress_reporter(bars: bool) -> Progress:
    """Bars when asked for (a terminal, and not JSON output), else periodic lines."""
    return progress_bars() if bars else ProgressLines()
