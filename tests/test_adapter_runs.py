"""Several adapters of one base scored together (``ecombench.adapter_runs``): which runs share a pass, answers equal to
scoring each adapter alone, one load of the base, each adapter's own answer cache and efficiency record."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from ecombench import adapter_runs, submissions
from ecombench.adapter_runs import SharedPass, groups
from ecombench.backends.hf.generation import Request
from ecombench.executors import LocalExecutor, run_many
from ecombench.run import RunOptions, run

TASKS = ["starter_category_mc", "starter_attribute_ner", "starter_title_generation"]
LORAS = [(4, ["q_proj", "v_proj"]), (8, ["q_proj", "k_proj", "o_proj"]), (2, ["v_proj", "down_proj"])]


@pytest.fixture(scope="module")
def adapters(tiny_model, tmp_path_factory) -> list[Path]:
    """Three random LoRA adapters of builtin:tiny (other ranks, other modules), as `ecombench train` names their base."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    root = tmp_path_factory.mktemp("adapters")
    out = []
    for k, (rank, targets) in enumerate(LORAS):
        torch.manual_seed(20 + k)
        model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model), LoraConfig(r=rank, target_modules=targets, init_lora_weights=False))
        folder = root / f"a{k}"
        model.save_pretrained(folder)
        cfg = json.loads((folder / "adapter_config.json").read_text())
        (folder / "adapter_config.json").write_text(json.dumps({**cfg, "base_model_name_or_path": "builtin:tiny"}))
        out.append(folder)
    return out


def _predictions(path: Path) -> dict[tuple[str, int], str]:
    sub = submissions.load(path)
    return {(i.task, i.doc_id): i.prediction for i in submissions.load_items(path.parent, sub)}


class _Spy:
    """Counts base loads and records the adapter of every row each generation pass holds."""

    def __init__(self, monkeypatch) -> None:
        from ecombench.backends import hf
        from ecombench.backends.hf import generation

        self.loads = 0
        self.passes: list[list[str | None]] = []
        build_lm, greedy = hf.build_lm, generation.greedy_generate

        def counted_build(*args, **kwargs):
            self.loads += 1
            return build_lm(*args, **kwargs)

        def recorded(model, requests, **kwargs):
            self.passes.append([r.adapter for r in requests])
            return greedy(model, requests, **kwargs)

        monkeypatch.setattr(hf, "build_lm", counted_build)
        monkeypatch.setattr(generation, "greedy_generate", recorded)


@pytest.mark.slow
def test_adapters_of_one_base_scored_together_answer_as_each_alone(adapters, tmp_path, monkeypatch):
    options = [RunOptions(model=str(a), tasks=TASKS, limit=4, use_cache=False, submissions_dir=tmp_path / "alone") for a in adapters]
    alone = [_predictions(run(o).path) for o in options]
    assert alone[0] != alone[1] and alone[1] != alone[2]  # the adapters answer differently, so equal answers below mean something

    spy = _Spy(monkeypatch)
    monkeypatch.setattr(adapter_runs, "MIXED_ON_CPU", True)  # the shared batches a GPU gets, on this CPU
    together = run_many([replace(o, submissions_dir=tmp_path / "together") for o in options], LocalExecutor())
    assert [o.job.model for o in together] == [str(a) for a in adapters]
    assert [_predictions(o.value) for o in together] == alone
    assert spy.loads == 1  # the base was loaded once, for all three
    # one generation pass answered all three: each request once per adapter, in shared batches
    assert len(spy.passes) == 1 and len(spy.passes[0]) == 3 * len(alone[0]) and len(set(spy.passes[0])) == 3
    for o, path in zip(options, (o.value for o in together), strict=True):
        sub = submissions.load(path)
        assert sub.model.adapter_path == str(Path(o.model).resolve()) and sub.name == Path(o.model).name
        assert set(sub.efficiency.stage_s) == {"load", "generate", "score", "record"} and sub.efficiency.stage_s["generate"] > 0


@pytest.mark.slow
def test_each_adapter_keeps_its_own_answer_cache(adapters, tmp_path, monkeypatch):
    options = [RunOptions(model=str(a), tasks=TASKS[:2], limit=3, submissions_dir=tmp_path / "subs") for a in adapters]
    first = _predictions(run(options[1]).path)  # a1 scored alone first: its answers are in its cache

    spy = _Spy(monkeypatch)
    together = run_many(options, LocalExecutor())
    assert _predictions(together[1].value) == first
    # on CPU each adapter generates in a pass of its own (the base still loaded once); a1's cache held its
    # answers, so only a0 and a2 generated
    assert spy.loads == 1 and [sorted(set(p), key=str) for p in spy.passes] == [["default"], ["adapter2"]]

    spy.passes.clear()
    again = run(options[2])  # a2 alone: the shared pass wrote its answers to a2's own cache
    assert spy.passes == [] and _predictions(again.path) == _predictions(together[2].value)


def _adapter_folder(folder: Path, base: Path, **config: object) -> str:
    folder.mkdir(parents=True)
    cfg = {"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"], "base_model_name_or_path": str(base), **config}
    (folder / "adapter_config.json").write_text(json.dumps(cfg))
    return str(folder)


