"""The one place that talks to lm-eval: task loading, the HF model wrapper, and generation.

ecombench asks lm-eval for raw model outputs only (``predict_only``) and scores them itself with
``ecombench.scoring``, the same code ``ecombench score`` uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.models import ResolvedModel
from ecombench.paths import home_dir
from ecombench.taskindex import TaskInfo

KDD_SYSTEM_PROMPT = (
    "You are a helpful online shopping assistant. Please answer the following question about online shopping "
    "and follow the given instructions.\n\n"
)
SYSTEM_PROMPTS = {"kddcup": KDD_SYSTEM_PROMPT}
CPU_BATCH_SIZE = 32  # large enough that per-step overhead is shared; small enough for CPU memory
# On GPUs lm-eval probes the largest batch that fits, from the longest request. Probing once
# keeps the size the longest prompt allows for the whole run; "auto:4" probes again at each
# quarter of the requests (sorted longest first), so short prompts run in larger batches, up to
# GPU_MAX_BATCH instead of lm-eval's default ceiling of 64.
GPU_AUTO_BATCH = "auto:4"
GPU_MAX_BATCH = 512


# Model arguments ecombench sets itself, and the flag that sets each.
RESERVED_MODEL_ARGS = {
    "pretrained": "--model", "peft": "--model (an adapter folder)", "lora_local_path": "--model (an adapter folder)",
    "max_lora_rank": "the adapter's rank", "dtype": "--dtype", "device": "--device", "batch_size": "--batch-size",
    "max_batch_size": "--batch-size", "trust_remote_code": "--trust-remote-code", "tensor_parallel_size": "--tensor-parallel",
    "data_parallel_size": "--data-parallel", "seed": "ecombench (greedy decoding, seed 0)",
}


def parse_model_args(text: str | None) -> dict[str, Any]:
    """``--model-args``: lm-eval's ``key=value,key=value`` syntax, passed on to the backend's model class.

    Values are typed the way lm-eval types them (``True``, ``4096``, ``0.8``); keys ecombench sets
    from its own flags are refused with the flag to use.
    """
    import re

    from lm_eval.utils import simple_parse_args_string

    if not text or not text.strip():
        return {}
    for piece in (p.strip() for p in text.split(",")):
        if piece and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.+", piece):
            raise EcombenchError(f"--model-args: '{piece}' is not key=value (e.g. --model-args max_length=4096,parallelize=True)")
    args = simple_parse_args_string(text)
    for key in args:
        if key in RESERVED_MODEL_ARGS:
            raise EcombenchError(f"--model-args {key}: ecombench sets it from {RESERVED_MODEL_ARGS[key]}")
    return args


@dataclass(frozen=True)
class Sample:
    """One question as lm-eval ran it."""

    task: str
    doc_id: int
    doc: dict[str, Any]
    prompt: str
    response: Any  # generated text, or per-option log-likelihoods


def quiet_lm_eval(debug: bool = False) -> None:
    """lm-eval logs every task load at WARNING; keep the terminal for ecombench's own output."""
    level = logging.INFO if debug else logging.ERROR
    for name in ("lm_eval", "lm-eval", "lm_eval.api.task", "lm_eval.evaluator"):
        logging.getLogger(name).setLevel(level)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    if debug:
        return
    import functools

    import lm_eval.api.task
    import lm_eval.evaluator
    from tqdm import tqdm

    # lm-eval draws one empty 0%..100% bar per task while building requests, and asks `git describe` for
    # the hash of the current folder, which prints "fatal: not a git repository" outside a checkout.
    lm_eval.api.task.tqdm = functools.partial(tqdm, disable=True)
    lm_eval.evaluator.get_git_commit_hash = _quiet_git_hash


