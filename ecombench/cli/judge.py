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


@app.command("pairwise")
def pairwise_cmd(
    a: Annotated[str, typer.Argument(help="The first run: an id, id prefix or name.")],
    b: Annotated[str, typer.Argument(help="The second run.")],
    judge: Annotated[str | None, typer.Option("--judge", "--judge-model", metavar="MODEL", help="The model that compares the answers.")] = None,
    judge_backend: Annotated[str, typer.Option("--judge-backend", help="hf (default), vllm or openai.")] = "hf",
    judge_base_url: Annotated[str | None, typer.Option("--judge-base-url", help="openai judge: the server's API root.")] = None,
    judge_api: Annotated[str | None, typer.Option("--judge-api", help="openai judge: completions (default) or chat.")] = None,
    tasks: Annotated[list[str] | None, typer.Option("--tasks", metavar="NAMES", help="Only these tasks (default: every task both runs have).")] = None,
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where the runs are.")] = Path("submissions"),
    json_out: Annotated[bool, typer.Option("--json", help="The counts and the position bias as one JSON object.")] = False,
) -> None:
    """A judge compares A's and B's answers to each question both answered, in both orders (position bias reported)."""
    from ecombench.cli.options import split_names
    from ecombench.pairwise import pairwise
    from ecombench.run import JudgeOptions

    report = pairwise(submissions_dir, a, b, JudgeOptions(model=judge, backend=judge_backend, base_url=judge_base_url, api=judge_api), split_names(tasks))
    if json_out:
        typer.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    w = report.wins
    typer.echo(
        f"{report.a.name} ({report.a.id}) against {report.b.name} ({report.b.id}), judged by {report.judge} with {report.template}: "
        f"{report.pairs} questions; A better {w.get('a', 0)}, B better {w.get('b', 0)}, tie {w.get('tie', 0)}, unparseable {w.get('unparseable', 0)}"
    )
    typer.echo(
        f"position bias: {report.flipped} of {report.read} read pairs ({report.position_bias:.1%}) changed verdict with the order "
        "(counted as ties; a judge above a few percent favours a position, not an answer)"
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="judge")
