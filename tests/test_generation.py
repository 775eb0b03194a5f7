"""The greedy generation path: batching plan, and answers equal to one-prompt ``model.generate``."""

from __future__ import annotations

import functools
import json
import os

import pytest

from ecombench.backends.hf.generation import Request, greedy_generate, plan_batches
from ecombench.backends.hf.lm import is_greedy, kv_bytes_per_token


@pytest.mark.parametrize(
    ("lengths", "max_new", "budget", "max_rows", "expected"),
    [
        # longest first; rows x (longest prompt + most new tokens) <= budget
        ([10, 30, 20], [10, 10, 10], 80, 8, [[1, 2], [0]]),  # 2 x 40 = 80 fits; a third row would need 3 x 40
        ([5, 5, 5, 5], [1, 1, 1, 1], 1000, 3, [[0, 1, 2], [3]]),  # the row cap
        ([500], [100], 64, 8, [[0]]),  # larger than the budget alone: a batch of one
        ([4, 8], [100, 1], 300, 8, [[1, 0]]),  # width: longest prompt + most new tokens of any row, (8 + 100) x 2 = 216
        ([4, 8], [100, 1], 215, 8, [[1], [0]]),
    ],
)
def test_plan_batches(lengths, max_new, budget, max_rows, expected):
    assert plan_batches(lengths, max_new, budget, max_rows) == expected


def test_plan_batch_budget_worked_case():
    # [2] alone is 30 wide; adding [0] (20 wide) makes 2 x 30 = 60 <= 79, so [2, 0] share a batch.
    assert plan_batches([10, 30, 20], [10, 10, 10], 79, 8) == [[1], [2, 0]]


@pytest.mark.parametrize(
    ("lengths", "new", "expected"),
    [
        # one block: 4 x (1000 + 100) = 4,400 slots + 256; two: 1,100 + 3 x (50 + 100) = 1,550 slots + 2 x 256
        ([1000, 50, 50, 50], 100, [(0, 1), (1, 4)]),
        # a second block saves 2 x 10 = 20 slots and costs 256: one block
        ([60, 50, 50], 0, [(0, 3)]),
        # 600 alone, 200 and 100 together: 600 + 400 + 2 x 256 = 1,512 against 1,800 + 256 (one block),
        # 1,200 + 100 + 512 ([600, 200], [100]) and 900 + 3 x 256 (three blocks)
        ([600, 200, 100], 0, [(0, 1), (1, 3)]),
    ],
)
def test_cache_blocks_split_where_padding_costs_more_than_a_block(lengths, new, expected):
    from ecombench.backends.hf.generation import cache_blocks

    assert cache_blocks(lengths, new, cost=256) == expected


def test_a_batch_of_blocks_costs_its_real_slots():
    """A 1,000-token prompt and three of 50 (100 new tokens each): one padded batch would be 4 x 1,100 = 4,400
    slots, over a 2,000 budget; in blocks it is 1,100 + 3 x 150 = 1,550, so all four decode together."""
    from ecombench.backends.hf.generation import plan_blocks

    lengths, new = [50, 1000, 50, 50], [100] * 4
    assert plan_batches(lengths, new, 2000) == [[1], [0, 2, 3]]
    assert plan_blocks(lengths, new, 2000) == [[1, 0, 2, 3]]
    assert plan_blocks(lengths, new, 1549) == [[1, 0, 2], [3]]  # one slot short: 1,100 + 2 x 150 = 1,400 fit, the last waits
    assert plan_blocks([10, 30, 20], [10, 10, 10], 80, 8) == [[1, 2], [0]]  # 2 x 40 = 80 fits; [10] beside them needs 100
    assert plan_blocks([5, 5, 5, 5], [1, 1, 1, 1], 1000, 3) == [[0, 1, 2], [3]]  # the row cap
    assert plan_blocks([500], [100], 64) == [[0]]  # larger than the budget alone: a batch of one


