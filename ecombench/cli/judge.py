"""``ecombench judge agreement``: how far a judge agrees with people, or with another judge (thin: parse, call, render)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ecombench.errors import EcombenchError

app = typer.Typer(help="Check a model judge: its agreement with human grades or with another judge.", rich_markup_mode=None, no_args_is_help=True)


@app.command("agreement")
def agreement_cmd(
    sample: Annotated[Path, typer.Argument(help="Labelled sample, JSON Lines or .csv: question, reference, answer, human (A/B/C or CORRECT/...).")],
    verdicts: Annotated[
        Path | None,
        typer.Option("--verdicts", help="A judge's grades of the same rows (question, answer, grade), matched by question and answer."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Kappa and the confusion table as one JSON object.")] = False,
) -> None:
    """Cohen's kappa and the confusion table between the human grades of SAMPLE and a judge's."""
    from ecombench.judge.agreement import agreement, as_json, match_verdicts, read_labelled
    from ecombench.terminal import Col, console, fit

    if verdicts is None:
        raise EcombenchError(
            "judge agreement: pass --verdicts FILE (a judge's grades of these rows); grading them here with a --judge model comes with run --judge"
        )
    rows = read_labelled(sample)
    result = agreement([r.grade for r in rows], match_verdicts(rows, read_labelled(verdicts, grade_field="grade"), verdicts))
    if json_out:
        typer.echo(json.dumps(as_json(result), ensure_ascii=False))
        return
    kappa = "undefined (one grade throughout)" if result.kappa is None else f"{result.kappa:.3f}"
    typer.echo(f"Cohen's kappa {kappa}; graded alike {result.observed:.1%} of {result.items} items")
    columns = [Col("human \\ judge", keep=True, title=True), *(Col(label, right=True, keep=True) for label in result.labels)]
    cells = [[label, *map(str, counts)] for label, counts in zip(result.labels, result.matrix)]
    shown = console()
    shown.print(fit(columns, cells, shown.width, title="Confusion table: rows are the human grades, columns the judge's", formats="--json"))


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="judge")
