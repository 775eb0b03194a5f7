"""``ecombench submissions list|show|rm``: the scored runs in a submissions folder (thin: parse, call, render)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import SubmissionsFolder
from ecombench.errors import EcombenchError

app = typer.Typer(help="List, show and remove submissions.", rich_markup_mode=None, no_args_is_help=True)


def _one(folder: Path, key: str):
    """The submission ``key`` names (an id, an id prefix or a name) and the file it is in (whatever that file's
    name), refusing a name shared by several runs."""
    from ecombench.leaderboard.compare import resolve
    from ecombench.leaderboard.store import load_records

    records = load_records(folder)
    found = resolve([sub for _, sub in records], key)
    if len(found.matches) > 1:
        raise EcombenchError(f"'{key}' names {len(found.matches)} submissions ({', '.join(s.id for s in found.matches)}); give an id")
    return next((path, sub) for path, sub in records if sub is found.chosen)


@app.command("list")
def list_cmd(
    submissions_dir: SubmissionsFolder = Path("submissions"),
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per submission instead of a table.")] = False,
) -> None:
    """Every submission, newest first: id, name, model, tasks, All-Around, when."""
    from ecombench.leaderboard.store import load_submissions
    from ecombench.terminal import Col, console, fit

    subs = sorted(load_submissions(submissions_dir), key=lambda s: (s.created, s.id), reverse=True)
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "model": s.model.spec,
            "kind": s.model.kind,
            "tasks": len(s.tasks),
            "all_around": s.all_around,
            "created": s.created.isoformat(),
        }
        for s in subs
    ]
    if json_out:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    columns = [
        Col("name", keep=True, title=True),
        Col("id", keep=True, title=True),  # whole, for copying into show, rm and compare
        Col("all_around", right=True, keep=True),
        Col("tasks", right=True, drop=2),
        Col("model", drop=0),
        Col("created", drop=1),
    ]
    cells = [[s.name, s.id, f"{s.all_around:.4f}", str(len(s.tasks)), s.model.spec, f"{s.created:%Y-%m-%d %H:%M:%S}"] for s in subs]
    shown = console()
    shown.print(fit(columns, cells, shown.width, title=f"{len(rows)} submission{'s' if len(rows) != 1 else ''} in {submissions_dir}", formats="--json"))


@app.command("show")
def show_cmd(
    key: Annotated[str, typer.Argument(help="A submission id, id prefix or name.")],
    submissions_dir: SubmissionsFolder = Path("submissions"),
) -> None:
    """A submission's record as JSON (identity, settings, scores; its items stay in the items file)."""
    _, sub = _one(submissions_dir, key)
    typer.echo(sub.model_dump_json(indent=2))


@app.command("rm")
def rm_cmd(
    keys: Annotated[list[str], typer.Argument(metavar="RUN...", help="Submission ids, id prefixes or names (a name must name one submission).")],
    submissions_dir: SubmissionsFolder = Path("submissions"),
) -> None:
    """Remove submissions: each record and its items file, the record first in one step (boards and reports no longer list it)."""
    from ecombench.submissions import remove
    from ecombench.terminal import safe_text

    chosen = [_one(submissions_dir, key) for key in keys]  # every name resolves before anything is removed
    for path, sub in {path: (path, s) for path, s in chosen}.values():
        done = remove(submissions_dir, sub, path)
        typer.echo(safe_text(f"removed {sub.id} ({sub.name}): {', '.join(str(p) for p in done.removed)}" + (f"; {done.kept}" if done.kept else "")))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="submissions")
