"""Issue 38: every terminal table reads whole at 80, 100, 120 and 200 columns.

Names and task names are never cut or folded, columns leave by a stated priority and the note under the
table names each one, a significance mark is never lost, and a view that cannot fit says so. The views are
run as a user runs them (the CLI, ``COLUMNS=N``) on a submissions folder as a user's looks after the tour.
"""

from __future__ import annotations

import io
import json
import re
import shutil

import pytest
from rich.console import Console
from typer.testing import CliRunner

from ecombench.cli import app
from ecombench.terminal import Col, fit, plan
from tests.helpers.realistic import MODELS, realistic_folder

WIDTHS = (80, 100, 120, 200)
REFERENCE_NAMES = ("oracle (reference)", "random guess (reference)", "most frequent answer (reference)", "builtin:tiny (reference)")


def test_plan_leaves_out_columns_in_their_order_and_keeps_names_whole():
    columns = [Col("name", keep=True), Col("a", right=True), Col("b", right=True, drop=1), Col("c", right=True, drop=0), Col("flags", keep=True, wrap=5)]
    rows = [["Mistral-7B", "0.1234", "0.5678", "0.9", "contaminated: core_x"]]
    # natural widths 10, 6, 6, 3, 20: 45 + 3 * 5 + 1 = 61 columns; the flags may wrap to their longest word (13)
    assert plan(columns, rows, 61).dropped == () and plan(columns, rows, 61).widths == (10, 6, 6, 3, 20)
    assert plan(columns, rows, 54).widths == (10, 6, 6, 3, 13)  # 61 - 7: the flags wrap, nothing leaves
    # 53: a column must leave: "a" and "c" both have drop 0, the rightmost of them first (48 columns); the flags take the 5 left
    assert plan(columns, rows, 53) == plan(columns, rows, 53).__class__((0, 1, 2, 4), (10, 6, 6, 18), ("c",), False)
    # the kept name and flags (10 + 13 + 7 = 30) fit 30 columns but not 29: then one record per row
    assert plan(columns, rows, 30).dropped == ("c", "a", "b") and not plan(columns, rows, 30).records
    assert plan(columns, rows, 29).records


def test_a_table_too_wide_for_its_kept_columns_becomes_records_and_says_so():
    columns = [Col("name", keep=True, title=True), Col("id", keep=True), Col("score", right=True, keep=True)]
    rows = [["Qwen2.5-0.5B-Instruct", "20261201-090000-Qwen2.5-0.5B-Instruct-90e0a1", "0.4946"]]
    console = Console(width=60, record=True, file=io.StringIO())
    console.print(fit(columns, rows, 60, formats="--json"))
    shown = console.export_text()
    lines = [line.rstrip() for line in shown.splitlines()]
    assert " ".join(lines[:2]) == "too wide for 60 columns: one record per row (--json shows the table)"
    # the heading, then "header value" pairs packed into lines of at most 60 (2 + 49 + 2 + 12 = 65 is too many)
    assert lines[2:5] == ["Qwen2.5-0.5B-Instruct", "  id 20261201-090000-Qwen2.5-0.5B-Instruct-90e0a1", "  score 0.4946"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("submissions")
    return path, realistic_folder(path)


def _json(*args: str):
    done = CliRunner().invoke(app, list(args))
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def _show(width: int, *args: str) -> str:
    """What ``COLUMNS=width ecombench ARGS`` prints, no line of it wider than the terminal."""
    done = CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)})
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= width, "\n".join(line for line in lines if len(line) > width)
    return done.stdout


def _left_out(shown: str) -> list[str]:
    joined = " ".join(line.strip() for line in shown.splitlines())
    found = re.search(r"left out at this width: (.*?) \(a wider terminal", joined)
    return found.group(1).split(", ") if found else []


