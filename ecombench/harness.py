"""The one place that talks to lm-eval: task loading, the HF model wrapper, and generation.

ecombench asks lm-eval for raw model outputs only (``predict_only``) and scores them itself with
``ecombench.scoring``, the same code ``ecombench score`` uses.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.models import API_KEY_ENV, ResolvedModel, ServedModel
from ecombench.paths import user_tasks_dir
from ecombench.taskindex import TaskInfo

KDD_SYSTEM_PROMPT = (
    "You are a helpful online shopping assistant. Please answer the following question about online shopping and follow the given instructions.\n\n"
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
    "pretrained": "--model",
    "peft": "--model (an adapter folder)",
    "lora_local_path": "--model (an adapter folder)",
    "max_lora_rank": "the adapter's rank",
    "dtype": "--dtype",
    "device": "--device",
    "batch_size": "--batch-size",
    "max_batch_size": "--batch-size",
    "trust_remote_code": "--trust-remote-code",
    "tensor_parallel_size": "--tensor-parallel",
    "data_parallel_size": "--data-parallel",
    "seed": "ecombench (greedy decoding, seed 0)",
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
    quiet_logs(debug)
    if debug:
        return
    import lm_eval.api.task
    import lm_eval.evaluator
    from tqdm import tqdm

    # lm-eval draws one empty 0%..100% bar per task while building requests, and asks `git describe` for
    # the hash of the current folder, which prints "fatal: not a git repository" outside a checkout.
    lm_eval.api.task.tqdm = functools.partial(tqdm, disable=True)
    lm_eval.evaluator.get_git_commit_hash = _quiet_git_hash


def quiet_logs(debug: bool = False) -> None:
    """The loggers of lm-eval and transformers at ERROR (INFO with ``debug``), without importing lm-eval:
    training alone (``train --no-eval``) never loads it (0.5 s of a 5-step run's start-up)."""
    level = logging.INFO if debug else logging.ERROR
    for name in ("lm_eval", "lm-eval", "lm_eval.api.task", "lm_eval.evaluator"):
        logging.getLogger(name).setLevel(level)
    # --backend openai: a request that fails after its retries is reported by ecombench (harness.api_failures) in one line
    logging.getLogger("lm_eval.models.api_models").setLevel(level if debug else logging.CRITICAL)
    # ... and when one of its concurrent requests fails for good, asyncio reports the others' failures again at exit
    logging.getLogger("asyncio").setLevel(logging.NOTSET if debug else logging.CRITICAL)
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _quiet_git_hash() -> str | None:
    """lm-eval's ``get_git_commit_hash`` without git's complaint on stderr outside a checkout."""
    import subprocess

    try:
        done = subprocess.run(["git", "describe", "--always"], capture_output=True, text=True, check=False)
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


def vllm_args(
    model: ResolvedModel, *, dtype: str, tensor_parallel: int = 1, data_parallel: int = 1, trust_remote_code: bool = False, extra: dict[str, Any] | None = None
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
    model: ResolvedModel, *, dtype: str, tensor_parallel: int = 1, data_parallel: int = 1, trust_remote_code: bool = False, extra: dict[str, Any] | None = None
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
    from lm_eval.models.vllm_causallms import VLLM

    return VLLM(**kwargs)


def build_lm(model: ResolvedModel, *, device: str, dtype: str, batch_size: int | str, trust_remote_code: bool = False, extra: dict[str, Any] | None = None):
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


# Model arguments the openai backend sets itself, and where each comes from.
API_MODEL_ARGS = {
    "base_url": "--base-url",
    "model": "--model",
    "num_concurrent": "--concurrency",
    "max_retries": "--retries",
    "timeout": "--request-timeout",
    "auth_token": f"${API_KEY_ENV} only",
    "header": f"${API_KEY_ENV} only",
    "tokenizer_backend": "the server (prompts go as text)",
    "tokenized_requests": "the server (prompts go as text)",
}


def check_api() -> None:
    from importlib.util import find_spec

    if any(find_spec(m) is None for m in ("aiohttp", "requests", "tenacity")):
        raise EcombenchError("--backend openai needs lm-eval's API clients: pip install 'ecombench[api]'")


def _api_client(endpoint: str) -> type:
    """lm-eval's ``local-completions`` or ``local-chat-completions`` client, its requests sent by
    :mod:`ecombench.apiclient` (no key across origins, a capped body, a deadline for the whole request, each
    reply checked before it is kept), and two changes for strict servers: no ``stop`` field when there is no
    stop sequence (ecombench's tasks stop at EOS only, and ``transformers serve`` fails every request that sends
    ``"stop": []``), and a plain prompt sent to chat as one user message."""
    import asyncio
    import copy
    import threading

    from lm_eval.models.openai_completions import (
        LocalChatCompletion,
        LocalCompletionsAPI,
    )

    from ecombench import apiclient
    from ecombench.models import api_headers

    base = LocalChatCompletion if endpoint == "chat" else LocalCompletionsAPI

    class Client(base):  # type: ignore[valid-type,misc]  # base is one of two lm-eval classes, picked at run time
        answered = 0  # answers this run received (each kept in the answer cache, when there is one)
        malformed = 0  # replies refused as malformed
        cut = 0  # answers longer than the task's token limit allows, cut there
        refused: apiclient.ApiError | None = None  # a failure no retry can mend (a cross-origin redirect)
        _lock = threading.Lock()

        def create_message(self, messages, generate=False):
            out = super().create_message(messages, generate=generate)
            return [{"role": "user", "content": out}] if endpoint == "chat" and isinstance(out, str) else out

        def _create_payload(self, messages, generate=False, gen_kwargs=None, seed=1234, eos=None, **kwargs):
            payload = super()._create_payload(messages, generate=generate, gen_kwargs=gen_kwargs, seed=seed, eos=eos, **kwargs)
            if not payload.get("stop", True):
                del payload["stop"]
            return payload

        def model_call(self, messages, *, generate=True, gen_kwargs=None, **kwargs):
            if not generate:  # never reached: --backend openai refuses --protocol loglikelihood
                raise EcombenchError("--backend openai generates answers only")
            if self.refused is not None:
                raise self.refused
            gen_kwargs = copy.deepcopy(gen_kwargs) or {}
            limit = gen_kwargs.get("max_tokens", gen_kwargs.get("max_gen_toks", self._max_gen_toks))
            payload = self._create_payload(self.create_message(messages), generate=True, gen_kwargs=gen_kwargs, seed=self._seed, eos=self.eos_string, **kwargs)
            try:
                status, reason, body = apiclient.request("POST", self.base_url, payload=payload, headers=api_headers(), timeout=self.timeout)
                if not 200 <= status < 300:
                    raise apiclient.ApiError(self.base_url, f"HTTP {status} {apiclient._one_line(reason, 60)}")
                texts, cut = apiclient.answers(
                    self.base_url, apiclient.reply_json(self.base_url, body), len(messages), endpoint, int(limit) * apiclient.MAX_CHARS_PER_TOKEN
                )
            except apiclient.ApiError as exc:
                with self._lock:
                    Client.malformed += exc.malformed
                    if exc.final:
                        Client.refused = exc
                raise
            with self._lock:
                Client.answered += len(texts)
                Client.cut += cut
            return _Checked(texts)

        def parse_generations(self, outputs, **kwargs):
            return list(outputs)

        async def amodel_call(self, session, sem, messages, *, generate=True, cache_keys=None, ctxlens=None, gen_kwargs=None, **kwargs):
            async with sem:
                texts = await asyncio.to_thread(self.model_call, messages, generate=generate, gen_kwargs=gen_kwargs, **kwargs)
            for text, key in zip(texts, cache_keys or [], strict=False):
                self.cache_hook.add_partial("generate_until", key, text)
            return list(texts)

    Client.__name__ = Client.__qualname__ = f"Ecombench{base.__name__}"
    return Client


class _Checked(list):
    """Answers that passed :func:`ecombench.apiclient.answers`."""


class _HideApiKey(logging.Filter):
    """lm-eval (and asyncio, for a concurrent request) logs a failed request's ``repr``, which holds its headers;
    the key never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        import os

        key = os.environ.get(API_KEY_ENV)
        if key and key in (text := record.getMessage()):
            record.msg, record.args = text.replace(key, f"${API_KEY_ENV}"), None
        return True


def build_api(served: ServedModel, *, batch_size: int, concurrency: int, retries: int, timeout: int, extra: dict[str, Any] | None = None):
    """lm-eval's client for an OpenAI-compatible server: prompts go as text (the server tokenizes),
    ``concurrency`` requests in flight, a failed request tried ``retries`` more times with exponential
    backoff (1 s to 10 s, lm-eval's), each request given ``timeout`` seconds. lm-eval reads the API key
    from ``$OPENAI_API_KEY`` when it sends; ecombench never stores it. ``extra`` (``--model-args``) goes on
    to the client (``max_gen_toks``, ``seed``, ``eos_string``, ...)."""
    for key in extra or {}:
        if key in API_MODEL_ARGS:
            raise EcombenchError(f"--model-args {key}: ecombench sets it from {API_MODEL_ARGS[key]}")
    check_api()
    for name in ("lm_eval.models.api_models", "lm_eval.models.openai_completions", "asyncio"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _HideApiKey) for f in log.filters):
            log.addFilter(_HideApiKey())
    kwargs: dict[str, Any] = {
        "base_url": served.endpoint_url,
        "model": served.name,
        "num_concurrent": concurrency,
        "max_retries": retries + 1,
        "timeout": timeout,
        "batch_size": batch_size,
        "tokenizer_backend": None,
        "tokenized_requests": False,
    }
    return _api_client(served.endpoint)(**kwargs, **(extra or {}))


@contextmanager
def api_failures(lm: Any, served: ServedModel, *, retries: int, timeout: int, cached: bool = True) -> Iterator[None]:
    """A server that goes down, is too slow, answers with errors or malformed replies after every retry: one line
    that says what happened and how many of this run's answers the answer cache kept (a rerun asks only for the rest)."""
    from ecombench.apiclient import ApiError

    try:
        yield
    except ApiError as exc:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):  # lm-eval's "Requesting API" bar, left open: end its line first
            bar.close()
        client = type(getattr(lm, "lm", lm))
        kept = getattr(client, "answered", 0)
        malformed = getattr(client, "malformed", 0)
        tries = "" if exc.final else f", {retries + 1} tries"
        bad = f" ({malformed} malformed {'reply' if malformed == 1 else 'replies'}, none kept)" if malformed else ""
        after = (
            f"{kept} answers of this run are kept in the answer cache: run the same command again to go on" if cached else "no answers were kept (--no-cache)"
        )
        raise EcombenchError(f"{served.endpoint_url}: {exc.why}{tries}{bad}; {after}") from exc


def _loglikelihood_config(task: TaskInfo) -> dict[str, Any]:
    """A multiple-choice task re-cast for log-likelihood scoring of its option numbers."""
    from lm_eval.tasks._yaml_loader import load_yaml

    from ecombench import hooks
    from ecombench.paths import resolve_data_path

    cfg = load_yaml(task.yaml_path, resolve_func=True)
    # A dict config reaches the dataset hook without its YAML's path, so the data paths go absolute.
    kwargs = {**(cfg.get("dataset_kwargs") or {}), "data_files": str(task.data_file)}
    if cfg.get("custom_dataset") is hooks.load_suite_dataset:
        kwargs.setdefault("training_files", hooks.SUITE_TRAINING_FILE)
    if "training_files" in kwargs:
        kwargs["training_files"] = str(resolve_data_path(kwargs["training_files"], task.yaml_path))
    cfg["dataset_kwargs"] = kwargs
    cfg.update(output_type="multiple_choice", doc_to_choice=hooks.doc_to_choice, target_delimiter="")
    cfg.pop("generation_kwargs", None)
    return cfg


FEWSHOT_SEED = 1234  # lm-eval's default fewshot_random_seed, passed explicitly: the same examples for every run
FEWSHOT_DELIMITER = "\n\n"  # lm-eval's fewshot_delimiter, between examples


def has_fewshot_split(task: TaskInfo) -> bool:
    """Whether a task names a split to draw few-shot examples from (``fewshot_split``; core's is its training part)."""
    few = task.config.get("fewshot_config")
    return bool(task.config.get("fewshot_split") or (isinstance(few, dict) and (few.get("split") or few.get("samples"))))


def fewshot_pool_size(task: TaskInfo) -> int | None:
    """How many training rows a task can draw few-shot examples from; None when its pool is not a training file."""
    from ecombench.hooks import SUITE_TRAINING_FILE
    from ecombench.paths import resolve_data_path

    kwargs = task.config.get("dataset_kwargs") or {}
    training = kwargs.get("training_files") or (SUITE_TRAINING_FILE if "load_suite_dataset" in str(task.config.get("custom_dataset")) else None)
    if not isinstance(training, str):
        return None
    path = resolve_data_path(training, task.yaml_path)
    if not path.is_file():
        return 0
    return _rows_per_task(path.resolve(), path.stat().st_mtime_ns)[task.name]


@functools.lru_cache(maxsize=8)
def _rows_per_task(path: Path, mtime_ns: int) -> Counter[str]:
    """Rows of a training file per task, read once for all the tasks of a suite (``mtime_ns`` keys a changed file)."""
    from ecombench.records import iter_jsonl

    return Counter(str(row.get("task") or row.get("task_name")) for _, row in iter_jsonl(path))


def chat_template_of(lm: Any) -> Any:
    """The backend's chat template (None for none): lm-eval applies it only when the tokenizer has one."""
    return getattr(getattr(lm, "tokenizer", None), "chat_template", None) or None


def chat_template_sha256(lm: Any) -> str | None:
    """sha256 of the backend's chat template as the tokenizer holds it (a text, or named templates as
    canonical JSON); None for none. Editing the template changes it, and with it the run's answer cache."""
    template = chat_template_of(lm)
    if template is None:
        return None
    text = template if isinstance(template, str) else json.dumps(template, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def render_prompt(prompt: str, system_prompt: str | None, chat_template: Callable[[list[dict[str, str]]], str] | None) -> str:
    """A 0-shot prompt as lm-eval renders it (``ConfigurableTask.fewshot_context``), for training on what evaluation sends.

    Plain text: the system prompt, then the prompt. With ``chat_template`` (messages -> text, with the
    generation prompt, as ``HFLM.apply_chat_template``): a system turn when there is a system prompt, then
    the prompt as the user turn.
    """
    if chat_template is None:
        return (system_prompt or "") + prompt
    system = [{"role": "system", "content": system_prompt}] if system_prompt else []
    return chat_template([*system, {"role": "user", "content": prompt}])


def check_system_turn(lm: Any, system_prompt: str) -> None:
    """lm-eval drops the system prompt, with only a log line, when a chat template refuses a system turn: refuse instead."""
    probe = [{"role": "system", "content": system_prompt}, {"role": "user", "content": "?"}]
    try:
        shown = lm.apply_chat_template(probe)  # lm-eval's own call, which falls back to no system turn
    except Exception as exc:  # jinja raises whatever the template says (raise_exception)
        raise EcombenchError(
            f"--system-prompt: this model's chat template takes no system turn ({exc}); drop --system-prompt, "
            "or pass --no-apply-chat-template to prepend it as text"
        ) from exc
    if system_prompt.strip() not in shown:
        raise EcombenchError(
            "--system-prompt: this model's chat template leaves the system turn out; drop --system-prompt, "
            "or pass --no-apply-chat-template to prepend it as text"
        )


def include_paths(tasks: list[TaskInfo], roots: list[Path]) -> list[Path]:
    """The folders lm-eval must index for ``tasks``: each root, except that under the user's imported
    suites only the suites that hold a selected task are read (one broken suite must not stop a run)."""
    user_root = user_tasks_dir().resolve()
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
    apply_chat_template: bool = False,
    num_fewshot: int = 0,
    fewshot_as_multiturn: bool = False,
) -> dict[str, list[Sample]] | None:
    """Run the tasks through lm-eval and return each task's samples (no scoring); None off rank 0.

    ``apply_chat_template``, ``num_fewshot`` and ``fewshot_as_multiturn`` are lm-eval's own options;
    few-shot examples come from each task's ``fewshot_split``, drawn with ``FEWSHOT_SEED``.
    """
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from ecombench.hooks import embedding_models_checked

    manager = TaskManager(include_path=[str(p) for p in include_paths(tasks, roots)], include_defaults=False)
    specs: list[Any] = [_loglikelihood_config(t) if protocol == "loglikelihood" and t.task_type == "multiple-choice" else t.name for t in tasks]
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
            apply_chat_template=apply_chat_template,
            fewshot_as_multiturn=fewshot_as_multiturn,
            num_fewshot=num_fewshot,
            fewshot_random_seed=FEWSHOT_SEED,
            # Tasks generate until their token limit (KDD Cup: `until: []`); after examples a model would go on to write
            # the next question, so few-shot runs also stop at the examples' delimiter, as lm-eval's default `until` does.
            gen_kwargs={"until": [FEWSHOT_DELIMITER]} if num_fewshot else None,
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
            prompt = s["arguments"][0][0]  # text, or (chat API) lm-eval's JsonChatStr: the messages as JSON
            samples.append(Sample(task.name, int(s["doc_id"]), s["doc"], prompt[0] if isinstance(prompt, tuple) else prompt, response))
        out[task.name] = samples
    return out
