"""``ecombench merge``: fold a LoRA adapter into its full-precision base and save a plain model folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.io import staging_dir
from ecombench.tiny import resolve_model


def _quantization(base_path: Path) -> str | None:
    config = json.loads((base_path / "config.json").read_text(encoding="utf-8"))
    quant = config.get("quantization_config")
    if not quant:
        return None
    bits = "4-bit" if quant.get("load_in_4bit") or quant.get("bits") == 4 else f"{quant.get('quant_method', 'quantized')}"
    return bits


def merge(adapter: Path, output: Path, base: str | None = None, dtype: str = "auto") -> Path:
    """Merge ``adapter`` into its base; write the result to ``output`` (which must not exist) atomically."""
    from ecombench import threads

    threads.apply()
    resolved = resolve_model(str(adapter), base)
    if resolved.kind != "adapter":
        raise EcombenchError(f"{adapter} is not an adapter folder (no adapter_config.json)")
    assert resolved.adapter_path is not None  # every resolved adapter has its folder
    quant = _quantization(resolved.base_path)
    if quant is not None:
        raise EcombenchError(
            f"base model {resolved.base_spec} is stored {quant}: merging into quantized weights loses the adapter's precision; "
            "merge into the full-precision base (pass --base FOLDER)"
        )
    if output.exists():
        raise EcombenchError(f"--output {output} already exists; choose a new folder")
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = "auto" if dtype == "auto" else getattr(torch, dtype)
    model = AutoModelForCausalLM.from_pretrained(resolved.base_path, dtype=torch_dtype)
    merged = PeftModel.from_pretrained(model, resolved.adapter_path).merge_and_unload()
    tokenizer = AutoTokenizer.from_pretrained(resolved.adapter_path if (resolved.adapter_path / "tokenizer_config.json").is_file() else resolved.base_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(f".{output.name}-", output.parent)
    try:
        merged.save_pretrained(staging / "model", safe_serialization=True)
        tokenizer.save_pretrained(staging / "model")
        lineage = resolved.adapter_path / "training.json"
        if lineage.is_file():
            shutil.copyfile(lineage, staging / "model" / "training.json")
        os.rename(staging / "model", output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output
