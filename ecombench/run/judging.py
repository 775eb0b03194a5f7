"""Judged tasks: a model judge grades each answer against its reference (``ecombench.judge``), between the
generate and score stages of a run.

A task is judged when its YAML's ``metadata`` holds a ``judge`` block (``template``, optional ``metrics``;
``ecombench import chinese-ecomqa`` writes one). Its items are scored 1 when the judge says CORRECT and 0
otherwise (NOT_ATTEMPTED and unparseable replies included), so the task score is SimpleQA's *correct*; the
record keeps the three SimpleQA rates per task and pooled, the unparseable count, and the judge's identity,
template hash, calls, cache hits, tokens and time, apart from the candidate's.

The judge is any model a run can score (``--judge builtin:tiny|PATH|hub-id``, or ``--judge-backend openai``
with ``--judge-base-url``), built through the same backend table, asked greedily with the template filled in
(as the user turn when the judge has a chat template), and its replies are cached by judge identity, template
hash, question, answer and reference (``ecombench.judge.cache``): re-scoring costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ecombench import submissions
from ecombench.backends import Resolved
from ecombench.backends import get as backend
from ecombench.backends.openai import OpenAIOptions
from ecombench.backends.vllm import VLLMOptions
from ecombench.errors import EcombenchError
from ecombench.run.options import JudgeOptions
from ecombench.taskindex import TaskInfo

JUDGE_MAX_GEN_TOKS = 16  # a grade letter, or a letter and its name ("A: CORRECT"); longer replies are cut and read strictly


def judge_block(task: TaskInfo) -> dict[str, Any] | None:
    """A task's ``metadata.judge`` block, or None for a task scored by its metric."""
    block = (task.config.get("metadata") or {}).get("judge")
    return block if isinstance(block, dict) else None


def judged(tasks: Sequence[TaskInfo]) -> list[TaskInfo]:
    return [t for t in tasks if judge_block(t) is not None]


def check(tasks: Sequence[TaskInfo], judge: JudgeOptions) -> None:
    """Before anything loads: judged tasks need a judge, and a judge needs judged tasks."""
    from ecombench.judge import TEMPLATES

    found = judged(tasks)
    if found and not judge.model:
        names = ", ".join(t.name for t in found[:3]) + (" ..." if len(found) > 3 else "")
        raise EcombenchError(f"task {names}: graded by a model judge; pass --judge MODEL (a folder, hub id or builtin:tiny; docs/judged-tasks.md)")
    if judge.model and not found:
        raise EcombenchError("--judge: none of the selected tasks is judged (their YAMLs have no metadata.judge)")
    for t in found:
        name = (judge_block(t) or {}).get("template")
        if name not in TEMPLATES:
            raise EcombenchError(f"{t.yaml_path}: metadata.judge.template {name!r} is not one of {', '.join(TEMPLATES)}")


def _options(judge: JudgeOptions, run: Any) -> Any:
    """The judge as a run's options: its own model and backend; device and dtype of the run for local judges."""
    local = judge.backend != "openai"
    return replace(
        run,
        model=judge.model or "",
        base=None,
        backend=judge.backend,
        name=None,
        device=run.device if local else None,
        dtype=run.dtype if local else "auto",
        trust_remote_code=run.trust_remote_code if local else False,
        model_args=None,
        apply_chat_template=None,
        num_fewshot=0,
        fewshot_as_multiturn=None,
        protocol="generate",
        vllm=VLLMOptions(),
        openai=OpenAIOptions(base_url=judge.base_url, api=judge.api, request_timeout=run.openai.request_timeout),
        judge=JudgeOptions(),
    )


@dataclass
class Judge:
    lm: Any
    resolved: Resolved
    identity: str  # what the reply cache and the board key verdicts by
    options: Any  # the judge's run options
    load_s: float


def identity_of(resolved: Resolved) -> str:
    """The judge's identity: its weights (and adapter), dtype and engine, or the served model and what the server says."""
    parts = [resolved.weights, resolved.adapter, resolved.dtype, resolved.engine, resolved.reported]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def build(judge: JudgeOptions, run: Any) -> Judge:
    """The judge's backend model, resolved and built as a run builds its own (the errors say ``--judge``)."""
    from ecombench.run.lm_eval_bridge import quiet_lm_eval
    from ecombench.run.options import check_options

    started = time.monotonic()
    options = _options(judge, run)
    try:
        check_options(options)
        chosen = backend(options.backend)
        resolved = chosen.resolve(options)
        quiet_lm_eval(run.debug)
        lm = chosen.build(resolved, options, {}, None)
    except EcombenchError as exc:
        raise EcombenchError(f"--judge {judge.model}: {exc}".replace("--backend", "--judge-backend").replace("--base-url", "--judge-base-url")) from exc
    return Judge(lm, resolved, identity_of(resolved), options, time.monotonic() - started)


def generator(judge: Judge, max_gen_toks: int = JUDGE_MAX_GEN_TOKS):
    """``generate(prompts) -> replies``: greedy, one reply per prompt, each prompt the user turn of the judge's chat
    template when it has one (a served chat endpoint wraps it itself)."""
    from lm_eval.api.instance import Instance

    from ecombench.backends.base import chat_template_of

    chat = judge.resolved.local and chat_template_of(judge.lm) is not None

    def generate(prompts: list[str]) -> list[str]:
        contexts = [judge.lm.apply_chat_template([{"role": "user", "content": p}]) if chat else p for p in prompts]
        requests = [
            Instance(request_type="generate_until", doc={}, arguments=(c, {"until": [], "max_gen_toks": max_gen_toks, "do_sample": False}), idx=i)
            for i, c in enumerate(contexts)
        ]
        with backend(judge.options.backend).generating(judge.lm, judge.resolved, judge.options, cached=True):
            return [str(r) for r in judge.lm.generate_until(requests, disable_tqdm=True)]

    return generate


