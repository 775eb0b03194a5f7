"""``ecombench tasks``: list, show, validate and scaffold tasks (reads task YAMLs only, never lm-eval)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ecombench.cli.options import ListFormat, TaskPathOption, plural
from ecombench.errors import EcombenchError
from ecombench.terminal import console as _console

app = typer.Typer(help="List, inspect, check and scaffold tasks.", rich_markup_mode=None)


@app.callback(invoke_without_command=True)
def tasks_list(
    ctx: typer.Context,
    task_path: TaskPathOption = None,
    format: Annotated[ListFormat, typer.Option("--format", help="table, json or csv (for scripts).")] = ListFormat.table,
) -> None:
    """List every task with its track, type, metric, item count and version (reads YAML only)."""
    if ctx.invoked_subcommand is not None:
        return
    from ecombench.taskindex import build_index, default_roots
    from ecombench.terminal import Col, fit, natural_key, text

    index = build_index(default_roots(task_path or []))
    columns = ("task", "track", "type", "metric", "items", "version", "description")
    rows: list[dict[str, Any]] = [
        {"task": t.name, "track": t.track, "type": t.task_type, "metric": t.metric, "items": t.item_count(), "version": t.version, "description": t.description}
        for t in sorted(index.tasks.values(), key=lambda t: (natural_key(t.track), natural_key(t.name)))
    ]
    if format is ListFormat.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if format is ListFormat.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return
    console = _console()
    spec = [
        Col("task", keep=True, title=True),
        Col("type", drop=1),
        Col("metric", keep=True, wrap=12),
        Col("items", right=True, drop=2),
        Col("version", drop=0),
        Col("description", wrap=30, drop=0),  # the description leaves first (ties: the rightmost first)
    ]
    shown = [c.header for c in spec]
    cells: list[list[Any]] = []
    sections = []
    for track in dict.fromkeys(row["track"] for row in rows):
        sections.append(len(cells))
        cells.append([text(f"track: {track}", style="bold"), *[""] * (len(shown) - 1)])
        cells += [[f"  {row[c]}" if c == "task" else row[c] for c in shown] for row in rows if row["track"] == track]
    groups = [_group_line(index, name) for name in sorted(index.groups, key=natural_key)]
    notes = [f"groups (run them with --tasks NAME): {', '.join(groups)}"] if groups else []
    title = f"{plural(len(index.tasks), 'task')}, {plural(len(index.groups), 'group')}"
    console.print(fit(spec, cells, console.width, title=title, notes=notes, sections=sections, formats="--format json|csv"))


def _group_line(index, name: str) -> str:
    """``name (N tasks)``; a group that names an unknown task says so (``run`` would refuse it)."""
    try:
        return f"{name} ({plural(len(index.leaf_tasks(name)), 'task')})"
    except EcombenchError:
        return f"{name} (broken: `ecombench tasks validate` says why)"


@app.command("show")
def tasks_show(
    name: Annotated[str, typer.Argument(help="Task name.")],
    task_path: TaskPathOption = None,
) -> None:
    """Print a task's metadata and its first three examples as the model sees them."""
    from rich.panel import Panel

    from ecombench.taskcheck import examples
    from ecombench.taskindex import build_index, default_roots
    from ecombench.terminal import text

    index = build_index(default_roots(task_path or []))
    if name not in index.tasks:
        index.leaf_tasks(name)  # raises with the closest names when unknown
        raise EcombenchError(f"'{name}' is a group or track, not a task; `ecombench tasks` lists tasks")
    t = index.tasks[name]
    console = _console()
    for key, value in (
        ("task", t.name),
        ("track", t.track),
        ("task type", t.task_type),
        ("metric", t.metric),
        ("version", t.version),
        ("description", t.description),
        ("yaml", t.yaml_path),
        ("data", t.data_file),
    ):
        console.print(text(f"{key:>12}: {value}"))
    for i, example in enumerate(examples(t), start=1):
        body = text(example["prompt"], keep_lines=True)
        body.append_text(text(f"\n--- target: {json.dumps(example['target'], ensure_ascii=False)}", style="bold", keep_lines=True))
        console.print(Panel(body, title=f"example {i}"))


@app.command("validate")
def tasks_validate(path: Annotated[Path, typer.Argument(help="A task YAML or a folder of them.")]) -> None:
    """Check task YAMLs and their data: every problem is printed with file and line; exit 2 if any."""
    from ecombench.taskcheck import validate

    problems = validate(path)
    for problem in problems:
        print(problem, file=sys.stderr)
    if any(not p.warning for p in problems):
        raise typer.Exit(2)
    warnings = sum(p.warning for p in problems)
    typer.echo(f"{path}: ok" + (f" ({plural(warnings, 'warning')})" if warnings else ""))


@app.command("new")
def tasks_new(
    name: Annotated[str, typer.Argument(help="Task name (letters, digits, underscores).")],
    type: Annotated[str, typer.Option("--type", help="multiple-choice, retrieval, ranking, named_entity_recognition or generation.")],
    track: Annotated[str, typer.Option("--track", help="Track (skill) the task belongs to.")],
    dir: Annotated[Path | None, typer.Option("--dir", help="Parent folder. Default: $ECOMBENCH_HOME/tasks, which run picks up.")] = None,
) -> None:
    """Scaffold a task folder (YAML and a one-row data file) to fill in."""
    from ecombench.paths import user_tasks_dir
    from ecombench.taskcheck import scaffold

    created = scaffold(name, type, track, dir or user_tasks_dir())
    typer.echo(f"created {created}; edit its data file, then: ecombench tasks validate {created.parent}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="tasks")
