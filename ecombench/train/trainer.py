"""The one trainer: LoRA (or full) supervised fine-tuning on prompt/completion records, on TRL's SFTTrainer.

Supports:
- LoRA through peft (rank, alpha, dropout, target modules; ``all-linear`` by default), or a full
  fine-tune (``lora=None``, used for ``builtin:tiny``'s warm-up);
- loss on completions only: records are tokenized here exactly as lm-eval tokenizes them at
  evaluation (prompt without special tokens, then completion and EOS), and TRL masks the prompt;
- padding-free packing: records are packed best-fit-decreasing into ``max_length`` rows (TRL's
  ``bfd``) and stay separate through ``position_ids`` (transformers builds a block-diagonal causal
  mask from them). With flash-attention the rows are flattened into one (varlen kernels); with
  sdpa/eager (CPU) each bin stays a row, so attention costs ``max_length**2`` per bin and not the
  square of the whole batch. ``packing: false`` pads each batch to its longest record instead;
- gradient accumulation; gradient checkpointing (non-reentrant, so it works with a frozen base);
- bf16 on GPUs that support it, fp32 on CPU; QLoRA (4-bit NF4 base through bitsandbytes) on CUDA;
- checkpoints every ``save_steps`` under ``OUTPUT/checkpoints`` and resume from the last one (the result names it);
- training and held-out loss in a rich progress bar and in ``OUTPUT/log.jsonl``; the held-out loss on at most
  ``eval_records`` held-out records, computed once per evaluation (the last step's is not computed again);
- data parallelism when started by ``accelerate launch`` (DDP, or FSDP from an accelerate config):
  only the main process writes the adapter.

The adapter is written file by file with ``adapter_config.json`` last, each by atomic rename, so a
folder that has ``adapter_config.json`` always holds a whole adapter.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.io import atomic_writer, remove_entry, staging_dir
from ecombench.train.config import LoraConfig, OptimConfig
from ecombench.train.data import TrainRecord, heldout_sample

CHECKPOINTS = "checkpoints"
LOG_FILE = "log.jsonl"
ADAPTER_STAGING = ".adapter-"  # save_adapter's staging folders inside the output folder


@dataclass(frozen=True)
class FitResult:
    steps: int
    epochs: float  # the fraction of the training records really seen (2.0: each twice), not of those tokenized
    train_loss: float | None
    heldout_loss: float | None
    tokens: int  # completion + prompt tokens trained on (no padding)
    seconds: float
    world_size: int
    is_main: bool
    heldout_records: int = 0  # the held-out records the loss was computed on (at most eval_records)
    resumed_from: str | None = None  # the checkpoint this run resumed from (checkpoints/checkpoint-N), None if none


def device_and_dtype(dtype: str) -> tuple[str, str]:
    """The device and precision ``ecombench run`` would pick (bf16 on capable GPUs, fp32 on CPU)."""
    from ecombench.devices import default_device, resolve_dtype

    device = default_device()
    dtype = resolve_dtype(dtype, device)
    if dtype == "float16" and device == "cpu":
        raise EcombenchError("train.dtype float16 needs a GPU; use float32 on CPU")
    return device, dtype


def tokenize(tokenizer: Any, records: list[TrainRecord]) -> dict[str, list[list[int]]]:
    """input_ids and completion_mask, tokenized as lm-eval tokenizes a prompt at evaluation time."""
    prompts = tokenizer([r.prompt for r in records], add_special_tokens=False)["input_ids"]
    completions = tokenizer([r.completion for r in records], add_special_tokens=False)["input_ids"]
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    ids, masks = [], []
    for p, c in zip(prompts, completions, strict=True):
        ids.append(p + c + eos)
        masks.append([0] * len(p) + [1] * (len(c) + len(eos)))
    return {"input_ids": ids, "completion_mask": masks}


FIRST_CHUNK = 128  # records tokenized first under a token budget (then twice as many each time, up to the chunk)


def token_dataset(
    tokenizer: Any, records: list[TrainRecord], max_tokens: int | None = None, row_length: int | None = None, chunk: int = 2048
) -> tuple[Any, int]:
    """A ``datasets.Dataset`` of :func:`tokenize`'s columns, built in chunks into Arrow int32 arrays (a Python list of
    ints costs ~9x the memory: 75,000 records took 2.4 GB that way), and its token count.

    With ``max_tokens`` (a run of ``max_steps`` steps can use no more), records are taken in order until that
    many tokens are held (each record counted at most ``row_length``, where training truncates it), so a
    5-step run on 75,000 records tokenizes a few hundred of them: the chunks then start at ``FIRST_CHUNK``
    records and double up to ``chunk`` (a whole first chunk of 2,048 took 1.3 s of the 5-step run's start-up).
    """
    import pyarrow as pa
    from datasets import Dataset

    batches = []
    held = 0  # tokens toward max_tokens (each record at most row_length)
    total = 0  # tokens of the records kept
    start, size = 0, min(FIRST_CHUNK, chunk) if max_tokens is not None else chunk
    while start < len(records):
        part = tokenize(tokenizer, records[start : start + size])
        start, size = start + size, min(2 * size, chunk)
        if max_tokens is not None:
            kept = 0
            for ids in part["input_ids"]:
                if held >= max_tokens:
                    break
                held += min(len(ids), row_length or len(ids))
                kept += 1
            part = {k: v[:kept] for k, v in part.items()}
        total += sum(map(len, part["input_ids"]))
        if part["input_ids"]:
            batches.append(
                pa.record_batch(
                    [pa.array(part["input_ids"], type=pa.list_(pa.int32())), pa.array(part["completion_mask"], type=pa.list_(pa.int8()))],
                    names=["input_ids", "completion_mask"],
                )
            )
        if max_tokens is not None and held >= max_tokens:
            break
    return Dataset(pa.Table.from_batches(batches)), total


def linear_module_names(model: Any) -> set[str]:
    import torch

    names = {name.rsplit(".", 1)[-1] for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    return names - {"lm_head"}


def _check_targets(model: Any, lora: LoraConfig) -> None:
    if isinstance(lora.target_modules, str):
        if lora.target_modules != "all-linear":
            raise EcombenchError(f"lora.target_modules '{lora.target_modules}': use 'all-linear' or a list of module names")
        return
    available = linear_module_names(model)
    missing = sorted(set(lora.target_modules) - available)
    if missing:
        raise EcombenchError(f"lora.target_modules: {', '.join(missing)} not in the model (its linear layers: {', '.join(sorted(available))})")


def load_base(model_path: Path, optim: OptimConfig, device: str, dtype: str, trust_remote_code: bool = False) -> tuple[Any, Any]:
    """The base model and tokenizer, in the training precision (4-bit for QLoRA)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype), "trust_remote_code": trust_remote_code}
    if optim.qlora:
        if device != "cuda":
            raise EcombenchError("train.qlora needs a CUDA GPU (bitsandbytes 4-bit); train without --qlora on this machine")
        try:
            import bitsandbytes  # noqa: F401
            from transformers import BitsAndBytesConfig
        except ImportError as exc:
            raise EcombenchError("train.qlora needs bitsandbytes: pip install bitsandbytes") from exc
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=getattr(torch, dtype)
        )
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=trust_remote_code)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    if optim.qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=optim.gradient_checkpointing)
    return model, tokenizer


