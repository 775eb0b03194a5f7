"""Preparing a large published-layout training set: peak memory and start-up of a 5-step `ecombench train`.

Issue 25 (6): 75,000 records in the published ShopBench layout (JSON arrays per sub-task, no task names,
shared templates; built by tests/published.py from our own vocabulary) must prepare in under 1 GB beyond
the model, and a 5-step run must start training within 30 s on 2 cores.

Side by side, in one run, each in its own process (peak RSS from getrusage of the child):
- big:      `ecombench train --data BIG --max-steps 5 --no-eval` on 75,000 records
- baseline: the same command on 600 records of the same layout (the model, torch and TRL, no data to speak of)

Start-up is the wall time before the first optimiser step: the whole run minus the seconds the trainer
reports for its steps (`fit.seconds` in training.json). Data preparation memory is big's peak RSS minus
the baseline's. Repeats alternate the two and print medians.

    python benchmarks/bench_train_data.py            # 75,000 records, 3 repeats
    python benchmarks/bench_train_data.py 20000 1    # records, repeats
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

from tests.published import write_published  # noqa: E402


def one_run(data: Path, out: Path) -> tuple[float, float, float]:
    """(wall seconds, start-up seconds, peak RSS MiB) of one 5-step training run in a child process."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "wall = time.monotonic() - t\n"
        "if p.returncode: sys.stderr.write(p.stderr[-3000:]); sys.exit(p.returncode)\n"
        "print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "ecombench", "train", "--data", str(data), "--max-steps", "5", "--no-eval"]
    cmd += ["--batch-size", "2", "--output", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode:
        raise SystemExit(done.stderr)
    wall, rss_kib = map(float, done.stdout.split())
    fit = json.loads((out / "training.json").read_text())["fit"]
    return wall, wall - fit["seconds"], rss_kib / 1024


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 75_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        big = write_published(root / "big", n=max(records // 6, 1))
        small = write_published(root / "small", n=100)
        subprocess.run([sys.executable, "-c", "from ecombench.tiny import ensure_tiny; ensure_tiny()"], check=True)  # built once, not timed
        print(f"big: {sum(len(json.loads(p.read_text())) for p in big.rglob('*.json'))} records; baseline: 600 records")
        rows: dict[str, list[tuple[float, float, float]]] = {"big": [], "baseline": []}
        for i in range(repeats):
            for name, data in (("baseline", small), ("big", big)) if i % 2 else (("big", big), ("baseline", small)):
                started = time.monotonic()
                rows[name].append(one_run(data, root / f"out-{name}-{i}"))
                print(f"  {name} #{i + 1}: {time.monotonic() - started:.1f} s", flush=True)
        med = {name: [statistics.median(col) for col in zip(*runs)] for name, runs in rows.items()}
        for name, (wall, startup, rss) in med.items():
            print(f"{name:9s} median wall {wall:6.1f} s, start-up {startup:6.1f} s, peak RSS {rss:7.0f} MiB")
        print(f"data preparation memory (big - baseline peak RSS): {med['big'][2] - med['baseline'][2]:.0f} MiB (goal < 1024 MiB)")
        print(
            f"start-up of the 5-step run on {records} records: {med['big'][1]:.1f} s (goal < 30 s); ratio to baseline {med['big'][1] / med['baseline'][1]:.2f}x"
        )


if __name__ == "__main__":
    main()
