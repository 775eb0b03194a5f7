"""``ecombench score``: score a predictions file by a benchmark's own rules, and keep it as a submission."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import OutputFormat, RulesOption, TableOrJson
from ecombench.errors import EcombenchError
from ecombench.terminal import console as _console
from ecombench.terminal import safe_text


def score(
    data: Annotated[
        Path,
        typer.Option("--data", help="Questions with truths: ShopBench JSON Lines, a Shopping MMLU skill file, or eCeLLM's ECInstruct records."),
    ],
    predictions: Annotated[
        Path,
        typer.Option(
            "--predictions",
            help='JSON Lines of {"index": row, "prediction": "raw text"}, skill_evaluation.py\'s {"model_output": ...} lines, '
            "or eCeLLM's evaluation/{task}/{setting}.json list.",
        ),
    ],
    format: TableOrJson = OutputFormat.table,
    output: Annotated[Path | None, typer.Option("--output", help="Also write the JSON scores to this file.")] = None,
    embedding_model: Annotated[str | None, typer.Option("--embedding-model", help="Folder of all-MiniLM-L6-v2 (sent-transformer).")] = None,
    multilingual_embedding_model: Annotated[
        str | None,
        typer.Option(
            "--multilingual-embedding-model",
            help="Folder of paraphrase-multilingual-MiniLM-L12-v2 (multilingual-sent-transformer).",
        ),
    ] = None,
    save: Annotated[bool, typer.Option("--save", help="Also keep the scores as a submission (marked as scored from predictions) for the leaderboard.")] = False,
    name: Annotated[str | None, typer.Option("--name", help="--save: submission name. Default: the predictions file's name.")] = None,
    submissions_dir: Annotated[Path | None, typer.Option("--submissions-dir", help="--save: where the submission is written. Default: submissions.")] = None,
    rules: RulesOption = None,
) -> None:
    """Score raw predictions against ShopBench records by a benchmark's own rules (the KDD Cup 2024 scorer by default)."""
    import time

    from ecombench.io import atomic_write_text
    from ecombench.metrics.embedding import Embedders
    from ecombench.scorefile import save_scored, score_and_keep, score_files

    if not save and (name is not None or submissions_dir is not None):
        raise EcombenchError(f"{'--name' if name is not None else '--submissions-dir'} is a setting of --save; add --save to keep a submission")
    embedders = Embedders(overrides={"sent-transformer": embedding_model, "multilingual-sent-transformer": multilingual_embedding_model})
    started = time.monotonic()
    scored = score_and_keep(data, predictions, embedders, rules) if save else None
    report = scored.report if scored is not None else score_files(data, predictions, embedders, rules)
    payload = json.dumps(report.as_json(), indent=2, ensure_ascii=False)
    if report.read_as:
        print(f"ecombench: {safe_text(report.read_as)}", file=sys.stderr)
    saved = None
    if scored is not None:
        saved = save_scored(scored, predictions, submissions_dir or Path("submissions"), name, time.monotonic() - started)
    if output is not None:
        atomic_write_text(output, payload + "\n")
    if format is OutputFormat.json:
        typer.echo(payload)
    else:
        from ecombench.render import report_table

        console = _console()
        console.print(report_table(report, title=f"Scores of {predictions.name} ({report.rules} rules)", width=console.width))
    if saved is not None:
        submission, path, notes = saved
        for note in notes:
            print(f"ecombench: note: {safe_text(note)}", file=sys.stderr)
        line = safe_text(f"submission {submission.id} (scored from predictions) written to {path}")
        if format is OutputFormat.json:  # stdout stays the JSON scores
            print(line, file=sys.stderr)
        else:
            _console().print(line, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command(short_help="Score a predictions file by a benchmark's own rules.")(score)
