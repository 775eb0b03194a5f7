"""``--backend hf``: transformers in this process, through lm-eval's ``HFLM`` with ecombench's greedy engine
(:mod:`ecombench.backends.hf.lm`, :mod:`ecombench.backends.hf.generation`)."""

from __future__ import annotations

from typing import Any, ClassVar

from ecombench.backends.base import Resolved, Settings, local_chat_settings, local_identity, local_model, local_name, no_guard

CPU_BATCH_SIZE = 32  # large enough that per-step overhead is shared; small enough for CPU memory
# On GPUs lm-eval probes the largest batch that fits, from the longest request. Probing once
# keeps the size the longest prompt allows for the whole run; "auto:4" probes again at each
# quarter of the requests (sorted longest first), so short prompts run in larger batches, up to
# GPU_MAX_BATCH instead of lm-eval's default ceiling of 64.
GPU_AUTO_BATCH = "auto:4"
GPU_MAX_BATCH = 512


def resolve_batch_size(batch_size: str, device: str) -> int | str:
    """``auto`` lets lm-eval probe the GPU; on CPU probing is slow, so a fixed size is used."""
    if batch_size == "auto":
        return GPU_AUTO_BATCH if device.startswith("cuda") else CPU_BATCH_SIZE
    return int(batch_size)


def build_lm(model: Any, *, device: str, dtype: str, batch_size: int | str, trust_remote_code: bool = False, extra: dict[str, Any] | None = None):
    """lm-eval's HF wrapper with ecombench's greedy generation path (``FastHFLM``) around the resolved base model
    (and adapter); ``extra`` (``--model-args``) goes on to it (``parallelize``, ``max_length``,
    ``attn_implementation``, ``token_budget``, ...)."""
    from ecombench.backends.hf.lm import FastHFLM
    from ecombench.distributed import state

    kwargs: dict[str, Any] = {
        "pretrained": str(model.base_path),
        "device": device,
        "dtype": dtype,
        "batch_size": batch_size,
        "trust_remote_code": trust_remote_code,
    }
    if isinstance(batch_size, str):
        kwargs["max_batch_size"] = GPU_MAX_BATCH
    if model.adapter_path is not None:
        kwargs["peft"] = str(model.adapter_path)
    kwargs.update(extra or {})
    processes = state()  # fixes accelerate's shared state before HFLM reads it (multi-process CPU runs need cpu=True)
    lm = FastHFLM(**kwargs)
    _shard_on_cpu(lm, processes)
    return lm


def _shard_on_cpu(lm: Any, state: Any) -> None:
    """Under ``accelerate launch`` lm-eval shards requests only when it counts more than one GPU.

    Without GPUs (processes over gloo) it would let every process answer every question, so the
    rank and world size are set here from the launched processes; lm-eval's evaluator then splits
    the requests and gathers the samples on rank 0, as it does on GPUs.
    """
    if state.num_processes > 1 and lm.world_size == 1:
        from accelerate import Accelerator

        lm.accelerator = Accelerator()
        lm._rank = state.process_index
        lm._world_size = state.num_processes


class HF:
    """transformers in this process (``accelerate launch`` shares the questions among processes)."""

    name: ClassVar[str] = "hf"

    def check(self, options: Settings) -> None:
        pass

    def misplaced(self, options: Settings) -> None:
        pass  # hf has no flags of its own

    def resolve(self, options: Settings) -> Resolved:
        from ecombench.devices import check_device, default_device, resolve_dtype

        if options.device:
            check_device(options.device)
        model, weights, adapter = local_model(options)
        device = options.device or default_device()
        dtype = resolve_dtype(options.dtype, device)
        return Resolved(
            model,
            local_identity(model, weights, adapter, dtype),
            local_name(model),
            device,
            dtype,
            resolve_batch_size(options.batch_size, device),
            weights,
            adapter,
            options.protocol,
        )

    def build(self, resolved: Resolved, options: Settings, model_args: dict[str, Any], loaded: Any = None) -> Any:
        if loaded is not None:
            return loaded
        return build_lm(
            resolved.subject,
            device=resolved.device,
            dtype=resolved.dtype,
            batch_size=resolved.batch_size,
            trust_remote_code=options.trust_remote_code,
            extra=model_args,
        )

    def chat_settings(self, options: Settings, lm: Any, resolved: Resolved, system_prompt: str | None, rules: str) -> tuple[bool, bool]:
        return local_chat_settings(options, lm, system_prompt, rules)

    def generating(self, lm: Any, resolved: Resolved, options: Settings, cached: bool) -> Any:
        return no_guard()

    def settings(self, options: Settings, batch_size: int | str) -> dict[str, Any]:
        from ecombench.distributed import launched_processes

        return {"batch_size": str(batch_size), "processes": launched_processes()}
