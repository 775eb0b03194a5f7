"""``--backend vllm``: lm-eval's vLLM wrapper on this machine's GPUs; an adapter is served as a LoRA request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ecombench.backends.base import Resolved, Settings, local_chat_settings, local_identity, local_model, local_name, no_guard
from ecombench.errors import EcombenchError


@dataclass(frozen=True)
class VLLMOptions:
    """vLLM's own flags."""

    tensor_parallel: int = 1  # --tensor-parallel: GPUs per model replica
    data_parallel: int = 1  # --data-parallel: model replicas (Ray workers)


class _Settings(Settings, Protocol):
    vllm: VLLMOptions


# vLLM accepts only these LoRA rank limits (vllm.config.lora.MaxLoRARanks).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def adapter_rank(adapter_path: Path) -> int:
    """The largest LoRA rank in a peft adapter: ``r``, or a larger one from its ``rank_pattern``."""
    cfg = json.loads((adapter_path / "adapter_config.json").read_text(encoding="utf-8"))
    return max([int(cfg.get("r", 8)), *(int(r) for r in (cfg.get("rank_pattern") or {}).values())])


def vllm_lora_rank(rank: int) -> int:
    """The smallest rank limit vLLM accepts that serves an adapter of this rank (24 -> 32)."""
    fits = [r for r in VLLM_LORA_RANKS if r >= rank]
    if not fits:
        raise EcombenchError(f"a LoRA adapter of rank {rank} cannot be served by vLLM (its limit is {VLLM_LORA_RANKS[-1]}); use --backend hf")
    return fits[0]


def vllm_args(
    model: Any, *, dtype: str, tensor_parallel: int = 1, data_parallel: int = 1, trust_remote_code: bool = False, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The arguments of lm-eval's ``VLLM`` for this model: an adapter becomes a LoRA request; ``extra``
    (``--model-args``) goes on to vLLM's engine (``gpu_memory_utilization``, ``max_model_len``, ...)."""
    kwargs: dict[str, Any] = {
        "pretrained": str(model.base_path),
        "dtype": dtype,
        "batch_size": "auto",
        "tensor_parallel_size": tensor_parallel,
        "data_parallel_size": data_parallel,
        "trust_remote_code": trust_remote_code,
        "seed": 0,
    }
    if model.adapter_path is not None:
        kwargs.update(lora_local_path=str(model.adapter_path), max_lora_rank=vllm_lora_rank(adapter_rank(model.adapter_path)))
    return {**kwargs, **(extra or {})}


def check_vllm() -> None:
    from importlib.util import find_spec

    if find_spec("vllm") is None:
        raise EcombenchError("--backend vllm needs vLLM: pip install 'ecombench[vllm]' (on a machine with a CUDA GPU)")


def build_vllm(
    model: Any, *, dtype: str, tensor_parallel: int = 1, data_parallel: int = 1, trust_remote_code: bool = False, extra: dict[str, Any] | None = None
):
    """lm-eval's vLLM wrapper, after checking that vLLM, the GPUs and (for replicas) Ray are there."""
    from importlib.util import find_spec

    if tensor_parallel < 1 or data_parallel < 1:
        raise EcombenchError(f"--tensor-parallel {tensor_parallel} / --data-parallel {data_parallel}: each must be at least 1")
    kwargs = vllm_args(model, dtype=dtype, tensor_parallel=tensor_parallel, data_parallel=data_parallel, trust_remote_code=trust_remote_code, extra=extra)
    check_vllm()
    import torch

    if not torch.cuda.is_available():
        raise EcombenchError("--backend vllm needs a CUDA GPU, and none is visible here; use --backend hf")
    if tensor_parallel * data_parallel > torch.cuda.device_count():
        raise EcombenchError(f"--tensor-parallel {tensor_parallel} x --data-parallel {data_parallel} needs that many GPUs; {torch.cuda.device_count()} visible")
    if data_parallel > 1 and find_spec("ray") is None:
        raise EcombenchError("--data-parallel runs vLLM replicas as Ray workers (lm-eval's way): pip install 'ecombench[vllm]' or pip install ray")
    from lm_eval.models.vllm_causallms import VLLM as LmEvalVLLM

    return LmEvalVLLM(**kwargs)


class VLLM:
    """vLLM on this machine's GPUs: ``--tensor-parallel`` GPUs per replica, ``--data-parallel`` replicas."""

    name: ClassVar[str] = "vllm"

    def check(self, options: _Settings) -> None:
        pass

    def misplaced(self, options: _Settings) -> None:
        if options.vllm != VLLMOptions():
            raise EcombenchError("--tensor-parallel and --data-parallel are vLLM settings (--backend vllm); with hf, use accelerate launch")

    def resolve(self, options: _Settings) -> Resolved:
        from ecombench.devices import check_device, default_device, resolve_dtype

        if options.device:
            check_device(options.device)
        check_vllm()  # before a model is resolved (builtin:tiny may have to be built)
        model, weights, adapter = local_model(options)
        device = options.device or default_device()
        dtype = resolve_dtype(options.dtype, device)
        batch = "auto" if options.batch_size == "auto" else int(options.batch_size)
        return Resolved(
            model, local_identity(model, weights, adapter, dtype), local_name(model), device, dtype, batch, weights, adapter, f"{options.protocol}:vllm"
        )

    def build(self, resolved: Resolved, options: _Settings, model_args: dict[str, Any], loaded: Any = None) -> Any:
        return build_vllm(
            resolved.subject,
            dtype=resolved.dtype,
            tensor_parallel=options.vllm.tensor_parallel,
            data_parallel=options.vllm.data_parallel,
            trust_remote_code=options.trust_remote_code,
            extra=model_args,
        )

    def chat_settings(self, options: _Settings, lm: Any, resolved: Resolved, system_prompt: str | None, rules: str) -> tuple[bool, bool]:
        return local_chat_settings(options, lm, system_prompt, rules)

    def generating(self, lm: Any, resolved: Resolved, options: _Settings, cached: bool) -> Any:
        return no_guard()

    def settings(self, options: _Settings, batch_size: int | str) -> dict[str, Any]:
        return {"batch_size": "auto", "processes": 1, "tensor_parallel": options.vllm.tensor_parallel, "data_parallel": options.vllm.data_parallel}
