"""What several commands share, declared once: options with their help text, output formats, the global
settings the root options set (``--debug``), and the parsing of repeated or comma-separated names."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ecombench.terminal import safe_text


@dataclass
class GlobalOptions:
    """What the options before the command's name set, for the command (``ctx.obj``) and for ``main``."""

    debug: bool = False  # --debug: an error shows its traceback; run, train and sweep pass it on


def debug(ctx: typer.Context) -> bool:
    """``--debug`` was given (before the command's name)."""
    return isinstance(ctx.obj, GlobalOptions) and ctx.obj.debug


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ecombench {version('ecombench')}")
        raise typer.Exit()


DebugOption = Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="CPU threads for torch (default: the CPUs this process can really use: affinity, "
        "cgroup quota, minus CPUs busy with other work; or $ECOMBENCH_THREADS).",
    ),
]
VersionOption = Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


TableOrJson = Annotated[OutputFormat, typer.Option("--format", help="table or json.")]
# `--rules` on score and run (issue 27): one option, one help text.
RulesOption = Annotated[
    str | None,
    typer.Option(
        "--rules",
        help="Whose scoring code to follow: kddcup, shopping-mmlu, ecomgpt or ecellm. Default: the rules the "
        "data carries (an imported suite's benchmark), else kddcup.",
    ),
]
# leaderboard, report and compare read the submissions folder; the submissions commands manage it.
SubmissionsIn = Annotated[Path, typer.Option("--submissions-dir", help="Where submissions are read from.")]
SubmissionsFolder = Annotated[Path, typer.Option("--submissions-dir", help="The submissions folder.")]
TaskPathOption = Annotated[list[Path] | None, typer.Option("--task-path", metavar="DIR", help="Extra folder of task YAMLs.")]


def split_names(values: list[str] | None) -> list[str] | None:
    """Names given repeated or comma-separated (``--tasks a,b --tasks c``); None when none."""
    return [n.strip() for item in values or [] for n in item.split(",") if n.strip()] or None


def plural(count: int, noun: str) -> str:
    """``1 task``, ``2 tasks``: a count with its noun in the right number (regular plurals only)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def notice(line: str) -> None:
    """``ecombench: <line>`` on stderr, its control characters made visible: what a library function says
    through its ``say`` callback (which board was chosen, which run a shared name stands for)."""
    print(f"ecombench: {safe_text(line)}", file=sys.stderr)
