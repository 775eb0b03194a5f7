"""``ecombench references``: rebuild the bundled suites' reference rows (random guess, most frequent answer,
oracle, builtin:tiny)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import split_names


def references_cmd(
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where they are written. Default: submissions (the repository's).")] = Path(
        "submissions"
    ),
    suites: Annotated[
        list[str] | None, typer.Option("--suites", metavar="NAMES", help="Suites (repeat or comma-separate). Default: the bundled suites.")
    ] = None,
    kinds: Annotated[
        list[str] | None, typer.Option("--kinds", metavar="KINDS", help="random, most_frequent, oracle, tiny (repeat or comma-separate). Default: all.")
    ] = None,
) -> None:
    """Rebuild the reference rows (random guess, most frequent answer, oracle, builtin:tiny) of the bundled suites."""
    from ecombench.references import build_references
    from ecombench.terminal import safe_text

    for built in build_references(submissions_dir, split_names(suites), split_names(kinds)):
        s = built.submission
        typer.echo(safe_text(f"{s.id}: All-Around {s.all_around:.4f} ({'written' if built.written else 'unchanged'}: {built.path})"))


def register(app: typer.Typer) -> None:
    app.command("references", short_help="Rebuild the bundled suites' reference rows.")(references_cmd)