def _question(doc: dict[str, Any]) -> str:
    """What the judge is shown as the question: the row's own question (``prompt``, without few-shot examples) when it
    keeps one, else the prompt the model was sent."""
    return str(doc.get("prompt") or doc["input_field"])


@dataclass(frozen=True)
class Judged:
    """One judged answer as the score stage and the items file take it: its score, the verdict in words, the reply."""

    score: float
    verdict: str  # SimpleQA: CORRECT, INCORRECT, NOT_ATTEMPTED, UNPARSEABLE; rubric: "2/3 points met" (1 unparseable)
    reply: str  # the judge's reply as it came (a rubric item: its replies, one per point, as a JSON list)


def rubric_points(doc: dict[str, Any], where: str) -> tuple[str, ...]:
    """A rubric item's points: the row's ``rubric``, a non-empty list of non-empty texts."""
    points = doc.get("rubric")
    if not isinstance(points, list) or not points or not all(isinstance(p, str) and p.strip() for p in points):
        raise EcombenchError(f"{where}: a rubric-graded item needs 'rubric', a list of the points its answer must meet")
    return tuple(points)


def grade(samples: Sequence[Any], tasks: Sequence[TaskInfo], judge: Judge) -> tuple[dict[int, Judged], submissions.JudgeRecord]:
    """The judged score of every sample of a judged task (by its index in ``samples``) and what the record keeps.

    SimpleQA-style templates grade each answer against its reference (score 1 when CORRECT); rubric templates grade
    each of an item's points (its ``rubric``), and the item scores the share of points met."""
    import json as _json

    from ecombench.hooks import doc_to_target
    from ecombench.judge import Grade, JudgeCache, JudgeItem, RubricItem, grade_rubric, load_template, simpleqa_by_group, usage
    from ecombench.judge import grade as ask

    blocks = {t.name: block for t in tasks if (block := judge_block(t)) is not None}
    names = {str(b.get("template")) for b in blocks.values()}
    if len(names) != 1:
        raise EcombenchError(f"the judged tasks name different templates ({', '.join(sorted(names))}); run them separately")
    template = load_template(names.pop())
    rows = [i for i, s in enumerate(samples) if s.task in blocks]
    started = time.monotonic()
    out: dict[int, Judged] = {}
    if template.kind == "rubric":
        paths = {t.name: t.yaml_path for t in tasks}
        items = [
            RubricItem(
                _question(samples[i].doc),
                str(samples[i].response),
                rubric_points(samples[i].doc, f"{paths[samples[i].task]}: task {samples[i].task}, item {samples[i].doc_id}"),
            )
            for i in rows
        ]
        results = grade_rubric(items, generator(judge), judge.identity, template, JudgeCache())
        verdicts = [v for r in results for v in r.points]
        by_task_rows: dict[str, list[float]] = {}
        unparseable: dict[str, int] = {}
        for i, item, result in zip(rows, items, results, strict=True):
            met = sum(v.grade == Grade.MET for v in result.points)
            said = f"{met}/{len(item.points)} points met" + (f" ({result.unparseable} unparseable)" if result.unparseable else "")
            out[i] = Judged(result.score, said, _json.dumps([v.reply for v in result.points], ensure_ascii=False))
            by_task_rows.setdefault(samples[i].task, []).append(result.score)
            if result.unparseable:
                unparseable[samples[i].task] = unparseable.get(samples[i].task, 0) + result.unparseable
        if unparseable:
            unparseable["overall"] = sum(unparseable.values())
        every = [s for v in by_task_rows.values() for s in v]
        scores = {task: {"items": float(len(v)), "rubric_score": sum(v) / len(v)} for task, v in by_task_rows.items()}
        scores["overall"] = {"items": float(len(every)), "rubric_score": sum(every) / len(every) if every else 0.0}
    else:
        judged = [JudgeItem(_question(samples[i].doc), doc_to_target(samples[i].doc), str(samples[i].response), samples[i].task) for i in rows]
        verdicts = ask(judged, generator(judge), judge.identity, template, JudgeCache())
        for i, v in zip(rows, verdicts, strict=True):
            out[i] = Judged(1.0 if v.grade == Grade.CORRECT else 0.0, str(v.grade), v.reply)
        by_task = simpleqa_by_group([v.grade for v in verdicts], [it.group for it in judged])
        unparseable = {task: int(s.unparseable) for task, s in by_task.items() if s.unparseable}
        scores = {task: {k: float(v) for k, v in s.as_dict().items()} for task, s in by_task.items()}
    tokenizer = getattr(judge.lm, "tokenizer", None)
    count = (lambda text: len(tokenizer.encode(text, add_special_tokens=False))) if tokenizer is not None else None
    cost = usage(verdicts, count)
    record = submissions.JudgeRecord(
        model=judge.resolved.identity,
        backend=judge.options.backend,
        identity=judge.identity,
        template=template.name,
        template_sha256=template.sha256,
        max_gen_toks=JUDGE_MAX_GEN_TOKS,
        judged=len(rows),
        calls=cost.calls,
        cached=cost.cached,
        unparseable=unparseable,
        scores=scores,
        prompt_tokens=cost.prompt_tokens,
        reply_tokens=cost.reply_tokens,
        load_s=round(judge.load_s, 3),
        grade_s=round(time.monotonic() - started, 3),
    )
    return out, record
