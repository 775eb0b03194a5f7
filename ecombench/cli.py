"""The ``ecombench`` command: parses options, calls one library function, renders the result.

Heavy libraries (torch, transformers, lm-eval) are imported inside the commands that need them,
so ``--help``, ``score`` and ``tasks`` start fast.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ecombench.cli_common import plural, split_names
from ecombench.errors import EcombenchError

app = typer.Typer(
    name="ecombench",
    help="Score e-commerce LLMs on ShopBench-style tasks with KDD Cup 2024-exact metrics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"ecombench {version('ecombench')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show a traceback for errors.")] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            help="CPU threads for torch (default: the CPUs this process can really use: affinity, "
            "cgroup quota, minus CPUs busy with other work; or $ECOMBENCH_THREADS).",
        ),
    ] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """Global options."""
    if threads is not None:
        from ecombench.threads import request

        request(threads)


def _console():
    from ecombench.terminal import console

    return console()


# `--rules` on score and run (issue 27): one option, one help text.
RulesOption = Annotated[
    str | None,
    typer.Option(
        "--rules",
        help="Whose scoring code to follow: kddcup, shopping-mmlu, ecomgpt or ecellm. Default: the rules the "
        "data carries (an imported suite's benchmark), else kddcup.",
    ),
]


@app.command(short_help="Score a predictions file by a benchmark's own rules.")
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
    format: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
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
        from ecombench.terminal import safe_text

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
        from ecombench.terminal import safe_text

        submission, path, notes = saved
        for note in notes:
            print(f"ecombench: note: {safe_text(note)}", file=sys.stderr)
        line = safe_text(f"submission {submission.id} (scored from predictions) written to {path}")
        if format is OutputFormat.json:  # stdout stays the JSON scores
            print(line, file=sys.stderr)
        else:
            _console().print(line, markup=False, highlight=False)


tasks_app = typer.Typer(help="List, inspect, check and scaffold tasks.", rich_markup_mode=None)
app.add_typer(tasks_app, name="tasks")
TaskPathOption = Annotated[list[Path] | None, typer.Option("--task-path", metavar="DIR", help="Extra folder of task YAMLs.")]


@tasks_app.callback(invoke_without_command=True)
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


@tasks_app.command("show")
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


@tasks_app.command("validate")
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


@tasks_app.command("new")
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


data_app = typer.Typer(help="Build bundled data; inspect training sources.", rich_markup_mode=None, no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("build-core")
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


@app.command("import", short_help="Turn a public dataset you hold into tasks.")
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
) -> None:
    """Turn a public dataset you already have into ecombench tasks (under $ECOMBENCH_HOME/tasks/NAME)."""
    from ecombench.importers import IMPORTERS
    from ecombench.importers.writer import write_suite
    from ecombench.paths import user_tasks_dir

    if format not in IMPORTERS:
        raise EcombenchError(f"unknown format '{format}'; use one of {', '.join(sorted(IMPORTERS))}")
    if not source.exists():
        raise EcombenchError(f"{source}: no such file or folder")
    by_format: dict[str, dict[str, object]] = {
        "jsonl": {"prompt": prompt, "target": target, "task_type": type, "metric": metric, "track": track, "task": "task"},
        "ecinstruct": {"setting": setting, "split": split, "ranking_labels": ranking_labels},
        "esci": {"split": split},
        "ecominstruct": {"skip_unreadable": skip_unreadable},
        "shopping-mmlu": {"letter_choices": letter_choices},
    }
    options = by_format.get(format, {})
    suite = IMPORTERS[format](source, **options)
    dest = write_suite(suite, name, out or user_tasks_dir(), force=force)
    items = sum(len(rows) for rows in suite.tasks.values())
    typer.echo(f"imported {plural(len(suite.tasks), 'task')}, {plural(items, 'item')} into {dest}; run them with: ecombench run --model M --tasks {name}")


class BoardFormat(StrEnum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


def _board_table(board: str | None, index, loaded, submissions_dir: Path, by: str = "track", efficiency: bool = False):
    """The named board's table, or (no name) the board the submissions cover, said on stderr; warnings first.

    ``efficiency``: with the columns of what each run cost (generate time, tokens/s, peak memory, device, threads).
    """
    from dataclasses import replace

    from ecombench.leaderboard.boards import board_candidates, coverage, covered_hint, get_board, implicit_boards, pick_board
    from ecombench.leaderboard.table import build_table
    from ecombench.terminal import safe_text

    for warning in loaded.warnings:
        print(f"ecombench: warning: {warning}", file=sys.stderr)
    if board is None:
        from ecombench.leaderboard.table import reference_ids

        refs = reference_ids(loaded.meta)  # reference rows are on every bundled board: users' runs choose it
        users = loaded.scores[~loaded.scores["submission"].isin(refs)] if len(refs) < len(loaded.meta) else loaded.scores
        board, line = pick_board(coverage(board_candidates(index), users), total=len(loaded.meta) - len(refs) or len(loaded.meta))
        if line:
            print(f"ecombench: {safe_text(line)}", file=sys.stderr)
    chosen = get_board(board, implicit_boards(index))
    table = replace(build_table(chosen, index, loaded, by=by), show_efficiency=efficiency)
    if table.frame.empty:
        covered = covered_hint(coverage(board_candidates(index), loaded.scores), skip=chosen.name)
        raise EcombenchError(
            f"no submission in {submissions_dir} has a task of board '{chosen.name}' ({', '.join(chosen.tasks)})"
            + (f"; boards they cover: {covered}" if covered else "; their tasks are in no board: `ecombench tasks` lists the tasks")
        )
    return table


@app.command(short_help="Rank the submissions on a board.")
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
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where submissions are read from.")] = Path("submissions"),
    efficiency: Annotated[
        bool, typer.Option("--efficiency", help="Add what each run cost: generate seconds, generated tokens/s, peak host/device MiB, device, threads.")
    ] = False,
) -> None:
    """Rank the submissions on a board: All-Around with a 95% interval, per-track scores, flags."""
    from ecombench.io import atomic_write_text
    from ecombench.leaderboard.render import render, rich_table
    from ecombench.leaderboard.store import load_folder
    from ecombench.taskindex import build_index, default_roots

    if by not in ("track", "task"):
        raise EcombenchError(f"--by {by}: use track or task")
    index = build_index(default_roots())
    loaded = load_folder(submissions_dir)
    table = _board_table(board, index, loaded, submissions_dir, by=by, efficiency=efficiency)
    if format is BoardFormat.table and output is None:
        console = _console()
        console.print(rich_table(table, console.width))
        return
    text = render(table, "markdown" if format is BoardFormat.table else format.value)
    if output is not None:
        atomic_write_text(output, text)
    else:
        sys.stdout.write(text)


@app.command("report", short_help="Write the offline web site: board, items, charts.")
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
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where submissions are read from.")] = Path("submissions"),
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the site on localhost and rebuild it when a submission lands (Ctrl-C stops).")] = False,
    port: Annotated[int, typer.Option("--port", help="--serve: the port (0: any free one).")] = 8000,
    open_page: Annotated[bool, typer.Option("--open", help="Then open the board in the default web browser (its file:// address).")] = False,
    efficiency: Annotated[bool, typer.Option("--efficiency", help="Boards show what each run cost (time, tokens/s, peak memory) as columns.")] = False,
) -> None:
    """Write a static, offline web site: the board, an item explorer per submission, side by side, charts."""
    from ecombench.leaderboard.report import site_boards, write_report
    from ecombench.leaderboard.store import load_folder
    from ecombench.taskindex import build_index, default_roots
    from ecombench.terminal import safe_text

    def build() -> Path:
        index = build_index(default_roots())
        loaded = load_folder(submissions_dir)
        table = _board_table(board, index, loaded, submissions_dir, by="task", efficiency=efficiency)
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


@app.command("references", short_help="Rebuild the bundled suites' reference rows.")
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


@app.command("compare", short_help="Deltas and paired tests against the first run.")
def compare_cmd(
    runs: Annotated[list[str], typer.Argument(metavar="RUN...", help="Two or more submission ids (or id prefixes) or names; the first is the reference.")],
    items: Annotated[bool, typer.Option("--items", help="List the items that flipped between the reference and each other run.")] = False,
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where submissions are read from.")] = Path("submissions"),
    iters: Annotated[
        int, typer.Option("--iters", help="Random sign patterns per task, for a task with more than 20 items that differ by unequal amounts.")
    ] = 10_000,
    format: Annotated[OutputFormat, typer.Option("--format", help="table or json.")] = OutputFormat.table,
) -> None:
    """Per-task and per-track deltas against the first run, with exact paired tests (Holm-corrected) and 95% intervals."""
    from ecombench.efficiency import efficiency_line
    from ecombench.leaderboard import overlap
    from ecombench.leaderboard.compare import check_pair, compare, resolve, run_letters, task_json
    from ecombench.leaderboard.compare_view import legend, pair_table, wide_table
    from ecombench.leaderboard.store import load_submissions
    from ecombench.terminal import safe_text, text

    if len(runs) < 2:
        raise EcombenchError("compare needs at least two submissions")
    subs = load_submissions(submissions_dir)
    resolved = [resolve(subs, key) for key in runs]
    for res in resolved:
        if res.note():
            print(f"ecombench: {safe_text(res.note())}", file=sys.stderr)
    for other in resolved[1:]:
        check_pair(resolved[0], other)
    reference = resolved[0].chosen
    results = [compare(reference, other.chosen, submissions_dir, iters=iters) for other in resolved[1:]]
    if format is OutputFormat.json:
        payload = [
            {
                "a": r.a.id,
                "b": r.b.id,
                "tasks": {d.task: task_json(d) for d in r.tasks},
                "tracks": {t: {"a": a, "b": b, "delta": b - a} for t, (a, b) in r.tracks.items()},
                "flipped_items": len(r.flips),
                "efficiency": {"a": r.a.efficiency.model_dump() if r.a.efficiency else None, "b": r.b.efficiency.model_dump() if r.b.efficiency else None},
                "contamination": {"a": overlap.compared(r.a, [d.task for d in r.tasks]), "b": overlap.compared(r.b, [d.task for d in r.tasks])},
            }
            for r in results
        ]
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console = _console()
    letters = run_letters(len(resolved))
    for line in legend(letters, [res.chosen for res in resolved]):
        console.print(text(line), highlight=False)
    if len(results) > 1:  # three or more runs: one table, a column per run
        console.print(wide_table(results, console.width))
        compared = [[d.task for r in results for d in r.tasks], *([d.task for d in r.tasks] for r in results)]  # the tasks each run was compared on
        for letter, res, tasks in zip(letters, resolved, compared, strict=True):
            for line in overlap.lines(letter, res.chosen, tasks):
                console.print(text(line), highlight=False)

    def flips(r) -> None:
        for f in r.flips:
            console.print(
                text(
                    f"[{f.task}] {f.prompt}\n  target: {f.target}\n  A ({f.score_a:.2f}): {f.prediction_a}\n  B ({f.score_b:.2f}): {f.prediction_b}",
                    keep_lines=True,
                )
            )

    for r in results if len(results) > 1 and items else []:  # the flipped items of each pair follow the one table
        console.print(text(f"{r.b.name} ({r.b.id}) vs {r.a.name} ({r.a.id}): {len(r.flips)} items flipped"))
        flips(r)
    for r in results if len(results) == 1 else []:
        console.print(pair_table(r, console.width))
        for label, sub in (("A", r.a), ("B", r.b)):
            for line in overlap.lines(label, sub, [d.task for d in r.tasks]):
                console.print(text(line), highlight=False)
        for label, sub in (("A", r.a), ("B", r.b)):
            console.print(text(f"efficiency {label}: {efficiency_line(sub.efficiency)}"), highlight=False)
        if items:
            flips(r)


@app.command(short_help="Score a model; keep the run as a submission.")
def run(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="Model folder, hub id, PEFT adapter folder, or builtin:tiny; with --backend openai, the served model's name. "
            "Repeat it (or use --models-file) to score several models, one submission each. Default: builtin:tiny.",
        ),
    ] = None,
    models_file: Annotated[
        Path | None, typer.Option("--models-file", help="A file naming one model per line (# comments) to score, one submission each.")
    ] = None,
    tasks: Annotated[
        list[str] | None, typer.Option("--tasks", metavar="NAMES", help="Task, group or track names (repeat or comma-separate). Default: the bundled suite.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many items per task.")] = None,
    batch_size: Annotated[str, typer.Option("--batch-size", help="auto or a number.")] = "auto",
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda, cuda:1 ... Default: cuda if present.")] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="auto (bf16 on capable GPUs, else fp32), float32, bfloat16, float16.")] = "auto",
    name: Annotated[str | None, typer.Option("--name", help="Submission name. Default: the model's folder name.")] = None,
    base: Annotated[str | None, typer.Option("--base", help="Base model of an adapter (overrides adapter_config.json).")] = None,
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where submissions are written.")] = Path("submissions"),
    system_prompt: Annotated[str | None, typer.Option("--system-prompt", help="'kddcup' for the challenge's system prompt, or literal text.")] = None,
    protocol: Annotated[str, typer.Option("--protocol", help="generate (KDD Cup: greedy, 1 token for multiple-choice) or loglikelihood.")] = "generate",
    task_path: Annotated[list[Path] | None, typer.Option("--task-path", metavar="DIR", help="Extra folder of task YAMLs (needs --trust-tasks).")] = None,
    trust_tasks: Annotated[bool, typer.Option("--trust-tasks", help="Allow --task-path folders, whose YAMLs may run Python code.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse or keep cached model answers.")] = False,
    embedding_model: Annotated[str | None, typer.Option("--embedding-model", help="Folder of all-MiniLM-L6-v2.")] = None,
    multilingual_embedding_model: Annotated[
        str | None, typer.Option("--multilingual-embedding-model", help="Folder of paraphrase-multilingual-MiniLM-L12-v2.")
    ] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow model code from the model folder.")] = False,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="hf (transformers, default), vllm (CUDA; pip install 'ecombench[vllm]') or openai (an "
            "OpenAI-compatible server at --base-url; API key from $OPENAI_API_KEY only).",
        ),
    ] = "hf",
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="openai: the server's API root, e.g. http://localhost:8000/v1 (or an endpoint URL).")
    ] = None,
    api: Annotated[str | None, typer.Option("--api", help="openai: completions (the prompt as text; default) or chat (the server's chat template).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="openai: requests in flight at once.")] = 1,
    retries: Annotated[int, typer.Option("--retries", help="openai: further tries of a failed request (backoff 1 s to 10 s).")] = 2,
    request_timeout: Annotated[int, typer.Option("--request-timeout", help="openai: seconds one request may take.")] = 300,
    tensor_parallel: Annotated[int, typer.Option("--tensor-parallel", help="vllm: GPUs per model replica.")] = 1,
    data_parallel: Annotated[int, typer.Option("--data-parallel", help="vllm: model replicas.")] = 1,
    model_args: Annotated[
        str | None,
        typer.Option(
            "--model-args",
            help="key=value,... for the backend's model (lm-eval syntax): hf parallelize=True,max_length=4096; "
            "vllm gpu_memory_utilization=0.8,max_model_len=8192.",
        ),
    ] = None,
    apply_chat_template: Annotated[
        bool | None,
        typer.Option(
            "--apply-chat-template/--no-apply-chat-template",
            help="Render prompts with the tokenizer's chat template (system "
            "prompt as its system turn). Default: on when the tokenizer has one, off for base models.",
        ),
    ] = None,
    num_fewshot: Annotated[
        int,
        typer.Option(
            "--num-fewshot",
            help="Examples before each question, drawn (seeded) from the task's training part; never "
            "from the evaluated items. Tasks without a training part refuse N > 0.",
        ),
    ] = 0,
    fewshot_as_multiturn: Annotated[
        bool | None,
        typer.Option(
            "--fewshot-as-multiturn/--no-fewshot-as-multiturn",
            help="With a chat template: each example as its own user/assistant turns (default), or all in one user turn.",
        ),
    ] = None,
    format: Annotated[OutputFormat, typer.Option("--format", help="table, or json (the submission record, for scripts).")] = OutputFormat.table,
    rules: RulesOption = None,
    executor: Annotated[str, typer.Option("--executor", help="Several models: local (one after another) or ray (each a Ray task).")] = "local",
    address: Annotated[str | None, typer.Option("--address", help="ray: the cluster to join (default: $RAY_ADDRESS, else a local one).")] = None,
    gpus_per_model: Annotated[float, typer.Option("--gpus-per-model", help="ray: GPUs each model's task reserves.")] = 0,
    max_parallel: Annotated[int | None, typer.Option("--max-parallel", help="ray: models in flight at once.")] = None,
    storage: Annotated[str, typer.Option("--storage", help="ray: auto, shared (workers write in place) or gather (files sent back).")] = "auto",
) -> None:
    """Score a model on ecombench tasks and keep the run as a submission."""
    names = split_names(tasks)
    models = _models(model, models_file)
    _preflight(names, None if task_path and not trust_tasks else task_path or [], models, backend)
    from ecombench.metrics.embedding import Embedders
    from ecombench.render import report_table
    from ecombench.run import RunOptions
    from ecombench.run import run as run_model

    options = RunOptions(
        model=models[0],
        base=base,
        tasks=names,
        limit=limit,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        name=name,
        submissions_dir=submissions_dir,
        system_prompt=system_prompt,
        protocol=protocol,
        task_paths=task_path or [],
        use_cache=not no_cache,
        trust_tasks=trust_tasks,
        trust_remote_code=trust_remote_code,
        debug="--debug" in sys.argv[1:],
        backend=backend,
        tensor_parallel=tensor_parallel,
        data_parallel=data_parallel,
        model_args=model_args,
        base_url=base_url,
        api=api,
        concurrency=concurrency,
        retries=retries,
        request_timeout=request_timeout,
        apply_chat_template=apply_chat_template,
        num_fewshot=num_fewshot,
        fewshot_as_multiturn=fewshot_as_multiturn,
        rules=rules,
        embedders=Embedders(overrides={"sent-transformer": embedding_model, "multilingual-sent-transformer": multilingual_embedding_model}),
    )
    if len(models) > 1 or executor != "local":
        _run_many(models, options, executor, address=address, gpus=gpus_per_model, max_parallel=max_parallel, storage=storage)
        return
    result = run_model(options)
    if result.path is None:  # not the main process of `accelerate launch`
        return
    if result.submission is None or result.report is None:
        typer.echo(f"these tasks have no answers: predictions written to {result.path} (score them with `ecombench score`)")
        return
    for task, why in result.submission.skipped_tasks.items():
        print(f"ecombench: warning: skipped {task}: {why}", file=sys.stderr)
    if format is OutputFormat.json:
        typer.echo(result.submission.model_dump_json(indent=2))
        return
    console = _console()
    title = f"{result.submission.name} ({result.submission.model.spec}; {result.report.rules} rules)"
    console.print(report_table(result.report, title=title, width=console.width))
    console.print(f"submission {result.submission.id} written to {result.path}", markup=False, highlight=False)


def _preflight(names: list[str] | None, task_paths: list[Path] | None, models: list[str], backend: str) -> None:
    """Unknown task names and model folders that are not there, found before the heavy imports of a run (a second,
    not 16 s); ``task_paths`` None: --task-path without --trust-tasks, which the run refuses first."""
    from ecombench.models import check_path
    from ecombench.taskindex import build_index, default_roots

    if task_paths is not None:
        build_index(default_roots(task_paths)).select(names)
    if backend != "openai":
        for m in models:
            check_path(m)


def _models(given: list[str] | None, models_file: Path | None) -> list[str]:
    """The models to score: each --model, then each line of --models-file; builtin:tiny when none is named."""
    models = list(given or [])
    if models_file is not None:
        try:
            lines = models_file.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise EcombenchError(f"--models-file {models_file}: cannot read ({exc})") from exc
        models += [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
        if not models:
            raise EcombenchError(f"--models-file {models_file}: names no model")
    return models or ["builtin:tiny"]


def _run_many(models: list[str], options, executor: str, *, address: str | None, gpus: float, max_parallel: int | None, storage: str) -> None:
    """Several models over the executor, one submission each; a model that fails is named and the others go on."""
    from dataclasses import replace

    from ecombench.train.executors import make_executor, run_many

    if options.name is not None and len(models) > 1:
        raise EcombenchError("--name: with several models each submission is named after its model")
    chosen = make_executor(executor, address=address, gpus_per_job=gpus, max_parallel=max_parallel, storage=storage)
    if options.backend != "openai":  # a model that is not there is found before any other is scored
        from ecombench.models import resolve_model

        for m in models:
            if not m.startswith("builtin:"):
                resolve_model(m, options.base)

    def done(outcome) -> None:
        if outcome.error is None:
            typer.echo(f"{outcome.job.model}: submission written to {outcome.value}")
        else:
            print(f"ecombench: {outcome.job.model}: failed: {outcome.error}", file=sys.stderr)

    outcomes = run_many([replace(options, model=m) for m in models], chosen, on_done=done)
    failed = [o.job.model for o in outcomes if o.error is not None]
    if failed:
        print(f"ecombench: {len(failed)} of {len(outcomes)} models failed ({', '.join(failed)})", file=sys.stderr)
        raise typer.Exit(1)


from ecombench import cli_submissions, cli_train  # noqa: E402 - registered after the core commands, in help order

cli_train.register(app)
data_app.command("inspect")(cli_train.data_inspect)
cli_submissions.register(app)
# `ecombench --help` lists the commands a newcomer needs first: run, then reading results, then training, then the rest
_FIRST = ["run", "leaderboard", "compare", "report", "score", "train", "sweep", "merge", "import", "references"]


def _place(command: typer.models.CommandInfo) -> int:
    name = command.name or getattr(command.callback, "__name__", "")
    return _FIRST.index(name) if name in _FIRST else len(_FIRST)


app.registered_commands.sort(key=_place)


def _argument_type(self, ctx):
    """An argument with a metavar (``RUN...``) shows it alone: typer adds the Python type (``<list[str]>``)."""
    return None if self.metavar else _typer_argument_type(self, ctx)


_typer_argument_type = typer.core.TyperArgument.display_type_rich
typer.core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]


def main() -> None:
    """Console entry point: bad input is one line on stderr and exit code 2."""
    debug = "--debug" in sys.argv[1:]
    try:
        app()
    except SystemExit as exc:
        _leave(exc.code)
    except EcombenchError as exc:
        if debug:
            raise
        print(f"ecombench: error: {exc}", file=sys.stderr)
        _leave(exc.exit_code)
    except KeyboardInterrupt:
        print("ecombench: interrupted; nothing partial was written", file=sys.stderr)
        _leave(130)
    _leave(0)


def _leave(code: int | str | None) -> None:
    """Exit with ``code``; once torch is loaded, without the interpreter's teardown.

    Tearing down torch, transformers and lm-eval module by module took 1.2 s after every run on 2 CPU
    cores (a sixth of a one-question run; docs/speed.md). The exit handlers still run (log handlers,
    ``weakref.finalize`` and temporary folders, Ray's shutdown) and both streams are flushed; every file
    ecombench writes is closed (and renamed into place) before the command returns.
    """
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    code = code or 0
    if "torch" not in sys.modules:
        sys.exit(code)
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)