def test_kv_bytes_per_token_counts_grouped_query_heads():
    from transformers import LlamaConfig

    config = LlamaConfig(hidden_size=64, num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2)
    # 2 layers x (keys + values) x 2 kv heads x head_dim 16 x 4 bytes
    assert kv_bytes_per_token(config, 4) == 2 * 2 * 2 * 16 * 4


@pytest.mark.parametrize(
    ("kwargs", "greedy"),
    [
        ({"do_sample": False, "temperature": 0.0}, True),
        ({"do_sample": False}, True),
        ({"do_sample": True, "temperature": 0.7}, False),
        ({"do_sample": False, "temperature": 0.0, "top_p": 0.9}, False),  # a setting this path would ignore
        ({"do_sample": False, "temperature": 0.0, "repetition_penalty": 1.2}, False),
    ],
)
def test_only_plain_greedy_takes_the_fast_path(kwargs, greedy):
    assert is_greedy(kwargs) is greedy


def _one_at_a_time(model, tokenizer, requests):
    import torch

    out = []
    with torch.inference_mode():
        for r in requests:
            ids = torch.tensor([list(r.tokens)])
            gen = model.generate(
                input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=r.max_new, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
            toks = gen[0, ids.shape[1] :].tolist()
            if tokenizer.eos_token_id in toks:  # generate pads a finished row; the answer ends at EOS
                toks = toks[: toks.index(tokenizer.eos_token_id) + 1]
            out.append(toks)
    return out


def _load(path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(path)


# Every STRIDE-th item of each task of the bundled suite (all 33 tasks, about 410 of its 4061 items: prompts of every
# length and kind, answers of 1 and of 100 tokens). One-prompt generate is the slow half: every item takes about
# 3 minutes on 2 cores; ECOMBENCH_GENERATION_STRIDE=1 checks them all (a nightly run).
STRIDE = int(os.environ.get("ECOMBENCH_GENERATION_STRIDE", "10"))


@pytest.mark.slow
def test_same_tokens_as_one_prompt_generate_on_the_bundled_suite(tiny_model):
    """float32 on CPU: items of every task of the bundled suite get exactly the tokens of one-prompt greedy generate."""
    from ecombench.taskindex import build_index, default_roots

    model, tokenizer = _load(tiny_model)
    requests, items = [], 0
    for task in build_index(default_roots()).select(["ecombench_core", "ecombench_starter"]):
        max_new = int(task.config["generation_kwargs"]["max_gen_toks"])
        lines = task.data_file.read_text(encoding="utf-8").splitlines()
        items += len(lines)
        for line in lines[::STRIDE]:  # the first item of every task, and each STRIDE-th after it
            requests.append(Request(tokenizer(json.loads(line)["input_field"])["input_ids"], max_new))
    assert items > 4000 and len(requests) >= items // STRIDE
    # A small budget makes many batches of mixed lengths, so rows finish (and leave) at different steps.
    ours = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode, token_budget=4096)
    theirs = _one_at_a_time(model, tokenizer, requests)
    differing = [i for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    assert differing == []
    assert any(len(t) == 100 for t in ours) and any(1 < len(t) < 100 for t in ours)  # full-length and early-stopping rows both ran


@pytest.fixture(scope="module")
def random_model(tmp_path_factory, tiny_model):
    """builtin:tiny's tokenizer on freshly seeded weights: never stops early, like an untrained base model."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("random-llama")
    torch.manual_seed(1)
    LlamaForCausalLM(AutoConfig.from_pretrained(tiny_model)).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_full_length_answers_and_stop_strings_match_generate(random_model):
    model, tokenizer = _load(random_model)
    prompts = [f"Product {i}: " + "a sturdy steel travel mug with a lid " * (1 + 7 * (i % 5)) + "\nAnswer: " for i in range(24)]
    requests = [Request(tokenizer(p)["input_ids"], [1, 30, 60][i % 3]) for i, p in enumerate(prompts)]
    ours = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode, token_budget=2048)
    assert ours == _one_at_a_time(model, tokenizer, requests)
    assert [len(t) for t in ours] == [r.max_new for r in requests]  # random weights: every row runs to its limit

    # A stop string ends a row early; the text up to it is the text generate gives up to it.
    full = [tokenizer.decode(t) for t in ours]
    stop = next(ch for ch in "eaoitns " if sum(ch in f[1:] for f in full) >= 8)
    stopped = greedy_generate(
        model, [Request(r.tokens, r.max_new, (stop,)) for r in requests], eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode, token_budget=2048
    )
    for tokens, text, req in zip(stopped, full, requests, strict=True):
        assert tokenizer.decode(tokens).split(stop)[0] == text.split(stop)[0]
        if stop in text:
            assert len(tokens) < req.max_new or text.endswith(stop) or stop in tokenizer.decode(tokens)


@pytest.mark.slow
def test_finished_rows_are_refilled_and_tokens_stay_those_of_generate(random_model):
    """Rows that stop at very different lengths (1 to 60 new tokens) hand their cache row to the next waiting
    prompt, prefilled into it mid-batch; every answer is still one-prompt greedy generate's."""
    model, tokenizer = _load(random_model)
    prompts = [f"Item {i}: " + "a blue cotton shirt " * (1 + (7 * i) % 9) + "\nAnswer: " for i in range(20)]
    limits = [60, 1, 3, 45, 1, 20, 2, 60, 5, 1, 30, 8, 1, 50, 4, 12, 1, 25, 6, 40]
    requests = [Request(tokenizer(p)["input_ids"], n) for p, n in zip(prompts, limits, strict=True)]
    shapes: list[tuple[int, int]] = []
    forward = model.forward

    @functools.wraps(forward)  # keeps forward's signature: the engine reads its cache argument's name from it
    def spy(*args, **kwargs):
        shapes.append(tuple(kwargs["input_ids"].shape))
        return forward(*args, **kwargs)

    model.forward = spy
    # room for about four rows at a time: without refill, five or more batches, each running to its longest row
    budget = 4 * (max(len(r.tokens) for r in requests) + 60)
    ours = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode, token_budget=budget)
    model.forward = forward
    assert ours == _one_at_a_time(model, tokenizer, requests)
    assert [len(t) for t in ours] == limits  # random weights: every row runs to its limit
    first_decode = next(k for k, (_, width) in enumerate(shapes) if width == 1)
    refills = [k for k, (_, width) in enumerate(shapes[first_decode:]) if width > 1]
    assert len(refills) >= 8  # prompts prefilled into freed rows after decoding began
    decode_steps = sum(1 for _, width in shapes if width == 1)
    # without refill each planned batch decodes until its longest row is done
    unrefilled = sum(max(limits[i] for i in batch) - 1 for batch in plan_batches([len(r.tokens) for r in requests], limits, budget))
    assert decode_steps < unrefilled


def test_generation_uses_no_deprecated_cache_argument(random_model):
    """transformers 5.25 deprecates ``past_key_values`` (removed in 5.40): the engine passes the cache by the
    name the installed version takes, so a run raises no FutureWarning and logs no deprecation line."""
    import logging
    import warnings

    from ecombench.backends.hf.generation import cache_kwarg

    model, tokenizer = _load(random_model)
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logging.getLogger("transformers").addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            requests = [Request(tokenizer("a steel mug")["input_ids"], 5), Request(tokenizer("a red travel mug with a lid")["input_ids"], 3)]
            ours = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode)
    finally:
        logging.getLogger("transformers").removeHandler(handler)
    assert ours == _one_at_a_time(model, tokenizer, requests)
    assert not [m for m in seen if "deprecated" in m], seen
    import inspect

    assert cache_kwarg(model) in inspect.signature(model.forward).parameters


