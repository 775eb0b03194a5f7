"""Rich tables for scores. Text from models and files is shown as text, never as markup."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ecombench.metrics.rules import substitutes_note
from ecombench.scoring import Report
from ecombench.terminal import metric_label, natural_key, text
from ecombench.terminal import table as rich_table


def report_table(report: Report, title: str = "Scores") -> Table:
    """Tasks grouped under their track (with the track's score), then All-Around and the plain task mean.
    (The task type is left out: the metric names it, and the table must fit 80 columns.)

    Names fold onto more lines rather than being cut, so they stay readable in an 80-column terminal.
    """
    longest = max((len(name) + 2 for name in report.tasks), default=4)
    table = rich_table("task", "metric", "n", "score", "± stderr", title=title, right=("n", "score", "± stderr"), min_widths={"task": min(longest, 40)})
    by_track: dict[str, list] = {}
    for t in report.tasks.values():
        by_track.setdefault(t.track, []).append(t)
    for track in sorted(by_track, key=natural_key):
        score = report.tracks.get(track)
        table.add_row(text(f"track: {track}", style="bold"), "", "", Text(f"{score:.4f}", style="bold") if score is not None else "", "")
        for t in sorted(by_track[track], key=lambda t: natural_key(t.task_name)):
            stderr = f"{t.stderr:.4f}" if t.stderr is not None else "-"
            mark = " *" if t.task_name in report.substitutes else ""  # scored by a stand-in for the rules' own metric
            table.add_row(text(f"  {t.task_name}"), text(metric_label(t.metric) + mark), str(t.n), f"{t.score:.4f}", stderr)
        table.add_section()
    table.add_row(Text("All-Around (mean of tracks)", style="bold"), "", "", Text(f"{report.all_around:.4f}", style="bold"), "")
    table.add_row("overall task mean", "", "", f"{report.overall_task_mean:.4f}", "")
    if report.substitutes:
        table.caption = text(substitutes_note(report.rules, report.substitutes))
    return table
