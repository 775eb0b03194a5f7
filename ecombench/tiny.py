"""``builtin:tiny``: a small Llama-architecture model that ecombench builds offline and deterministically.

A byte-level BPE tokenizer is trained on the bundled task text, the weights are seeded, and the
model gets a short seeded warm-up (a full fine-tune through ``ecombench.train``) on a sample of the
ecombench-core training records, so that it answers in the formats the tasks expect. It needs no
network and no GPU.
The folder is cached under the user cache (``$ECOMBENCH_CACHE``, default ``~/.cache/ecombench``),
keyed by a hash of the recipe and its training text, and written atomically.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ecombench import models
from ecombench.io import staging_dir
from ecombench.models import ResolvedModel
from ecombench.paths import builtin_tasks_dir, cache_dir

TINY_SPEC = "builtin:tiny"
RECIPE_VERSION = 2
VOCAB_SIZE = 1024
SEED = 0
ARCH: dict[str, Any] = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
}
# The warm-up teaches answer formats, not the tasks: a few records per task, so LoRA runs on
# top of it still have much to learn.
WARMUP: dict[str, Any] = {"per_task": 48, "epochs": 3, "lr": 2e-3, "batch_size": 2, "max_length": 512}
SPECIAL = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}


def training_text() -> list[str]:
    """Every prompt and target of the bundled tasks, in a fixed order."""
    import json

    from ecombench.taskindex import build_index

    lines: list[str] = []
    index = build_index([builtin_tasks_dir()])
    for path in sorted({t.data_file for t in index.tasks.values() if t.data_file is not None}):
        for line in path.read_text(encoding="utf-8").split("\n"):
            if line.strip():
                row = json.loads(line)
                lines.append(row["input_field"])
                lines.append(str(row["output_field"]))
    return lines


def _recipe_hash(text: list[str]) -> str:
    from ecombench.train.data import core_records_path

    recipe = f"{RECIPE_VERSION}|{VOCAB_SIZE}|{SEED}|{sorted(ARCH.items())}|{sorted(WARMUP.items())}"
    digest = hashlib.sha256(recipe.encode())
    digest.update(core_records_path().read_bytes())
    for line in text:
        digest.update(line.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def train_tokenizer(text: list[str], vocab_size: int):
    """A byte-level BPE tokenizer (``PreTrainedTokenizerFast``) trained on ``text``, with ``SPECIAL`` tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=SPECIAL["unk_token"]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[SPECIAL["pad_token"], SPECIAL["bos_token"], SPECIAL["eos_token"], SPECIAL["unk_token"]],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(text, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **SPECIAL)


def build_tiny(out_dir: Path, text: list[str]) -> None:
    """Train the tokenizer and write a seeded model into ``out_dir`` (which must not exist)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    fast = train_tokenizer(text, VOCAB_SIZE)

    config = LlamaConfig(
        vocab_size=len(fast),
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
        **ARCH,
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config)
    out_dir.mkdir(parents=True)
    model.save_pretrained(out_dir, safe_serialization=True)
    fast.save_pretrained(out_dir)


def warm_up(model_dir: Path, out_dir: Path) -> None:
    """Full fine-tune ``model_dir`` briefly on a seeded sample of the core training records."""
    from ecombench.train.config import DataConfig, OptimConfig
    from ecombench.train.data import build_mixture, core_records_path, load_records
    from ecombench.train.trainer import fit

    records, sources = load_records([str(core_records_path())])  # the other wording: the tasks' own is left to LoRA
    mixture = build_mixture(records, sources, DataConfig(max_per_task=WARMUP["per_task"], eval_fraction=0.0), seed=SEED)
    optim = OptimConfig(
        epochs=WARMUP["epochs"],
        lr=WARMUP["lr"],
        batch_size=WARMUP["batch_size"],
        max_length=WARMUP["max_length"],
        seed=SEED,
        warmup_ratio=0.05,
        save_steps=10**9,
        logging_steps=10**9,
        dtype="float32",
    )
    work = out_dir.parent / "warmup-work"
    work.mkdir()
    model, tokenizer, _ = fit(model_dir, mixture.train, [], optim, None, work, show_progress=False)
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)


_DISTRIBUTED_ENV = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "MASTER_ADDR",
    "MASTER_PORT",
    "GROUP_RANK",
    "ROLE_RANK",
    "ROLE_WORLD_SIZE",
    "TORCHELASTIC_RUN_ID",
    "TORCHELASTIC_RESTART_COUNT",
    "TORCHELASTIC_MAX_RESTARTS",
    "ACCELERATE_USE_CPU",
)


def _build_once_for_all_processes(target: Path) -> Path:
    """Under ``accelerate launch`` the warm-up would itself become a distributed job; the main
    process builds the model in a plain subprocess while the others wait for it."""
    import subprocess

    from ecombench.distributed import state as process_state

    state = process_state()
    if state.is_main_process:
        env = {k: v for k, v in os.environ.items() if k not in _DISTRIBUTED_ENV}
        done = subprocess.run([sys.executable, "-c", "from ecombench.tiny import ensure_tiny; ensure_tiny()"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building builtin:tiny failed:\n{done.stderr[-2000:]}")
    state.wait_for_everyone()
    return target


def ensure_tiny() -> Path:
    """The cached ``builtin:tiny`` folder, built on first use."""
    text = training_text()
    target = cache_dir() / "builtin" / f"tiny-v{RECIPE_VERSION}-{_recipe_hash(text)}"
    if (target / "config.json").is_file():
        return target
    from ecombench.distributed import launched_processes

    if launched_processes() > 1:
        return _build_once_for_all_processes(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the build is a side effect of the command; keep stderr for its errors
    from ecombench.notices import say

    say(f"building builtin:tiny once (about 15 s) into {target}")
    staging = staging_dir(".tiny-", target.parent)
    try:
        build_tiny(staging / "random", text)
        warm_up(staging / "random", staging / "model")
        try:
            os.rename(staging / "model", target)
        except OSError:
            if not (target / "config.json").is_file():  # not a concurrent build that won
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model(spec: str, base: str | None = None) -> ResolvedModel:
    """``ecombench.models.resolve_model`` with the built-in models this module builds."""
    return models.resolve_model(spec, base, builtins={TINY_SPEC: ensure_tiny})
