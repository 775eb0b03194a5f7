"""Data-parallel evaluation: `accelerate launch -m ecombench run` with 2 CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ecombench.submissions import load

pytestmark = pytest.mark.slow

TASKS = "core_rating_mc,core_query_ranking,core_title_generation"


def test_two_processes_split_the_items_and_write_one_submission_with_the_same_scores(tmp_path, tiny_model):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    run = ["-m", "ecombench", "run", "--model", "builtin:tiny", "--tasks", TASKS, "--limit", "30", "--no-cache"]
    single = subprocess.run([sys.executable, *run, "--submissions-dir", str(tmp_path / "one")], capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr[-3000:]
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no"]
    both = subprocess.run([*launch, *run, "--submissions-dir", str(tmp_path / "two")], capture_output=True, text=True, env=env, timeout=300)
    assert both.returncode == 0, both.stderr[-3000:]
    # rank 0 (the one that shows a progress bar) answered half of the 90 questions
    assert "Running generate_until requests: 100%" in both.stderr and "| 45/45" in both.stderr and "/90" not in both.stderr
    [one] = [load(p) for p in (tmp_path / "one").glob("*.json")]
    [two] = [load(p) for p in (tmp_path / "two").glob("*.json")]
    assert {t: (r.n, r.score) for t, r in two.tasks.items()} == {t: (r.n, r.score) for t, r in one.tasks.items()}
    assert len(list((tmp_path / "two").iterdir())) == 2  # one record, one item file
    items = [json.loads(line) for line in (tmp_path / "two" / two.items_file).read_text().splitlines()]
    assert sorted((i["task"], i["doc_id"]) for i in items) == sorted({(i["task"], i["doc_id"]) for i in items})  # no item twice
