"""``ecombench run``'s five stages: select the tasks, build the backend's model, generate with lm-eval, score with
ecombench, record the submission. :func:`run` calls them in order; ``ecombench.adapter_runs`` calls them per adapter."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ecombench import __version__, efficiency, submissions, threads
from ecombench.backends import Resolved
from ecombench.backends import get as backend
from ecombench.errors import EcombenchError
from ecombench.hooks import doc_to_target, scoring_item
from ecombench.metrics import EMBEDDING_METRICS
from ecombench.metrics import shopping_mmlu as smmlu
from ecombench.metrics.embedding import Embedders, resolve_embedding_model
from ecombench.metrics.rulesets import SHOPPING_MMLU, unscorable
from ecombench.records import item_key
from ecombench.run.identity import answer_cache, hardware, lm_eval_version
from ecombench.run.options import SYSTEM_PROMPTS, RunOptions, check_options
from ecombench.scoring import Report, resolve_rules, score_report
from ecombench.taskindex import TaskInfo, build_index, default_roots


@dataclass(frozen=True)
class RunResult:
    """A scored run (submission and report), or for test sets without answers a predictions file.

    In the non-main processes of a data-parallel run everything is None: rank 0 writes the result.
    """

    submission: submissions.Submission | None
    report: Report | None
    path: Path | None


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
    from ecombench.run import lm_eval_bridge as bridge

    roots = default_roots(options.task_paths)
    tasks, skipped = _runnable(build_index(roots).select(options.tasks), options)
    unanswered = [t.name for t in tasks if (t.config.get("metadata") or {}).get("answers") is False]
    no_pool = [t.name for t in tasks if not bridge.has_fewshot_split(t)] if options.num_fewshot else []
    if no_pool:
        raise EcombenchError(
            f"--num-fewshot {options.num_fewshot}: task {', '.join(no_pool[:3])}{' ...' if len(no_pool) > 3 else ''} has no "
            "training part to draw examples from (ecombench-core has one); run it 0-shot"
        )
    small = [(t.name, n) for t in tasks if options.num_fewshot and (n := bridge.fewshot_pool_size(t)) is not None and n < options.num_fewshot]
    if small:
        raise EcombenchError(f"--num-fewshot {options.num_fewshot}: task {small[0][0]} has only {small[0][1]} training examples to draw from")
    if unanswered and len(unanswered) != len(tasks):
        raise EcombenchError(f"tasks without answers ({', '.join(unanswered)}) can only run on their own (they write predictions, not scores)")
    from ecombench.run import judging

    judging.check(tasks, options.judge)
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
    resolved: Resolved | None = None  # what --model named for the backend (a local model, or a served one)
    chat_template_sha256: str | None = None  # which template was applied (None when none is)


def build_model(options: RunOptions, selection: Selection, loaded: Any = None) -> Built:
    """Stage 2: resolve ``--model`` (a folder, hub id, adapter, built-in or served model) and build its backend.

    ``loaded``: an hf model already built that answers as this model (the base of several adapters, loaded once
    with this adapter active: ``ecombench.adapter_runs``); nothing is loaded then.
    """
    from ecombench.backends.base import chat_template_sha256
    from ecombench.run import lm_eval_bridge as bridge

    model_args = bridge.parse_model_args(options.model_args)
    chosen = backend(options.backend)
    resolved = chosen.resolve(options)
    bridge.quiet_lm_eval(options.debug)
    try:
        lm = chosen.build(resolved, options, model_args, loaded)
    except TypeError as exc:
        if not model_args:
            raise
        raise EcombenchError(f"--model-args {options.model_args}: the {options.backend} backend refused them ({exc})") from exc
    chat, multiturn = chosen.chat_settings(options, lm, resolved, selection.system_prompt, selection.rules)
    template_sha = chat_template_sha256(lm) if chat else None
    cache = None
    if options.use_cache:
        prompting = (chat, options.num_fewshot, multiturn)
        cache = answer_cache(
            resolved.weights, resolved.adapter, resolved.dtype, resolved.device, resolved.engine, model_args, prompting, template_sha, resolved.reported
        )
    name = options.name or resolved.name
    return Built(lm, resolved.identity, name, resolved.device, resolved.batch_size, model_args, chat, multiturn, cache, resolved, template_sha)


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
    from ecombench.run import lm_eval_bridge as bridge

    resolved = built.resolved
    assert resolved is not None  # build_model sets it
    if resolved.local:  # a server's length is its own business: it cuts or refuses
        max_length = getattr(built.lm, "max_length", None)
        check_room(selection.tasks, options.protocol, max_length if isinstance(max_length, int) else None)
    with backend(options.backend).generating(built.lm, resolved, options, cached=built.cache is not None):
        samples = bridge.generate(
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
    return None if samples is None else [s for t in selection.tasks for s in samples[t.name]]


@dataclass(frozen=True)
class Scored:
    """Stage 4: the report (tasks, tracks, All-Around) and every item with its answer and score."""

    report: Report
    items: list[submissions.ItemRecord]


def score(samples: list[Any], embedders: Embedders, rules: str | None = None, verdicts: dict[int, Any] | None = None) -> Scored:
    """Stage 4: parse and score every answer by ``rules`` (the KDD Cup scorer by default); the YAML's task is the unit.

    ``verdicts`` (sample index -> ``ecombench.run.judging.Judged``): a judged answer's score is its judge's (1 when
    CORRECT; a rubric item the share of its points met); its task's score is their mean."""
    items = [replace(scoring_item(s.doc, s.response), task_name=s.task) for s in samples]
    verdicts = verdicts or {}
    if verdicts:
        report, scores = _score_judged(items, embedders, rules, verdicts)
    else:
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
            verdict=verdicts[i].verdict if i in verdicts else None,
            judge_reply=verdicts[i].reply if i in verdicts else None,
        )
        for i, (s, item, result) in enumerate(zip(samples, items, scores, strict=True))
    ]
    return Scored(report, records)


