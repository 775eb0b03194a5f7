"""Peak memory of ``ecombench score`` on a 100 MB predictions file, against loading it whole.

The baseline reads the predictions file at once with ``pandas.read_json(lines=True)`` (as a
local evaluation script usually does) and then scores each row with the same metric functions.
Both run as whole processes; peak RSS from ``wait4``. ratio = baseline peak / ecombench peak.

    python benchmarks/bench_score_memory.py --megabytes 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import report

BASELINE = """
import sys, pandas as pd
from ecombench.records import load_records
from ecombench.metrics.parsers import parse
from ecombench.metrics.scores import accuracy
records = load_records(__import__('pathlib').Path(sys.argv[1]))
preds = pd.read_json(sys.argv[2], lines=True)
scores = [accuracy(parse(r.task_type, p), r.output_field) for r, p in zip(records, preds["prediction"])]
print(sum(scores) / len(scores))
"""


def peak(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of a whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    rows = args.megabytes * 1024 * 1024 // 5100
    with tempfile.TemporaryDirectory() as tmp:
        data, preds = Path(tmp) / "data.jsonl", Path(tmp) / "preds.jsonl"
        with data.open("w") as d, preds.open("w") as p:
            for i in range(rows):
                d.write(
                    json.dumps(
                        {
                            "input_field": f"Question {i}?\n0. a\n1. b\nAnswer: ",
                            "output_field": i % 2,
                            "task_name": "t",
                            "task_type": "multiple-choice",
                            "metric": "accuracy",
                            "is_multiple_choice": True,
                            "track": "k",
                        }
                    )
                    + "\n"
                )
                p.write(json.dumps({"index": i, "prediction": "1" + "x" * 5000}) + "\n")
        size = preds.stat().st_size / 2**20
        ours_s, ours_mib = peak([sys.executable, "-m", "ecombench", "score", "--data", str(data), "--predictions", str(preds), "--format", "json"])
        base_s, base_mib = peak([sys.executable, "-c", BASELINE, str(data), str(preds)])
    print(
        f"{size:.0f} MiB predictions, {rows} rows: ecombench {ours_mib:.0f} MiB in {ours_s:.1f}s; whole-file {base_mib:.0f} MiB in {base_s:.1f}s",
        file=sys.stderr,
    )
    report(
        "score_memory_streaming_vs_whole_file",
        predictions_mib=round(size, 1),
        rows=rows,
        ecombench_peak_mib=round(ours_mib, 1),
        baseline_peak_mib=round(base_mib, 1),
        ecombench_s=round(ours_s, 2),
        baseline_s=round(base_s, 2),
        ratio=round(base_mib / ours_mib, 2),
    )


if __name__ == "__main__":
    main()
