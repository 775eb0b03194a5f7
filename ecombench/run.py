"""``ecombench run``: generate with lm-eval, score with ecombench, keep the run as a submission."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ecombench import __version__, efficiency, submissions, threads
from ecombench.distributed import launched_processes
from ecombench.errors import EcombenchError
from ecombench.harness import SYSTEM_PROMPTS
from ecombench.hooks import doc_to_target, scoring_item
from ecombench.metrics import EMBEDDING_METRICS
from ecombench.metrics import shopping_mmlu as smmlu
from ecombench.metrics.embedding import Embedders, resolve_embedding_model
from ecombench.metrics.rules import KDDCUP, SHOPPING_MMLU, unscorable
from ecombench.models import API_NOTE, ResolvedModel, ServedModel, check_loadable, folder_hash, resolve_served_model
from ecombench.paths import cache_dir
from ecombench.records import item_key
from ecombench.scoring import Report, resolve_rules, score_report
from ecombench.taskindex import TaskInfo, build_index, default_roots
from ecombench.tiny import resolve_model


@dataclass
class RunOptions:
    """Everything ``ecombench run`` takes; defaults follow the KDD Cup 2024 protocol."""

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
    backend: str = "hf"  # "hf" (transformers) or "vllm"
    tensor_parallel: int = 1  # vllm: GPUs per model replica
    data_parallel: int = 1  # vllm: model replicas
    model_args: str | None = None  # lm-eval's key=value,... passed on to the backend's model class
    base_url: str | None = None  # openai: the server's API root (http://host:port/v1) or an endpoint URL
    api: str | None = None  # openai: "completions" (the prompt as text) or "chat"; default: from the URL, else completions
    concurrency: int = 1  # openai: requests in flight at once
    retries: int = 2  # openai: further tries of a failed request, with lm-eval's exponential backoff
    request_timeout: int = 300  # openai: seconds one request may take
    apply_chat_template: bool | None = None  # None: on when the tokenizer has a chat template (instruct models), off for base models
    num_fewshot: int = 0  # examples from each task's training part before each question (seeded; never the evaluated items)
    fewshot_as_multiturn: bool | None = None  # few-shot examples as chat turns; None: on with a chat template (lm-eval's default)
    rules: str | None = None  # kddcup, shopping-mmlu, ecomgpt, ecellm; None: the rules the tasks carry (ecombench.metrics.rules)


@dataclass(frozen=True)
class RunResult:
    """A scored run (submission and report), or for test sets without answers a predictions file.

    In the non-main processes of a data-parallel run everything is None: rank 0 writes the result.
    """

    submission: submissions.Submission | None
    report: Report | None
    path: Path | None


def _answer_cache(
    model: ResolvedModel | None,
    weights: str,
    adapter: str | None,
    dtype: str,
    device: str,
    protocol: str,
    model_args: dict | None = None,
    prompting: tuple[bool, int, bool] = (False, 0, False),
    chat_template_sha256: str | None = None,
    reported: str = "",
) -> Path:
    """lm-eval's request cache is keyed by request only; a folder per model identity keys it by model.

    ``prompting`` is (chat template, few-shot examples, few-shot as turns); plain 0-shot keeps its old folder.
    ``chat_template_sha256`` (the template applied, when one is): an edited template answers anew.
    ``reported`` is what a server says of the model it serves (other weights behind the same URL and name: other answers).
    """
    identity: list = [weights, adapter, dtype, device.split(":")[0], protocol]
    if model_args:  # answers under other model arguments (max_length, quantization, ...) are kept apart
        identity.append(sorted((k, repr(v)) for k, v in model_args.items()))
    if prompting != (False, 0, False):
        identity.append({"chat_template": prompting[0], "num_fewshot": prompting[1], "fewshot_as_multiturn": prompting[2]})
    if chat_template_sha256 is not None:
        identity.append({"chat_template_sha256": chat_template_sha256})
    if reported:
        identity.append({"server_reported": reported})
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    return cache_dir() / "answers" / key / "requests"


def _hardware(device: str) -> submissions.Hardware:
    import torch

    name = torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else platform.processor() or "cpu"
    return submissions.Hardware(
        platform=platform.platform(), python=sys.version.split()[0], torch=torch.__version__, device=name, cpu_count=os.cpu_count() or 1
    )


def _runnable(tasks: list[TaskInfo], options: RunOptions) -> tuple[list[TaskInfo], dict[str, str]]:
    """Check before generating that every embedding metric's model can be found.

    A task named explicitly must run, so a missing model is an error; a task that came with a
    suite, group or track is skipped, and the submission says so.
    """
    skipped: dict[str, str] = {}
    named = set(options.tasks or [])
    for t in tasks:
        if t.metric not in EMBEDDING_METRICS:
            continue
        try:
            resolve_embedding_model(t.metric, options.embedders.overrides.get(t.metric))
        except EcombenchError as exc:
            if t.name in named:
                raise EcombenchError(f"task {t.name}: {exc}") from exc
            skipped[t.name] = str(exc)
    left = [t for t in tasks if t.name not in skipped]
    if not left:
        raise EcombenchError(f"no task can run: {'; '.join(f'{k}: {v}' for k, v in skipped.items())}")
    return left, skipped


def default_name(model: ResolvedModel | ServedModel) -> str:
    if isinstance(model, ServedModel):  # --model as asked (the server's id may be another's, or anything): "org/name" -> "name"
        return Path(model.name.split("@")[0].rstrip("/")).name or model.name  # transformers serve's "/path/to/folder@main" -> "folder"
    if model.kind == "builtin":
        return model.spec.replace(":", "-")
    return Path(model.spec.rstrip("/")).name or model.spec


def _check_api_options(options: RunOptions) -> None:
    """``--backend openai`` takes a server and its transport settings; the model's own settings belong to the server."""
    if options.backend != "openai":
        if options.base_url or options.api:
            raise EcombenchError("--base-url and --api are settings of --backend openai")
        return
    if not options.base_url:
        raise EcombenchError("--backend openai needs --base-url (the server's API root, e.g. http://localhost:8000/v1) and --model (the served name)")
    for flag, value, default in (
        ("--base", options.base, None),
        ("--device", options.device, None),
        ("--dtype", options.dtype, "auto"),
        ("--trust-remote-code", options.trust_remote_code, False),
        ("--tensor-parallel", options.tensor_parallel, 1),
        ("--data-parallel", options.data_parallel, 1),
    ):
        if value != default:
            raise EcombenchError(f"{flag}: the server sets it (--backend openai); start the server with it")
    if options.protocol == "loglikelihood":
        raise EcombenchError(
            "--protocol loglikelihood needs prompt log-probabilities, which OpenAI-compatible servers need not give; "
            "use --protocol generate with --backend openai"
        )
    if options.apply_chat_template:
        raise EcombenchError("--apply-chat-template: with --backend openai the server applies its template; use --api chat")
    for flag, value, least in (("--concurrency", options.concurrency, 1), ("--retries", options.retries, 0), ("--request-timeout", options.request_timeout, 1)):
        if value < least:
            raise EcombenchError(f"{flag} {value}: must be at least {least}")


