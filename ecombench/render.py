"""Rich tables for scores. Text from models and files is shown as text, never as markup."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ecombench.scoring import Report
from ecombench.terminal import text


def report_table(report: Report, title: str = "Scores") -> Table:
    """Per task, then per track, then All-Around and the plain task mean."""
    table = Table(title=text(title))
    for column, justify in (("task", "left"), ("track", "left"), ("type", "left"), ("metric", "left"), ("n", "right"), ("score", "right"), ("± stderr", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for t in sorted(report.tasks.values(), key=lambda t: (t.track, t.task_name)):
        stderr = f"{t.stderr:.4f}" if t.stderr is not None else "-"
        table.add_row(text(t.task_name), text(t.track), text(t.task_type), text(t.metric), str(t.n), f"{t.score:.4f}", stderr)
    table.add_section()
    for track, score in report.tracks.items():
        table.add_row(text(f"track: {track}"), "", "", "", "", f"{score:.4f}", "")
    table.add_section()
    table.add_row(Text("All-Around (mean of tracks)", style="bold"), "", "", "", "", Text(f"{report.all_around:.4f}", style="bold"), "")
    table.add_row("overall task mean", "", "", "", "", f"{report.overall_task_mean:.4f}", "")
    return table