@pytest.mark.slow
def test_plain_lm_eval_uses_the_same_generation(tiny_model, tmp_path):
    """``python -m ecombench.lm_eval --model ecombench-hf`` (lm-eval's own CLI) answers as ``ecombench run`` does."""
    import subprocess
    import sys

    from ecombench.paths import builtin_tasks_dir
    from ecombench.run import RunOptions, run
    from ecombench.submissions import load_items

    task = "starter_title_generation"
    ours = run(RunOptions(model="builtin:tiny", tasks=[task], limit=5, submissions_dir=tmp_path / "subs", use_cache=False))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecombench.lm_eval",
            "--model",
            "ecombench-hf",
            "--model_args",
            f"pretrained={tiny_model},dtype=float32",
            "--include_path",
            str(builtin_tasks_dir()),
            "--tasks",
            task,
            "--limit",
            "5",
            "--device",
            "cpu",
            "--batch_size",
            "4",
            "--output_path",
            str(tmp_path / "lm_eval"),
            "--log_samples",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    samples = [json.loads(line) for path in (tmp_path / "lm_eval").rglob(f"samples_{task}_*.jsonl") for line in path.open()]
    theirs = {int(s["doc_id"]): s["resps"][0][0] for s in samples}
    mine = {item.doc_id: item.prediction for item in load_items(ours.path.parent, ours.submission)}
    assert len(theirs) == 5 and theirs == mine


