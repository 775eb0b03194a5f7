"""Rich tables for scores. Text from models and files is shown as text, never as markup."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from ecombench.metrics.rulesets import substitutes_note
from ecombench.scoring import Report
from ecombench.terminal import Col, fit, metric_label, natural_key, text


def report_table(report: Report, title: str = "Scores", width: int | None = None) -> Any:
    """Tasks grouped under their track (with the track's score), then All-Around and the plain task mean,
    for a terminal ``width`` columns wide (None: no limit). Task names are never cut or folded; the
    standard error, then the item count, leave where the terminal is too narrow (a note names them).
    (The task type is left out: the metric names it.)
    """
    columns = [
        Col("task", keep=True, title=True),
        Col("metric", keep=True, wrap=12),
        Col("n", right=True, drop=1),
        Col("score", right=True, keep=True),
        Col("± stderr", right=True, drop=0),
    ]
    rows: list[list[Any]] = []
    sections = []
    by_track: dict[str, list] = {}
    for t in report.tasks.values():
        by_track.setdefault(t.track, []).append(t)
    for track in sorted(by_track, key=natural_key):
        score = report.tracks.get(track)
        sections.append(len(rows))
        rows.append([text(f"track: {track}", style="bold"), "", "", Text(f"{score:.4f}", style="bold") if score is not None else "", ""])
        for t in sorted(by_track[track], key=lambda t: natural_key(t.task_name)):
            stderr = f"{t.stderr:.4f}" if t.stderr is not None else "-"
            mark = " *" if t.task_name in report.substitutes else ""  # scored by a stand-in for the rules' own metric
            rows.append([f"  {t.task_name}", metric_label(t.metric) + mark, str(t.n), f"{t.score:.4f}", stderr])
    sections.append(len(rows))
    rows.append([Text("All-Around (mean of tracks)", style="bold"), "", "", Text(f"{report.all_around:.4f}", style="bold"), ""])
    rows.append(["overall task mean", "", "", f"{report.overall_task_mean:.4f}", ""])
    notes = [substitutes_note(report.rules, report.substitutes)] if report.substitutes else []
    return fit(columns, rows, width, title=title, notes=notes, sections=sections, formats="--format json")