def _header_cells(shown: str) -> int:
    return next(line for line in shown.splitlines() if line.startswith("┃")).count("┃") - 1


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("by", ["track", "task", "efficiency"])
def test_leaderboard_names_whole_and_every_left_out_column_named(folder, width, by):
    path, _ = folder
    extra = ["--by", "task"] if by == "task" else ["--efficiency"] if by == "efficiency" else []
    shown = _show(width, "leaderboard", "--submissions-dir", str(path), *extra)
    for name in [m[0] for m in MODELS] + list(REFERENCE_NAMES):
        assert any(re.search(rf"│ +(\d+|-) +│ {re.escape(name)} +│", line) for line in shown.splitlines()), name  # whole, after its rank
    assert shown.count("reference │") == 4  # every flag
    header = next(line for line in shown.splitlines() if "rank" in line)
    assert header.index("rank") < header.index("name")
    # what is shown and what the note says was left out add up to every column of --format csv
    csv_columns = _json("leaderboard", "--submissions-dir", str(path), *extra, "--format", "json")["rows"][0].keys()
    expected = len(csv_columns) - 2  # the submission id and model are not terminal columns
    assert _header_cells(shown) + len(_left_out(shown)) == expected
    if width == 200 and by == "track":
        assert _left_out(shown) == []
    if width == 80:
        assert _left_out(shown)[:3] == ["date", "base", "source"]


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("runs", [2, 3])
def test_compare_keeps_task_names_and_every_significance_mark(folder, width, runs):
    path, ids = folder
    names = ["Qwen2.5-0.5B-Instruct", "Mistral-7B-Instruct-v0.3", "gemma-2-2b-it"][:runs]
    args = ["compare", *names, "--submissions-dir", str(path), "--iters", "1000"]
    shown = _show(width, *args)
    payload = _json(*args, "--format", "json")
    lines = shown.splitlines()
    assert lines[0].startswith(f"A (reference): {names[0]}") and any(line.startswith(f"B: {names[1]}") for line in lines)
    for pair in payload:
        for task, d in pair["tasks"].items():
            row = next(line for line in lines if re.match(rf"│ {task} +│", line))  # the name whole on its own row
            if d["significant"]:
                assert f"{d['delta']:+.4f}*" in row
            else:
                assert f"{d['delta']:+.4f}*" not in row
    assert sum(d["significant"] for pair in payload for d in pair["tasks"].values()) > 10
    assert lines.index(next(line for line in lines if "All-Around" in line)) < lines.index(next(line for line in lines if "core_" in line))
    assert ids[names[0]] in shown and ids[names[-1]] in shown


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_submissions_list_shows_names_and_ids_whole(folder, width):
    path, ids = folder
    shown = _show(width, "submissions", "list", "--submissions-dir", str(path))
    lines = shown.splitlines()
    for name, sid in ids.items():
        assert any(name in line and sid in line for line in lines), name  # both whole, on one line
    if width < 100:
        assert "one record per row (--json shows the table)" in shown


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_tasks_lists_every_task_and_group_and_says_what_it_left_out(width):
    shown = _show(width, "tasks")
    listing = _json("tasks", "--format", "json")
    for row in listing:
        assert any(re.match(rf"│   {row['task']} +│", line) for line in shown.splitlines()), row["task"]
    joined = " ".join(line.strip() for line in shown.splitlines())
    assert "groups (run them with --tasks NAME): ecombench_core (24 tasks)," in joined
    if width == 80:
        assert _left_out(shown) == ["description", "version", "type"]
    if width == 200:
        assert _left_out(shown) == []


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_a_contamination_flag_and_note_are_never_lost(folder, width, tmp_path):
    path, ids = folder
    copy = tmp_path / "subs"
    shutil.copytree(path, copy)
    record = copy / f"{ids['Qwen2.5-0.5B-Instruct-ecom-lora']}.json"
    data = json.loads(record.read_text())
    data["lineage"]["contamination"].update(trained_overlap={"core_rating_mc": 12}, checked_tasks=data["lineage"]["contamination"]["checked_tasks"][:20])
    record.write_text(json.dumps(data))
    shown = _show(width, "leaderboard", "--submissions-dir", str(copy))
    lines = shown.splitlines()
    first = next(i for i, line in enumerate(lines) if "Qwen2.5-0.5B-Instruct-ecom-lora" in line)
    rows = [line.split("│") for line in lines[first:] if line.startswith("│")]
    rows = rows[: next((k for k, r in enumerate(rows[1:], 1) if r[1].strip()), len(rows))]  # up to the next row's rank
    cells = [" ".join(" ".join(r[c].split()) for r in rows).split() for c in range(len(rows[0]))]
    assert ["contaminated:", "trained", "on", "items", "of", "core_rating_mc", "(12", "items)"] in cells  # the flag, every word, in order
    assert ["not", "checked", "against", "4", "of", "the", "board's", "24", "tasks"] in cells  # the note
    assert cells[2] == ["Qwen2.5-0.5B-Instruct-ecom-lora"] and cells[1] == ["-"]  # whole, unranked