def _model_folder(folder: Path) -> Path:
    """What model resolution takes for a model folder (nothing here loads it)."""
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def test_only_lora_adapters_of_one_base_with_the_same_settings_share_a_pass(tmp_path):
    base, other_base = _model_folder(tmp_path / "base"), _model_folder(tmp_path / "other-base")
    a, b, c = (_adapter_folder(tmp_path / n, base) for n in ("a", "b", "c"))
    dora = _adapter_folder(tmp_path / "dora", base, use_dora=True)
    ia3 = _adapter_folder(tmp_path / "ia3", base, peft_type="IA3")
    elsewhere = _adapter_folder(tmp_path / "elsewhere", other_base)
    elsewhere2 = _adapter_folder(tmp_path / "elsewhere2", other_base)
    plain = RunOptions(model=a, tasks=["starter_category_mc"])
    runs = [
        plain,  # 0
        replace(plain, model=str(base)),  # 1: the base itself, a full model
        replace(plain, model=elsewhere),  # 2: another base
        replace(plain, model=b),  # 3: joins 0
        replace(plain, model=c, limit=5),  # 4: other settings
        replace(plain, model=dora),  # 5: DoRA: peft mixes no DoRA adapters in a batch
        replace(plain, model=ia3),  # 6: not LoRA
        replace(plain, model=elsewhere2),  # 7: joins 2
        replace(plain, model=c, backend="vllm"),  # 8: another backend
        replace(plain, model=c),  # 9: joins 0
    ]
    assert groups(runs) == [[0, 3, 9], [1], [2, 7], [4], [5], [6], [8]]


class _FakeLM:
    model = None
    token_budget = 1000

    def _eos_ids(self) -> set[int]:
        return {0}

    def tok_decode(self, tokens: list[int]) -> str:
        return ""


def test_a_shared_pass_counts_its_time_to_each_adapter_by_its_tokens(monkeypatch):
    from ecombench.backends.hf import generation

    def fake_generate(model, requests, *, on_done, **kwargs):  # "one" writes 4 tokens, "two" 1
        for j, r in enumerate(requests):
            on_done(j, [7] * (4 if r.adapter == "one" else 1))

    monkeypatch.setattr(generation, "greedy_generate", fake_generate)
    ticks = iter([100.0, 110.0])  # one pass of 10 seconds; a second pass would find no tick
    shared = SharedPass(["one", "two"], [None, None], clock=lambda: next(ticks))
    request = SimpleNamespace(args=("Question?", {"max_gen_toks": 4}))
    answers: list[tuple[int, list[int]]] = []

    shared.start("one")
    shared.generate(_FakeLM(), [request], [Request([1, 2], 4)], lambda i, t: answers.append((i, t)))
    shared.finish("one")
    shared.start("two")
    shared.generate(_FakeLM(), [request], [Request([1, 2], 4)], lambda i, t: answers.append((i, t)))  # held from the pass
    shared.finish("two")

    assert answers == [(0, [7, 7, 7, 7]), (0, [7])]
    # rows of 2 prompt tokens: "one" 2 + 4 = 6 tokens, "two" 2 + 1 = 3; 10 s split 6:3
    assert shared.settle("one") == pytest.approx(10 * 6 / 9 - 10)  # hosted the whole pass, owns two thirds of it
    assert shared.settle("two") == pytest.approx(10 * 3 / 9)


@pytest.mark.slow
def test_a_local_sweep_scores_its_cells_together_as_each_alone(tiny_model, tmp_path, monkeypatch):
    import yaml

    from ecombench.train.sweep import load_sweep, run_sweep

    tasks = ["core_rating_mc", "starter_title_generation"]
    config = {
        "name": "pair",
        "output": str(tmp_path / "sweep"),
        "compare_to_base": False,
        "train": {
            "model": "builtin:tiny",
            "submissions_dir": str(tmp_path / "subs"),
            "data": {"max_per_task": 10},
            "train": {"max_steps": 2, "batch_size": 1, "max_length": 512},
            "eval": {"tasks": tasks, "limit": 3},
        },
        "grid": {"tracks": ["user_behavior_alignment"], "num_capabilities": [1], "tasks_per_capability": [1], "ranks": [2, 4]},
    }
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(config))
    spy = _Spy(monkeypatch)
    result = run_sweep(load_sweep(tmp_path / "sweep.yaml"), executor=LocalExecutor())
    assert [row["id"] for row in result.rows] == ["k1-t1-r2", "k1-t1-r4"]
    # the base loaded once for both cells; on CPU each cell's adapter generates in a pass of its own
    assert spy.loads == 1 and len(spy.passes) == 2 and [len(set(p)) for p in spy.passes] == [1, 1] and spy.passes[0][0] != spy.passes[1][0]
    for row in result.rows:
        adapter = tmp_path / "sweep" / "cells" / row["id"]
        sub_path = tmp_path / "subs" / f"{row['submission']}.json"
        sub = submissions.load(sub_path)
        assert sub.name == f"pair-{row['id']}" and sub.lineage is not None and sub.lineage.rank == row["rank"]
        assert row["all_around"] == sub.all_around and "model-index" in (adapter / "README.md").read_text()  # the card holds the scores
        alone = run(RunOptions(model=str(adapter), tasks=tasks, limit=3, use_cache=False, submissions_dir=tmp_path / "alone"))
        assert _predictions(sub_path) == _predictions(alone.path)
    assert not list((tmp_path / "sweep" / "claims").glob("*.claim"))  # every claim released once its cell was scored