def _quiet_git_hash() -> str | None:
    """lm-eval's ``get_git_commit_hash`` without git's complaint on stderr outside a checkout."""
    import subprocess

    try:
        done = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, check=False)  # noqa: S607
    except OSError:
        return None
    return done.stdout.strip() or None


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_device(device: str) -> str:
    """``--device`` as torch will accept it, or one line saying why this machine cannot use it."""
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError) as exc:
        raise EcombenchError(f"--device {device}: not a device name (use cpu, cuda, cuda:N or mps)") from exc
    if parsed.type == "cuda":
        if torch.version.cuda is None:
            raise EcombenchError(f"--device {device}: this torch ({torch.__version__}) is built without CUDA; use --device cpu or install a CUDA build")
        if not torch.cuda.is_available() or (parsed.index or 0) >= torch.cuda.device_count():
            raise EcombenchError(f"--device {device}: no such CUDA device visible ({torch.cuda.device_count()} visible)")
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise EcombenchError(f"--device {device}: MPS is not available on this machine")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        raise EcombenchError(f"--device {device}: use cpu, cuda, cuda:N or mps")
    return device


def resolve_dtype(dtype: str, device: str) -> str:
    """``auto``: bfloat16 on GPUs that support it, float32 otherwise."""
    if dtype != "auto":
        return dtype
    import torch

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32"


def resolve_batch_size(batch_size: str, device: str) -> int | str:
    """``auto`` lets lm-eval probe the GPU; on CPU probing is slow, so a fixed size is used."""
    if batch_size == "auto":
        return GPU_AUTO_BATCH if device.startswith("cuda") else CPU_BATCH_SIZE
    return int(batch_size)


# vLLM accepts only these LoRA rank limits (vllm.config.lora.MaxLoRARanks).
VLLM_LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)


def adapter_rank(adapter_path: Path) -> int:
    """The largest LoRA rank in a peft adapter: ``r``, or a larger one from its ``rank_pattern``."""
    import json

    cfg = json.loads((adapter_path / "adapter_config.json").read_text(encoding="utf-8"))
    return max([int(cfg.get("r", 8)), *(int(r) for r in (cfg.get("rank_pattern") or {}).values())])


def vllm_lora_rank(rank: int) -> int:
    """The smallest rank limit vLLM accepts that serves an adapter of this rank (24 -> 32)."""

    fits = [r for r in VLLM_LORA_RANKS if r >= rank]
    if not fits:
        raise EcombenchError(f"a LoRA adapter of rank {rank} cannot be served by vLLM (its limit is {VLLM_LORA_RANKS[-1]}); use --backend hf")
    return fits[0]


