"""GPU throughput of `ecombench run`: the hf and vllm backends on the whole bundled suite.

For each backend: items per second, generated tokens per second, and model FLOPs utilisation
(MFU) of the scoring forward passes: 2 x parameters x (prompt + generated tokens) / seconds,
over the GPU's dense bf16 peak (from its name, or --peak-tflops). ratio = vllm items/s over hf
items/s (when both ran). On a machine without CUDA it says so and exits 0.

When both backends ran, it also checks that they agree (the tolerance README "Scaling up"
documents): per task, how many answers are the same string, the score difference, and whether
`ecombench compare`'s paired bootstrap (Holm-corrected) calls it significant. The backends agree
when no task differs significantly.

    python benchmarks/bench_gpu.py --model Qwen/Qwen2.5-7B-Instruct [--tasks ecombench_core] [--backends hf,vllm] [--record]

--record appends the figures, with the device and the date, to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

from _common import report

# Dense bf16 tensor-core peak, TFLOP/s (vendor data sheets; SXM parts).
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0, "RTX 4090": 165.0}


def peak_for(name: str) -> float | None:
    return next((v for k, v in PEAK_TFLOPS.items() if k in name), None)


def measure(backend: str, model: str, base_path: Path, tasks: list[str], out: Path) -> dict:
    from transformers import AutoTokenizer

    from ecombench.run import RunOptions, run
    from ecombench.submissions import load_items

    started = time.perf_counter()
    result = run(RunOptions(model=model, tasks=tasks, backend=backend, use_cache=False, submissions_dir=out, name=backend))
    seconds = time.perf_counter() - started
    items = load_items(out, result.submission)
    tok = AutoTokenizer.from_pretrained(base_path)
    prompt_tokens = sum(len(ids) for ids in tok([i.prompt for i in items], add_special_tokens=False)["input_ids"])
    gen_tokens = sum(len(ids) for ids in tok([i.prediction for i in items], add_special_tokens=False)["input_ids"])
    return {
        "items": len(items),
        "seconds": round(seconds, 2),
        "prompt_tokens": prompt_tokens,
        "generated_tokens": gen_tokens,
        "all_around": result.submission.all_around,
        "items_per_s": round(len(items) / seconds, 2),
        "generated_tokens_per_s": round(gen_tokens / seconds, 1),
        "submission": result.submission,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="model folder, hub id (cached) or adapter")
    parser.add_argument("--tasks", default="ecombench_core")
    parser.add_argument("--backends", default="hf,vllm")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak, if its name is not known here")
    parser.add_argument("--record", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("bench_gpu: no CUDA GPU on this machine; nothing measured")
        report("gpu_throughput", skipped="no CUDA GPU")
        return
    device = torch.cuda.get_device_name(0)
    peak = args.peak_tflops or peak_for(device)
    from transformers import AutoConfig, AutoModelForCausalLM

    from ecombench.tiny import resolve_model

    resolved = resolve_model(args.model)
    with torch.device("meta"):
        params = sum(p.numel() for p in AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(resolved.base_path)).parameters())
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            if backend == "vllm" and find_spec("vllm") is None:
                print("bench_gpu: vllm is not installed (pip install 'ecombench[vllm]'); skipping it", file=sys.stderr)
                continue
            fig = measure(backend, args.model, resolved.base_path, [args.tasks], Path(tmp))
            flops = 2.0 * params * (fig["prompt_tokens"] + fig["generated_tokens"])
            fig["mfu"] = round(flops / fig["seconds"] / (peak * 1e12), 4) if peak else None
            figures[backend] = fig
            print(f"{backend}: {fig['items_per_s']} items/s, {fig['generated_tokens_per_s']} generated tokens/s, MFU {fig['mfu']}")
        agreement = agree(figures["hf"]["submission"], figures["vllm"]["submission"], Path(tmp)) if {"hf", "vllm"} <= figures.keys() else None
    for fig in figures.values():
        fig.pop("submission")
    ratio = figures["vllm"]["items_per_s"] / figures["hf"]["items_per_s"] if {"hf", "vllm"} <= figures.keys() else None
    report(
        "gpu_throughput",
        device=device,
        peak_tflops=peak,
        params=params,
        model=args.model,
        **figures,
        ratio=round(ratio, 2) if ratio else None,
        agreement=agreement,
    )
    if args.record:
        record(Path(__file__).with_name("RESULTS.md"), device, args.model, args.tasks, figures, ratio, agreement)


RESULTS_HEADER = """# GPU figures

Appended by `python benchmarks/bench_gpu.py --model M --record` (see its docstring for what each figure is).

| date | device | model | tasks | backend | items | items/s | generated tokens/s | MFU | vllm/hf items/s | hf-vllm agreement |
|---|---|---|---|---|---|---|---|---|---|---|
"""


def record(path: Path, device: str, model: str, tasks: str, figures: dict, ratio: float | None, agreement: dict | None) -> None:
    from datetime import date

    agreed = "-" if agreement is None else f"{'agree' if agreement['agree'] else 'DIFFER'}, {agreement['same_answers']:.1%} same answers"
    rows = "".join(
        f"| {date.today().isoformat()} | {device} | {model} | {tasks} | {backend} | {fig['items']} | {fig['items_per_s']} | "
        f"{fig['generated_tokens_per_s']} | {fig['mfu']} | {'-' if ratio is None else round(ratio, 2)} | {agreed} |\n"
        for backend, fig in figures.items()
    )
    text = path.read_text(encoding="utf-8") if path.exists() else RESULTS_HEADER
    path.write_text(text + rows, encoding="utf-8")
    print(f"bench_gpu: figures appended to {path}")


def agree(hf, vllm, folder: Path) -> dict:
    """Per task: same answers, score delta (vllm - hf), Holm-corrected p; agree = no significant difference.

    Works on any two submissions of one model in ``folder`` (e.g. two dtypes or batch sizes).
    """
    from ecombench.leaderboard.compare import compare

    result = compare(hf, vllm, folder)
    tasks = {d.task: {"same_answers": f"{d.same_answers}/{d.n_paired}", "delta": round(d.delta, 4), "p_holm": d.p_adjusted} for d in result.tasks}
    differ = [d.task for d in result.tasks if d.significant]
    same = sum(d.same_answers for d in result.tasks) / max(1, sum(d.n_paired for d in result.tasks))
    print(
        f"{hf.name} vs {vllm.name}: {same:.1%} of answers identical; all-around {hf.all_around:.4f} vs {vllm.all_around:.4f}; "
        + (f"significant differences on {', '.join(differ)}" if differ else "no task differs significantly (agree)")
    )
    return {"agree": not differ, "same_answers": round(same, 4), "all_around": [hf.all_around, vllm.all_around], "tasks": tasks}


if __name__ == "__main__":
    main()
