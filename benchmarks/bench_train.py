"""LoRA training throughput: ecombench's trainer against a plain transformers Trainer + peft.

Both train the same LoRA (rank 16, all linear layers) on the same model and the same records of
the ecombench-core training set, one epoch, with the same learning rate and about the same
records per optimiser step:
- baseline: ``transformers.Trainer`` with ``DataCollatorForSeq2Seq``, every batch of
  ``--records-per-step`` records padded to its longest record (loss on completions only);
- ecombench: ``ecombench.train.trainer.fit`` (TRL SFTTrainer, best-fit packing, no padding), with
  as many ``--max-length`` rows per step as hold the same number of tokens on average.
Each variant runs in its own process, ``--repeats`` times; figures are medians. Throughput is real
(non-pad) tokens per second of the training loop; peak memory is the process's peak RSS.
ratio = ecombench tokens/s / baseline tokens/s.

    python benchmarks/bench_train.py --records 1200 --repeats 3            # builtin:tiny
    python benchmarks/bench_train.py --records 1200 --repeats 3 --hidden 512  # a wider model, compute-bound
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import median, report

CHILD = r"""
import json, sys, time, tempfile, resource
from pathlib import Path
variant, n_records, per_step, max_length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
from ecombench.tiny import ensure_tiny
from ecombench.train.config import DataConfig, LoraConfig, OptimConfig
from ecombench.train.data import build_mixture, load_records
from ecombench.train.trainer import tokenize
model_path = Path(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[5] else ensure_tiny()
records, sources = load_records(["core"])
mixture = build_mixture(records, sources, DataConfig(total=n_records, eval_fraction=0.0), seed=0)
lora = LoraConfig(rank=16, alpha=32, dropout=0.0)
out = Path(tempfile.mkdtemp())
if variant == "ecombench":
    from ecombench.train.trainer import fit
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(model_path)
    lengths = [len(x) for x in tokenize(tok, mixture.train)["input_ids"]]
    rows = max(1, round(per_step * (sum(lengths) / len(lengths)) / max_length))
    optim = OptimConfig(epochs=1, lr=1e-3, batch_size=rows, max_length=max_length, save_steps=10**9, logging_steps=10**9, warmup_ratio=0.0)
    t0 = time.perf_counter()
    _, _, result = fit(model_path, mixture.train, [], optim, lora, out, show_progress=False)
    seconds, steps = result.seconds, result.steps
    tokens = sum(lengths)
else:
    import torch
    from datasets import Dataset
    from peft import LoraConfig as PeftLora, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainingArguments
    tok = AutoTokenizer.from_pretrained(model_path)
    enc = tokenize(tok, mixture.train)
    labels = [[t if m else -100 for t, m in zip(ids, mask)] for ids, mask in zip(enc["input_ids"], enc["completion_mask"])]
    ds = Dataset.from_dict({"input_ids": enc["input_ids"], "attention_mask": [[1] * len(x) for x in enc["input_ids"]], "labels": labels})
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(model_path, dtype=torch.float32),
                           PeftLora(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"))
    args = TrainingArguments(output_dir=str(out), per_device_train_batch_size=per_step, num_train_epochs=1, learning_rate=1e-3,
                             lr_scheduler_type="cosine", logging_steps=10**9, save_strategy="no", report_to=[], disable_tqdm=True,
                             use_cpu=not torch.cuda.is_available(), seed=0)
    trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=DataCollatorForSeq2Seq(tok, padding="longest"))
    t0 = time.perf_counter()
    trainer.train()
    seconds, steps = time.perf_counter() - t0, trainer.state.global_step
    tokens = sum(len(x) for x in enc["input_ids"])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "steps": steps, "tokens": tokens, "peak_mib": peak}))
"""


def run_child(variant: str, args: argparse.Namespace) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    cmd = [sys.executable, "-c", CHILD, variant, str(args.records), str(args.records_per_step), str(args.max_length), args.model or ""]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_wide(hidden: int) -> str:
    """A seeded 4-layer Llama of width ``hidden`` with builtin:tiny's tokenizer (per-token compute dominates)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ecombench.tiny import ensure_tiny

    tiny = ensure_tiny()
    folder = Path(tempfile.mkdtemp(prefix="bench-wide-"))
    tok = AutoTokenizer.from_pretrained(tiny)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=hidden * 8 // 3,
        num_hidden_layers=4,
        num_attention_heads=8,
        num_key_value_heads=8,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1200, help="training records (a mixture over every core task)")
    parser.add_argument("--records-per-step", type=int, default=16, help="baseline batch size; ecombench packs as many tokens per step")
    parser.add_argument("--max-length", type=int, default=512, help="ecombench's packed row length")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", default=None, help="model folder (default: builtin:tiny)")
    parser.add_argument("--hidden", type=int, default=None, help="build a 4-layer Llama of this width on tiny's tokenizer and use it")
    args = parser.parse_args()
    if args.hidden:
        args.model = build_wide(args.hidden)
    runs: dict[str, list[dict]] = {"baseline": [], "ecombench": []}
    for _ in range(args.repeats):
        for variant in runs:  # interleaved, so machine noise hits both alike
            runs[variant].append(run_child(variant, args))
    figures = {}
    for variant, results in runs.items():
        tps = median([r["tokens"] / r["seconds"] for r in results])
        figures[variant] = {
            "tokens_per_s": round(tps, 1),
            "seconds": round(median([r["seconds"] for r in results]), 3),
            "steps": results[0]["steps"],
            "tokens": results[0]["tokens"],
            "peak_mib": round(median([r["peak_mib"] for r in results]), 1),
        }
        print(
            f"{variant:>9}: {tps:9.1f} tokens/s  {figures[variant]['seconds']:7.2f} s  {results[0]['steps']} steps  peak {figures[variant]['peak_mib']:.0f} MiB"
        )
    ratio = figures["ecombench"]["tokens_per_s"] / figures["baseline"]["tokens_per_s"]
    print(f"ratio (ecombench / padded Trainer tokens per second): {ratio:.2f}")
    report(
        "train_throughput",
        model=args.model or "builtin:tiny",
        records=args.records,
        repeats=args.repeats,
        ratio=round(ratio, 2),
        **figures,
        target=2.0,
        meets_target=bool(ratio >= 2.0 and not math.isnan(ratio)),
    )


if __name__ == "__main__":
    main()
