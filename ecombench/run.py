"""``ecombench run``: generate with lm-eval, score with ecombench, keep the run as a submission."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ecombench import __version__, submissions, threads
from ecombench.distributed import launched_processes
from ecombench.errors import EcombenchError
from ecombench.harness import SYSTEM_PROMPTS
from ecombench.hooks import doc_to_target, scoring_item
from ecombench.metrics import EMBEDDING_METRICS
from ecombench.metrics.embedding import Embedders, resolve_embedding_model
from ecombench.tiny import resolve_model
from ecombench.models import ResolvedModel, check_loadable, folder_hash
from ecombench.paths import cache_dir
from ecombench.scoring import Report, score_report
from ecombench.taskindex import TaskInfo, build_index, default_roots


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
    lineage: submissions.Lineage | None = None  # training lineage, when `ecombench train` scores its adapter
    backend: str = "hf"  # "hf" (transformers) or "vllm"
    tensor_parallel: int = 1  # vllm: GPUs per model replica
    data_parallel: int = 1  # vllm: model replicas
    model_args: str | None = None  # lm-eval's key=value,... passed on to the backend's model class


@dataclass(frozen=True)
class RunResult:
    """A scored run (submission and report), or for test sets without answers a predictions file.

    In the non-main processes of a data-parallel run everything is None: rank 0 writes the result.
    """

    submission: submissions.Submission | None
    report: Report | None
    path: Path | None


def _answer_cache(model: ResolvedModel, weights: str, adapter: str | None, dtype: str, device: str, protocol: str,
                  model_args: dict | None = None) -> Path:
    """lm-eval's request cache is keyed by request only; a folder per model identity keys it by model."""
    identity: list = [weights, adapter, dtype, device.split(":")[0], protocol]
    if model_args:  # answers under other model arguments (max_length, quantization, ...) are kept apart
        identity.append(sorted((k, repr(v)) for k, v in model_args.items()))
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


def default_name(model: ResolvedModel) -> str:
    if model.kind == "builtin":
        return model.spec.replace(":", "-")
    return Path(model.spec.rstrip("/")).name or model.spec


