"""Continuous batching (refilled rows) against the same engine with finished rows left empty.

In-process, one model, the generation call alone (no start-up): a random-weight 4-layer, width-256
Llama (never stops early, like an untrained base model) on prompts whose answers are limited to
very different lengths (1 to 100 new tokens, the mix of the ShopBench task types). Both sides run
the same plan, interleaved, --repeats times; the tokens must be equal. ratio = empty-rows seconds /
refilled seconds (higher is better).

    python benchmarks/bench_refill.py --prompts 64 --repeats 3
"""

from __future__ import annotations

import argparse
import time

from _common import median, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=int, default=4096, help="cache slots per batch (rows x (longest prompt + most new tokens))")
    args = parser.parse_args()

    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    from ecombench.backends.hf.generation import Request, greedy_generate
    from ecombench.tiny import resolve_model

    tiny = resolve_model("builtin:tiny").base_path
    torch.manual_seed(1)
    model = LlamaForCausalLM(AutoConfig.from_pretrained(tiny)).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    limits = [1, 100, 1, 10, 1, 100, 3, 50]  # multiple choice, generation, ranking, extraction ... (max_gen_toks of the task types)
    requests = [
        Request(tokenizer(f"Item {i}: " + "a blue cotton shirt with buttons " * (2 + (7 * i) % 11) + "\nAnswer: ")["input_ids"], limits[i % len(limits)])
        for i in range(args.prompts)
    ]
    eos = {tokenizer.eos_token_id}
    seconds: dict[bool, list[float]] = {True: [], False: []}
    answers: dict[bool, list[list[int]]] = {}
    for _ in range(args.repeats):
        for refill in (False, True):  # interleaved: a busy machine slows both sides alike
            started = time.perf_counter()
            answers[refill] = greedy_generate(model, requests, eos_ids=eos, decode=tokenizer.decode, token_budget=args.budget, refill=refill)
            seconds[refill].append(time.perf_counter() - started)
    assert answers[True] == answers[False], "refilled rows changed the tokens"
    empty, refilled = median(seconds[False]), median(seconds[True])
    report(
        "refill",
        prompts=args.prompts,
        generated_tokens=sum(map(len, answers[True])),
        empty_rows_s=round(empty, 2),
        refilled_s=round(refilled, 2),
        ratio=round(empty / refilled, 2),
        threads=torch.get_num_threads(),
    )


if __name__ == "__main__":
    main()
