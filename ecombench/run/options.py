"""What ``ecombench run`` takes (:class:`RunOptions`) and the refusals of options that are wrong on their own."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ecombench.backends import BACKENDS
from ecombench.backends import get as backend
from ecombench.backends.openai import OpenAIOptions
from ecombench.backends.vllm import VLLMOptions
from ecombench.errors import EcombenchError
from ecombench.metrics.embedding import Embedders

KDD_SYSTEM_PROMPT = (
    "You are a helpful online shopping assistant. Please answer the following question about online shopping and follow the given instructions.\n\n"
)
SYSTEM_PROMPTS = {"kddcup": KDD_SYSTEM_PROMPT}


@dataclass(frozen=True)
class JudgeOptions:
    """``--judge`` and its backend's settings (judged tasks: ``ecombench.run.judging``)."""

    model: str | None = None  # --judge (a folder, hub id, builtin:tiny) or, with --judge-backend openai, the served name
    backend: str = "hf"  # --judge-backend
    base_url: str | None = None  # --judge-base-url
    api: str | None = None  # --judge-api


@dataclass
class RunOptions:
    """Everything ``ecombench run`` takes; defaults follow the KDD Cup 2024 protocol.

    A backend's own flags are in its options (``vllm``, ``openai``); the rest apply to every backend that
    loads a model here, and the backends that do not refuse them (``ecombench.backends``).
    """

    model: str
    base: str | None = None
    tasks: list[str] | None = None
    limit: int | None = None
    batch_size: str = "auto"
    device: str | None = None
    dtype: str = "auto"
    name: str | None = None
    submissions_dir: Path = Path("submissions")
    system_prompt: str | None = None  # a preset name ("kddcup") or literal text
    protocol: str = "generate"
    task_paths: list[Path] = field(default_factory=list)
    use_cache: bool = True
    trust_tasks: bool = False  # task folders from --task-path may run their own Python code
    trust_remote_code: bool = False
    embedders: Embedders = field(default_factory=Embedders)
    debug: bool = False
    backend: str = "hf"  # a name in ecombench.backends.BACKENDS
    model_args: str | None = None  # lm-eval's key=value,... passed on to the backend's model class
    apply_chat_template: bool | None = None  # None: on when the tokenizer has a chat template (instruct models), off for base models
    num_fewshot: int = 0  # examples from each task's training part before each question (seeded; never the evaluated items)
    fewshot_as_multiturn: bool | None = None  # few-shot examples as chat turns; None: on with a chat template (lm-eval's default)
    rules: str | None = None  # kddcup, shopping-mmlu, ecomgpt, ecellm; None: the rules the tasks carry (ecombench.metrics.rulesets)
    vllm: VLLMOptions = field(default_factory=VLLMOptions)
    openai: OpenAIOptions = field(default_factory=OpenAIOptions)
    judge: JudgeOptions = field(default_factory=lambda: JudgeOptions())  # judged tasks' model judge (ecombench.run.judging)


def check_options(options: RunOptions) -> None:
    """Options that are wrong on their own, refused before anything is read or loaded."""
    if options.protocol not in ("generate", "loglikelihood"):
        raise EcombenchError(f"--protocol {options.protocol}: use generate or loglikelihood")
    if options.limit is not None and options.limit < 1:
        raise EcombenchError(f"--limit {options.limit}: must be at least 1")
    if options.batch_size != "auto" and (not options.batch_size.isdigit() or int(options.batch_size) < 1):
        raise EcombenchError(f"--batch-size {options.batch_size}: use 'auto' or a positive integer")
    chosen = backend(options.backend)
    chosen.check(options)
    for name in BACKENDS:
        if name != options.backend:
            backend(name).misplaced(options)
    if options.judge.model is not None and options.judge.backend not in BACKENDS:
        names = list(BACKENDS)
        raise EcombenchError(f"--judge-backend {options.judge.backend}: use {', '.join(names[:-1])} or {names[-1]}")
    if options.judge.model is None and (options.judge.base_url or options.judge.api or options.judge.backend != "hf"):
        raise EcombenchError("--judge-backend, --judge-base-url and --judge-api are settings of --judge MODEL")
    if options.num_fewshot < 0:
        raise EcombenchError(f"--num-fewshot {options.num_fewshot}: must be 0 or more")
    if options.fewshot_as_multiturn and options.apply_chat_template is False:
        raise EcombenchError("--fewshot-as-multiturn needs a chat template; drop --no-apply-chat-template")
    if options.task_paths and not options.trust_tasks:
        shown = ", ".join(str(p) for p in options.task_paths)
        raise EcombenchError(
            f"--task-path {shown}: task YAMLs can name Python functions (!function) that run when the task loads; "
            "pass --trust-tasks if you trust this folder (tasks bundled with ecombench or under $ECOMBENCH_HOME/tasks need no flag)"
        )
