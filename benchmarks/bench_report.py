"""The report site at scale: 10,000 submissions of 30 tasks (issue 17's budgets), plus one of 20,000 items.

Budgets: the site is written in under 10 s (``ecombench report``, whole process, with the leaderboard
index warm as after any earlier ``leaderboard`` or ``report``), and the board page opens in headless
Chromium in under 2 s (from navigation to the first page of rows on screen). Also measured: the
first write with every cache cold, a rebuild into the same folder, the site's size, and how long the
explorer of a 20,000-item submission takes to show its first page and to turn a page.
Before (issue 17, the report of one static page per submission): 11.9 s and an 87 MB site.
ratio = budget / measured median (above 1 means within budget).

    python benchmarks/bench_report.py --submissions 10000 --repeats 3 [--record]

``--record`` appends the figures to benchmarks/REPORT_RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import median, report, time_process
from bench_leaderboard import write_submissions

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WRITE_BUDGET_S = 10.0
OPEN_BUDGET_S = 2.0


def add_big_submission(folder: Path, items: int = 20_000, n_tasks: int = 30) -> str:
    """One more submission on the benchmark tasks with ``items`` items (prompts of about 400 characters)."""
    import json

    sid = "20261102-000000-big-abcdef"
    record = json.loads(next(folder.glob("*.json")).read_text())
    record.update(id=sid, name="big", items_file=f"{sid}.items.jsonl")
    (folder / record["items_file"]).write_text(
        "".join(
            json.dumps(
                {
                    "task": f"t{i % n_tasks:02d}",
                    "doc_id": i // n_tasks,
                    "item_hash": f"h{i}",
                    "prompt": f"Question {i}: " + "which of these products fits the query best? " * 9,
                    "target": str(i % 4),
                    "prediction": str((i * 7) % 4),
                    "parsed": (i * 7) % 4,
                    "score": float(i % 4 == (i * 7) % 4),
                }
            )
            + "\n"
            for i in range(items)
        )
    )
    (folder / f"{sid}.json").write_text(json.dumps(record))
    return sid


def size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def open_times(site: Path, sid: str, repeats: int) -> dict[str, list[float]]:
    """Seconds from navigation to rows on screen: the board, the explorer's first page, and its next page."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {"board": [], "explorer": [], "explorer_next_page": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(repeats):
            page = browser.new_page()
            start = time.perf_counter()
            page.goto((site / "index.html").as_uri())
            page.wait_for_selector("#board tbody tr", timeout=60_000)
            out["board"].append(time.perf_counter() - start)
            start = time.perf_counter()
            page.goto((site / "sub.html").as_uri() + f"#id={sid}")
            page.wait_for_selector("#items tbody tr", timeout=60_000)
            out["explorer"].append(time.perf_counter() - start)
            start = time.perf_counter()
            page.click("#items-next")
            page.wait_for_function("document.querySelector('#items tbody tr').getAttribute('data-item') === '50'")
            out["explorer_next_page"].append(time.perf_counter() - start)
            page.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--record", action="store_true", help="append the figures to benchmarks/REPORT_RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "subs"
        folder.mkdir()
        write_submissions(folder, args.submissions)
        big = add_big_submission(folder)
        env = {**os.environ, "ECOMBENCH_HOME": f"{tmp}/home", "ECOMBENCH_CACHE": f"{tmp}/cache"}

        def cmd(out: str) -> list[str]:
            return [sys.executable, "-m", "ecombench", "report", "--board", "bench", "--submissions-dir", str(folder), "--output", f"{tmp}/{out}"]

        cold = time_process(cmd("site-cold"), env)
        warm = [time_process(cmd(f"site-{i}"), env) for i in range(args.repeats)]
        rebuild = [time_process(cmd("site-0"), env) for _ in range(args.repeats)]
        site = Path(tmp) / "site-0"
        mb = size_mb(site)
        opened = open_times(site, big, args.repeats) if CHROMIUM else {}
    figures = {
        "submissions": args.submissions + 1,
        "write_cold_s": round(cold, 2),
        "write_warm_s": [round(t, 2) for t in warm],
        "rebuild_same_folder_s": [round(t, 2) for t in rebuild],
        "site_mb": round(mb, 1),
        **{f"open_{k}_s": [round(t, 3) for t in v] for k, v in opened.items()},
        "write_ratio": round(WRITE_BUDGET_S / median(warm), 2),
    }
    if opened:
        figures["open_ratio"] = round(OPEN_BUDGET_S / median(opened["board"]), 2)
    print(
        f"report: cold {cold:.2f}s, warm {median(warm):.2f}s, rebuild {median(rebuild):.2f}s, {mb:.1f} MB; "
        + (f"board opens in {median(opened['board']):.2f}s, 20,000-item explorer in {median(opened['explorer']):.2f}s" if opened else "no chromium"),
        file=sys.stderr,
    )
    report("report_10k", **figures, ratio=min(figures["write_ratio"], figures.get("open_ratio", figures["write_ratio"])))
    if args.record:
        record(Path(__file__).with_name("REPORT_RESULTS.md"), figures, opened)


HEADER = """# Report figures

Appended by `python benchmarks/bench_report.py --record` (its docstring says what each figure is). Budgets (issue 17):
written in under 10 s, board page open in under 2 s; ratio = budget / median, above 1 is within budget.
Before: 11.9 s and 87 MB for 10,000 submissions (one static page per submission).

| date | submissions | write, warm (median) | write ratio | write, cold | rebuild, same folder | site | board opens | open ratio | 20,000-item explorer: first page, next page |
|---|---|---|---|---|---|---|---|---|---|
"""


def record(path: Path, f: dict, opened: dict) -> None:
    from datetime import date

    board = f"{median(opened['board']):.2f} s" if opened else "-"
    explorer = f"{median(opened['explorer']):.2f} s, {median(opened['explorer_next_page']):.2f} s" if opened else "-"
    row = (
        f"| {date.today().isoformat()} | {f['submissions']:,} | {median(f['write_warm_s']):.2f} s | **{f['write_ratio']}x** | {f['write_cold_s']:.2f} s | "
        f"{median(f['rebuild_same_folder_s']):.2f} s | {f['site_mb']} MB | {board} | **{f.get('open_ratio', '-')}x** | {explorer} |\n"
    )
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    path.write_text(text + row, encoding="utf-8")


if __name__ == "__main__":
    main()
