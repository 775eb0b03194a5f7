"""What the everyday commands print: readable at 80 columns, whole in a pipe, quiet, and scriptable."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
from importlib.metadata import version

import pytest
from rich.console import Console

from ecombench.render import report_table
from ecombench.scoring import ScoringItem, score_report
from ecombench.taskindex import build_index, default_roots
from ecombench.terminal import metric_label, natural_key
from tests.helpers.cli import invoke_ecombench, run_ecombench


def _cli(*args: str, columns: int | None = None, cwd=None) -> subprocess.CompletedProcess:
    return invoke_ecombench(*args, env={"COLUMNS": str(columns) if columns else None}, cwd=cwd)


def test_version():
    done = _cli("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"ecombench {version('ecombench')}"


@pytest.mark.slow
def test_tasks_as_json_and_csv_list_every_task_with_its_item_count():
    index = build_index(default_roots())
    as_json = json.loads(_cli("tasks", "--format", "json").stdout)
    assert {row["task"] for row in as_json} == set(index.tasks)
    row = next(r for r in as_json if r["task"] == "starter_category_mc")
    assert row["items"] == index.tasks["starter_category_mc"].item_count() and row["track"] == "concept_understanding"
    as_csv = list(csv.DictReader(io.StringIO(_cli("tasks", "--format", "csv").stdout)))
    assert [r["task"] for r in as_csv] == [r["task"] for r in as_json]


@pytest.mark.slow
def test_task_names_stay_whole_in_80_columns_and_in_a_pipe():
    names = build_index(default_roots()).tasks
    narrow = _cli("tasks", columns=80).stdout
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert all(name in narrow for name in names)  # folded or cut names would not be found
    piped = _cli("tasks").stdout  # stdout is a pipe here, and COLUMNS is unset
    assert all(name in piped for name in names) and "Say which attribute" in piped  # descriptions too


def test_results_table_fits_80_columns_with_whole_names_and_every_score():
    items = [
        ScoringItem("starter_title_translation_ja", "generation", "jp-bleu", "multilingual", "x", "x"),
        ScoringItem("starter_title_translation_ja", "generation", "bleu", "multilingual", "y", "z"),
        ScoringItem("core_multilingual_category_mc", "multiple-choice", "accuracy", "multilingual", 1, "1"),
    ]
    report, _ = score_report(items)
    assert report.tasks["starter_title_translation_ja"].metric == ["bleu", "jp-bleu"]  # a list, never a joined string
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(report_table(report, title="t", width=80))
    shown = console.export_text()
    assert max(len(line) for line in shown.splitlines()) <= 80
    assert "starter_title_translation_ja" in shown and "core_multilingual_category_mc" in shown
    assert "bleu + jp-bleu" in shown
    assert f"{report.all_around:.4f}" in shown and "1.0000" in shown


def test_natural_order_and_metric_labels():
    assert sorted(["task10", "task8", "Task9", "task1"], key=natural_key) == ["task1", "task8", "Task9", "task10"]
    assert metric_label("rougel") == "rougel" and metric_label(["bleu", "jp-bleu"]) == "bleu + jp-bleu (per row)"


@pytest.mark.slow
def test_run_outside_a_checkout_prints_no_git_complaint_and_no_empty_bars(tmp_path, tiny_model):
    # a new process: lm-eval's bars and git call are quieted once per process, so an earlier in-process run would hide a miss
    done = run_ecombench(
        "run",
        "--model",
        "builtin:tiny",
        "--tasks",
        "starter_category_mc,starter_unit_price_mc",
        "--limit",
        "1",
        "--submissions-dir",
        str(tmp_path / "s"),
        "--format",
        "json",
        env={"COLUMNS": None},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "fatal" not in done.stderr
    # lm-eval's bar per task while building requests has no description ("  0%|    | 0/1 ["); the bars that stay say what
    # they count, and their totals depend on what the answer cache holds already ("Running generate_until requests: 0/1")
    assert not re.search(r"(^|\r) *\d+%\|", done.stderr, re.MULTILINE), done.stderr
    record = json.loads(done.stdout)
    assert set(record["tasks"]) == {"starter_category_mc", "starter_unit_price_mc"} and record["tasks"]["starter_category_mc"]["n"] == 1


@pytest.mark.slow
def test_run_scores_each_model_named_once_and_checks_them_all_first(tmp_path, tiny_model):
    listed = tmp_path / "models.txt"
    listed.write_text(f"# two models\n{tiny_model}  # the same weights, as a folder\n")
    done = _cli(
        "run",
        "--model",
        "builtin:tiny",
        "--models-file",
        str(listed),
        "--tasks",
        "starter_unit_price_mc",
        "--limit",
        "2",
        "--submissions-dir",
        str(tmp_path / "s"),
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "s").glob("*.json")]
    assert sorted(r["model"]["kind"] for r in records) == ["builtin", "local"]
    assert records[0]["tasks"]["starter_unit_price_mc"]["score"] == records[1]["tasks"]["starter_unit_price_mc"]["score"]
    listed.write_text(f"{tiny_model}\n/no/such/model\n")
    missing = _cli("run", "--models-file", str(listed), "--tasks", "starter_unit_price_mc", "--submissions-dir", str(tmp_path / "t"))
    assert missing.returncode == 2 and "/no/such/model does not exist" in missing.stderr and not (tmp_path / "t").exists()