def _served_identity(served: ServedModel) -> submissions.ModelIdentity:
    """A served model is known by its URL and the id the server reports; the record says its weights were not hashed."""
    return submissions.ModelIdentity(
        spec=served.name,
        kind="api",
        base_model=served.model_id,
        weights_sha256=served.identity,
        dtype="server",
        base_url=served.base_url,
        api=served.endpoint,
        note=API_NOTE,
    )


def check_options(options: RunOptions) -> None:
    """Options that are wrong on their own, refused before anything is read or loaded."""
    if options.protocol not in ("generate", "loglikelihood"):
        raise EcombenchError(f"--protocol {options.protocol}: use generate or loglikelihood")
    if options.limit is not None and options.limit < 1:
        raise EcombenchError(f"--limit {options.limit}: must be at least 1")
    if options.batch_size != "auto" and (not options.batch_size.isdigit() or int(options.batch_size) < 1):
        raise EcombenchError(f"--batch-size {options.batch_size}: use 'auto' or a positive integer")
    if options.backend not in ("hf", "vllm", "openai"):
        raise EcombenchError(f"--backend {options.backend}: use hf, vllm or openai")
    _check_api_options(options)
    if options.backend == "hf" and (options.tensor_parallel != 1 or options.data_parallel != 1):
        raise EcombenchError("--tensor-parallel and --data-parallel are vLLM settings (--backend vllm); with hf, use accelerate launch")
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


