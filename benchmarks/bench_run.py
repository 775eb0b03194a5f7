"""``ecombench run`` against the starter kit's one-prompt-at-a-time ``generate`` loop.

Same model, same prompts (the bundled suite, each task copied as a benchmark task of its own, its
items repeated --scale times or cut to --limit), same protocol (greedy, 1 or 100 new tokens); both
processes generate and score. Whole process against whole process, interleaved, median of
--repeats runs each; wall time and peak RSS (``/usr/bin/time``-style, from ``wait4``).
ratio = baseline seconds / ecombench seconds (higher is better).

``--workload shopbench-dev --data FILE`` takes the questions from FILE (JSON Lines in the ShopBench layout,
e.g. the starter kit's public ``development.json``) instead of the look-alike below.

``--workload shopbench-dev`` is what a KDD Cup entrant runs many times a day: a 96-question
ShopBench-format file with the public development set's 18-task mix and prompt lengths (built from
our own data, ``_workload.shopbench_dev_rows``), imported with ``ecombench import shopbench`` as a
user would (outside the timings) and given to both sides as the same file. On a job this small
start-up weighs, so it also prints the ratio beyond start-up: each side's median minus the median
of its own run on the file's first question alone (imports, model and embedding-model loading,
one 100-token answer), ``beyond_startup_ratio = (loop - loop_1) / (ours - ours_1)``.

The workload that matters is ``--model plain``: a random-weight 4-layer width-256 Llama folder
with no warm-up, which (like most base models) never stops early, so every generation item writes
its whole 100 tokens; ``--long N`` adds N prompts of 500 to 1,500 tokens per long task (session,
multilingual and review questions, see ``_workload.py``). ``builtin:tiny`` stops after a few tokens:
the easy case.

    python benchmarks/bench_run.py --model plain --workload shopbench-dev --repeats 3  # the 96-question development-set mix
    python benchmarks/bench_run.py --model plain --long 24 --repeats 1             # full length: whole bundled suite + 96 long prompts
    python benchmarks/bench_run.py --model plain --limit 30 --long 24 --repeats 3  # full length, 30 items per task + 96 long prompts
    python benchmarks/bench_run.py --repeats 3                                      # builtin:tiny, ecombench-core, ~3,900 items
    python benchmarks/bench_run.py --repeats 3 --tasks ecombench_starter            # 199 items
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _common import median, report, time_and_peak, time_process

HERE = Path(__file__).resolve().parent


def scaled_tasks(tasks, folder: Path, scale: int, limit: int | None = None, long: int = 0) -> list[Path]:
    """Copies of the bundled tasks (``bench_<name>``), each item repeated ``scale`` times (or the first
    ``limit``), plus ``long`` questions per long-prompt task."""
    import yaml
    from _workload import LONG_TASKS, long_prompt_suite

    folder.mkdir(parents=True)
    files = []
    for task in tasks:
        rows = task.data_file.read_text(encoding="utf-8").splitlines()[:limit]
        data = folder / f"{task.name}.jsonl"
        data.write_text("\n".join(rows * scale) + "\n", encoding="utf-8")
        text = task.yaml_path.read_text(encoding="utf-8")
        text = text.replace("include: _base.yaml", f"include: {task.yaml_path.parent / '_base.yaml'}")
        text = text.replace(f"task: {task.name}", f"task: bench_{task.name}").replace(str(task.config["dataset_kwargs"]["data_files"]), data.name)
        training = task.yaml_path.parent / "train" / "records.jsonl"  # the suite's few-shot pool, read beside its YAMLs
        if training.exists():
            text = text.replace("dataset_kwargs:\n", f"dataset_kwargs:\n  training_files: {training}\n", 1)
        (folder / f"{task.name}.yaml").write_text(text, encoding="utf-8")
        files.append(data)
    members = "".join(f"  - bench_{t.name}\n" for t in tasks)
    if long:
        files += long_prompt_suite(folder / "long", long)
        members += "".join(f"  - {name}\n" for name in LONG_TASKS)
    (folder / "_suite.yaml").write_text(f"group: bench_suite\ntask:\n{members}", encoding="utf-8")
    yaml.safe_load((folder / "_suite.yaml").read_text())
    return files


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="builtin:tiny", help="a model spec, or 'plain' for a random-weight full-length model")
    parser.add_argument("--limit", type=int, default=None, help="at most this many items per bundled task")
    parser.add_argument("--long", type=int, default=0, help="questions per long-prompt task (4 tasks, 500-1,500 tokens)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", default="auto")
    parser.add_argument("--scale", type=int, default=1, help="repeat each task's items this many times")
    parser.add_argument("--tasks", nargs="*", default=None, help="suites, groups or tasks (default: the default suite)")
    parser.add_argument(
        "--workload", choices=["suite", "shopbench-dev"], default="suite", help="bundled tasks (--tasks ...) or the 96-question development-set mix"
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="--workload shopbench-dev: this ShopBench JSON Lines file (e.g. the real development set) instead of the look-alike mix",
    )
    args = parser.parse_args()

    from ecombench.taskindex import build_index, default_roots
    from ecombench.tiny import resolve_model

    if args.model == "plain":
        from _workload import plain_model

        from ecombench.paths import cache_dir

        args.model = str(plain_model(cache_dir() / "bench" / "plain-llama-4x256"))
    model_path = resolve_model(args.model).base_path  # builds builtin:tiny once, outside the timings
    if args.workload == "shopbench-dev":
        shopbench_dev(args, model_path)
        return
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
    ours_s, base_s, ours_mb, base_mb = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        data_files = scaled_tasks(tasks, Path(tmp) / "bench_tasks", args.scale, args.limit, args.long)
        ours = [
            sys.executable,
            "-m",
            "ecombench",
            "run",
            "--model",
            args.model,
            "--no-cache",
            "--batch-size",
            args.batch_size,
            "--device",
            "cpu",
            "--submissions-dir",
            f"{tmp}/subs",
            "--task-path",
            f"{tmp}/bench_tasks",
            "--trust-tasks",
            "--tasks",
            "bench_suite",
        ]
        base = [
            sys.executable,
            str(HERE / "starter_kit_baseline.py"),
            "--model",
            str(model_path),
            "--output",
            f"{tmp}/preds.jsonl",
            "--data",
            *[str(f) for f in data_files],
        ]
        for _ in range(args.repeats):
            for cmd, secs, mbs in ((ours, ours_s, ours_mb), (base, base_s, base_mb)):
                wall, peak = time_and_peak(cmd, env)
                secs.append(wall)
                mbs.append(peak)
            print(f"ecombench run {ours_s[-1]:.1f}s {ours_mb[-1]:.0f} MiB   starter-kit loop {base_s[-1]:.1f}s {base_mb[-1]:.0f} MiB", file=sys.stderr)
        items = sum(len(Path(f).read_text(encoding="utf-8").split("\n")) - 1 for f in data_files)
    report(
        "run_vs_starter_kit_generate",
        model=args.model,
        items=items,
        cpu_threads=os.cpu_count(),
        ecombench_s=ours_s,
        baseline_s=base_s,
        ecombench_median_s=median(ours_s),
        baseline_median_s=median(base_s),
        ecombench_peak_mib=median(ours_mb),
        baseline_peak_mib=median(base_mb),
        memory_ratio=round(median(ours_mb) / median(base_mb), 2),
        ratio=round(median(base_s) / median(ours_s), 2),
    )


def shopbench_dev(args: argparse.Namespace, model_path: Path) -> None:
    """The 96-question development-set mix, whole process and beyond start-up (see the module doc)."""
    import json

    from _workload import shopbench_dev_rows

    if args.data is not None:  # a file the user has (the real development set is not ours to ship)
        rows = [json.loads(line) for line in args.data.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        rows = shopbench_dev_rows()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "ECOMBENCH_HOME": f"{tmp}/home"}
        runs: dict[str, tuple[list[str], list[str]]] = {}
        for name, part in (("bench_dev", rows), ("bench_one", rows[:1])):
            data = Path(tmp) / f"{name}.jsonl"
            data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part), encoding="utf-8")
            time_process([sys.executable, "-m", "ecombench", "import", "shopbench", str(data), "--name", name], env)  # setup, not timed
            ours = [sys.executable, "-m", "ecombench", "run", "--model", args.model, "--no-cache", "--batch-size", args.batch_size]
            ours += ["--device", "cpu", "--submissions-dir", f"{tmp}/subs", "--tasks", name]
            base = [sys.executable, str(HERE / "starter_kit_baseline.py"), "--model", str(model_path), "--output", f"{tmp}/preds.jsonl", "--data", str(data)]
            runs[name] = (ours, base)
        times: dict[str, list[float]] = {k: [] for k in ("ours", "base", "ours_1", "base_1")}
        peaks: dict[str, list[float]] = {"ours": [], "base": []}
        for _ in range(args.repeats):
            for key, cmd in (
                ("ours", runs["bench_dev"][0]),
                ("base", runs["bench_dev"][1]),
                ("ours_1", runs["bench_one"][0]),
                ("base_1", runs["bench_one"][1]),
            ):
                wall, peak = time_and_peak(cmd, env)
                times[key].append(wall)
                if key in peaks:
                    peaks[key].append(peak)
            print("  ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()), file=sys.stderr)
    m = {k: median(v) for k, v in times.items()}
    report(
        "run_vs_starter_kit_generate_shopbench_dev",
        model=args.model,
        items=len(rows),
        cpu_threads=os.cpu_count(),
        **{f"{k}_s": [round(x, 2) for x in v] for k, v in times.items()},
        ecombench_median_s=round(m["ours"], 2),
        baseline_median_s=round(m["base"], 2),
        ecombench_startup_s=round(m["ours_1"], 2),
        baseline_startup_s=round(m["base_1"], 2),
        ecombench_peak_mib=median(peaks["ours"]),
        baseline_peak_mib=median(peaks["base"]),
        ratio=round(m["base"] / m["ours"], 2),
        beyond_startup_ratio=round((m["base"] - m["base_1"]) / max(m["ours"] - m["ours_1"], 1e-9), 2),
    )


if __name__ == "__main__":
    main()
