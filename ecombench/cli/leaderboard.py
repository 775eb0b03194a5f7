"""``ecombench leaderboard`` and ``ecombench report``: rank the submissions on a board, in the terminal or a file,
or as an offline web site."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import SubmissionsIn, notice
from ecombench.errors import EcombenchError
from ecombench.terminal import console as _console
from ecombench.terminal import safe_text


class BoardFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


def _board_table(board: str | None, submissions_dir: Path, by: str, efficiency: bool):
    """The board's table (``choose.board_table``) of the submissions in ``submissions_dir``, with their
    warnings and which board was chosen on stderr; the index of tasks too (the report needs it)."""
    from ecombench.leaderboard.choose import board_table
    from ecombench.leaderboard.store import load_folder
    from ecombench.taskindex import build_index, default_roots

    index = build_index(default_roots())
    loaded = load_folder(submissions_dir)
    for warning in loaded.warnings:
        print(f"ecombench: warning: {warning}", file=sys.stderr)
    return board_table(board, index, loaded, submissions_dir, by=by, efficiency=efficiency, say=notice), index, loaded


def leaderboard(
    board: Annotated[
        str | None,
        typer.Option(
            "--board",
            help="A board (leaderboards/*.yaml) or any task, group (suite) or track name. Default: ecombench_core "
            "if a submission has its tasks, else the board most submissions share (named on stderr).",
        ),
    ] = None,
    by: Annotated[str, typer.Option("--by", help="track: per-track columns; task: per-task columns too.")] = "track",
    format: Annotated[BoardFormat, typer.Option("--format", help="table, markdown, csv, json or html.")] = BoardFormat.table,
    output: Annotated[Path | None, typer.Option("--output", help="Write to this file instead of the terminal.")] = None,
    submissions_dir: SubmissionsIn = Path("submissions"),
    efficiency: Annotated[
        bool, typer.Option("--efficiency", help="Add what each run cost: generate seconds, generated tokens/s, peak host/device MiB, device, threads.")
    ] = False,
) -> None:
    """Rank the submissions on a board: All-Around with a 95% interval, per-track scores, flags."""
    from ecombench.io import atomic_write_text
    from ecombench.leaderboard.render import render, rich_table

    if by not in ("track", "task"):
        raise EcombenchError(f"--by {by}: use track or task")
    table, _, _ = _board_table(board, submissions_dir, by=by, efficiency=efficiency)
    if format is BoardFormat.table and output is None:
        console = _console()
        console.print(rich_table(table, console.width))
        return
    text = render(table, "markdown" if format is BoardFormat.table else format.value)
    if output is not None:
        atomic_write_text(output, text)
    else:
        sys.stdout.write(text)


def report_cmd(
    output: Annotated[Path, typer.Option("--output", help="Folder to write the site into (replaced whole; a new or earlier report folder).")],
    board: Annotated[
        str | None,
        typer.Option(
            "--board",
            help="The board shown first: a board (leaderboards/*.yaml) or any task, group or track name. "
            "Default: as leaderboard. The site offers every board file and suite the submissions cover.",
        ),
    ] = None,
    submissions_dir: SubmissionsIn = Path("submissions"),
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the site on localhost and rebuild it when a submission lands (Ctrl-C stops).")] = False,
    port: Annotated[int, typer.Option("--port", help="--serve: the port (0: any free one).")] = 8000,
    open_page: Annotated[bool, typer.Option("--open", help="Then open the board in the default web browser (its file:// address).")] = False,
    efficiency: Annotated[bool, typer.Option("--efficiency", help="Boards show what each run cost (time, tokens/s, peak memory) as columns.")] = False,
) -> None:
    """Write a static, offline web site: the board, an item explorer per submission, side by side, charts."""
    from ecombench.leaderboard.report import site_boards, write_report

    def build() -> Path:
        table, index, loaded = _board_table(board, submissions_dir, by="task", efficiency=efficiency)
        site = write_report(output, site_boards(table, index, loaded), submissions_dir, index, loaded.digests)
        for warning in site.warnings:
            print(f"ecombench: warning: {safe_text(warning)}", file=sys.stderr)
        return site.index

    if serve and not 0 <= port <= 65535:
        raise EcombenchError(f"--port {port}: use 1 to 65535, or 0 for any free one")
    page = build()
    address = page.resolve().as_uri()  # a browser reads a bare "site/sub.html#id=..." as a web address on host "site"
    typer.echo(safe_text(f"report written to {page}; open {address}"))
    if open_page:
        import webbrowser

        if not webbrowser.open(address):
            print(f"ecombench: warning: no web browser found here; open {safe_text(address)} in one", file=sys.stderr)
    if serve:
        from ecombench.leaderboard.serve import serve_site

        serve_site(output, submissions_dir, build, port)


def register(app: typer.Typer) -> None:
    app.command(short_help="Rank the submissions on a board.")(leaderboard)
    app.command("report", short_help="Write the offline web site: board, items, charts.")(report_cmd)
