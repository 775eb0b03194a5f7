"""``ecombench compare`` in a terminal: which run is A and which B (C, ...), then one table of deltas that fits
the terminal's width (``terminal.fit``): task names whole, every significance mark kept beside its delta.

A run is named once, in the legend above the table (``A: name (id)``); the table's columns are the letters,
so that long model names never make a column wide. All-Around and the tracks come first, then the tasks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ecombench.efficiency import efficiency_line
from ecombench.leaderboard import overlap
from ecombench.leaderboard.compare import Comparison, interval_text, p_text, run_letters, task_json, wide_rows
from ecombench.submissions import Submission
from ecombench.terminal import Col, fit, text

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


def as_json(results: list[Comparison]) -> list[dict[str, Any]]:
    """``compare --format json``: for each run after the reference, its tasks, tracks, flipped items,
    efficiency and contamination beside the reference's."""
    return [
        {
            "a": r.a.id,
            "b": r.b.id,
            "tasks": {d.task: task_json(d) for d in r.tasks},
            "tracks": {t: {"a": a, "b": b, "delta": b - a} for t, (a, b) in r.tracks.items()},
            "flipped_items": len(r.flips),
            "efficiency": {"a": r.a.efficiency.model_dump() if r.a.efficiency else None, "b": r.b.efficiency.model_dump() if r.b.efficiency else None},
            "contamination": {"a": overlap.compared(r.a, [d.task for d in r.tasks]), "b": overlap.compared(r.b, [d.task for d in r.tasks])},
        }
        for r in results
    ]


def _flips(r: Comparison) -> Iterator[Any]:
    for f in r.flips:
        yield text(
            f"[{f.task}] {f.prompt}\n  target: {f.target}\n  A ({f.score_a:.2f}): {f.prediction_a}\n  B ({f.score_b:.2f}): {f.prediction_b}",
            keep_lines=True,
        )


def shown(runs: list[Submission], results: list[Comparison], items: bool, width: int | None) -> Iterator[Any]:
    """``compare`` in a terminal, what to print in order: the legend; with three or more runs one table (a
    column per run), then what each run was trained on that overlaps the tasks compared on, then (``items``)
    each pair's flipped items; with two, the pair's table, its overlaps, both runs' efficiency, then
    (``items``) the flipped items."""
    letters = run_letters(len(runs))
    for line in legend(letters, runs):
        yield text(line)
    if len(results) > 1:
        yield wide_table(results, width)
        compared = [[d.task for r in results for d in r.tasks], *([d.task for d in r.tasks] for r in results)]  # the tasks each run was compared on
        for letter, run, tasks in zip(letters, runs, compared, strict=True):
            for line in overlap.lines(letter, run, tasks):
                yield text(line)
        for r in results if items else []:  # the flipped items of each pair follow the one table
            yield text(f"{r.b.name} ({r.b.id}) vs {r.a.name} ({r.a.id}): {len(r.flips)} items flipped")
            yield from _flips(r)
        return
    r = results[0]
    yield pair_table(r, width)
    for label, sub in (("A", r.a), ("B", r.b)):
        for line in overlap.lines(label, sub, [d.task for d in r.tasks]):
            yield text(line)
    for label, sub in (("A", r.a), ("B", r.b)):
        yield text(f"efficiency {label}: {efficiency_line(sub.efficiency)}")
    if items:
        yield from _flips(r)
