"""Four LoRA adapters of one base scored on the real ShopBench development set: one ``ecombench run`` with
four ``--model`` against four separate ``ecombench run`` processes.

The base is ``_workload.plain_model`` (a random-weight 4-layer width-256 Llama that answers at full
length); the adapters are random LoRA adapters of it as ``ecombench train`` makes them by default (rank
16, alpha 32, every linear layer), seeded, so that each answers differently. The prompts are the 96
questions of the KDD Cup 2024 starter kit's ``development.json``, whose path is the one argument (the
file is never copied into this repository); it is imported with ``ecombench import shopbench`` as a user
would, outside the timings. Three ways, each a whole process (or four), interleaved, ``--repeats`` times:

- ``separate``: ``ecombench run --model aK`` four times, one process each (the baseline);
- ``one_by_one``: one process that runs the four adapters one after another, each loaded and generated
  alone (what ``run --model a0 ... --model a3`` did before adapters were scored together);
- ``together``: ``ecombench run --model a0 --model a1 --model a2 --model a3`` (the base loaded once, the
  answers of all four generated in shared batches).

Printed: wall seconds of each way and their medians, ratio = separate / together (higher is better),
the same for one_by_one, and CPU seconds (user + system of the processes) beside them, since on a shared
machine wall time carries the other workers' load; the load average before and after. Every adapter's
per-item predictions and scores are compared across the three ways, and the benchmark fails if any differ.
torch gets ``--threads`` threads in every process (``ECOMBENCH_THREADS``), so that all ways get the same.

``--engine`` measures generation alone, in this process, on the same prompts (each question's text as
token ids, 1 new token for multiple choice, 100 otherwise) and adapters, three ways of serving four
adapters from one loaded base, interleaved, CPU seconds: ``one_at_a_time`` (each adapter made active
in turn, a pass of its own: what ``run`` did before), ``mixed`` (one pass, every adapter's rows in
shared batches: what ``run`` does now) and ``merged`` (each adapter merged into the base weights for
its own pass, then unmerged). It checks every adapter's tokens against ``one_at_a_time``.

    python benchmarks/bench_adapters.py /tmp/real/development.json --repeats 3
    python benchmarks/bench_adapters.py /tmp/real/development.json --engine --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import median, report

ONE_BY_ONE = (
    "import os, sys\n"
    "from pathlib import Path\n"
    "from ecombench.run import RunOptions, run\n"
    "for model in sys.argv[2:]:\n"
    "    run(RunOptions(model=model, tasks=['kdd_dev'], use_cache=False, device='cpu', submissions_dir=Path(sys.argv[1])))\n"
    "sys.stdout.flush(); sys.stderr.flush(); os._exit(0)  # as `ecombench` ends (cli._leave): no interpreter teardown\n"
)


def make_adapters(base: Path, folder: Path, count: int, rank: int) -> list[Path]:
    """``count`` random LoRA adapters of ``base`` (every linear layer, seeded), as ``ecombench train`` shapes them."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = []
    for k in range(count):
        torch.manual_seed(100 + k)
        model = get_peft_model(
            AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear", init_lora_weights=False)
        )
        path = folder / f"a{k}"
        model.save_pretrained(path)
        config = json.loads((path / "adapter_config.json").read_text())
        (path / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": str(base)}))
        out.append(path)
    return out


def timed(cmds: list[list[str]], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of running ``cmds`` one after another, and the CPU seconds (user + system) they used."""
    import subprocess

    wall = cpu = 0.0
    for cmd in cmds:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall += time.perf_counter() - start
        cpu += usage.ru_utime + usage.ru_stime
        err = proc.stderr.read() if proc.stderr else ""
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"benchmark command failed ({' '.join(cmd)}):\n{err[-3000:]}")
    return wall, cpu


def answers(folder: Path) -> dict[str, tuple[float, dict]]:
    """Each adapter's All-Around score and per-item predictions, from the submissions in ``folder``."""
    from ecombench import submissions

    out = {}
    for path in sorted(folder.glob("*.json")):
        sub = submissions.load(path)
        items = {(i.task, i.doc_id): (i.prediction, i.score) for i in submissions.load_items(folder, sub)}
        out[sub.name] = (sub.all_around, items)
    return out


def engine(args: argparse.Namespace, base: Path, adapters: list[Path]) -> None:
    """Generation alone: one adapter at a time, mixed batches, merged weights (see the module doc)."""
    from dataclasses import replace

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ecombench.backends.hf.generation import Request, greedy_generate
    from ecombench.backends.hf.lm import default_token_budget

    torch.set_num_threads(args.threads)
    rows = [json.loads(line) for line in args.dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    tokenizer = AutoTokenizer.from_pretrained(base)
    requests = [Request(tokenizer(r["input_field"])["input_ids"], 1 if r["is_multiple_choice"] else 100) for r in rows]
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), str(adapters[0]), adapter_name="a0")
    for k, path in enumerate(adapters[1:], 1):
        model.load_adapter(str(path), adapter_name=f"a{k}")
    model.eval()
    names = [f"a{k}" for k in range(len(adapters))]
    # the budget `run` gives a batch on CPU (ecombench.lm: 512 MiB of keys and values)
    settings = {"eos_ids": {tokenizer.eos_token_id}, "decode": tokenizer.decode, "token_budget": default_token_budget(model, "cpu")}

    def one_at_a_time() -> list[list[int]]:
        out = []
        for name in names:
            model.set_adapter(name)
            out += greedy_generate(model, requests, **settings)
        return out

    def mixed() -> list[list[int]]:
        return greedy_generate(model, [replace(r, adapter=name) for name in names for r in requests], **settings)

    def merged() -> list[list[int]]:
        out = []
        for name in names:
            model.set_adapter(name)
            model.merge_adapter()
            try:
                out += greedy_generate(model, requests, **settings)
            finally:
                model.unmerge_adapter()
        return out

    cpu: dict[str, list[float]] = {"one_at_a_time": [], "mixed": [], "merged": []}
    same: dict[str, int] = {}
    reference: list[list[int]] = []
    for _ in range(args.repeats):
        for way, fn in (("one_at_a_time", one_at_a_time), ("mixed", mixed), ("merged", merged)):
            start = time.process_time()
            out = fn()
            cpu[way].append(round(time.process_time() - start, 2))
            reference = reference or out
            same[way] = sum(a == b for a, b in zip(out, reference, strict=True))
        print("  ".join(f"{k} {v[-1]:.1f} cpu-s" for k, v in cpu.items()), f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    m = {k: median(v) for k, v in cpu.items()}
    report(
        "adapters_generation_engine",
        adapters=len(adapters),
        rank=args.rank,
        requests=len(requests),
        threads=args.threads,
        **{f"{k}_cpu_s": v for k, v in cpu.items()},
        **{f"{k}_rows_identical": f"{same[k]}/{len(reference)}" for k in cpu},
        mixed_ratio=round(m["one_at_a_time"] / m["mixed"], 2),
        merged_ratio=round(m["one_at_a_time"] / m["merged"], 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dev", type=Path, help="the starter kit's data/development.json (ShopBench format)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--adapters", type=int, default=4)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in every process")
    parser.add_argument("--engine", action="store_true", help="generation alone, in this process: one adapter at a time, mixed, merged")
    args = parser.parse_args()

    from _workload import plain_model

    from ecombench.paths import cache_dir

    base = plain_model(cache_dir() / "bench" / "plain-llama-4x256")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.engine:
            engine(args, base, make_adapters(base, root / "adapters", args.adapters, args.rank))
            return
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "ECOMBENCH_HOME": f"{tmp}/home", "ECOMBENCH_THREADS": str(args.threads)}
        ecombench = [sys.executable, "-m", "ecombench"]
        timed([[*ecombench, "import", "shopbench", str(args.dev), "--name", "kdd_dev"]], env)  # setup, not timed
        adapters = [str(p) for p in make_adapters(base, root / "adapters", args.adapters, args.rank)]
        flags = ["--tasks", "kdd_dev", "--no-cache", "--device", "cpu", "--submissions-dir"]
        ways = {
            "separate": lambda subs: [[*ecombench, "run", "--model", a, *flags, subs] for a in adapters],
            "one_by_one": lambda subs: [[sys.executable, "-c", ONE_BY_ONE, subs, *adapters]],
            "together": lambda subs: [[*ecombench, "run", *[x for a in adapters for x in ("--model", a)], *flags, subs]],
        }
        wall: dict[str, list[float]] = {k: [] for k in ways}
        cpu: dict[str, list[float]] = {k: [] for k in ways}
        load_before = os.getloadavg()[0]
        seen: dict[str, dict] = {}
        for rep in range(args.repeats):
            for way, cmds in ways.items():
                subs = root / f"{way}-{rep}"
                w, c = timed(cmds(str(subs)), env)
                wall[way].append(round(w, 2))
                cpu[way].append(round(c, 2))
                got = answers(subs)
                if len(got) != len(adapters):
                    raise SystemExit(f"{way}: {len(got)} submissions for {len(adapters)} adapters")
                reference = seen.setdefault("answers", got)
                if got != reference:
                    differ = [name for name in got if got[name] != reference.get(name)]
                    raise SystemExit(f"{way}: answers or scores differ from the first run's for {', '.join(differ)}")
            print("  ".join(f"{k} {v[-1]:.1f}s ({cpu[k][-1]:.1f} cpu-s)" for k, v in wall.items()), f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    m = {k: median(v) for k, v in wall.items()}
    mc = {k: median(v) for k, v in cpu.items()}
    report(
        "adapters_together_vs_separate_runs",
        adapters=args.adapters,
        rank=args.rank,
        items=96,
        threads=args.threads,
        cpu_count=os.cpu_count(),
        load_average_before=round(load_before, 2),
        load_average_after=round(os.getloadavg()[0], 2),
        **{f"{k}_s": v for k, v in wall.items()},
        **{f"{k}_cpu_s": v for k, v in cpu.items()},
        **{f"{k}_median_s": round(v, 2) for k, v in m.items()},
        identical_answers_and_scores=True,
        one_by_one_ratio=round(m["separate"] / m["one_by_one"], 2),
        ratio=round(m["separate"] / m["together"], 2),
        cpu_ratio=round(mc["separate"] / mc["together"], 2),
        together_vs_one_by_one=round(m["one_by_one"] / m["together"], 2),
    )


if __name__ == "__main__":
    main()
