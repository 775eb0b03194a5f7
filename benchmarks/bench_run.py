"""``ecombench run`` against the starter kit's one-prompt-at-a-time ``generate`` loop.

Same model (builtin:tiny unless --model), same prompts (the bundled suite, each task repeated
--scale times as a benchmark task of its own), same protocol (greedy, 1 or 100 new tokens); both
processes generate and score. Whole process against whole process, interleaved, median of
--repeats runs each. ratio = baseline seconds / ecombench seconds (higher is better).

    python benchmarks/bench_run.py --repeats 3                                      # ecombench-core, ~3,800 items
    python benchmarks/bench_run.py --repeats 3 --tasks ecombench_starter            # 199 items
    python benchmarks/bench_run.py --repeats 3 --tasks ecombench_starter --scale 5  # 995 items
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _common import median, report, time_process

HERE = Path(__file__).resolve().parent


def scaled_tasks(tasks, folder: Path, scale: int) -> list[Path]:
    """Copies of the bundled tasks (``bench_<name>``), each item repeated ``scale`` times."""
    import yaml

    folder.mkdir(parents=True)
    files = []
    for task in tasks:
        rows = task.data_file.read_text(encoding="utf-8").splitlines()
        data = folder / f"{task.name}.jsonl"
        data.write_text("\n".join(rows * scale) + "\n", encoding="utf-8")
        text = task.yaml_path.read_text(encoding="utf-8")
        text = text.replace("include: _base.yaml", f"include: {task.yaml_path.parent / '_base.yaml'}")
        text = text.replace(f"task: {task.name}", f"task: bench_{task.name}").replace(str(task.config["dataset_kwargs"]["data_files"]), data.name)
        (folder / f"{task.name}.yaml").write_text(text, encoding="utf-8")
        files.append(data)
    members = "".join(f"  - bench_{t.name}\n" for t in tasks)
    (folder / "_suite.yaml").write_text(f"group: bench_suite\ntask:\n{members}", encoding="utf-8")
    yaml.safe_load((folder / "_suite.yaml").read_text())
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="builtin:tiny")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--scale", type=int, default=1, help="repeat each task's items this many times")
    parser.add_argument("--tasks", nargs="*", default=None, help="suites, groups or tasks (default: the default suite)")
    args = parser.parse_args()

    from ecombench.models import resolve_model
    from ecombench.taskindex import build_index, default_roots

    model_path = resolve_model(args.model).base_path  # builds builtin:tiny once, outside the timings
    from ecombench.errors import EcombenchError
    from ecombench.metrics import EMBEDDING_METRICS
    from ecombench.metrics.embedding import resolve_embedding_model

    def runnable(task) -> bool:  # what `ecombench run` runs: tasks whose metric model is missing are skipped
        try:
            return task.metric not in EMBEDDING_METRICS or bool(resolve_embedding_model(task.metric))
        except EcombenchError:
            return False

    tasks = [t for t in build_index(default_roots()).select(args.tasks) if runnable(t)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    ours_s, base_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        data_files = scaled_tasks(tasks, Path(tmp) / "bench_tasks", args.scale)
        ours = [sys.executable, "-m", "ecombench", "run", "--model", args.model, "--no-cache", "--batch-size", args.batch_size,
                "--device", "cpu", "--submissions-dir", f"{tmp}/subs", "--task-path", f"{tmp}/bench_tasks", "--trust-tasks", "--tasks", "bench_suite"]
        base = [sys.executable, str(HERE / "starter_kit_baseline.py"), "--model", str(model_path), "--output", f"{tmp}/preds.jsonl",
                "--data", *[str(f) for f in data_files]]
        for _ in range(args.repeats):
            ours_s.append(time_process(ours, env))
            base_s.append(time_process(base, env))
            print(f"ecombench run {ours_s[-1]:.1f}s   starter-kit loop {base_s[-1]:.1f}s", file=sys.stderr)
        items = sum(sum(1 for _ in open(f)) for f in data_files)
    report(
        "run_vs_starter_kit_generate", items=items, cpu_threads=os.cpu_count(),
        ecombench_s=ours_s, baseline_s=base_s, ecombench_median_s=median(ours_s), baseline_median_s=median(base_s),
        ratio=round(median(base_s) / median(ours_s), 2),
    )


if __name__ == "__main__":
    main()
