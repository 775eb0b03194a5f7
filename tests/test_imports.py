"""Fast commands must not import torch or lm-eval until they need them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.sources import record, write_jsonl

PROBE = """
import sys
from ecombench.cli import app
try:
    app(args=sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
heavy = sorted(m for m in ("torch", "lm_eval", "transformers", "sentence_transformers", "datasets") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""


def _heavy(*args: str) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_help_imports_nothing_heavy():
    assert _heavy("--help") == "HEAVY:"
    assert _heavy("run", "--help") == "HEAVY:"


@pytest.mark.slow
def test_leaderboard_imports_nothing_heavy(tmp_path):
    from ecombench import submissions
    from tests.helpers.boards import make_submission, uniform

    submissions.save(tmp_path, make_submission("x", uniform(0.5)), [])
    assert _heavy("leaderboard", "--submissions-dir", str(tmp_path), "--board", "ecombench_starter", "--format", "csv") == "HEAVY:"


@pytest.mark.slow
def test_tasks_commands_import_nothing_heavy():
    assert _heavy("tasks") == "HEAVY:"
    assert _heavy("tasks", "show", "starter_category_mc") == "HEAVY:"
    assert _heavy("tasks", "validate", "tasks") == "HEAVY:"


@pytest.mark.slow
def test_score_without_embedding_metrics_imports_nothing_heavy(tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [record("mc", "multiple-choice", "accuracy", 1), record("g", "generation", "rougel", "red shirt")])
    preds = write_jsonl(tmp_path / "p.jsonl", [{"index": 0, "prediction": "1"}, {"index": 1, "prediction": "red shirt"}])
    assert _heavy("score", "--data", str(data), "--predictions", str(preds), "--format", "json") == "HEAVY:"


def test_imports_go_one_way():
    """No module reaches, directly or not, back to a module that imports it (imports inside functions
    count), and the layer contracts in pyproject.toml hold."""
    import grimp

    graph = grimp.build_graph("ecombench", cache_dir=None)
    cycles = sorted(
        f"{a} -> {b} -> ... -> {a}"
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if a != b and not b.startswith(a + ".") and not a.startswith(b + ".") and graph.chain_exists(importer=b, imported=a)
    )
    assert cycles == []
    done = subprocess.run(["lint-imports", "--no-cache"], capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stdout[-2000:]
