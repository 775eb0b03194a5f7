"""``ecombench import``: turn a public dataset you hold into tasks (each format takes the options it declares)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import plural


def import_(
    format: Annotated[str, typer.Argument(help="shopbench, shopping-mmlu, ecominstruct, ecinstruct, esci, oamine or jsonl.")],
    source: Annotated[Path, typer.Argument(help="The dataset file or folder you hold (never downloaded).")],
    name: Annotated[str, typer.Option("--name", help="Suite name: task names get it as a prefix.")],
    out: Annotated[Path | None, typer.Option("--out", help="Parent folder. Default: $ECOMBENCH_HOME/tasks.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing suite of that name.")] = False,
    prompt: Annotated[str, typer.Option("--prompt", help="jsonl: the prompt field.")] = "prompt",
    target: Annotated[str, typer.Option("--target", help="jsonl: the truth field.")] = "target",
    type: Annotated[str, typer.Option("--type", help="jsonl: the task type.")] = "generation",
    metric: Annotated[str | None, typer.Option("--metric", help="jsonl: the metric (default: the type's first).")] = None,
    track: Annotated[str, typer.Option("--track", help="jsonl: the track.")] = "custom",
    setting: Annotated[str, typer.Option("--setting", help="ecinstruct: which setting to keep.")] = "IND_Diverse_Instruction",
    split: Annotated[str, typer.Option("--split", help="ecinstruct, esci: which split to keep.")] = "test",
    ranking_labels: Annotated[
        Path | None,
        typer.Option(
            "--ranking-labels",
            help="ecinstruct: eCeLLM's label.json for Query_Product_Ranking (data_label/label.json of ninglab/eCeLLM). Default: label.json beside SOURCE.",
        ),
    ] = None,
    skip_unreadable: Annotated[
        bool, typer.Option("--skip-unreadable", help="ecominstruct: skip task folders that cannot be read (each named on stderr) instead of failing.")
    ] = False,
    letter_choices: Annotated[
        bool, typer.Option("--letter-choices", help="shopping-mmlu per-type folders: options (A)-(D), as task_wise_eval's --use_letter_choices.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="chinese-ecomqa: refuse a file with bad rows (default: skip each, counted with its file:line).")
    ] = False,
) -> None:
    """Turn a public dataset you already have into ecombench tasks (under $ECOMBENCH_HOME/tasks/NAME)."""
    from ecombench.importers import read_suite
    from ecombench.importers.writer import write_suite
    from ecombench.paths import user_tasks_dir

    given: dict[str, object] = {"prompt": prompt, "target": target, "type": type, "metric": metric, "track": track, "setting": setting, "split": split}
    given.update(ranking_labels=ranking_labels, skip_unreadable=skip_unreadable, letter_choices=letter_choices, strict=strict)
    suite = read_suite(format, source, given)  # each format takes the options it declares
    dest = write_suite(suite, name, out or user_tasks_dir(), force=force)
    if suite.skipped is not None and (suite.skipped.total or suite.skipped.files):
        from ecombench.notices import warn

        warn(suite.skipped.line())
    items = sum(len(rows) for rows in suite.tasks.values())
    typer.echo(f"imported {plural(len(suite.tasks), 'task')}, {plural(items, 'item')} into {dest}; run them with: ecombench run --model M --tasks {name}")


def register(app: typer.Typer) -> None:
    app.command("import", short_help="Turn a public dataset you hold into tasks.")(import_)
