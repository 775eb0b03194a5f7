"""The leaderboard at scale: 10,000 submissions of 30 tasks, and compare over 3,000 paired items.

Issue 5's budgets: ``ecombench leaderboard --format csv`` under 2 s warm (whole process), and a
comparison over 3,000 items under 1 s (exact tests since issue 36; 10,000 bootstrap resamples before). Reports cold and warm
figures; ratio = budget / warm median (above 1 means within budget).

    python benchmarks/bench_leaderboard.py --submissions 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import median, report, time_process


def write_submissions(folder: Path, n: int, n_tasks: int = 30) -> None:
    rng = np.random.default_rng(0)
    tracks = ["concept_understanding", "knowledge_reasoning", "user_behavior_alignment", "multilingual"]
    template = None
    for i in range(n):
        tasks = {
            f"t{j:02d}": {
                "track": tracks[j % 4],
                "task_type": "multiple-choice",
                "metric": "accuracy",
                "n": 100,
                "score": float(rng.random()),
                "stderr": 0.04,
                "version": "1.0",
                "data_sha256": f"{j:064d}",
            }
            for j in range(n_tasks)
        }
        sid = f"20261101-000000-model{i:05d}-abcdef"
        record = {
            "schema_version": 1,
            "id": sid,
            "name": f"model{i:05d}",
            "created": "2026-11-01T00:00:00Z",
            "model": {
                "spec": f"m{i}",
                "kind": "local",
                "base_model": "b",
                "weights_sha256": "0" * 64,
                "adapter_sha256": None,
                "adapter_path": None,
                "dtype": "float32",
            },
            "ecombench_version": "0.1.0",
            "lm_eval_version": "0.4.13",
            "generation": {
                "protocol": "generate",
                "system_prompt": None,
                "greedy": True,
                "max_gen_toks": {},
                "batch_size": "1",
                "device": "cpu",
                "limit": None,
            },
            "tasks": tasks,
            "tracks": {},
            "all_around": 0.0,
            "overall_task_mean": 0.0,
            "duration_s": 1.0,
            "hardware": {"platform": "p", "python": "3.11", "torch": "2", "device": "cpu", "cpu_count": 2},
            "items_file": f"{sid}.items.jsonl",
        }
        (folder / f"{sid}.json").write_text(json.dumps(record))
        template = template or record
    # a task folder and a board over the synthetic tasks
    tasks_dir = folder.parent / "bench_tasks"
    tasks_dir.mkdir()
    for j in range(n_tasks):
        (tasks_dir / f"t{j:02d}.yaml").write_text(
            f"task: t{j:02d}\nmetadata: {{track: {tracks[j % 4]}, task_type: multiple-choice, metric: accuracy, version: 1.0, description: d}}\n"
        )
    boards = folder.parent / "home" / "leaderboards"
    boards.mkdir(parents=True)
    (boards / "bench.yaml").write_text("name: bench\ntasks: [" + ", ".join(f"t{j:02d}" for j in range(n_tasks)) + "]\n")
    (folder.parent / "home" / "tasks").symlink_to(tasks_dir)


def bench_compare(items: int = 3000, iters: int = 10_000) -> float:
    from ecombench.leaderboard.stats import holm, paired_test

    rng = np.random.default_rng(1)
    per_task = items // 30
    start = time.perf_counter()
    p = {}
    for t in range(30):
        a = rng.integers(0, 2, per_task).astype(float)
        b = rng.integers(0, 2, per_task).astype(float)
        p[t] = paired_test(a, b, iters=iters).p_value
    holm({str(k): v for k, v in p.items()})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subs"
        folder.mkdir()
        write_submissions(folder, args.submissions)
        env = {**os.environ, "ECOMBENCH_HOME": f"{tmp}/home", "ECOMBENCH_CACHE": f"{tmp}/cache"}
        cmd = [
            sys.executable,
            "-m",
            "ecombench",
            "leaderboard",
            "--board",
            "bench",
            "--format",
            "csv",
            "--submissions-dir",
            str(folder),
            "--output",
            f"{tmp}/board.csv",
        ]
        cold = time_process(cmd, env)
        warm = [time_process(cmd, env) for _ in range(args.repeats)]
        rows = len(Path(f"{tmp}/board.csv").read_text().splitlines()) - 1
    compare_s = [bench_compare() for _ in range(args.repeats)]
    print(f"leaderboard cold {cold:.2f}s, warm {median(warm):.2f}s ({rows} rows); compare {median(compare_s):.2f}s", file=sys.stderr)
    report(
        "leaderboard_10k_and_compare",
        submissions=args.submissions,
        rows=rows,
        leaderboard_cold_s=cold,
        leaderboard_warm_s=warm,
        compare_s=compare_s,
        compare_ratio=round(1.0 / median(compare_s), 2),
        ratio=round(2.0 / median(warm), 2),
    )


if __name__ == "__main__":
    main()
