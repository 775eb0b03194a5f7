"""Training progress for output that is not a terminal (a file, a pipe, CI's log): a plain line every few seconds.

A live progress bar redraws itself in place, which a file cannot show: with ``train ... > log.txt`` nothing
reached the file until training ended (8 minutes of silence for examples/train-tiny.yaml, issue 38). Where
stdout is not a terminal the trainer writes these lines instead, through the same console the bar uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

EVERY_S = 10.0  # seconds between two lines


def clock_text(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def line(step: int, total: int, elapsed: float, started_at: int = 0, losses: dict[str, float] | None = None) -> str:
    """``train: step 40/200 (20%), loss 1.2345, 1 min 02 s so far, about 4 min 08 s left``; the time left is
    reckoned from the steps taken in this process (``started_at``: the step a resumed run began at)."""
    shown = f"train: step {step}/{total} ({100 * step // max(total, 1)}%)"
    for key, name in (("loss", "loss"), ("eval_loss", "held-out loss")):
        if losses and key in losses:
            shown += f", {name} {losses[key]:.4f}"
    shown += f", {clock_text(elapsed)} so far"
    done = step - started_at
    if done > 0 and step < total:
        shown += f", about {clock_text(elapsed / done * (total - step))} left"
    return shown


@dataclass
class PlainProgress:
    """Writes ``line(...)`` through ``write`` at the first step, then at most every ``every`` seconds, and at the end."""

    total: int
    started_at: int
    write: Callable[[str], None]
    every: float = EVERY_S
    clock: Callable[[], float] = time.monotonic
    losses: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.began = self.clock()
        self.last: float | None = None
        self.step = self.started_at

    def update(self, step: int) -> None:
        self.step = step
        now = self.clock()
        if self.last is None or now - self.last >= self.every:
            self.last = now
            self.write(line(step, self.total, now - self.began, self.started_at, self.losses))

    def log(self, logs: dict[str, float]) -> None:
        self.losses.update({k: v for k, v in logs.items() if k in ("loss", "eval_loss") and isinstance(v, int | float)})

    def end(self) -> None:
        self.write(line(self.step, self.total, self.clock() - self.began, self.started_at, self.losses))
