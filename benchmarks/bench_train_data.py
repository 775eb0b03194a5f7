"""Preparing a large published-layout training set: peak memory and start-up of a 5-step `ecombench train`.

Issue 25 (6): 75,000 records in the published ShopBench layout (JSON arrays per sub-task, no task names,
shared templates; built by tests/helpers/published.py from our own vocabulary) must prepare in under 1 GB beyond
the model, and a 5-step run must start training within 30 s on 2 cores.

Side by side, in one run, each in its own process (peak RSS from getrusage of the child):
- big:      `ecombench train --data BIG --max-steps 5 --no-eval` on 75,000 records
- baseline: the same command on 600 records of the same layout (the model, torch and TRL, no data to speak of)

Start-up is the wall time before the first optimiser step: from the process's start to the moment its
first progress line (``train: step 1/5``, written as the first step ends) comes out, less that step's own
seconds as the line gives them (whole seconds, so within 0.5 s). Until 2026-12-07 it was the whole run
minus the trainer's reported seconds (``fit.seconds``), which also counted the adapter's save and the
exit; that figure is printed too (``wall - fit``). Data preparation memory is big's peak RSS minus the
baseline's. Repeats alternate the two and print medians.

    python benchmarks/bench_train_data.py            # 75,000 records, 3 repeats
    python benchmarks/bench_train_data.py 20000 1    # records, repeats
    python benchmarks/bench_train_data.py 0 3 --data /path/to/EC-Guide   # a published set instead of big
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers.published import write_published  # noqa: E402


def one_run(data: Path, out: Path) -> tuple[float, float, float, float]:
    """(wall seconds, start-up seconds, wall - fit seconds, peak RSS MiB) of one 5-step training run in a child process."""
    code = (
        "import re, resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)\n"
        "first = None\n"
        "for line in p.stdout:\n"
        "    if first is None and (m := re.match(r'train: step \\d+/\\d+ \\(\\d+%\\), (\\d+) s so far', line)):\n"
        "        first = time.monotonic() - t - float(m.group(1))\n"
        "err = p.stderr.read(); p.wait()\n"
        "wall = time.monotonic() - t\n"
        "if p.returncode or first is None: sys.stderr.write(err[-3000:]); sys.exit(p.returncode or 1)\n"
        "print(wall, first, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "ecombench", "train", "--data", str(data), "--max-steps", "5", "--no-eval"]
    cmd += ["--batch-size", "2", "--output", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode:
        raise SystemExit(done.stderr)
    wall, first, rss_kib = map(float, done.stdout.split())
    fit = json.loads((out / "training.json").read_text())["fit"]
    return wall, first, wall - fit["seconds"], rss_kib / 1024


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 75_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("-") else 3
    real = Path(sys.argv[sys.argv.index("--data") + 1]) if "--data" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = real or write_published(root / "big", n=max(records // 6, 1))
        small = write_published(root / "small", n=100)
        subprocess.run([sys.executable, "-c", "from ecombench.tiny import ensure_tiny; ensure_tiny()"], check=True)  # built once, not timed
        print(f"big: {sum(len(json.loads(p.read_text() or '[]')) for p in big.rglob('*.json'))} records; baseline: 600 records")
        rows: dict[str, list[tuple[float, float, float, float]]] = {"big": [], "baseline": []}
        for i in range(repeats):
            for name, data in (("baseline", small), ("big", big)) if i % 2 else (("big", big), ("baseline", small)):
                started = time.monotonic()
                rows[name].append(one_run(data, root / f"out-{name}-{i}"))
                print(f"  {name} #{i + 1}: {time.monotonic() - started:.1f} s", flush=True)
        med = {name: [statistics.median(col) for col in zip(*runs)] for name, runs in rows.items()}
        for name, (wall, startup, wall_less_fit, rss) in med.items():
            print(f"{name:9s} median wall {wall:6.1f} s, start-up {startup:6.1f} s (wall - fit {wall_less_fit:6.1f} s), peak RSS {rss:7.0f} MiB")
        print(f"data preparation memory (big - baseline peak RSS): {med['big'][3] - med['baseline'][3]:.0f} MiB (goal < 1024 MiB)")
        what = str(real) if real else f"{records} records"
        print(f"start-up of the 5-step run on {what}: {med['big'][1]:.1f} s (goal < 30 s); ratio to baseline {med['big'][1] / med['baseline'][1]:.2f}x")


if __name__ == "__main__":
    main()