def run(options: RunOptions) -> RunResult:
    """Score a model on the selected tasks and write a submission."""
    if options.protocol not in ("generate", "loglikelihood"):
        raise EcombenchError(f"--protocol {options.protocol}: use generate or loglikelihood")
    if options.limit is not None and options.limit < 1:
        raise EcombenchError(f"--limit {options.limit}: must be at least 1")
    if options.batch_size != "auto" and (not options.batch_size.isdigit() or int(options.batch_size) < 1):
        raise EcombenchError(f"--batch-size {options.batch_size}: use 'auto' or a positive integer")
    if options.backend not in ("hf", "vllm"):
        raise EcombenchError(f"--backend {options.backend}: use hf or vllm")
    if options.backend == "hf" and (options.tensor_parallel != 1 or options.data_parallel != 1):
        raise EcombenchError("--tensor-parallel and --data-parallel are vLLM settings (--backend vllm); with hf, use accelerate launch")
    from ecombench import harness

    model_args = harness.parse_model_args(options.model_args)
    threads.apply()  # before builtin:tiny may be built and before any model loads
    if options.task_paths and not options.trust_tasks:
        shown = ", ".join(str(p) for p in options.task_paths)
        raise EcombenchError(
            f"--task-path {shown}: task YAMLs can name Python functions (!function) that run when the task loads; "
            "pass --trust-tasks if you trust this folder (tasks bundled with ecombench or under $ECOMBENCH_HOME/tasks need no flag)"
        )
    system_prompt = SYSTEM_PROMPTS.get(options.system_prompt or "", options.system_prompt)
    roots = default_roots(options.task_paths)
    index = build_index(roots)
    tasks, skipped = _runnable(index.select(options.tasks), options)
    unanswered = [t.name for t in tasks if (t.config.get("metadata") or {}).get("answers") is False]
    if unanswered and len(unanswered) != len(tasks):
        raise EcombenchError(f"tasks without answers ({', '.join(unanswered)}) can only run on their own (they write predictions, not scores)")
    if options.device:
        harness.check_device(options.device)
    if options.backend == "vllm":
        harness.check_vllm()  # before a model is resolved (builtin:tiny may have to be built)
    model = resolve_model(options.model, options.base)
    check_loadable(model, options.trust_remote_code)
    name = options.name or default_name(model)

    harness.quiet_lm_eval(options.debug)
    started = time.monotonic()
    created = submissions.now()
    device = options.device or harness.default_device()
    dtype = harness.resolve_dtype(options.dtype, device)
    batch_size = harness.resolve_batch_size(options.batch_size, device)
    weights = folder_hash(model.base_path)
    adapter = folder_hash(model.adapter_path) if model.adapter_path else None
    engine = options.protocol if options.backend == "hf" else f"{options.protocol}:{options.backend}"
    cache = _answer_cache(model, weights, adapter, dtype, device, engine, model_args) if options.use_cache else None

    try:
        if options.backend == "vllm":
            lm = harness.build_vllm(model, dtype=dtype, tensor_parallel=options.tensor_parallel, data_parallel=options.data_parallel,
                                    trust_remote_code=options.trust_remote_code, extra=model_args)
        else:
            lm = harness.build_lm(model, device=device, dtype=dtype, batch_size=batch_size, trust_remote_code=options.trust_remote_code,
                                  extra=model_args)
    except TypeError as exc:
        if not model_args:
            raise
        raise EcombenchError(f"--model-args {options.model_args}: the {options.backend} backend refused them ({exc})") from exc
    samples = harness.generate(
        lm, tasks, roots, limit=options.limit, protocol=options.protocol, system_prompt=system_prompt, cache_path=cache
    )

    if samples is None:
        return RunResult(None, None, None)
    flat = [s for t in tasks for s in samples[t.name]]
    if unanswered:
        return RunResult(None, None, _write_predictions(options.submissions_dir, submissions.new_id(name, created), flat))
    # The YAML's task is the unit of aggregation, whatever task_name its data rows carry.
    items = [replace(scoring_item(s.doc, s.response), task_name=s.task) for s in flat]
    report, scores = score_report(items, options.embedders)

    sub_id = submissions.new_id(name, created)
    task_infos = {t.name: t for t in tasks}
    submission = submissions.Submission(
        id=sub_id,
        name=name,
        created=created,
        model=submissions.ModelIdentity(
            spec=model.spec,
            kind=model.kind,
            base_model=model.base_spec,
            weights_sha256=weights,
            adapter_sha256=adapter,
            adapter_path=str(model.adapter_path) if model.adapter_path else None,
            dtype=dtype,
        ),
        ecombench_version=__version__,
        lm_eval_version=_lm_eval_version(),
        generation=submissions.GenerationSettings(
            protocol=options.protocol,
            system_prompt=system_prompt,
            max_gen_toks={t.name: int((t.config.get("generation_kwargs") or {}).get("max_gen_toks", 0)) for t in tasks},
            batch_size=str(batch_size) if options.backend == "hf" else "auto",
            device=device,
            limit=options.limit,
            backend=options.backend,
            processes=launched_processes() if options.backend == "hf" else 1,
            tensor_parallel=options.tensor_parallel,
            data_parallel=options.data_parallel,
            model_args=model_args,
        ),
        tasks={
            n: submissions.TaskResult(
                track=r.track, task_type=r.task_type, metric=r.metric, n=r.n, score=r.score, stderr=r.stderr,
                version=task_infos[n].version, data_sha256=task_infos[n].data_hash(),
            )
            for n, r in report.tasks.items()
        },
        tracks=report.tracks,
        all_around=report.all_around,
        overall_task_mean=report.overall_task_mean,
        duration_s=round(time.monotonic() - started, 3),
        hardware=_hardware(device),
        items_file=f"{sub_id}.items.jsonl",
        skipped_tasks=skipped,
        lineage=options.lineage,
    )
    records = [
        submissions.ItemRecord(
            task=s.task,
            doc_id=s.doc_id,
            item_hash=hashlib.sha256(f"{s.doc['input_field']}\0{s.doc['output_json']}".encode()).hexdigest()[:16],
            prompt=s.prompt,
            target=doc_to_target(s.doc),
            prediction=item.raw,
            parsed=score.parsed,
            score=score.score,
        )
        for s, item, score in zip(flat, items, scores, strict=True)
    ]
    path = submissions.save(options.submissions_dir, submission, records)
    return RunResult(submission, report, path)


def _write_predictions(directory: Path, run_id: str, samples: list) -> Path:
    """The challenge's predictions layout: one line per question, ``index`` = its row in the test file."""
    from ecombench.hooks import raw_prediction
    from ecombench.io import atomic_writer

    path = directory / f"{run_id}.predictions.jsonl"
    rows = sorted(({"index": int(s.doc["index"]), "prediction": raw_prediction(s.doc, s.response)} for s in samples), key=lambda r: r["index"])
    with atomic_writer(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _lm_eval_version() -> str:
    from importlib.metadata import version

    return version("lm_eval")
