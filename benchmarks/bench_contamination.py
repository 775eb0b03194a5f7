"""The contamination gate on a published training set against a real development set: false flags, planted leaks
of every kind, time and peak memory; the rule of ecombench 2026-12-05 (a 13-gram shared with an item, unless in 20
training records or 3 items of a task) side by side.

    python benchmarks/bench_contamination.py --train PATH/EC-Guide --eval PATH/development.json

``--train``: a training set as published (EC-Guide: ``TYPE/SUBTASK.json`` arrays, github:fzp0424/EC-Guide-KDDUP-2024);
``--eval``: ShopBench-format JSON Lines (the KDD Cup 2024 starter kit's ``data/development.json``). Neither is in this
repository. Nine items of the evaluation set, spread over its tasks, are planted into the training data in each way a
leak comes: exact copies, light edits (case, spacing, punctuation, two numbers changed), 25 repeats in one file,
copies spread over three files, wrapped in other instructions, whitespace and case mangled, and the question and
answer as Alpaca, ShareGPT and chat-messages rows. Each rule checks the clean set and the set with the plants; each
timing runs in a process of its own (peak resident memory is that process's).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import median, report

OLD_COMMIT = "6779870"  # the last commit with the 13-gram rule (ecombench/train/contamination.py)
PLANTED = (9, 18, 30, 41, 50, 60, 70, 85, 90)  # development items spread over its tasks
KINDS = ("exact", "light", "repeat", "spread", "wrapped", "mangled", "alpaca", "sharegpt", "messages")


def _chat(messages: list[dict[str, str]]) -> str:
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + "<|im_start|>assistant\n"


def _answer(row: dict) -> str:
    truth = row["output_field"]
    return truth if isinstance(truth, str) else json.dumps(truth)


def _light(text: str) -> str:
    edited = re.sub(r"\d+", lambda m: str(int(m.group()) + 7), text.replace(",", " ,").replace(". ", " . "), count=2)
    return edited[:30].upper() + edited[30:]


def _mangle(text: str) -> str:
    return "  \n ".join(w.swapcase() if i % 3 == 0 else w for i, w in enumerate(text.split()))


def plant(folder: Path, dev: list[dict]) -> None:
    """One folder per kind of leak, each holding the nine planted items in that form."""

    def put(name: str, rows: list[dict]) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")

    for k, index in enumerate(PLANTED):
        q, a = dev[index]["input_field"], _answer(dev[index])
        put(f"exact/{k}.jsonl", [{"input_field": q, "output_field": a}])
        put(f"light/{k}.jsonl", [{"prompt": _light(q), "completion": a}])
        put(f"repeat/{k}.jsonl", [{"prompt": q, "completion": a}] * 25)
        for s in range(3):
            put(f"spread/{k}_{s}.jsonl", [{"prompt": _light(q) if s else q, "completion": a}] * 7)
        wrapped = "You are a helpful assistant. Read the following carefully.\n\n" + q + "\n\nThink step by step, then give the final answer only."
        put(f"wrapped/{k}.jsonl", [{"prompt": wrapped, "completion": a}])
        put(f"mangled/{k}.jsonl", [{"prompt": _mangle(q), "completion": a}])
        first, _, rest = q.partition("\n")
        put(f"alpaca/{k}.jsonl", [{"instruction": first, "input": rest, "output": a}])
        put(f"sharegpt/{k}.jsonl", [{"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}])
        messages = [{"role": "system", "content": "You are a shop assistant."}, {"role": "user", "content": q}, {"role": "assistant", "content": a}]
        put(f"messages/{k}.jsonl", [{"messages": messages}])


def _old_rule():
    """The 13-gram rule as it was at ``OLD_COMMIT``, loaded from git (its n-grams now live in ecombench.contamination)."""
    repo = Path(__file__).resolve().parent.parent
    source = subprocess.run(["git", "show", f"{OLD_COMMIT}:ecombench/train/contamination.py"], cwd=repo, capture_output=True, text=True, check=True).stdout
    source = source.replace("from ecombench.data.builders import ngrams", "from ecombench.contamination import ngrams")
    module = types.ModuleType("old_contamination")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "old_contamination.py", "exec"), module.__dict__)
    return module.check


def _dev(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def worker(rule: str, train: list[str], dev_path: Path) -> dict:
    """Read the sources and check them with ``rule``; what it found, as JSON on stdout."""
    from ecombench import contamination
    from ecombench.train.data import read_sources

    dev = _dev(dev_path)
    seen: Counter = Counter()
    items = []
    for row in dev:
        items.append(contamination.Item(row["task_name"], seen[row["task_name"]], row["input_field"]))
        seen[row["task_name"]] += 1
    start = time.perf_counter()
    records = read_sources(train, _chat).records
    read = time.perf_counter() - start
    start = time.perf_counter()
    if rule == "new":
        found = contamination.check(records, items)
        flagged, exact, shared = found.leaking, found.exact, found.shared
    else:
        found = _old_rule()(records, [(i.task, i.prompt) for i in items])
        flagged, exact, shared = found.flagged, found.exact, found.template_only
    return {
        "records": len(records),
        "read_s": read,
        "check_s": time.perf_counter() - start,
        "flagged": sorted(records[i].where for i in flagged),
        "exact": exact,
        "shared_or_template_only": shared,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, required=True, help="the published training set (a folder or file)")
    parser.add_argument("--eval", type=Path, required=True, help="ShopBench JSON Lines to check against")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per rule on the clean set (median)")
    parser.add_argument("--worker", choices=["new", "old"], help=argparse.SUPPRESS)
    parser.add_argument("--sources", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.sources, args.eval)))
        return

    def run(rule: str, sources: list[str]) -> tuple[dict, float, float]:
        cmd = [sys.executable, __file__, "--worker", rule, "--train", str(args.train), "--eval", str(args.eval), "--sources", *sources]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                err.seek(0)
                raise SystemExit(err.read()[-3000:])
            out.seek(0)
            return json.loads(out.read()), seconds, usage.ru_maxrss / 1024  # KiB on Linux

    with tempfile.TemporaryDirectory() as tmp:
        planted = Path(tmp) / "planted"
        plant(planted, _dev(args.eval))
        rows = []
        for rule in ("old", "new"):
            runs = [run(rule, [str(args.train)]) for _ in range(args.repeats)]
            clean = runs[0][0]
            with_plants, _, _ = run(rule, [str(args.train), str(planted)])
            caught = Counter()
            total = Counter()
            for kind in KINDS:
                total[kind] = sum(1 for p in (planted / kind).iterdir() for line in p.read_text().splitlines() if line.strip())
            for where in with_plants["flagged"]:
                if where.startswith(str(planted)):
                    caught[Path(where).relative_to(planted).parts[0]] += 1
            others = [w for w in with_plants["flagged"] if not w.startswith(str(planted))]
            rows.append(
                {
                    "rule": rule,
                    "records": clean["records"],
                    "clean_flagged": len(clean["flagged"]),
                    "check_s": median([r[0]["check_s"] for r in runs]),
                    "process_s": median([r[1] for r in runs]),
                    "peak_mib": max(r[2] for r in runs),
                    "planted_caught": {k: f"{caught[k]}/{total[k]}" for k in KINDS},
                    "others_flagged_with_plants": len(others),
                }
            )
    for row in rows:
        print(
            f"{row['rule']:>3} rule: {row['records']} records, clean set flagged {row['clean_flagged']}; check {row['check_s']:.1f} s "
            f"(process {row['process_s']:.1f} s, peak {row['peak_mib']:.0f} MiB); with plants: {row['others_flagged_with_plants']} others flagged"
        )
        print("          planted leaks caught: " + ", ".join(f"{k} {v}" for k, v in row["planted_caught"].items()))
    old, new = rows
    report("contamination", old=old, new=new, ratio=round(old["check_s"] / new["check_s"], 2) if new["check_s"] else None)


if __name__ == "__main__":
    main()
