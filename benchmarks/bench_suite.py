"""The whole ecombench-core suite on builtin:tiny, and ``data build-core``, against their budgets.

Issue 3 asks for the suite in under 5 minutes and the build in under 1 minute on 2 CPU cores.
Whole processes, median of --repeats; ratio = budget / measured (above 1 means within budget).

    python benchmarks/bench_suite.py --repeats 3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _common import median, report, time_process

SUITE_BUDGET_S = 300.0
BUILD_BUDGET_S = 60.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    from ecombench.tiny import ensure_tiny

    ensure_tiny()  # built once, outside the timings
    suite_s, build_s = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            suite_s.append(
                time_process(
                    [sys.executable, "-m", "ecombench", "run", "--model", "builtin:tiny", "--no-cache", "--device", "cpu", "--submissions-dir", f"{tmp}/subs"],
                    env,
                )
            )
            build_s.append(time_process([sys.executable, "-m", "ecombench", "data", "build-core", "--out", f"{tmp}/core{i}"], env))
            print(f"suite {suite_s[-1]:.1f}s   build-core {build_s[-1]:.1f}s", file=sys.stderr)
    report(
        "core_suite_and_build_vs_budget",
        cpu_threads=os.cpu_count(),
        suite_s=suite_s,
        build_s=build_s,
        suite_median_s=median(suite_s),
        build_median_s=median(build_s),
        build_ratio=round(BUILD_BUDGET_S / median(build_s), 2),
        ratio=round(SUITE_BUDGET_S / median(suite_s), 2),
    )


if __name__ == "__main__":
    main()