@dataclass(frozen=True)
class Selection:
    """Stage 1: the tasks to run, those left out (a metric model is missing) and where their YAMLs live."""

    tasks: list[TaskInfo]
    skipped: dict[str, str]
    roots: list[Path]
    system_prompt: str | None
    unanswered: bool  # a test set without truths: answers are written as predictions, not scored
    rules: str = "kddcup"  # whose scoring code the run follows


def select_tasks(options: RunOptions) -> Selection:
    """Stage 1: expand task, group and track names; check what each task needs (embedding models, few-shot pools)."""
    from ecombench import harness

    roots = default_roots(options.task_paths)
    tasks, skipped = _runnable(build_index(roots).select(options.tasks), options)
    unanswered = [t.name for t in tasks if (t.config.get("metadata") or {}).get("answers") is False]
    no_pool = [t.name for t in tasks if not harness.has_fewshot_split(t)] if options.num_fewshot else []
    if no_pool:
        raise EcombenchError(
            f"--num-fewshot {options.num_fewshot}: task {', '.join(no_pool[:3])}{' ...' if len(no_pool) > 3 else ''} has no "
            "training part to draw examples from (ecombench-core has one); run it 0-shot"
        )
    small = [(t.name, n) for t in tasks if options.num_fewshot and (n := harness.fewshot_pool_size(t)) is not None and n < options.num_fewshot]
    if small:
        raise EcombenchError(f"--num-fewshot {options.num_fewshot}: task {small[0][0]} has only {small[0][1]} training examples to draw from")
    if unanswered and len(unanswered) != len(tasks):
        raise EcombenchError(f"tasks without answers ({', '.join(unanswered)}) can only run on their own (they write predictions, not scores)")
    rules = resolve_rules(options.rules, [(t.config.get("metadata") or {}).get("rules") for t in tasks], [t.metric for t in tasks])
    missing = unscorable(rules, {m for t in tasks for m in (t.config.get("metadata") or {}).get("metrics") or [t.metric]})
    if missing:
        raise EcombenchError(f"--rules {rules}: metric '{missing[0]}' of the selected tasks has no rule under it")
    system_prompt = SYSTEM_PROMPTS.get(options.system_prompt or "", options.system_prompt)
    if system_prompt is None and rules == SHOPPING_MMLU:  # skill_wise_eval/hf_skill_inference.py:31,49: before every question
        system_prompt = smmlu.SYSTEM_PROMPT
    return Selection(tasks, skipped, roots, system_prompt, bool(unanswered), rules)


@dataclass
class Built:
    """Stage 2: the backend's model ready to answer, what it is (identity) and how it was set up."""

    lm: Any
    identity: submissions.ModelIdentity
    name: str
    device: str
    batch_size: int | str
    model_args: dict[str, Any]
    chat: bool  # chat template applied
    multiturn: bool  # few-shot examples as chat turns
    cache: Path | None  # lm-eval's answer cache for this model identity and these settings
    served: ServedModel | None = None
    chat_template_sha256: str | None = None  # which template was applied (None when none is)