def last_checkpoint(out_dir: Path) -> Path | None:
    folder = out_dir / CHECKPOINTS
    found = [p for p in folder.glob("checkpoint-*") if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def clear_staging(out_dir: Path) -> list[Path]:
    """Remove what a killed :func:`save_adapter` left in ``out_dir``: its ``.adapter-*`` staging folders.

    Called by the main process when a training (re)starts into ``out_dir``; only one training writes a
    given output folder, so every staging folder there is a leftover.
    """
    removed = []
    for entry in out_dir.glob(f"{ADAPTER_STAGING}*") if out_dir.is_dir() else []:
        remove_entry(entry)
        removed.append(entry)
    return removed


def _training_ended(checkpoint: Path | None) -> bool:
    """Whether ``checkpoint`` was saved at the run's last step (its global step has reached max_steps)."""
    if checkpoint is None:
        return False
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    steps, planned = state.get("global_step"), state.get("max_steps")
    return isinstance(steps, int) and isinstance(planned, int) and 0 < planned <= steps


def _logged_train_loss(log_history: list[dict[str, Any]]) -> float | None:
    """The mean training loss over the logged steps (each logged value covers the steps since the last)."""
    total, steps, last = 0.0, 0, 0
    for row in log_history:
        if "loss" in row and isinstance(row.get("step"), int) and row["step"] > last:
            total += float(row["loss"]) * (row["step"] - last)
            steps += row["step"] - last
            last = row["step"]
    return total / steps if steps else None


def _logged_eval_loss(log_history: list[dict[str, Any]], step: int) -> float | None:
    """The held-out loss the trainer logged at ``step`` (it evaluates every ``eval_steps``, the last step included)."""
    for row in reversed(log_history):
        if "eval_loss" in row and row.get("step") == step:
            return float(row["eval_loss"])
    return None


def packed_rows_collator(pad_token_id: int) -> Any:
    """TRL's collator, keeping each packed bin as its own row with restarting ``position_ids``.

    No attention mask is passed, so transformers reads sequence boundaries from ``position_ids``
    (``find_packed_sequence_indices``); the few pad tokens at a row's end have label -100.
    """
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    class PackedRows(DataCollatorForLanguageModeling):
        def torch_call(self, examples):
            batch = super().torch_call(examples)
            batch.pop("attention_mask", None)
            return batch

    return PackedRows(pad_token_id=pad_token_id, padding_free=False, return_position_ids=True)


def _checkpointing(enabled: bool, config_class: Any) -> dict[str, Any]:
    """Non-reentrant activation checkpointing (works with a frozen base), on or off under the option's
    current name (transformers 5 renamed it; leaving it unset lets TRL's old-name default warn)."""
    name = "activation_checkpointing" if "activation_checkpointing" in config_class.__dataclass_fields__ else "gradient_checkpointing"
    return {name: enabled, **({f"{name}_kwargs": {"use_reentrant": False}} if enabled else {})}


def _completion_head(model: Any) -> bool:
    """Give ``model`` a fused LM head that scores only the positions with a label (the completions).

    TRL's head scores every position on devices without Triton (all of a packed row: prompts, pads) and
    computes each one's entropy and top-1 too; on a small model that is a large share of a step. This one
    runs TRL's own chunked log-probability kernel on the labelled positions only, as TRL does on Triton
    devices. Each labelled position's log-probability and the gradient reaching the model are the same
    (zeros elsewhere, as before); only the gradient of the LM head's own weight would be summed over
    fewer rows, so the head is swapped only where that weight is frozen (LoRA), and only for plain
    causal LMs (no logit soft-capping or scaling, no MoE router loss). Returns whether it was swapped.
    """
    import functools
    import types

    from trl.kernels import ChunkedLogProbFunction
    from trl.trainer.utils import FusedCausalLMOutput

    config = model.config
    head = model.get_output_embeddings()
    plain = config.get_text_config() is config and not any(
        getattr(config, name, None)
        for name in ("final_logit_softcapping", "logit_scale", "output_multiplier", "lm_head_multiplier", "logits_scaling", "output_router_logits")
    )
    if not plain or head is None or head.weight.requires_grad:
        return False
    trl_forward = model.forward  # TRL's fused forward: everything but fused_lm_head=True calls goes on to it

    @functools.wraps(type(model).forward)
    def forward(self: Any, *args: Any, fused_lm_head: bool = False, labels: Any = None, num_items_in_batch: Any = None, **kwargs: Any) -> Any:
        if not fused_lm_head:
            return trl_forward(*args, labels=labels, num_items_in_batch=num_items_in_batch, **kwargs)
        kwargs["use_cache"] = False
        hidden = self.base_model(*args, **kwargs).last_hidden_state[:, :-1]
        labels = labels[:, 1:]
        lm_head = self.get_output_embeddings()
        mask = labels != -100
        scored = ChunkedLogProbFunction.apply(hidden[mask], lm_head.weight, lm_head.bias, labels[mask], 1.0, 32768, None, 1.0, ("log_probs",))[0]
        log_probs = scored.new_zeros(mask.shape).masked_scatter(mask, scored)  # stays connected when nothing is labelled
        loss = -log_probs.sum() / (mask.sum().clamp(min=1) if num_items_in_batch is None else num_items_in_batch)
        return FusedCausalLMOutput(loss=loss, log_probs=log_probs, label_mask=mask)

    model.forward = types.MethodType(forward, model)
    return True


def _lean_sft_trainer() -> Any:
    """TRL's ``SFTTrainer`` without the per-step metrics nobody here reads, the same loss to the bit.

    TRL's ``compute_loss`` asks its fused LM head for each token's entropy and whether the label is the
    top-1 token, to log ``entropy`` and ``mean_token_accuracy`` (and ``num_tokens``) at every step: on a
    small model those, and scoring every position of a packed row, are a large share of a step. Here the
    head computes the completions' log-probabilities only (:func:`_completion_head`), and the loss is
    TRL's plain negative log-likelihood: ``-sum(log_probs) / num_items_in_batch``. Whatever TRL does
    otherwise (label smoothing, a custom loss, another ``loss_type``, MoE auxiliary losses, sequence
    parallelism, FSDP, returning the outputs) falls back to TRL's own ``compute_loss``, metrics and all.
    """
    import torch
    from accelerate.utils import is_peft_model
    from trl import SFTTrainer

    class LeanSFTTrainer(SFTTrainer):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            parallelism = getattr(self.accelerator, "parallelism_config", None)
            model: Any = self.model
            self.lean_loss = (
                self.compute_loss_func is None
                and self.label_smoother is None
                and getattr(self.args, "loss_type", None) == "nll"
                and not self.aux_loss_enabled
                and not self.is_fsdp_enabled
                and not (parallelism is not None and getattr(parallelism, "sp_enabled", False))
                and _completion_head(model.get_base_model() if is_peft_model(model) else model)
            )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if not self.lean_loss or return_outputs:
                return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)
            inputs["use_cache"] = False
            outputs = model(**inputs, fused_lm_head=True)
            num_tokens = outputs.label_mask.sum() if num_items_in_batch is None else num_items_in_batch
            loss = (-outputs.log_probs).sum() / torch.as_tensor(num_tokens).clamp(min=1)  # TRL's own loss
            if self.args.average_tokens_across_devices and num_items_in_batch is not None:
                loss = loss * (self.accelerator.num_processes // self.get_tp_size())
            return loss

    return LeanSFTTrainer


def _uses_varlen_attention(model: Any) -> bool:
    return "flash" in str(getattr(model.config, "_attn_implementation", ""))


def _callbacks(out_dir: Path, show_progress: bool) -> list[Any]:
    from transformers import TrainerCallback

    class JsonLog(TrainerCallback):
        """Every logged value (training loss, held-out loss, learning rate) as one JSON line."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                with (out_dir / LOG_FILE).open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"step": state.global_step, "epoch": state.epoch, **logs}) + "\n")

    class RichProgress(TrainerCallback):
        """A live bar on a terminal; elsewhere (a file, a pipe) a plain line every few seconds (progress.PlainProgress)."""

        def __init__(self) -> None:
            self.progress: Any = None  # rich's Progress on a terminal
            self.bar: Any = None
            self.plain: Any = None  # progress.PlainProgress elsewhere

        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            import sys

            if not sys.stdout.isatty():
                from ecombench.terminal import console, safe_text
                from ecombench.train.progress import PlainProgress

                out = console()
                self.plain = PlainProgress(state.max_steps, state.global_step, lambda text: out.print(safe_text(text), markup=False, highlight=False))
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                TimeRemainingColumn(),
                transient=False,
            )
            self.progress.start()
            self.bar = self.progress.add_task("", total=state.max_steps, completed=state.global_step)

        def on_step_end(self, args, state, control, **kwargs):
            if self.plain is not None:
                self.plain.update(state.global_step)
            if self.progress is not None:
                self.progress.update(self.bar, completed=state.global_step)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if self.plain is not None and logs:
                self.plain.log(logs)
            if self.progress is not None and logs:
                shown = " ".join(f"{k}={logs[k]:.4f}" for k in ("loss", "eval_loss") if k in logs)
                if shown:
                    self.progress.update(self.bar, description=shown)

        def on_train_end(self, args, state, control, **kwargs):
            if self.plain is not None:
                self.plain.end()
            if self.progress is not None:
                self.progress.stop()

    return [JsonLog(), RichProgress()] if show_progress else [JsonLog()]


def fit(
    model_path: Path,
    train: list[TrainRecord],
    heldout: list[TrainRecord],
    optim: OptimConfig,
    lora: LoraConfig | None,
    out_dir: Path,
    *,
    resume: bool = False,
    show_progress: bool = True,
    trust_remote_code: bool = False,
) -> tuple[Any, Any, FitResult]:
    """Train; return the trained model (peft-wrapped for LoRA), its tokenizer and a summary."""
    import datasets
    from transformers import PrinterCallback
    from trl import SFTConfig

    datasets.disable_progress_bars()
    # peft and TRL still read `is_gradient_checkpointing`, which transformers 5 deprecates on every read:
    # a warning about library internals the user can do nothing about.
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)

    device, dtype = device_and_dtype(optim.dtype)
    model, tokenizer = load_base(model_path, optim, device, dtype, trust_remote_code)
    peft_config = None
    if lora is not None:
        from peft import LoraConfig as PeftLoraConfig

        _check_targets(model, lora)
        peft_config = PeftLoraConfig(
            r=lora.rank,
            lora_alpha=lora.alpha,  # type: ignore[arg-type]  # peft annotates int, but uses alpha as a float scale (alpha / r)
            lora_dropout=lora.dropout,
            target_modules=lora.target_modules,
            task_type="CAUSAL_LM",
        )
    flatten = _uses_varlen_attention(model)
    collator = packed_rows_collator(tokenizer.pad_token_id) if optim.packing and not flatten else None
    # A run of max_steps steps uses at most this many tokens (packed rows of max_length; twice over for slack):
    # the records beyond them (in the mixture's seeded order) are never tokenized.
    world = int(os.environ.get("WORLD_SIZE", "1"))
    budget = 2 * optim.max_steps * optim.batch_size * optim.grad_accum * world * optim.max_length if optim.max_steps else None
    train_ds, tokens_per_epoch = token_dataset(tokenizer, train, budget, optim.max_length)
    evaluated = heldout_sample(heldout, optim.eval_records, optim.seed)
    eval_ds = token_dataset(tokenizer, evaluated)[0] if evaluated else None
    args = SFTConfig(
        output_dir=str(out_dir / CHECKPOINTS),
        max_steps=optim.max_steps or -1,
        num_train_epochs=optim.epochs,
        per_device_train_batch_size=optim.batch_size,
        per_device_eval_batch_size=optim.batch_size,
        gradient_accumulation_steps=optim.grad_accum,
        learning_rate=optim.lr,
        lr_scheduler_type="cosine",
        warmup_steps=optim.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=optim.weight_decay,
        max_length=optim.max_length,
        packing=optim.packing,
        packing_strategy="bfd",
        padding_free=optim.packing,
        completion_only_loss=True,
        **_checkpointing(optim.gradient_checkpointing, SFTConfig),
        bf16=dtype == "bfloat16",
        fp16=dtype == "float16",
        use_cpu=device == "cpu",
        seed=optim.seed,
        data_seed=optim.seed,
        logging_steps=optim.logging_steps,
        save_strategy="steps",
        save_steps=optim.save_steps,
        save_total_limit=2,
        eval_strategy="steps" if eval_ds is not None else "no",
        eval_steps=optim.eval_steps,
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )
    trainer = _lean_sft_trainer()(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=_callbacks(out_dir, show_progress),
    )
    if collator is not None:
        # TRL's bfd packing always flattens a batch into one row (right for varlen kernels) and takes no
        # custom collator at construction; swapping it afterwards keeps its packed dataset.
        trainer.data_collator = collator
    trainer.remove_callback(PrinterCallback)  # the rich bar and log.jsonl replace its printed dicts
    checkpoint = last_checkpoint(out_dir) if resume else None
    resumed_from = str(checkpoint.relative_to(out_dir)) if checkpoint is not None else None
    if checkpoint is not None and trainer.accelerator.is_main_process:  # log.jsonl says where the run picked up
        with (out_dir / LOG_FILE).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"step": int(checkpoint.name.split("-")[-1]), "resumed_from": resumed_from}) + "\n")
    started = time.monotonic()
    if _training_ended(checkpoint) and not (trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled):
        # Training had ended at this checkpoint (the run died saving the adapter). Resuming from it would
        # train one step more whenever max_steps is not a whole number of epochs (transformers steps before
        # it checks the count), so take its weights and state as they are.
        from transformers import TrainerState

        assert checkpoint is not None  # _training_ended() is False for None
        trainer._load_from_checkpoint(str(checkpoint))
        trainer.state = TrainerState.load_from_json(str(checkpoint / "trainer_state.json"))
        train_loss = _logged_train_loss(trainer.state.log_history)
    else:
        output = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        # transformers' training_loss covers only the steps this process ran: a resumed run would record the
        # loss of its last part. The logged losses (restored with the checkpoint) cover the whole run, so an
        # interrupted and resumed run records what an uninterrupted one does.
        logged = _logged_train_loss(trainer.state.log_history)
        train_loss = logged if logged is not None or checkpoint else (float(output.training_loss) if output.training_loss is not None else None)
    seconds = time.monotonic() - started
    state = trainer.state
    heldout_loss = None
    if eval_ds is not None:  # the loss at the last step, if the trainer has just computed it; else computed once here
        heldout_loss = _logged_eval_loss(state.log_history, state.global_step)
        if heldout_loss is None:
            heldout_loss = trainer.evaluate()["eval_loss"]
    # state.epoch counts passes over the records tokenized, which a max_steps run cuts to its token budget.
    seen = float(state.epoch or 0.0) * len(train_ds) / max(len(train), 1)
    result = FitResult(
        steps=state.global_step,
        epochs=round(seen, 4),
        train_loss=train_loss,
        heldout_loss=float(heldout_loss) if heldout_loss is not None else None,
        tokens=int(tokens_per_epoch * float(state.epoch or 0.0)),
        seconds=round(seconds, 3),
        world_size=trainer.accelerator.num_processes,
        is_main=trainer.accelerator.is_main_process,
        heldout_records=len(evaluated),
        resumed_from=resumed_from,
    )
    trainer.accelerator.wait_for_everyone()
    return trainer.accelerator.unwrap_model(trainer.model), tokenizer, result


def save_adapter(model: Any, tokenizer: Any, out_dir: Path, base_spec: str, lineage: Callable[[str], str] | None = None) -> str:
    """Write the adapter into ``out_dir``, ``adapter_config.json`` last; return the adapter's hash.

    ``base_model_name_or_path`` is the base as the user named it (an absolute path for folders), so
    ``ecombench run --model OUT_DIR`` finds the base from any working directory. ``lineage`` makes
    the text of ``training.json`` from the adapter hash; it lands before ``adapter_config.json``.
    Checkpoints are removed once the adapter is whole: they exist only to resume.
    """
    from ecombench.models import canonical_adapter_config, folder_hash

    staging = staging_dir(ADAPTER_STAGING, out_dir)
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        config_path = staging / "adapter_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["base_model_name_or_path"] = base_spec
        with atomic_writer(config_path) as handle:  # module lists sorted: the same adapter, the same bytes
            json.dump(canonical_adapter_config(config), handle, indent=2, sort_keys=True)
        digest = folder_hash(staging)
        if lineage is not None:
            (staging / "training.json").write_text(lineage(digest), encoding="utf-8")
        for file in sorted(staging.iterdir(), key=lambda p: p.name == "adapter_config.json"):
            os.replace(file, out_dir / file.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)
    return digest
