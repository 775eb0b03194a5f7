"""Data-parallel evaluation: `accelerate launch -m ecombench run` with 2 CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ecombench.submissions import load
from tests.helpers.cli import ACCELERATE_TWO_CPU

pytestmark = pytest.mark.slow

TASKS = "core_rating_mc,core_query_ranking,core_title_generation"


def test_two_processes_split_the_items_and_write_one_submission_with_the_same_scores(tmp_path, tiny_model):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    run = ["-m", "ecombench", "run", "--model", "builtin:tiny", "--tasks", TASKS, "--limit", "30", "--no-cache"]
    single = subprocess.run([sys.executable, *run, "--submissions-dir", str(tmp_path / "one")], capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr[-3000:]
    launch = ACCELERATE_TWO_CPU
    both = subprocess.run([*launch, *run, "--submissions-dir", str(tmp_path / "two")], capture_output=True, text=True, env=env, timeout=300)
    assert both.returncode == 0, both.stderr[-3000:]
    # rank 0 (the one that shows a progress bar) answered half of the 90 questions
    assert "Running generate_until requests: 100%" in both.stderr and "| 45/45" in both.stderr and "/90" not in both.stderr
    [one] = [load(p) for p in (tmp_path / "one").glob("*.json")]
    [two] = [load(p) for p in (tmp_path / "two").glob("*.json")]
    assert {t: (r.n, r.score) for t, r in two.tasks.items()} == {t: (r.n, r.score) for t, r in one.tasks.items()}
    assert (one.generation.processes, two.generation.processes) == (1, 2)  # the record says how it was run
    assert len(list((tmp_path / "two").iterdir())) == 2  # one record, one item file
    items = [json.loads(line) for line in (tmp_path / "two" / two.items_file).read_text().splitlines()]
    assert sorted((i["task"], i["doc_id"]) for i in items) == sorted({(i["task"], i["doc_id"]) for i in items})  # no item twice


@pytest.mark.parametrize(
    ("adapter", "limit"),
    [
        ({"r": 4}, 8),  # vLLM accepts only 1, 8, 16, 32, 64, 128, 256, 320, 512
        ({"r": 16}, 16),
        ({"r": 24}, 32),
        ({"r": 64}, 64),
        ({"r": 16, "rank_pattern": {"q_proj": 96}}, 128),  # a module with a larger rank sets the limit
        ({"r": 300}, 320),
    ],
)
def test_vllm_serves_an_adapter_as_a_lora_request_with_a_rank_limit_vllm_accepts(tmp_path, adapter, limit):
    from ecombench.backends.vllm import vllm_args
    from ecombench.models import ResolvedModel

    (tmp_path / "adapter_config.json").write_text(json.dumps(adapter))
    model = ResolvedModel(spec=str(tmp_path), kind="adapter", base_path=tmp_path / "base", base_spec="base", adapter_path=tmp_path)
    args = vllm_args(model, dtype="bfloat16", tensor_parallel=2, data_parallel=3)
    assert (args["max_lora_rank"], args["lora_local_path"]) == (limit, str(tmp_path))
    assert (args["pretrained"], args["tensor_parallel_size"], args["data_parallel_size"]) == (str(tmp_path / "base"), 2, 3)


def test_vllm_refuses_an_adapter_above_its_largest_rank_limit(tmp_path):
    from ecombench.backends.vllm import vllm_args
    from ecombench.errors import EcombenchError
    from ecombench.models import ResolvedModel

    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 1024}))
    model = ResolvedModel(spec=str(tmp_path), kind="adapter", base_path=tmp_path, base_spec="base", adapter_path=tmp_path)
    with pytest.raises(EcombenchError, match="rank 1024 cannot be served by vLLM"):
        vllm_args(model, dtype="bfloat16")
    plain = ResolvedModel(spec="m", kind="local", base_path=tmp_path, base_spec="m")
    assert "lora_local_path" not in vllm_args(plain, dtype="bfloat16")


def test_lm_eval_builds_a_vllm_engine_config_from_ecombench_arguments(tmp_path, tiny_model, monkeypatch):
    """Where vLLM is installed (not in CI): lm-eval's wrapper, given ecombench's arguments, gets as far
    as vLLM's engine and model configs, which validate every argument; only starting the engine needs a GPU."""
    pytest.importorskip("vllm")
    import lm_eval.models.vllm_causallms as lm_vllm
    import torch
    from vllm.config.lora import LoRAConfig
    from vllm.engine.arg_utils import EngineArgs

    from ecombench.backends.vllm import build_vllm
    from ecombench.models import ResolvedModel
    from ecombench.run.lm_eval_bridge import parse_model_args

    built = {}

    class EngineUntilStart:  # vLLM's LLM up to the point where it would need a GPU
        def __init__(self, **kwargs):
            args = EngineArgs(**kwargs)
            built.update(kwargs, lora=LoRAConfig(max_lora_rank=kwargs["max_lora_rank"]))
            self.llm_engine = type("Engine", (), {"model_config": args.create_model_config()})()

    monkeypatch.setattr(lm_vllm, "LLM", EngineUntilStart)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": 24}))
    model = ResolvedModel(spec=str(tmp_path), kind="adapter", base_path=tiny_model, base_spec="builtin:tiny", adapter_path=tmp_path)
    lm = build_vllm(model, dtype="bfloat16", extra=parse_model_args("max_model_len=1024,gpu_memory_utilization=0.5"))
    assert built["enable_lora"] and built["lora"].max_lora_rank == 32 and built["model"] == str(tiny_model)
    assert built["gpu_memory_utilization"] == 0.5  # --model-args reach vLLM's engine
    assert lm.lora_request.lora_path == str(tmp_path) and lm.max_length == 1024
