"""`ecombench train`, `merge` and `sweep` end to end on builtin:tiny (CPU, a few steps each)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from ecombench.submissions import load
from tests.helpers.cli import ACCELERATE_TWO_CPU, invoke_ecombench, run_ecombench

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, cwd: Path | None = None, check: bool = True, new_process: bool = False) -> subprocess.CompletedProcess:
    proc = (run_ecombench if new_process else invoke_ecombench)(*args, cwd=cwd)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stderr[-3000:]}")
    return proc


def write_config(path: Path, **sections) -> Path:
    base = {
        "model": "builtin:tiny",
        "data": {"tasks": ["core_rating_mc"], "max_per_task": 40},
        "lora": {"rank": 4, "alpha": 8},
        "train": {"max_steps": 6, "batch_size": 1, "max_length": 512, "save_steps": 3, "eval_steps": 3, "logging_steps": 2},
        "eval": {"tasks": ["core_rating_mc", "core_unit_price_mc"], "limit": 4},
    }
    for key, value in sections.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    path.write_text(yaml.safe_dump(base))
    return path


def one_line_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ecombench: error")]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("train")
    config = write_config(root / "train.yaml")
    out = root / "adapter"
    subs = root / "subs"
    proc = cli("train", "--config", str(config), "--output", str(out), "--submissions-dir", str(subs), "--name", "rating-r4")
    return root, config, out, subs, proc


def test_train_writes_adapter_lineage_and_submission(trained):
    _root, _, out, subs, proc = trained
    assert "adapter written to" in proc.stdout
    adapter_cfg = json.loads((out / "adapter_config.json").read_text())
    assert adapter_cfg["base_model_name_or_path"] == "builtin:tiny" and adapter_cfg["r"] == 4
    assert not (out / "checkpoints").exists()  # only kept while training, to resume
    mixture = json.loads((out / "mixture.json").read_text())
    assert mixture["tasks"]["core_rating_mc"]["records"] == 40
    assert mixture["train_records"] + mixture["heldout_records"] == 40
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert any("loss" in row for row in log) and any("eval_loss" in row for row in log)

    [record] = subs.glob("*.json")
    sub = load(record)
    lin = sub.lineage
    assert lin is not None
    assert (lin.base_model, lin.rank, lin.alpha, lin.steps, lin.method) == ("builtin:tiny", 4, 8.0, 6, "lora")
    assert lin.mixture == {"core_rating_mc": 40} and lin.tracks == ["user_behavior_alignment"]
    assert lin.held_in == ["core_rating_mc"] and lin.held_out == ["core_unit_price_mc"]
    assert lin.adapter_sha256 == sub.model.adapter_sha256
    assert lin.training_data_sha256 == mixture["records_sha256"]
    # the check covers every record the mixture draws from (so --decontaminate can drop before sampling), not only the 40 drawn
    assert lin.contamination["exact"] == 0 and lin.contamination["records"] == mixture["tasks"]["core_rating_mc"]["available"] > 40
    assert set(sub.tasks) == {"core_rating_mc", "core_unit_price_mc"}


def test_adapter_runs_from_anywhere(trained, tmp_path):
    _root, _, out, subs, _ = trained
    [first] = [load(p) for p in subs.glob("*.json")]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli("run", "--model", str(out), "--tasks", "core_rating_mc,core_unit_price_mc", "--limit", "4", "--submissions-dir", "again", cwd=elsewhere)
    [again] = [load(p) for p in (elsewhere / "again").glob("*.json")]
    assert again.model.kind == "adapter" and again.model.adapter_sha256 == first.model.adapter_sha256
    assert {t: r.score for t, r in again.tasks.items()} == {t: r.score for t, r in first.tasks.items()}


def test_same_output_needs_resume_and_the_same_config(trained):
    _root, config, out, subs, _ = trained
    one_line_error(cli("train", "--config", str(config), "--output", str(out), check=False), "already holds this trained adapter")
    one_line_error(cli("train", "--config", str(config), "--output", str(out), "--rank", "8", check=False), "differs in lora.rank")
    # --resume on a finished adapter scores it again, without training
    proc = cli("train", "--config", str(config), "--output", str(out), "--resume", "--submissions-dir", str(subs))
    assert len(list(subs.glob("*.json"))) == 2 and "6 steps" in proc.stdout


def test_merge_equals_adapter_and_refuses_4bit_base(trained, tmp_path, tiny_model):
    import shutil

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    _, _, out, _, _ = trained
    merged_dir = tmp_path / "merged"
    cli("merge", str(out), "--output", str(merged_dir))
    ids = torch.tensor([[5, 17, 99, 300, 42, 8]])
    with torch.no_grad():
        peft_logits = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), out).eval()(ids).logits
        merged_logits = AutoModelForCausalLM.from_pretrained(merged_dir).eval()(ids).logits
    assert torch.allclose(peft_logits, merged_logits, atol=1e-5)
    assert (merged_dir / "training.json").is_file()
    one_line_error(cli("merge", str(out), "--output", str(merged_dir), check=False), "already exists")

    quantized = tmp_path / "base-4bit"
    shutil.copytree(tiny_model, quantized)
    cfg = json.loads((quantized / "config.json").read_text())
    cfg["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_4bit": True}
    (quantized / "config.json").write_text(json.dumps(cfg))
    one_line_error(cli("merge", str(out), "--base", str(quantized), "--output", str(tmp_path / "m2"), check=False), "4-bit")
    assert not (tmp_path / "m2").exists()


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--rank", "0"], "rank must be a positive integer"),
        (["--target-modules", "q_proj,nope_proj"], "nope_proj not in the model"),
        (["--model", "/no/such/model"], "does not exist"),
        (["--qlora"], "needs a CUDA GPU"),
        (["--resume", "--output", "never-made"], "nothing to resume"),
    ],
)
def test_bad_train_input(tmp_path, args, fragment, tiny_model):
    config = write_config(tmp_path / "train.yaml")
    out = [] if "--output" in args else ["--output", str(tmp_path / "out")]
    one_line_error(cli("train", "--config", str(config), *out, *args, check=False, cwd=tmp_path), fragment)
    assert not (tmp_path / "out" / "adapter_config.json").exists()


def test_empty_mixture_and_unknown_key(tmp_path):
    config = write_config(tmp_path / "train.yaml", data={"tracks": ["multilingual"], "tasks": ["core_rating_mc"]})
    one_line_error(cli("train", "--config", str(config), "--output", str(tmp_path / "o"), check=False), "the mixture is empty")
    config.write_text(config.read_text() + "lerning_rate: 0.1\n")
    one_line_error(cli("train", "--config", str(config), check=False), "unknown key 'lerning_rate'")


def test_contamination_gate(tmp_path, tiny_model):
    data = REPO / "tasks" / "core" / "data" / "core_rating_mc.jsonl"
    eval_rows = [json.loads(line) for line in data.read_text().splitlines()[:5]]
    train_rows = [{"prompt": r["input_field"], "completion": str(r["output_field"]), "task": "leaky"} for r in eval_rows]
    train_rows += [{"prompt": f"Clean question number {i}?\nAnswer: ", "completion": str(i % 5 + 1), "task": "leaky"} for i in range(5)]
    source = tmp_path / "leaky.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in train_rows))
    config = write_config(tmp_path / "train.yaml", data={"sources": [str(source)], "tasks": [], "eval_fraction": 0.0})
    proc = cli("train", "--config", str(config), "--output", str(tmp_path / "o"), check=False)
    one_line_error(proc, "contamination: 5 of 10 training records leak 5 evaluation item(s)")
    # the five copied prompts leak their own items only: the review sentences six other rating items repeat, and the
    # instruction every rating item shares, are a small part of those items
    assert "5 exact copies; most in core_rating_mc (5)" in proc.stderr and f"e.g. {source}:1 holds item 0 of core_rating_mc" in proc.stderr
    assert not (tmp_path / "o").exists()
    cli("train", "--config", str(config), "--output", str(tmp_path / "o"), "--allow-contamination", "--no-eval")
    lineage = json.loads((tmp_path / "o" / "training.json").read_text())
    assert lineage["contamination"]["exact"] == 5 and lineage["contamination"]["leaking_records"] == 5
    assert lineage["contamination"]["trained_overlap"] == {"core_rating_mc": 5}  # what the leaderboard flags
    assert [f["record"] for f in lineage["contamination"]["findings"]] == [f"{source}:{k}" for k in range(1, 6)]


def test_train_on_a_published_folder_with_capabilities_and_decontamination(tmp_path, tiny_model):
    """The published ShopBench layout (JSON arrays per sub-task, no task names, 2 empty answers, the benchmark's own
    instruction templates) trains with no conversion; a leak of 30 lightly edited evaluation items is refused, and
    --decontaminate trains on the rest and records what it dropped."""
    from tests.helpers.published import leak_rows, write_as_published

    published = tmp_path / "published"
    dirt = write_as_published(published)  # with two 0-byte files and 3 multiple-choice answers not among their options
    mixture = tmp_path / "mixture.yaml"
    mixture.write_text(
        "capabilities:\n  user_behavior_alignment: [mcq_rp, 'rank_*']\n  concept_understanding: ['ner_*', mcq_sap, gen_tg]\n  knowledge_reasoning: ['leak_*']\n"
    )
    config = write_config(tmp_path / "train.yaml", data={"sources": [str(published)], "tasks": [], "max_per_task": 20, "mixture": str(mixture)})
    # without the leak folder, knowledge_reasoning's pattern matches nothing: a typo is an error naming it
    proc = cli("train", "--config", str(config), "--output", str(tmp_path / "o0"), check=False)
    one_line_error(proc, "data.capabilities.knowledge_reasoning: 'leak_*' matches no task")
    leak = tmp_path / "leak"
    leak.mkdir()
    (leak / "COPY.json").write_text(json.dumps(leak_rows(30), indent=2))
    config = write_config(
        tmp_path / "train.yaml",
        data={"sources": [str(published), str(leak)], "tasks": [], "max_per_task": 20, "mixture": str(mixture)},
        eval={"tasks": ["core_title_generation", "core_category_mc", "core_rating_mc"], "limit": 2},  # what the check compares against
    )
    proc = cli("train", "--config", str(config), "--output", str(tmp_path / "o1"), check=False)
    one_line_error(proc, "contamination: 30 of 208 training records leak 37 evaluation item(s) (20 exact copies")
    assert "Pass --decontaminate" in proc.stderr and not (tmp_path / "o1").exists()

    subs = tmp_path / "subs"
    proc = cli("train", "--config", str(config), "--output", str(tmp_path / "o2"), "--decontaminate", "--submissions-dir", str(subs), "--name", "pub")
    assert f"{published}/MCQ/SAP.json: JSON array of shopbench rows (29 records, 1 skipped)" in proc.stdout
    assert "skipped 2 bad row(s): 2 empty answer (first at " in proc.stdout
    assert f"skipped 2 empty file(s): {dirt['QPR']}, {dirt['CR']}; --strict refuses them instead" in proc.stdout
    # PRP's 3, and a leaked category question whose edit (the first "1" made "7") renamed its option "1." to "7."
    assert f"flagged 4 row(s), trained on: 4 answer not among the options (first at {dirt['PRP']}:14)" in proc.stdout
    assert "--decontaminate: dropped the 30 leaking record(s); training on the other 178" in proc.stdout
    lineage = load(next(subs.glob("*.json"))).lineage
    assert lineage is not None
    assert lineage.capabilities == {"concept_understanding": 60, "user_behavior_alignment": 40}  # 20 per task; the leak's records all dropped
    assert lineage.contamination["decontaminated"] == 30 and lineage.contamination["trained_overlap"] == {}
    assert lineage.data["skipped"]["by_kind"] == {"empty answer": 2} and lineage.data["decontaminated"] == 30
    assert lineage.data["skipped"]["empty_files"] == [f"{dirt['QPR']}: empty (no rows)", f"{dirt['CR']}: empty (no rows)"]
    assert lineage.data["flagged"]["by_kind"] == {"answer not among the options": 4}
    assert lineage.data["flagged"]["examples"]["answer not among the options"][0].startswith(f"{dirt['PRP']}:14: the answer 2 is not among")
    assert "leak_copy" not in lineage.mixture and lineage.mixture["mcq_rp"] == 20
    # The adapter's model card: base, mixture, the closing scores as model-index (peft leaves an empty template)
    sub = load(next(subs.glob("*.json")))
    card = (tmp_path / "o2" / "README.md").read_text()
    meta = yaml.safe_load(card.split("---")[1])
    assert meta["base_model"] == "builtin:tiny" and meta["library_name"] == "peft"
    scores = {r["task"]["name"]: r["metrics"][0]["value"] for r in meta["model-index"][0]["results"]}
    assert scores["All-Around"] == round(sub.all_around, 6) and scores["core_rating_mc"] == round(sub.tasks["core_rating_mc"].score, 6)
    assert "| user_behavior_alignment | 40 |" in card and "30 dropped by --decontaminate" in card


HELD_IN = ["core_praised_aspects_ner", "core_rating_mc", "core_review_aspect_retrieval"]


def test_training_on_a_tasks_records_improves_it_significantly(tmp_path, tiny_model):
    """Issue 25's proof on the embedded default: LoRA on three bundled tasks' training records (``core``: both wordings)
    lifts each of them over the untrained builtin:tiny on all of its items, significant by the paired test that
    `ecombench compare` runs (p < 0.01 after Holm), seeded. The base answers "2" to nearly everything (0.000, 0.115 and
    0.151), so the gain is what the records taught: aspects read from the review, and for the rating the most frequent
    answer (docs/training.md, "What LoRA on builtin:tiny shows")."""
    from ecombench.leaderboard.compare import compare

    subs = tmp_path / "subs"
    cli("run", "--model", "builtin:tiny", "--tasks", ",".join(HELD_IN), "--name", "base", "--submissions-dir", str(subs))
    config = write_config(
        tmp_path / "train.yaml",
        data={"tasks": HELD_IN, "max_per_task": None},
        lora={"rank": 16, "alpha": 32, "dropout": 0.0},
        train={"max_steps": None, "epochs": 6, "lr": 0.003, "batch_size": 2, "max_length": 512, "save_steps": 10_000, "eval_steps": 10_000},
        eval={"tasks": HELD_IN, "limit": None},
    )
    cli("train", "--config", str(config), "--output", str(tmp_path / "adapter"), "--submissions-dir", str(subs), "--name", "trained")
    by_name = {s.name: s for s in (load(p) for p in subs.glob("*.json"))}
    result = compare(by_name["base"], by_name["trained"], subs)
    assert by_name["trained"].lineage is not None and sorted(by_name["trained"].lineage.held_in) == HELD_IN
    for delta in result.tasks:
        assert delta.n_paired == by_name["base"].tasks[delta.task].n  # every item, paired by content
        assert delta.delta >= 0.05 and delta.p_adjusted is not None and delta.p_adjusted < 0.01, delta


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(folder / "adapter_model.safetensors")


def test_sigkill_then_rerun_gives_the_uninterrupted_result(tmp_path, tiny_model):
    """Killing `train` leaves no adapter; the same command resumes from the last checkpoint, same weights."""
    import torch

    config = write_config(
        tmp_path / "train.yaml",
        data={"tasks": ["core_rating_mc", "core_unit_price_mc"], "max_per_task": 200},
        train={"max_steps": 40, "batch_size": 4, "save_steps": 5, "eval_steps": 100, "logging_steps": 5},
    )
    whole = tmp_path / "whole"
    cli("train", "--config", str(config), "--output", str(whole), "--no-eval", new_process=True)  # each run of this test in a process of its own

    out = tmp_path / "killed"
    args = [sys.executable, "-m", "ecombench", "train", "--config", str(config), "--output", str(out), "--no-eval"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + 240
    while not (out / "checkpoints" / "checkpoint-5" / "trainer_state.json").is_file():
        assert proc.poll() is None and time.monotonic() < deadline, "training ended before its first checkpoint"
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "adapter_config.json").exists(), "a killed run must leave no adapter"
    rerun = cli("train", "--config", str(config), "--output", str(out), "--no-eval", new_process=True)
    state = json.loads((out / "training.json").read_text())
    assert state["steps"] == 40
    # the rerun says where it picked up, and its lineage names that checkpoint (the uninterrupted run's names none)
    assert re.fullmatch(r"checkpoints/checkpoint-\d+", state["resumed_from"] or "") and state["fit"]["resumed_from"] == state["resumed_from"]
    assert f"resuming from {state['resumed_from']} (the last checkpoint in {out})" in rerun.stdout
    assert f"resumed from {state['resumed_from']}" in rerun.stdout.splitlines()[-1]
    assert json.loads((whole / "training.json").read_text())["resumed_from"] is None
    a, b = _weights(whole), _weights(out)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key


def test_sweep_draws_its_plot(tmp_path, tiny_model):
    sweep = {
        "name": "mini",
        "output": str(tmp_path / "sweep"),
        "train": {
            "model": "builtin:tiny",
            "submissions_dir": str(tmp_path / "subs"),
            "data": {"max_per_task": 10},
            "train": {"max_steps": 3, "batch_size": 1, "max_length": 512},
            "eval": {"tasks": ["core_rating_mc", "core_cheapest_mc"], "limit": 3},
        },
        "grid": {"tracks": ["user_behavior_alignment", "knowledge_reasoning"], "num_capabilities": [1, 2], "tasks_per_capability": [1], "ranks": [2]},
    }
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep))
    proc = cli("sweep", "--config", str(path))
    assert "plot.png" in proc.stdout
    import pandas as pd

    table = pd.read_csv(tmp_path / "sweep" / "results.csv")
    assert list(table["capabilities"]) == [1, 2] and list(table["training_tasks"]) == [1, 2]
    # the first task (by name) of each track: knowledge_reasoning's core_cheapest_mc is held in only for k=2
    assert list(table["held_in"].isna()) == [True, False]
    for folder in (tmp_path / "sweep", tmp_path / "subs" / "sweeps" / "mini"):
        assert (folder / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The untrained base is scored once on the same tasks; a cell with held-in tasks gets its gain over the base
    # on those items, with a 95% interval around it.
    [base] = [load(p) for p in (tmp_path / "subs").glob("*.json") if load(p).name == "mini-base"]
    assert base.lineage is None and set(base.tasks) == {"core_rating_mc", "core_cheapest_mc"}
    k2 = table[table["capabilities"] == 2].iloc[0]
    assert k2["held_in_base"] == pytest.approx(base.tasks["core_cheapest_mc"].score)
    assert k2["held_in_gain"] == pytest.approx(k2["held_in"] - k2["held_in_base"])
    # no interval (NaN) where no held-in item scores differently: 3 items say nothing of the gain then
    assert (k2["gain_low"] <= k2["held_in_gain"] <= k2["gain_high"] or pd.isna(k2["gain_low"])) and 0 < k2["gain_p"] <= 1
    assert (table["base_all_around"] == base.all_around).all()
    assert len(list((tmp_path / "subs").glob("*.json"))) == 3
    # a finished sweep is kept: re-running trains nothing and scores nothing new
    cli("sweep", "--config", str(path))
    assert len(list((tmp_path / "subs").glob("*.json"))) == 3


def test_two_process_data_parallel_training_writes_one_adapter_and_one_submission(tmp_path, tiny_model):
    """`accelerate launch -m ecombench train` with 2 CPU processes (gloo): DDP, one result."""
    config = write_config(tmp_path / "train.yaml", train={"max_steps": 4, "batch_size": 1, "save_steps": 2}, eval={"tasks": ["core_rating_mc"], "limit": 4})
    cmd = [
        *ACCELERATE_TWO_CPU,
        "-m",
        "ecombench",
        "train",
        "--config",
        str(config),
        "--output",
        str(tmp_path / "ddp"),
        "--submissions-dir",
        str(tmp_path / "subs"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("adapter written to") == 1
    [record] = (tmp_path / "subs").glob("*.json")
    lineage = load(record).lineage
    assert lineage.world_size == 2 and lineage.effective_batch == 2 and lineage.steps == 4
    assert len(list((tmp_path / "subs").glob("*.items.jsonl"))) == 1


@pytest.mark.parametrize("enabled", [False, True])
def test_the_checkpointing_setting_is_what_the_trainer_gets(tmp_path, enabled):
    # TRL's SFTConfig defaults gradient checkpointing to on; `gradient_checkpointing: false` must turn it off
    import warnings

    from trl import SFTConfig

    from ecombench.train.trainer import _checkpointing

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # and no deprecation warning on the user's terminal
        args = SFTConfig(output_dir=str(tmp_path), use_cpu=True, **_checkpointing(enabled, SFTConfig))
    assert args.gradient_checkpointing is enabled
    assert (args.gradient_checkpointing_kwargs or {}).get("use_reentrant", False) is False


def _adapter_folder(folder: Path, targets: list[str], weights: bytes) -> Path:
    folder.mkdir(parents=True)
    config = {"r": 4, "lora_alpha": 8, "peft_type": "LORA", "target_modules": targets, "base_model_name_or_path": "builtin:tiny"}
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2))
    (folder / "adapter_model.safetensors").write_bytes(weights)
    return folder


def test_adapter_hash_is_its_weights_and_its_sorted_config(tmp_path):
    from ecombench.models import folder_hash

    a = _adapter_folder(tmp_path / "a", ["q_proj", "v_proj", "o_proj"], b"weights-1")
    b = _adapter_folder(tmp_path / "b", ["v_proj", "o_proj", "q_proj"], b"weights-1")
    # leftovers of a save killed midway, and of checkpoints, are no part of the adapter
    (b / ".adapter-xyz").mkdir()
    (b / ".adapter-xyz" / "adapter_model.safetensors").write_bytes(b"half-written")
    (b / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    (b / "checkpoints" / "checkpoint-3" / "adapter_model.safetensors").write_bytes(b"weights-0")
    (b / ".adapter_config.json.tmp").write_text("{}")
    assert folder_hash(a) == folder_hash(b)
    assert folder_hash(_adapter_folder(tmp_path / "c", ["q_proj", "v_proj", "o_proj"], b"weights-2")) != folder_hash(a)
    d = _adapter_folder(tmp_path / "d", ["q_proj", "v_proj", "o_proj"], b"weights-1")
    (d / "adapter_config.json").write_text(json.dumps({**json.loads((d / "adapter_config.json").read_text()), "r": 8}))
    assert folder_hash(d) != folder_hash(a)


def test_model_folder_hash_ignores_hidden_entries(tmp_path):
    from ecombench.models import folder_hash

    model = tmp_path / "model"
    (model / "sub").mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "model.safetensors").write_bytes(b"w")
    (model / "sub" / "extra.safetensors").write_bytes(b"x")
    before = folder_hash(model)
    (model / ".cache" / "huggingface").mkdir(parents=True)
    (model / ".cache" / "huggingface" / "model.safetensors").write_bytes(b"metadata")
    (model / ".model.safetensors.tmp.safetensors").write_bytes(b"partial")
    assert folder_hash(model) == before
    (model / "sub" / "extra.safetensors").unlink()  # weights in subfolders of a full model still count
    assert folder_hash(model) != before


def test_restart_removes_leftover_adapter_staging(tmp_path):
    from ecombench.train.trainer import clear_staging

    out = tmp_path / "out"
    (out / ".adapter-abc123").mkdir(parents=True)
    (out / ".adapter-abc123" / "adapter_model.safetensors").write_bytes(b"half-written")
    (out / ".adapter-file").write_text("x")
    (out / ".other-keep").mkdir()
    (out / "adapter-not-staging").mkdir()
    (out / "log.jsonl").write_text("")
    clear_staging(out)
    assert sorted(p.name for p in out.iterdir()) == [".other-keep", "adapter-not-staging", "log.jsonl"]
    clear_staging(tmp_path / "missing")  # no folder yet: nothing to do


def test_train_resumed_from_its_final_checkpoint_records_max_steps(tmp_path, tiny_model):
    """A run killed while saving the adapter leaves its final checkpoint; resuming from it trains no
    further step (transformers ran one more when max_steps is not a whole number of epochs)."""
    import torch

    from ecombench.models import folder_hash
    from ecombench.train.config import LoraConfig, OptimConfig
    from ecombench.train.data import TrainRecord
    from ecombench.train.trainer import fit, last_checkpoint, save_adapter

    records = [TrainRecord(f"Question {i}?\nAnswer: ", str(i % 5 + 1)) for i in range(2)]
    optim = OptimConfig(max_steps=3, batch_size=1, packing=False, max_length=64, save_steps=1, logging_steps=1, dtype="float32")
    lora = LoraConfig(rank=2, alpha=4, target_modules=["v_proj", "q_proj", "o_proj"])  # 2 steps an epoch: 3 is not whole
    out = tmp_path / "out"
    model, _, first = fit(tiny_model, records, [], optim, lora, out, show_progress=False)
    assert first.steps == 3 and last_checkpoint(out).name == "checkpoint-3"
    trained = {k: v.clone() for k, v in model.state_dict().items() if "lora_" in k}
    model, tokenizer, again = fit(tiny_model, records, [], optim, lora, out, resume=True, show_progress=False)
    assert again.steps == 3 and again.epochs == first.epochs
    assert again.train_loss is not None and again.train_loss > 0
    resumed = {k: v for k, v in model.state_dict().items() if "lora_" in k}
    assert trained.keys() == resumed.keys() and all(torch.equal(trained[k], resumed[k]) for k in trained)

    digest = save_adapter(model, tokenizer, out, "builtin:tiny")
    assert json.loads((out / "adapter_config.json").read_text())["target_modules"] == ["o_proj", "q_proj", "v_proj"]
    assert digest == folder_hash(out) and not (out / "checkpoints").exists()


@pytest.mark.slow
def test_a_resumed_run_records_the_loss_of_the_whole_run(tmp_path, tiny_model):
    """Issue 26 (17): resumed from a middle checkpoint, the same weights and the same train_loss as uninterrupted."""
    import shutil

    from ecombench.train.config import LoraConfig, OptimConfig
    from ecombench.train.data import TrainRecord
    from ecombench.train.trainer import fit

    records = [TrainRecord(f"Question {i}?\nAnswer: ", str(i % 5 + 1)) for i in range(4)]
    optim = OptimConfig(max_steps=4, batch_size=1, packing=False, max_length=64, save_steps=2, logging_steps=1, dtype="float32")
    lora = LoraConfig(rank=2, alpha=4, target_modules=["v_proj", "q_proj"])
    whole_dir, resumed_dir = tmp_path / "whole", tmp_path / "resumed"
    _, _, whole = fit(tiny_model, records, [], optim, lora, whole_dir, show_progress=False)
    shutil.copytree(whole_dir, resumed_dir)
    shutil.rmtree(resumed_dir / "checkpoints" / "checkpoint-4")  # as if killed after step 2's checkpoint
    _, _, resumed = fit(tiny_model, records, [], optim, lora, resumed_dir, resume=True, show_progress=False)
    assert resumed.steps == whole.steps == 4
    assert resumed.train_loss == pytest.approx(whole.train_loss, rel=1e-5)


def test_heldout_loss_once_per_evaluation_on_a_capped_sample_epochs_seen_and_the_checkpoint_resumed(tmp_path, tiny_model):
    """Issue 34 (5): the held-out loss is computed once per evaluation (the last step's was computed again after
    training) on at most eval_records held-out records; epochs is the fraction of the training records seen, not
    of the few the step budget tokenized; a resumed run names the checkpoint it resumed from."""
    import shutil

    from ecombench.train.config import LoraConfig, OptimConfig
    from ecombench.train.data import TrainRecord
    from ecombench.train.trainer import fit

    records = [TrainRecord(f"Item {i}:", " ".join(["word"] * 80)) for i in range(100)]  # each longer than max_length
    heldout = [TrainRecord(f"Held {i}:", "word word") for i in range(10)]
    optim = OptimConfig(max_steps=6, batch_size=2, packing=False, max_length=64, save_steps=3, eval_steps=3, eval_records=4, logging_steps=3, dtype="float32")
    lora = LoraConfig(rank=2, alpha=4, target_modules=["v_proj", "q_proj"])
    out = tmp_path / "out"
    _, _, result = fit(tiny_model, records, heldout, optim, lora, out, show_progress=False)
    logged = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    evaluations = [row for row in logged if "eval_loss" in row]
    assert [row["step"] for row in evaluations] == [3, 6]  # steps 3 and 6, each once
    assert result.heldout_loss == evaluations[-1]["eval_loss"] and result.heldout_records == 4
    # 6 steps x 2 records = 12 of the 100 records seen (the budget tokenized 2 x 6 x 2 x 64 tokens: 24 records)
    assert result.epochs == 0.12 and result.resumed_from is None

    shutil.rmtree(out / "checkpoints" / "checkpoint-6")  # as if killed after step 3's checkpoint
    _, _, resumed = fit(tiny_model, records, heldout, optim, lora, out, resume=True, show_progress=False)
    assert resumed.resumed_from == "checkpoints/checkpoint-3" and resumed.steps == 6 and resumed.epochs == 0.12
    later = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()][len(logged) :]
    assert later[0] == {"step": 3, "resumed_from": "checkpoints/checkpoint-3"}


def test_the_loss_held_out_loss_and_adapter_are_trls_without_its_per_step_metrics(tmp_path, tiny_model, monkeypatch):
    """Issue 39 (3): TRL's per-step entropy and token accuracy are not computed; the logged training and held-out
    losses and the trained LoRA weights are TRL's own SFTTrainer's, bit for bit, with the same seed."""
    import torch
    from trl import SFTTrainer

    from ecombench.train import trainer
    from ecombench.train.config import LoraConfig, OptimConfig
    from ecombench.train.data import TrainRecord

    records = [TrainRecord(f"Review {i}: {'good ' * (i % 7)}Rating?", f" {i % 5 + 1}") for i in range(40)]
    heldout = [TrainRecord(f"Review held {i}: fine. Rating?", " 3") for i in range(4)]
    optim = OptimConfig(max_steps=4, batch_size=2, max_length=64, save_steps=100, eval_steps=2, logging_steps=1, dtype="float32")
    lora = LoraConfig(rank=4, alpha=8)

    def train(out: Path) -> tuple[list[dict], dict]:
        model, _, _ = trainer.fit(tiny_model, records, heldout, optim, lora, out, show_progress=False)
        rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
        weights = {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}
        return rows, weights

    ours, our_weights = train(tmp_path / "ours")
    monkeypatch.setattr(trainer, "_lean_sft_trainer", lambda: SFTTrainer)
    theirs, their_weights = train(tmp_path / "trl")

    def losses(rows: list[dict]) -> list[tuple]:
        return [(r["step"], r.get("loss"), r.get("eval_loss")) for r in rows if "loss" in r or "eval_loss" in r]

    assert len(losses(theirs)) == 6  # 4 training losses, 2 held-out ones
    assert losses(ours) == losses(theirs)
    assert our_weights.keys() == their_weights.keys() and all(torch.equal(our_weights[k], their_weights[k]) for k in our_weights)
    assert any("mean_token_accuracy" in r for r in theirs) and not any("mean_token_accuracy" in r or "entropy" in r for r in ours)