def _score_judged(items: list[Any], embedders: Embedders, rules: str | None, verdicts: dict[int, Any]) -> tuple[Report, list[Any]]:
    """Items the judge graded scored by their verdicts, the rest by their metrics; tasks in order of first appearance."""
    from collections import defaultdict

    from ecombench.metrics.parsers import parse
    from ecombench.scoring import ItemScore, aggregate, task_score

    plain = [i for i in range(len(items)) if i not in verdicts]
    scores: list[Any] = [None] * len(items)
    report = None
    if plain:
        report, plain_scores = score_report([items[i] for i in plain], embedders, rules)
        for i, result in zip(plain, plain_scores, strict=True):
            scores[i] = result
    for i, verdict in verdicts.items():
        scores[i] = ItemScore(parse(items[i].task_type, items[i].raw), verdict.score, verdict.score)
    by_task: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        by_task[item.task_name].append(i)
    tasks = {
        name: report.tasks[name] if report is not None and name in report.tasks else task_score(name, [items[i] for i in rows], [scores[i] for i in rows])
        for name, rows in by_task.items()
    }
    return aggregate(tasks, rules or (report.rules if report is not None else "kddcup")), scores


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
    judge: submissions.JudgeRecord | None = None,
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
        lm_eval_version=lm_eval_version(),
        generation=submissions.GenerationSettings(
            protocol=options.protocol,
            system_prompt=selection.system_prompt,
            max_gen_toks={t.name: int((t.config.get("generation_kwargs") or {}).get("max_gen_toks", 0)) for t in selection.tasks},
            device=built.device,
            limit=options.limit,
            backend=options.backend,
            model_args=built.model_args,
            apply_chat_template=built.chat,
            chat_template_sha256=built.chat_template_sha256,
            num_fewshot=options.num_fewshot,
            fewshot_as_multiturn=built.multiturn,
            **backend(options.backend).settings(options, built.batch_size),
        ),
        tasks={n: submissions.TaskResult.of(r, tasks[n].version, tasks[n].data_hash()) for n, r in report.tasks.items()},
        tracks=report.tracks,
        all_around=report.all_around,
        overall_task_mean=report.overall_task_mean,
        duration_s=round(duration_s, 3),
        hardware=hardware(built.device),
        items_file=f"{sub_id}.items.jsonl",
        skipped_tasks=selection.skipped,
        lineage=lineage,
        rules=report.rules,  # type: ignore[arg-type]  # resolve_rules admits only the four names
        efficiency=cost,
        judge=judge,
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
        return RunResult(None, None, write_predictions(options.submissions_dir, submissions.new_id(built.name, created), samples))
    verdicts, judged = judge(options, selection, samples, clock)
    with clock.stage("score"):
        scored = score(samples, options.embedders, selection.rules, verdicts)
    with clock.stage("record"):  # the record holds this stage up to its own write (it cannot time itself)
        cost = efficiency.measure(clock, samples, getattr(built.lm, "tokenizer", None), built.device)
        return record(options, selection, built, scored, created=created, duration_s=time.monotonic() - started, lineage=lineage, cost=cost, judge=judged)


def judge(options: RunOptions, selection: Selection, samples: list[Any], clock: Any = None) -> tuple[dict[int, Any], submissions.JudgeRecord | None]:
    """Stage 3b, for judged tasks only: the model judge grades their answers (``ecombench.run.judging``)."""
    from contextlib import nullcontext

    from ecombench.run import judging

    if not judging.judged(selection.tasks):
        return {}, None
    with clock.stage("judge") if clock is not None else nullcontext():
        built = judging.build(options.judge, options)
        return judging.grade(samples, selection.tasks, built)


def write_predictions(directory: Path, run_id: str, samples: list) -> Path:
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
