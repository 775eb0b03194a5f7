"""Start-up of the fast commands: ``ecombench --help`` against ``lm_eval --help``.

The fast commands import neither torch nor lm-eval; the figure that matters is ``ecombench
--help`` under 1 s. ratio = lm_eval --help seconds / ecombench --help seconds (higher is better).

    python benchmarks/bench_startup.py --repeats 5
"""

from __future__ import annotations

import argparse
import sys

from _common import median, report, time_process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    ours, theirs = [], []
    for _ in range(args.repeats):
        ours.append(time_process([sys.executable, "-m", "ecombench", "--help"]))
        theirs.append(time_process([sys.executable, "-m", "lm_eval", "--help"]))
    report(
        "startup_help",
        ecombench_help_s=ours,
        lm_eval_help_s=theirs,
        ecombench_median_s=median(ours),
        under_1s=median(ours) < 1.0,
        ratio=round(median(theirs) / median(ours), 2),
    )


if __name__ == "__main__":
    main()