def vllm_args(model: ResolvedModel, *, dtype: str, tensor_parallel: int = 1, data_parallel: int = 1,
              trust_remote_code: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The arguments of lm-eval's ``VLLM`` for this model: an adapter becomes a LoRA request; ``extra``
    (``--model-args``) goes on to vLLM's engine (``gpu_memory_utilization``, ``max_model_len``, ...)."""
    kwargs: dict[str, Any] = {
        "pretrained": str(model.base_path), "dtype": dtype, "batch_size": "auto", "tensor_parallel_size": tensor_parallel,
        "data_parallel_size": data_parallel, "trust_remote_code": trust_remote_code, "seed": 0,
    }
    if model.adapter_path is not None:
        kwargs.update(lora_local_path=str(model.adapter_path), max_lora_rank=vllm_lora_rank(adapter_rank(model.adapter_path)))
    return {**kwargs, **(extra or {})}


def check_vllm() -> None:
    from importlib.util import find_spec

    if find_spec("vllm") is None:
        raise EcombenchError("--backend vllm needs vLLM: pip install 'ecombench[vllm]' (on a machine with a CUDA GPU)")


def build_vllm(model: ResolvedModel, *, dtype: str, tensor_parallel: int = 1, data_parallel: int = 1, trust_remote_code: bool = False,
               extra: dict[str, Any] | None = None):
    """lm-eval's vLLM wrapper, after checking that vLLM, the GPUs and (for replicas) Ray are there."""
    from importlib.util import find_spec

    if tensor_parallel < 1 or data_parallel < 1:
        raise EcombenchError(f"--tensor-parallel {tensor_parallel} / --data-parallel {data_parallel}: each must be at least 1")
    kwargs = vllm_args(model, dtype=dtype, tensor_parallel=tensor_parallel, data_parallel=data_parallel, trust_remote_code=trust_remote_code,
                       extra=extra)
    check_vllm()
    import torch

    if not torch.cuda.is_available():
        raise EcombenchError("--backend vllm needs a CUDA GPU, and none is visible here; use --backend hf")
    if tensor_parallel * data_parallel > torch.cuda.device_count():
        raise EcombenchError(
            f"--tensor-parallel {tensor_parallel} x --data-parallel {data_parallel} needs that many GPUs; {torch.cuda.device_count()} visible"
        )
    if data_parallel > 1 and find_spec("ray") is None:
        raise EcombenchError("--data-parallel runs vLLM replicas as Ray workers (lm-eval's way): pip install 'ecombench[vllm]' or pip install ray")
    from lm_eval.models.vllm_causallms import VLLM

    return VLLM(**kwargs)


def build_lm(model: ResolvedModel, *, device: str, dtype: str, batch_size: int | str, trust_remote_code: bool = False,
             extra: dict[str, Any] | None = None):
    """lm-eval's HF wrapper with ecombench's greedy generation path (``ecombench.lm.FastHFLM``) around the
    resolved base model (and adapter); ``extra`` (``--model-args``) goes on to it (``parallelize``,
    ``max_length``, ``attn_implementation``, ``token_budget``, ...)."""
    from ecombench.lm import FastHFLM

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
    from ecombench.distributed import state

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


def _loglikelihood_config(task: TaskInfo) -> dict[str, Any]:
    """A multiple-choice task re-cast for log-likelihood scoring of its option numbers."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from ecombench import hooks

    cfg = load_yaml(task.yaml_path, resolve_func=True)
    # A dict config reaches the dataset hook without its YAML's path, so the data path goes absolute.
    cfg["dataset_kwargs"] = {"data_files": str(task.data_file)}
    cfg.update(output_type="multiple_choice", doc_to_choice=hooks.doc_to_choice, target_delimiter="")
    cfg.pop("generation_kwargs", None)
    return cfg


def include_paths(tasks: list[TaskInfo], roots: list[Path]) -> list[Path]:
    """The folders lm-eval must index for ``tasks``: each root, except that under the user's imported
    suites only the suites that hold a selected task are read (one broken suite must not stop a run)."""
    user_root = (home_dir() / "tasks").resolve()
    out: list[Path] = []
    for root in roots:
        if root.resolve() != user_root:
            out.append(root)
            continue
        for task in tasks:
            try:
                top = root / task.yaml_path.resolve().relative_to(user_root).parts[0]
            except ValueError:
                continue
            if top not in out:
                out.append(top)
    return out


def generate(
    lm: Any,
    tasks: list[TaskInfo],
    roots: list[Path],
    *,
    limit: int | None,
    protocol: str,
    system_prompt: str | None,
    cache_path: Path | None,
) -> dict[str, list[Sample]] | None:
    """Run the tasks through lm-eval and return each task's samples (no scoring); None off rank 0."""
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from ecombench.hooks import embedding_models_checked

    manager = TaskManager(include_path=[str(p) for p in include_paths(tasks, roots)], include_defaults=False)
    specs: list[Any] = [
        _loglikelihood_config(t) if protocol == "loglikelihood" and t.task_type == "multiple-choice" else t.name
        for t in tasks
    ]
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
    # `run` has found every embedding model already (its --embedding-model flags included) and left
    # out the tasks it lacks; the hooks' own load-time check is for plain lm-eval.
    with embedding_models_checked():
        results = simple_evaluate(
            model=lm,
            tasks=specs,
            task_manager=manager,
            limit=limit,
            predict_only=True,
            log_samples=True,
            bootstrap_iters=0,
            system_instruction=system_prompt,
            use_cache=str(cache_path) if cache_path is not None else None,
            verbosity="ERROR",
        )
    if results is None:  # another process of a data-parallel run: rank 0 holds the gathered samples
        return None
    out: dict[str, list[Sample]] = {}
    for task in tasks:
        samples = []
        for s in sorted(results["samples"].get(task.name, []), key=lambda s: s["doc_id"]):
            filtered = s["filtered_resps"]
            response = filtered[0] if len(filtered) == 1 and isinstance(filtered[0], str) else filtered
            samples.append(Sample(task.name, int(s["doc_id"]), s["doc"], s["arguments"][0][0], response))
        out[task.name] = samples
    return out
