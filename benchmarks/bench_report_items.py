"""The report of 10,000 submissions of 48 items each (issue 24, item 11): write time and site size, side
by side against another checkout of ecombench (the baseline, e.g. the commit before prompts and targets
were stored once per task data hash).

Every submission is a copy of one run on ecombench-core (24 tasks, 2 items each, prompts and targets as
the task data has them), with its own id, name and scores. Each repeat times ``ecombench report`` (whole
process, leaderboard index and report caches warm after a first cold run) with this checkout and with
the baseline, alternating, into fresh folders; medians, because the machine is shared.
ratio = baseline median / this checkout's median (above 1: faster); also site sizes.

    git archive BASELINE_COMMIT | tar -x -C /tmp/base
    python benchmarks/bench_report_items.py --baseline /tmp/base --submissions 10000 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
from pathlib import Path

from _common import median, report, time_process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET_S = 10.0


def write_copies(folder: Path, n: int, per_task: int = 2) -> None:
    """``n`` submissions, each a copy of one run of ``per_task`` items per ecombench-core task."""
    from ecombench.hooks import doc_to_target
    from ecombench.records import load_records
    from ecombench.scorefile import item_hash
    from ecombench.taskindex import build_index, default_roots

    tasks = build_index(default_roots()).select(["ecombench_core"])
    lines = []
    for t in tasks:
        assert t.data_file is not None
        for doc_id, row in enumerate(load_records(t.data_file)[:per_task]):
            target = doc_to_target({"output_json": json.dumps(row.output_field, ensure_ascii=False)})
            lines.append(
                {"task": t.name, "doc_id": doc_id, "item_hash": item_hash(row.input_field, row.output_field), "prompt": row.input_field, "target": target}
            )
    rng = random.Random(0)
    for i in range(n):
        sid = f"20261101-000000-copy{i:05d}-abcdef"
        scores = {t.name: rng.random() for t in tasks}
        record = {
            "schema_version": 1,
            "id": sid,
            "name": f"copy{i:05d}",
            "created": "2026-11-01T00:00:00Z",
            "model": {"spec": f"m{i}", "kind": "local", "base_model": "b", "weights_sha256": f"{i:064d}", "dtype": "float32"},
            "ecombench_version": "0.1.0",
            "lm_eval_version": "0.4.13",
            "generation": {"protocol": "generate", "system_prompt": None, "max_gen_toks": {}, "batch_size": "1", "device": "cpu", "limit": per_task},
            "tasks": {
                t.name: {
                    "track": t.track,
                    "task_type": t.task_type,
                    "metric": t.metric,
                    "n": per_task,
                    "score": scores[t.name],
                    "stderr": 0.1,
                    "version": t.version,
                    "data_sha256": t.data_hash(),
                }
                for t in tasks
            },
            "tracks": {},
            "all_around": sum(scores.values()) / len(scores),
            "overall_task_mean": sum(scores.values()) / len(scores),
            "duration_s": 1.0,
            "hardware": {"platform": "p", "python": "3.11", "torch": "2", "device": "cpu", "cpu_count": 2},
            "items_file": f"{sid}.items.jsonl",
        }
        items = "".join(
            json.dumps({**line, "prediction": "1", "parsed": 1, "score": float(rng.random() < scores[line["task"]])}, ensure_ascii=False) + "\n"
            for line in lines
        )
        (folder / record["items_file"]).write_text(items, encoding="utf-8")
        (folder / f"{sid}.json").write_text(json.dumps(record), encoding="utf-8")


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, required=True, help="another checkout of ecombench (its repository root)")
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subs"
        folder.mkdir()
        write_copies(folder, args.submissions)
        trees = {"this": ROOT, "baseline": args.baseline.resolve()}
        envs = {
            k: {**os.environ, "PYTHONPATH": str(tree), "ECOMBENCH_HOME": f"{tmp}/home-{k}", "ECOMBENCH_CACHE": f"{tmp}/cache-{k}", "HF_HUB_OFFLINE": "1"}
            for k, tree in trees.items()
        }

        # each run in its own tree: ``python -m`` puts the working folder first on the path, before PYTHONPATH
        # (run from this checkout, the baseline's runs imported this checkout's ecombench)
        def cmd(tree: Path, out: str) -> list[str]:
            return [sys.executable, "-m", "ecombench", "report", "--board", "ecombench_core", "--submissions-dir", str(folder), "--output", f"{tmp}/{out}"]

        for k, tree in trees.items():  # first runs fill the caches
            time_process(cmd(tree, f"{k}-cold"), envs[k], cwd=str(tree))
        times: dict[str, list[float]] = {k: [] for k in trees}
        for i in range(args.repeats):
            for k, tree in trees.items():
                times[k].append(time_process(cmd(tree, f"{k}-{i}"), envs[k], cwd=str(tree)))
        sizes = {k: size_mb(Path(tmp) / f"{k}-0") for k in trees}
    figures = {
        "submissions": args.submissions,
        "items_each": 48,
        **{f"write_{k}_s": [round(t, 2) for t in v] for k, v in times.items()},
        **{f"site_{k}_mb": round(v, 1) for k, v in sizes.items()},
        "write_ratio": round(median(times["baseline"]) / median(times["this"]), 2),
        "size_ratio": round(sizes["baseline"] / sizes["this"], 2),
        "budget_ratio": round(BUDGET_S / median(times["this"]), 2),
    }
    print(
        f"report of {args.submissions} x 48 items: this {median(times['this']):.2f} s, {sizes['this']:.1f} MB; "
        f"baseline {median(times['baseline']):.2f} s, {sizes['baseline']:.1f} MB",
        file=sys.stderr,
    )
    report("report_items_10k", **figures, ratio=figures["write_ratio"])


if __name__ == "__main__":
    main()
