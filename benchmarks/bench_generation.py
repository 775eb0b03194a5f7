"""Where generation time goes on the ShopBench development-set mix, and what reading each row's keys
from its own start (``RaggedAttention``) saves against one attention call over the padded batch.

In-process, the generation call alone (no start-up): the plain 4-layer width-256 random-weight Llama
(answers at full length) on the 96 questions of ``_workload.shopbench_dev_rows`` at 1 or 100 new
tokens, as ``ecombench run`` asks. Every forward pass is timed: prefill passes (several tokens) and
decode steps (one token a row); the attention calls are counted by the key columns they read. Both
sides run interleaved --repeats times at the same token budget and must give the same tokens.
ratio = padded seconds / ragged seconds (higher is better).

    python benchmarks/bench_generation.py --repeats 3                 # the CPU default budget
    python benchmarks/bench_generation.py --repeats 3 --budget 16384  # the former 128 MiB budget
"""

from __future__ import annotations

import argparse
import functools
import inspect
import time

from _common import median, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=None, help="cache slots per batch (default: what ecombench run uses on CPU)")
    args = parser.parse_args()

    import torch
    import transformers.integrations.sdpa_attention as sdpa
    from _workload import plain_model, shopbench_dev_rows
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_utils import AttentionInterface

    from ecombench.backends.hf.generation import Request, greedy_generate
    from ecombench.backends.hf.lm import default_token_budget
    from ecombench.paths import cache_dir

    folder = plain_model(cache_dir() / "bench" / "plain-llama-4x256")
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    budget = args.budget or default_token_budget(model, "cpu")
    requests = [Request(tokenizer(r["input_field"])["input_ids"], 1 if r["is_multiple_choice"] else 100) for r in shopbench_dev_rows()]
    figures: dict[str, float] = {}
    forward, plain_attention = model.forward, sdpa.sdpa_attention_forward
    layers = model.config.num_hidden_layers

    @functools.wraps(forward)
    def timed(*a, **kw):
        started = time.perf_counter()
        out = forward(*a, **kw)
        kind = "decode" if kw["input_ids"].shape[1] == 1 else "prefill"
        figures[f"{kind}_s"] = figures.get(f"{kind}_s", 0.0) + time.perf_counter() - started
        figures[f"{kind}_calls"] = figures.get(f"{kind}_calls", 0) + 1
        return out

    def counted(module, query, key, *a, **kw):
        if query.shape[2] == 1:
            figures["key_columns"] = figures.get("key_columns", 0) + key.shape[0] * key.shape[2] / layers
        return plain_attention(module, query, key, *a, **kw)

    model.forward = timed
    sdpa.sdpa_attention_forward = counted
    AttentionInterface._global_mapping["sdpa"] = counted
    ragged_option = "ragged_attention" in inspect.signature(greedy_generate).parameters
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    answers = {}
    for _ in range(args.repeats):
        for ragged in (False, True) if ragged_option else (False,):
            figures.clear()
            extra = {"ragged_attention": ragged} if ragged_option else {}
            started = time.perf_counter()
            answers[ragged] = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode, token_budget=budget, **extra)
            runs[ragged].append({**figures, "total_s": time.perf_counter() - started})
    if ragged_option:
        assert answers[True] == answers[False], "ragged attention changed the tokens"
    summary = {("ragged" if k else "padded"): {m: round(median([r[m] for r in v]), 2) for m in v[0]} for k, v in runs.items() if v}
    report(
        "generation_breakdown_shopbench_dev",
        budget=budget,
        prompt_tokens=sum(len(r.tokens) for r in requests),
        generated_tokens=sum(map(len, answers[False])),
        threads=torch.get_num_threads(),
        **summary,
        ratio=round(summary["padded"]["total_s"] / summary["ragged"]["total_s"], 2) if ragged_option else None,
    )


if __name__ == "__main__":
    main()