def build_model(options: RunOptions, selection: Selection, loaded: Any = None) -> Built:
    """Stage 2: resolve ``--model`` (a folder, hub id, adapter, built-in or served model) and build its backend.

    ``loaded``: an hf model already built that answers as this model (the base of several adapters, loaded once
    with this adapter active: ``ecombench.adapter_runs``); nothing is loaded then.
    """
    from ecombench import harness

    model_args = harness.parse_model_args(options.model_args)
    if options.device:
        harness.check_device(options.device)
    if options.backend == "vllm":
        harness.check_vllm()  # before a model is resolved (builtin:tiny may have to be built)
    served = model = None
    if options.backend == "openai":
        harness.check_api()
        served = resolve_served_model(options.base_url or "", options.model, options.api, options.request_timeout)
    else:
        model = resolve_model(options.model, options.base)
        check_loadable(model, options.trust_remote_code)
    subject = served or model
    assert subject is not None  # one of the two branches above resolved it
    name = options.name or default_name(subject)
    harness.quiet_lm_eval(options.debug)
    if served is not None:  # the server sets device and dtype, and its weights cannot be hashed from here
        device = dtype = "server"
        batch_size: int | str = 1 if options.batch_size == "auto" else int(options.batch_size)
        weights, adapter = served.identity, None
        identity = _served_identity(served)
    else:
        assert model is not None
        device = options.device or harness.default_device()
        dtype = harness.resolve_dtype(options.dtype, device)
        batch_size = harness.resolve_batch_size(options.batch_size, device)
        weights = folder_hash(model.base_path)
        adapter = folder_hash(model.adapter_path) if model.adapter_path else None
        identity = submissions.ModelIdentity(
            spec=model.spec,
            kind=model.kind,
            base_model=model.base_spec,
            weights_sha256=weights,
            adapter_sha256=adapter,
            adapter_path=str(model.adapter_path) if model.adapter_path else None,
            dtype=dtype,
        )
    engine = options.protocol if options.backend == "hf" else f"{options.protocol}:{options.backend}"
    if served is not None:
        engine += f":{served.endpoint}"  # the chat endpoint wraps prompts in the server's template: other answers
    try:
        if served is not None:
            lm = harness.build_api(
                served, batch_size=int(batch_size), concurrency=options.concurrency, retries=options.retries, timeout=options.request_timeout, extra=model_args
            )
        elif options.backend == "vllm":
            assert model is not None  # resolved above whenever nothing is served
            lm = harness.build_vllm(
                model,
                dtype=dtype,
                tensor_parallel=options.tensor_parallel,
                data_parallel=options.data_parallel,
                trust_remote_code=options.trust_remote_code,
                extra=model_args,
            )
        elif loaded is not None:
            lm = loaded
        else:
            assert model is not None  # resolved above whenever nothing is served
            lm = harness.build_lm(model, device=device, dtype=dtype, batch_size=batch_size, trust_remote_code=options.trust_remote_code, extra=model_args)
    except TypeError as exc:
        if not model_args:
            raise
        raise EcombenchError(f"--model-args {options.model_args}: the {options.backend} backend refused them ({exc})") from exc
    chat, multiturn = _chat_settings(options, lm, selection.system_prompt, served, selection.rules)
    prompting = (chat, options.num_fewshot, multiturn)
    template_sha = harness.chat_template_sha256(lm) if chat else None
    reported = served.reported if served is not None else ""
    cache = _answer_cache(model, weights, adapter, dtype, device, engine, model_args, prompting, template_sha, reported) if options.use_cache else None
    if served is not None and cache is not None and not reported:
        _note(
            f"{served.base_url} does not say which weights serve '{served.name}' (no root or system_fingerprint): answers kept from "
            "an earlier run under this URL and name are reused; pass --no-cache if the weights behind them changed"
        )
    return Built(lm, identity, name, device, batch_size, model_args, chat, multiturn, cache, served, template_sha)


def check_room(tasks: list[TaskInfo], protocol: str, max_length: int | None) -> None:
    """One line for a task whose ``max_gen_toks`` leaves its prompt no room in the model's maximum length (prompt and
    answer share it; lm-eval stopped with a ValueError traceback once the first such question came up)."""
    if max_length is None:
        return
    for task in tasks:
        if protocol == "loglikelihood" and task.task_type == "multiple-choice":
            continue  # asked by log-likelihood: nothing is generated
        if task.config.get("output_type", "generate_until") != "generate_until":
            continue
        limit = int((task.config.get("generation_kwargs") or {}).get("max_gen_toks", 0))
        if limit >= max_length:
            raise EcombenchError(
                f"{task.yaml_path}: task {task.name} asks for up to {limit} new tokens (max_gen_toks), but the model's maximum length is "
                f"{max_length} tokens, prompt and answer together; lower max_gen_toks, or pass --model-args max_length=N for a model that takes more"
            )


