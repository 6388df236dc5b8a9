"""Progress of long runs (training, evaluations): a bar on a terminal, plain log lines elsewhere.

On a terminal the bar counts from the step the run starts at (a resumed run's bar starts part-filled)
to the total. Where stdout is not a terminal (CI, nohup, a file) a bar would print nothing useful, so a
line goes out every `every_s` seconds instead: steps done of the total, steps/s since the last line, and
the latest evaluation's return.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from stable_baselines3.common.callbacks import BaseCallback

LOG_EVERY_S = 30.0


class TrainingProgress(BaseCallback):
    """A progress bar (terminal) or periodic log lines (otherwise) over `total` steps, from `start`.

    `latest_eval` returns the latest evaluation's mean return, or None before the first one.
    """

    def __init__(
        self,
        total: int,
        start: int = 0,
        latest_eval: Callable[[], float | None] | None = None,
        stream: TextIO | None = None,
        every_s: float = LOG_EVERY_S,
        bar: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__()
        self.total = total
        self.start = start
        self.latest_eval = latest_eval or (lambda: None)
        self.stream = stream or sys.stdout
        self.every_s = every_s
        self.use_bar = self.stream.isatty() if bar is None else bar
        self.clock = clock
        self._bar = None
        self._last_t = 0.0
        self._last_steps = start

    def line(self, steps: int, rate: float) -> str:
        """One log line: steps of the total (percent), steps/s, latest evaluation."""
        latest = self.latest_eval()
        evaluation = "no evaluation yet" if latest is None else f"latest eval return {latest:.4f}"
        pct = 100 * steps / self.total if self.total else 100.0
        return f"step {steps:,} of {self.total:,} ({pct:.1f}%), {rate:,.0f} steps/s, {evaluation}"

    def _on_training_start(self) -> None:
        self._last_t = self.clock()
        self._last_steps = self.start
        if self.use_bar:
            from tqdm import tqdm

            self._bar = tqdm(total=self.total, initial=self.start, unit="step", file=self.stream, dynamic_ncols=True)

    def _on_step(self) -> bool:
        steps = int(self.model.num_timesteps)
        if self._bar is not None:
            self._bar.update(steps - self._bar.n)
            return True
        now = self.clock()
        if now - self._last_t >= self.every_s:
            rate = (steps - self._last_steps) / (now - self._last_t)
            print(self.line(steps, rate), file=self.stream, flush=True)
            self._last_t, self._last_steps = now, steps
        return True

    def _on_training_end(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            return
        now = self.clock()
        steps = int(self.model.num_timesteps)
        rate = (steps - self._last_steps) / (now - self._last_t) if now > self._last_t else 0.0
        print(self.line(steps, rate), file=self.stream, flush=True)


class CountProgress:
    """Progress over a count of work items (e.g. evaluation runs): a tqdm bar on a terminal, else a plain line
    every `every_s` seconds and one at the end. Use as a context manager; call update() per finished item."""

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str = "run",
        stream: TextIO | None = None,
        every_s: float = LOG_EVERY_S,
        bar: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total, self.desc, self.unit = total, desc, unit
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.clock = clock
        self.done = 0
        self._bar = None
        if total and (self.stream.isatty() if bar is None else bar):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, file=self.stream)
        self._start = self._last = clock()

    def line(self) -> str:
        elapsed = self.clock() - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return f"{self.desc}: {self.done} of {self.total} {self.unit}s done ({rate:.2f} {self.unit}s/s)"

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = self.clock()
        if now - self._last >= self.every_s and self.done < self.total:
            print(self.line(), file=self.stream, flush=True)
            self._last = now

    def __enter__(self) -> CountProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.total:
            print(self.line(), file=self.stream, flush=True)