def test_sampling_requests_fall_back_and_keep_their_places(tiny_model):
    """A batch mixing greedy and sampling requests: sampling goes to lm-eval's own path, answers stay in order."""
    from lm_eval.api.instance import Instance

    from ecombench.backends.hf import build_lm
    from ecombench.tiny import resolve_model

    lm = build_lm(resolve_model("builtin:tiny"), device="cpu", dtype="float32", batch_size=4)
    greedy = {"until": [], "max_gen_toks": 8, "do_sample": False}
    sample = {"until": [], "max_gen_toks": 8, "do_sample": True, "temperature": 1.0}
    prompts = ["Title: red steel travel mug\nAnswer: ", "Which is cheapest?\nAnswer: ", "Rate this product\nAnswer: "]
    mixed = [
        Instance("generate_until", {}, (prompts[0], greedy), 0),
        Instance("generate_until", {}, (prompts[1], sample), 1),
        Instance("generate_until", {}, (prompts[2], greedy), 2),
    ]
    answers = lm.generate_until(mixed, disable_tqdm=True)
    alone = lm.generate_until([mixed[0], mixed[2]], disable_tqdm=True)
    assert len(answers) == 3 and isinstance(answers[1], str)
    assert [answers[0], answers[2]] == alone


@pytest.mark.parametrize(
    ("starts", "length", "expected"),
    [
        # one run reads 4 x 600 columns + 256 = 2,656; two runs read 2 x 600 + 256 + 2 x 100 + 256 = 1,912
        ([0, 0, 500, 500], 600, [(0, 2, 0), (2, 4, 500)]),
        # splitting saves 10 columns and costs a call (256): one run
        ([0, 10], 600, [(0, 2, 0)]),
        # rows need not come sorted: the short row in the middle gets a run of its own
        ([0, 550, 0], 600, [(0, 1, 0), (1, 2, 550), (2, 3, 0)]),
    ],
)
def test_chunk_rows_splits_where_padding_costs_more_than_a_call(starts, length, expected):
    from ecombench.backends.hf.generation import chunk_rows

    assert chunk_rows(starts, length, chunk_cost=256) == expected


