"""``ecombench compare``: deltas and exact paired tests of runs against the first (the reference)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import OutputFormat, SubmissionsIn, TableOrJson, notice
from ecombench.terminal import console as _console


def compare_cmd(
    runs: Annotated[list[str], typer.Argument(metavar="RUN...", help="Two or more submission ids (or id prefixes) or names; the first is the reference.")],
    items: Annotated[bool, typer.Option("--items", help="List the items that flipped between the reference and each other run.")] = False,
    submissions_dir: SubmissionsIn = Path("submissions"),
    iters: Annotated[
        int, typer.Option("--iters", help="Random sign patterns per task, for a task with more than 20 items that differ by unequal amounts.")
    ] = 10_000,
    format: TableOrJson = OutputFormat.table,
) -> None:
    """Per-task and per-track deltas against the first run, with exact paired tests (Holm-corrected) and 95% intervals."""
    from ecombench.leaderboard.compare import compare_runs
    from ecombench.leaderboard.compare_view import as_json, shown

    runs_compared, results = compare_runs(submissions_dir, runs, iters=iters, say=notice)
    if format is OutputFormat.json:
        typer.echo(json.dumps(as_json(results), indent=2, ensure_ascii=False))
        return
    console = _console()
    for part in shown(runs_compared, results, items, console.width):
        console.print(part)


def register(app: typer.Typer) -> None:
    app.command("compare", short_help="Deltas and paired tests against the first run.")(compare_cmd)
