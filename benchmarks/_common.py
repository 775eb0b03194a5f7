"""Helpers shared by the benchmark scripts: timing whole processes, medians, the closing JSON line."""

from __future__ import annotations

import json
import statistics
import subprocess
import time


def time_process(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> float:
    """Wall-clock seconds of one whole process (run in ``cwd``); a failure stops the benchmark."""
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"benchmark command failed ({' '.join(cmd)}):\n{done.stderr[-3000:]}")
    return elapsed


def time_and_peak(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall-clock seconds and peak resident memory (MiB) of one whole process; a failure stops the benchmark."""
    import os

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed ({' '.join(cmd)}):\n{err[-3000:]}")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def report(name: str, **figures: object) -> None:
    """Print the closing line every benchmark ends with: one JSON object with name, figures and ratio."""
    print(json.dumps({"name": name, **figures}))