def generate(options: RunOptions, selection: Selection, built: Built) -> list[Any] | None:
    """Stage 3: every task's answers through lm-eval, in task order; None off the main process."""
    from ecombench import harness

    if not built.served:  # a server's length is its own business: it cuts or refuses
        max_length = getattr(built.lm, "max_length", None)
        check_room(selection.tasks, options.protocol, max_length if isinstance(max_length, int) else None)

    failures = (
        harness.api_failures(built.lm, built.served, retries=options.retries, timeout=options.request_timeout, cached=built.cache is not None)
        if built.served
        else nullcontext()
    )
    with failures:
        samples = harness.generate(
            built.lm,
            selection.tasks,
            selection.roots,
            limit=options.limit,
            protocol=options.protocol,
            system_prompt=selection.system_prompt,
            cache_path=built.cache,
            apply_chat_template=built.chat,
            num_fewshot=options.num_fewshot,
            fewshot_as_multiturn=built.multiturn,
        )
    cut = getattr(type(built.lm), "cut", 0) if built.served else 0
    if cut:
        _note(f"{cut} answers from {built.served.endpoint_url if built.served else ''} were longer than their task's token limit allows and were cut there")
    return None if samples is None else [s for t in selection.tasks for s in samples[t.name]]


@dataclass(frozen=True)
class Scored:
    """Stage 4: the report (tasks, tracks, All-Around) and every item with its answer and score."""

    report: Report
    items: list[submissions.ItemRecord]


def score(samples: list[Any], embedders: Embedders, rules: str | None = None) -> Scored:
    """Stage 4: parse and score every answer by ``rules`` (the KDD Cup scorer by default); the YAML's task is the unit."""
    items = [replace(scoring_item(s.doc, s.response), task_name=s.task) for s in samples]
    report, scores = score_report(items, embedders, rules)
    records = [
        submissions.ItemRecord(
            task=s.task,
            doc_id=s.doc_id,
            item_hash=item_key(s.doc["input_field"], s.doc["output_json"]),
            prompt=s.prompt,
            target=doc_to_target(s.doc),
            prediction=item.raw,
            parsed=result.parsed,
            score=result.score,
        )
        for s, item, result in zip(samples, items, scores, strict=True)
    ]
    return Scored(report, records)


def record(
    options: RunOptions,
    selection: Selection,
    built: Built,
    scored: Scored,
    *,
    created: datetime,
    duration_s: float,
    lineage: submissions.Lineage | None = None,
    cost: submissions.Efficiency | None = None,
) -> RunResult:
    """Stage 5: the submission record (identity, settings, scores; a trained model's lineage) and its items, saved."""
    sub_id = submissions.new_id(built.name, created)
    report, tasks = scored.report, {t.name: t for t in selection.tasks}
    submission = submissions.Submission(
        id=sub_id,
        name=built.name,
        created=created,
        model=built.identity,
        ecombench_version=__version__,
        lm_eval_version=_lm_eval_version(),
        generation=submissions.GenerationSettings(
            protocol=options.protocol,
            system_prompt=selection.system_prompt,
            max_gen_toks={t.name: int((t.config.get("generation_kwargs") or {}).get("max_gen_toks", 0)) for t in selection.tasks},
            batch_size=str(built.batch_size) if options.backend != "vllm" else "auto",
            device=built.device,
            limit=options.limit,
            backend=options.backend,
            processes=launched_processes() if options.backend == "hf" else 1,
            tensor_parallel=options.tensor_parallel,
            data_parallel=options.data_parallel,
            model_args=built.model_args,
            apply_chat_template=built.chat,
            chat_template_sha256=built.chat_template_sha256,
            num_fewshot=options.num_fewshot,
            fewshot_as_multiturn=built.multiturn,
        ),
        tasks={n: submissions.TaskResult.of(r, tasks[n].version, tasks[n].data_hash()) for n, r in report.tasks.items()},
        tracks=report.tracks,
        all_around=report.all_around,
        overall_task_mean=report.overall_task_mean,
        duration_s=round(duration_s, 3),
        hardware=_hardware(built.device),
        items_file=f"{sub_id}.items.jsonl",
        skipped_tasks=selection.skipped,
        lineage=lineage,
        rules=report.rules,  # type: ignore[arg-type]  # resolve_rules admits only the four names
        efficiency=cost,
    )
    path = submissions.save(options.submissions_dir, submission, scored.items)
    return RunResult(submission, report, path)