@pytest.fixture(scope="module")
def gqa_model(tmp_path_factory, tiny_model):
    """A random Llama with grouped-query attention (4 query heads share 2 key/value heads)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    config = AutoConfig.from_pretrained(tiny_model)
    config.num_attention_heads, config.num_key_value_heads = 4, 2
    folder = tmp_path_factory.mktemp("gqa-llama")
    torch.manual_seed(2)
    LlamaForCausalLM(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("which", ["random_model", "gqa_model"])
def test_decoding_reads_each_rows_keys_from_its_own_start_and_keeps_generates_tokens(which, request, monkeypatch):
    """Prompts of 10 and about 200 tokens in one batch: the short rows' attention reads a few dozen key
    columns, not the batch's 200-odd, and every answer is still one-prompt greedy generate's."""
    import transformers.integrations.sdpa_attention as sdpa

    model, tokenizer = _load(request.getfixturevalue(which))
    prompts = ["Answer: " + "a red mug " * (1 if i % 2 else 60) for i in range(6)]
    requests = [Request(tokenizer(p)["input_ids"], 12) for p in prompts]
    lengths = [len(r.tokens) for r in requests]
    keys: list[int] = []
    plain = sdpa.sdpa_attention_forward

    def spy(module, query, key, *args, **kwargs):
        if query.shape[2] == 1:
            keys.append(key.shape[2])
        return plain(module, query, key, *args, **kwargs)

    monkeypatch.setattr(sdpa, "sdpa_attention_forward", spy)
    ours = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode, token_budget=1 << 16)
    monkeypatch.undo()
    assert ours == _one_at_a_time(model, tokenizer, requests)
    assert model.config._attn_implementation == "sdpa"  # restored after the call
    assert min(keys) <= min(lengths) + 1  # the short rows' run: their own prompt and the new token
    assert max(keys) >= max(lengths) + 1


@pytest.mark.parametrize("ragged", [True, False])
def test_one_token_answers_are_prefilled_without_a_cache_row(random_model, ragged):
    """Multiple-choice requests (one new token) are answered by their prefill: no cache kept, no decode step.
    On CPU the prompts are packed into one sequence, each attending to itself alone; without that path,
    prompts of equal length go together. Either way the tokens are generate's."""
    model, tokenizer = _load(random_model)
    prompts = ["Which one? 0. a 1. b\nAnswer: ", "Which one? 0. c 1. d\nAnswer: ", "Pick the cheapest of these three mugs.\nAnswer: "]
    requests = [Request(tokenizer(p)["input_ids"], 1) for p in prompts]
    n = [len(r.tokens) for r in requests]
    assert n[0] == n[1] != n[2]
    calls: list[tuple[tuple[int, int], bool]] = []
    forward = model.forward

    @functools.wraps(forward)
    def spy(*args, **kwargs):
        calls.append((tuple(kwargs["input_ids"].shape), kwargs["use_cache"]))
        return forward(*args, **kwargs)

    model.forward = spy
    ours = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode, ragged_attention=ragged)
    model.forward = forward
    assert ours == _one_at_a_time(model, tokenizer, requests)
    # with the packed path: the 2-token probe that checks the model's attention goes through the interface
    expected = [((1, 2), False), ((1, sum(n)), False)] if ragged else [((2, n[0]), False), ((1, n[2]), False)]
    assert sorted(calls) == sorted(expected)


