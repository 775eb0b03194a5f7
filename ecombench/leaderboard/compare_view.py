"""``ecombench compare`` in a terminal: which run is A and which B (C, ...), then one table of deltas that fits
the terminal's width (``terminal.fit``): task names whole, every significance mark kept beside its delta.

A run is named once, in the legend above the table (``A: name (id)``); the table's columns are the letters,
so that long model names never make a column wide. All-Around and the tracks come first, then the tasks.
"""

from __future__ import annotations

from typing import Any

from ecombench.leaderboard.compare import Comparison, interval_text, p_text, wide_rows
from ecombench.submissions import Submission
from ecombench.terminal import Col, fit

FORMATS = "--format json"


def legend(letters: list[str], runs: list[Submission]) -> list[str]:
    """``A (reference): name (id)``, then ``B: name (id)``, ...: one line a run."""
    return [f"{letter}{' (reference)' if i == 0 else ''}: {run.name} ({run.id})" for i, (letter, run) in enumerate(zip(letters, runs, strict=True))]


def _delta(value: float, significant: bool) -> str:
    return f"{value:+.4f}" + ("*" if significant else "")


def pair_table(r: Comparison, width: int | None) -> Any:
    """B against A: All-Around and tracks (of the tasks both ran), then each task with its delta (``*``: significant
    after Holm), 95% interval, paired items, same answers and p-value; these last columns leave first where the
    terminal is narrow."""
    columns = [
        Col("task", keep=True, title=True),
        Col("track", drop=0),
        Col("A", right=True, keep=True),
        Col("B", right=True, keep=True),
        Col("B - A", right=True, keep=True),
        Col("95% CI", right=True, drop=3),
        Col("n", right=True, drop=2),
        Col("same\nanswers", right=True, drop=1),
        Col("p (Holm)", right=True, drop=4),
    ]
    aa, ab = (sum(v[k] for v in r.tracks.values()) / len(r.tracks) for k in (0, 1))  # All-Around of the tasks both ran
    rows: list[list[Any]] = [["All-Around", "", f"{aa:.4f}", f"{ab:.4f}", _delta(ab - aa, False), "", "", "", ""]]
    for track, (a, b) in r.tracks.items():
        rows.append([f"track: {track}", "", f"{a:.4f}", f"{b:.4f}", _delta(b - a, False), "", "", "", ""])
    sections = [len(rows)]
    for d in r.tasks:
        cells = [d.task, d.track, f"{d.a:.4f}", f"{d.b:.4f}", _delta(d.delta, d.significant), interval_text(d), str(d.n_paired), str(d.same_answers)]
        rows.append([*cells, p_text(d)])
    notes = [f"* significant at 0.05 after Holm's correction over {len(r.tasks)} tasks (exact paired tests); {len(r.flips)} items flipped"]
    without = [d for d in r.tasks if d.test is not None and d.test.interval is None]
    if without:
        notes.append(f"no interval for {len(without)} task(s): {without[0].task}: {without[0].test.interval_note}")  # type: ignore[union-attr]
    return fit(columns, rows, width, notes=notes, sections=sections, formats=FORMATS)


def wide_table(results: list[Comparison], width: int | None) -> Any:
    """Three or more runs: a column per run and, for each run after A, its delta against A; a run's score
    columns leave (the last run's first) before any delta does, where the terminal is narrow."""
    header, rows = wide_rows(results)
    columns = [Col("task", keep=True, title=True), Col(header[1], right=True, keep=True)]
    columns += [Col(h, right=True, keep=h.startswith("\u0394")) for h in header[2:]]
    first_task = len(rows) - len(results[0].a.tasks)
    note = "* significant at 0.05 after Holm's correction over the tasks of that pair; --format json has the p-values"
    return fit(columns, rows, width, notes=[note], sections=[first_task], formats=FORMATS)