def run(options: RunOptions, lineage: submissions.Lineage | None = None) -> RunResult:
    """Score a model on the selected tasks and write a submission: the five stages in order.

    ``lineage`` is set by ``ecombench train`` when it scores the adapter it trained.
    """
    check_options(options)
    threads.apply()  # before builtin:tiny may be built and before any model loads
    clock = efficiency.StageClock()
    selection = select_tasks(options)
    with clock.stage("load"):
        built = build_model(options, selection)
    started, created = time.monotonic(), submissions.now()
    with clock.stage("generate"):
        samples = generate(options, selection, built)
    if samples is None:  # another process of a data-parallel run: rank 0 writes the result
        return RunResult(None, None, None)
    if selection.unanswered:
        return RunResult(None, None, _write_predictions(options.submissions_dir, submissions.new_id(built.name, created), samples))
    with clock.stage("score"):
        scored = score(samples, options.embedders, selection.rules)
    with clock.stage("record"):  # the record holds this stage up to its own write (it cannot time itself)
        cost = efficiency.measure(clock, samples, getattr(built.lm, "tokenizer", None), built.device)
        return record(options, selection, built, scored, created=created, duration_s=time.monotonic() - started, lineage=lineage, cost=cost)


def _chat_settings(options: RunOptions, lm: object, system_prompt: str | None, served: ServedModel | None = None, rules: str = KDDCUP) -> tuple[bool, bool]:
    """(chat template, few-shot as turns) for this model: the template is on by default when the tokenizer has one."""
    from ecombench import harness

    if served is not None:  # the chat endpoint applies the server's template to the messages lm-eval builds (system turn included)
        chat = served.endpoint == "chat"
        if options.fewshot_as_multiturn and not chat:
            raise EcombenchError("--fewshot-as-multiturn sends examples as chat turns: use --api chat (the completions endpoint takes text)")
        return chat, chat and options.num_fewshot > 0 and options.fewshot_as_multiturn is not False
    has_template = harness.chat_template_of(lm) is not None
    # Shopping MMLU's code tokenizes the system prompt and question as plain text (no chat template).
    default = has_template and rules != SHOPPING_MMLU
    chat = default if options.apply_chat_template is None else options.apply_chat_template
    if chat and not has_template:
        raise EcombenchError(f"--apply-chat-template: {options.model} has no chat template (its tokenizer has none); drop the flag")
    if options.fewshot_as_multiturn and not chat:
        raise EcombenchError(f"--fewshot-as-multiturn needs a chat template, and {options.model} has none")
    if chat and system_prompt:
        harness.check_system_turn(lm, system_prompt)
    multiturn = chat and options.num_fewshot > 0 and options.fewshot_as_multiturn is not False
    return chat, multiturn


def _note(text: str) -> None:
    from ecombench.terminal import safe_text

    print(f"ecombench: note: {safe_text(text)}", file=sys.stderr)


def _write_predictions(directory: Path, run_id: str, samples: list) -> Path:
    """The challenge's predictions layout: one line per question, ``index`` = its row in the test file."""
    from ecombench.hooks import raw_prediction
    from ecombench.io import atomic_writer

    path = directory / f"{run_id}.predictions.jsonl"
    rows: list[dict[str, Any]] = sorted(
        ({"index": int(s.doc["index"]), "prediction": raw_prediction(s.doc, s.response)} for s in samples), key=lambda r: r["index"]
    )
    with atomic_writer(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _lm_eval_version() -> str:
    from importlib.metadata import version

    return version("lm_eval")