def test_a_model_with_its_own_attention_code_keeps_plain_sdpa(random_model, monkeypatch):
    """A model whose attention layers do not go through transformers' attention interface (remote code,
    older models) would ignore the packed prompts' boundaries: the probe finds that, and prefill falls
    back to equal-length groups, so the tokens stay generate's."""
    import transformers.models.llama.modeling_llama as llama
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    class OwnAttention:  # what such a model does: always its own sdpa, whatever the config names
        def get_interface(self, name, default):
            return sdpa_attention_forward

    model, tokenizer = _load(random_model)
    prompts = ["Which one? 0. a 1. b\nAnswer: ", "Pick the cheapest of these three mugs, please.\nAnswer: "]
    requests = [Request(tokenizer(p)["input_ids"], 1) for p in prompts]
    shapes: list[tuple[int, int]] = []
    forward = model.forward

    @functools.wraps(forward)
    def spy(*args, **kwargs):
        shapes.append(tuple(kwargs["input_ids"].shape))
        return forward(*args, **kwargs)

    monkeypatch.setattr(llama, "ALL_ATTENTION_FUNCTIONS", OwnAttention())
    model.forward = spy
    ours = greedy_generate(model, requests, eos_ids={tokenizer.eos_token_id}, decode=tokenizer.decode)
    model.forward = forward
    assert sorted(shapes[1:]) == sorted((1, len(r.tokens)) for r in requests)  # after the 2-token probe: one pass per prompt
    assert shapes[0] == (1, 2)
    assert model.config._attn_implementation == "sdpa"
    monkeypatch.undo()
    assert ours == _one_at_a_time(model, tokenizer, requests)


def _with_adapters(base_path, configs):
    """A peft model over ``base_path`` holding one random LoRA adapter per ``(name, rank, target modules)``."""
    import torch
    from peft import LoraConfig, get_peft_model

    model, tokenizer = _load(base_path)
    peft_model = None
    for seed, (name, rank, targets) in enumerate(configs):
        torch.manual_seed(10 + seed)
        config = LoraConfig(r=rank, target_modules=targets, init_lora_weights=False)  # random B: each adapter answers differently
        if peft_model is None:
            peft_model = get_peft_model(model, config, adapter_name=name)
        else:
            peft_model.add_adapter(name, config)
    return peft_model.eval(), tokenizer


@pytest.mark.slow
def test_several_adapters_in_one_pass_answer_as_each_alone(random_model):
    """Rows of two adapters and of the bare base share prefill passes (one adapter each) and decode batches
    (one adapter per row); every answer is the one that adapter, made active, gives in a pass of its own."""
    model, tokenizer = _with_adapters(random_model, [("one", 4, ["q_proj", "v_proj"]), ("two", 8, ["q_proj", "k_proj", "o_proj", "down_proj"])])
    prompts = [f"Item {i}: " + "a blue cotton shirt " * (1 + (5 * i) % 7) + "\nAnswer: " for i in range(10)]
    limits = [30, 1, 12, 1, 25, 3, 1, 18, 8, 30]
    requests = [Request(tokenizer(p)["input_ids"], n) for p, n in zip(prompts, limits, strict=True)]
    budget = 6 * (max(len(r.tokens) for r in requests) + 30)  # a few rows at a time: batches, refills and mixed decode steps
    eos = {tokenizer.eos_token_id}
    alone = {}
    for name in ("one", "two"):
        model.set_adapter(name)
        alone[name] = greedy_generate(model, requests, eos_ids=eos, decode=tokenizer.decode, token_budget=budget)
    with model.disable_adapter():
        alone[None] = greedy_generate(model, requests, eos_ids=eos, decode=tokenizer.decode, token_budget=budget)
    assert alone["one"] != alone["two"] and alone["one"] != alone[None]  # the adapters change answers, so the comparison below means something

    model.set_adapter("one")
    names_seen: list[tuple[str, ...]] = []
    forward = model.forward

    @functools.wraps(forward)
    def spy(*args, **kwargs):
        if "adapter_names" in kwargs:
            names_seen.append(tuple(sorted(set(kwargs["adapter_names"]))))
        return forward(*args, **kwargs)

    model.forward = spy
    together = [Request(r.tokens, r.max_new, adapter=name) for name in ("two", None, "one") for r in requests]
    shared = greedy_generate(model, together, eos_ids=eos, decode=tokenizer.decode, token_budget=budget)
    model.forward = forward
    assert shared == alone["two"] + alone[None] + alone["one"]
    assert ("__base__", "one", "two") in names_seen  # decode steps held rows of all three
    assert model.active_adapter == "one"  # the adapter active before the pass is active after it
