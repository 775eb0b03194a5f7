"""Training and scoring on a machine where other jobs keep cores busy: torch's default thread
count against ecombench's thread rule (``ecombench.threads``). The commands are the issue's: the
train-tiny config (30 or 60 steps) and a starter-suite run on builtin:tiny (which stops early; the
full-length generation workload is ``bench_run.py --model plain``).

Three conditions per command, interleaved, median of --repeats each, whole processes:

- ``quiet``: nothing else running, the rule (on this 2-core machine: 2 threads);
- ``busy_default``: --competitors processes spinning (one per core they take), threads as torch picks them
  (``ECOMBENCH_THREADS`` = the host's core count, which is what torch does by default);
- ``busy_rule``: the same competitors, the rule (it sees the busy cores and uses what is left).

ratio = busy_default / busy_rule (higher is better: how much the rule saves under contention);
slowdown = busy_rule / quiet (the issue's budget is at most 2x).

    python benchmarks/bench_contention.py --repeats 3                  # one core taken by another job
    python benchmarks/bench_contention.py --repeats 3 --competitors 2  # both cores taken
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import median, report, time_process

HERE = Path(__file__).resolve().parent
SPIN = "import time\nend = time.time() + 3600\nwhile time.time() < end: pass\n"


def competitors(n: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]
    time.sleep(0.5)  # let them reach the scheduler's run queue before the measured process starts
    return procs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60, help="training steps of the train-tiny config")
    parser.add_argument("--competitors", type=int, default=1, help="spinning processes competing for the cores")
    args = parser.parse_args()

    from ecombench.tiny import resolve_model

    resolve_model("builtin:tiny")  # built once, outside the timings
    env = {k: v for k, v in os.environ.items() if k not in ("ECOMBENCH_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["HF_HUB_OFFLINE"] = "1"
    host = str(os.cpu_count() or 1)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "train": [
                sys.executable,
                "-m",
                "ecombench",
                "train",
                "--config",
                str(HERE.parent / "examples" / "train-tiny.yaml"),
                "--max-steps",
                str(args.steps),
                "--no-eval",
                "--output",
                f"{tmp}/adapter",
            ],
            "run": [
                sys.executable,
                "-m",
                "ecombench",
                "run",
                "--model",
                "builtin:tiny",
                "--tasks",
                "ecombench_starter",
                "--no-cache",
                "--device",
                "cpu",
                "--submissions-dir",
                f"{tmp}/subs",
            ],
        }
        for name, cmd in commands.items():
            quiet, busy_default, busy_rule = [], [], []
            for _ in range(args.repeats):
                for label, times, spin, threads in (
                    ("quiet", quiet, False, None),
                    ("busy_default", busy_default, True, host),
                    ("busy_rule", busy_rule, True, None),
                ):
                    subprocess.run(["rm", "-rf", f"{tmp}/adapter"], check=True)
                    run_env = dict(env, **({"ECOMBENCH_THREADS": threads} if threads else {}))
                    spinners = competitors(args.competitors) if spin else []
                    try:
                        times.append(time_process(cmd, run_env))
                    finally:
                        for spinner in spinners:
                            spinner.kill()
                            spinner.wait()
                    print(f"{name} {label}: {times[-1]:.1f}s", file=sys.stderr)
            results[name] = {
                "quiet_s": median(quiet),
                "busy_default_s": median(busy_default),
                "busy_rule_s": median(busy_rule),
                "ratio": round(median(busy_default) / median(busy_rule), 2),
                "slowdown": round(median(busy_rule) / median(quiet), 2),
            }
    report("threads_under_contention", cpu_threads=os.cpu_count(), competitors=args.competitors, repeats=args.repeats, **results)


if __name__ == "__main__":
    main()
