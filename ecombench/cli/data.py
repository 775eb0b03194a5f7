"""``ecombench data``: rebuild the bundled ecombench-core; inspect training sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import split_names
from ecombench.errors import EcombenchError
from ecombench.terminal import console

app = typer.Typer(help="Build bundled data; inspect training sources.", rich_markup_mode=None, no_args_is_help=True)


@app.command("build-core")
def data_build_core(
    seed: Annotated[int, typer.Option("--seed", help="Seed; the default rebuilds the committed files byte for byte.")] = 2024,
    out: Annotated[Path | None, typer.Option("--out", help="Folder to write into. Default: the bundled tasks/core.")] = None,
) -> None:
    """Regenerate ecombench-core from its seed: catalog, evaluation tasks, training records."""
    from ecombench.data.core import build_core, default_core_dir

    manifest = build_core(out, seed)
    for name, info in manifest["files"].items():
        typer.echo(f"catalog/{name}: {info['rows']} rows, sha256 {info['sha256'][:16]}")
    typer.echo(
        f"{len(manifest['tasks'])} tasks, {manifest['eval_items']} evaluation items; {manifest['train_records']} training records "
        f"({manifest['train_dropped_by_decontamination']} dropped: 13-gram overlap with evaluation prompts); "
        f"{manifest['benchmark_worded_records']} worded as the evaluation ({manifest['benchmark_worded_leaks_dropped']} near twins of an item dropped)"
    )
    typer.echo(f"written to {out or default_core_dir()}")


@app.command("inspect")
def data_inspect(
    sources: Annotated[list[str], typer.Argument(metavar="SOURCE...", help="Training sources, as train's --data: 'core', suite:NAME, files, folders, globs.")],
    model: Annotated[str | None, typer.Option("--model", help="Count tokens with this model's tokenizer (else whitespace words).")] = None,
    mixture: Annotated[Path | None, typer.Option("--mixture", help="A mixture file: show tasks under its capabilities.")] = None,
    eval_tasks: Annotated[
        list[str] | None, typer.Option("--eval-tasks", metavar="NAMES", help="Tasks, groups or tracks to check for contamination. Default: ecombench_core.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse any bad row instead of counting it.")] = False,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """What training sources hold: layouts, bad rows, tasks, capabilities, lengths, duplicates, contamination."""
    from ecombench.train.config import read_mixture
    from ecombench.train.inspect_data import inspect_sources, render

    if format not in ("table", "json"):
        raise EcombenchError(f"--format {format}: use table or json")
    capabilities = read_mixture(mixture).capabilities if mixture is not None else None
    summary = inspect_sources(sources, model=model, eval_tasks=split_names(eval_tasks), capabilities=capabilities, strict=strict)
    if format == "json":
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    render(summary, console())


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="data")
