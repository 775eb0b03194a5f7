"""The one place a run talks to lm-eval: model arguments, task loading, few-shot and chat prompts, and generation.

ecombench asks lm-eval for raw model outputs only (``predict_only``) and scores them itself with
``ecombench.scoring``, the same code ``ecombench score`` uses.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.paths import user_tasks_dir
from ecombench.taskindex import TaskInfo

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
