"""Functions that task YAMLs name with ``!function ecombench.hooks.<name>``.

They adapt ShopBench records to lm-eval and back; all scoring logic lives in
``ecombench.scoring`` so that ``lm_eval``, ``ecombench run`` and ``ecombench score`` agree.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.metrics import EMBEDDING_METRICS
from ecombench.metrics.embedding import Embedders, resolve_embedding_model
from ecombench.paths import resolve_data_path
from ecombench.records import iter_jsonl, load_records, normalised_prompt
from ecombench.scoring import ScoringItem, resolve_rules, score_items, task_score

SCORE_KEY = "kdd_score"


class _NoCustomDatasetNotice(logging.Filter):
    """lm-eval warns, for every task whose dataset comes from a function (``custom_dataset``: all of ours),
    that custom kwargs can be passed with ``--metadata``: 24 identical lines on a plain ``lm_eval`` run of
    ecombench-core, saying nothing about the run. Only that notice is dropped, only from lm-eval's task logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Custom kwargs can be passed to `--metadata`" not in record.getMessage()


# Installed when lm-eval resolves a task YAML's ``!function ecombench.hooks...``, before any task loads its data.
if not any(isinstance(f, _NoCustomDatasetNotice) for f in logging.getLogger("lm_eval.api.task").filters):
    logging.getLogger("lm_eval.api.task").addFilter(_NoCustomDatasetNotice())
_OPTION_LINE = re.compile(r"^\s*(\d+)\.\s", re.MULTILINE)
# Set while ``ecombench run`` drives lm-eval: it has found each task's embedding model already (with
# its own --embedding-model flags, which this module cannot see) and left out the tasks it lacks.
_MODELS_CHECKED = ContextVar("ecombench_embedding_models_checked", default=False)


class MissingEmbeddingModel(SystemExit):
    """A task's embedding model is not on this machine, found when the task loads (before generation).

    Under plain ``lm_eval`` nothing of ecombench's catches errors, and an exception would print a
    traceback; ``SystemExit`` prints just its one line and exits with status 1. Catch it by this type.
    """


@contextmanager
def embedding_models_checked() -> Iterator[None]:
    """For callers that check embedding models themselves: task loading does not check them again."""
    token = _MODELS_CHECKED.set(True)
    try:
        yield
    finally:
        _MODELS_CHECKED.reset(token)


def require_embedding_models(task: str, metrics: set[str]) -> None:
    """Stop at task load, not after generation, when an embedding metric's model cannot be found."""
    if _MODELS_CHECKED.get():
        return
    for metric in sorted(metrics & set(EMBEDDING_METRICS)):
        try:
            resolve_embedding_model(metric, flags=False)
        except EcombenchError as exc:
            raise MissingEmbeddingModel(f"ecombench: task {task}: {exc}") from None


SUITE_TRAINING_FILE = "train/records.jsonl"  # a suite's training part, beside its YAMLs (ecombench-core has one)


def load_dataset(data_files: str, config_source: str | None = None, answers: bool = True, training_files: str | None = None, **_metadata: Any):
    """``custom_dataset`` hook: a ShopBench JSON Lines file as a ``test`` split.

    The truth is kept JSON-encoded in ``output_json`` because its type varies by task type. A task
    whose metadata says ``answers: false`` (a test set) has no truths: ``output_json`` is null.
    ``training_files`` (relative to the YAML, like ``data_files``) adds a ``train`` split, the pool a
    ``fewshot_split: train`` draws few-shot examples from (``_training_rows``).
    """
    import datasets

    path = resolve_data_path(data_files, config_source)
    if not answers:
        rows = [{**row, "output_json": "null"} for _, row in iter_jsonl(path)]
    else:
        records = load_records(path)  # never empty
        require_embedding_models(records[0].task_name, {r.metric for r in records})
        rows = []
        for record in records:
            row = record.model_dump(exclude={"output_field"}, exclude_none=True)
            row["output_json"] = json.dumps(record.output_field, ensure_ascii=False)
            rows.append(row)
    splits = {"test": datasets.Dataset.from_list(rows)}
    if training_files is not None:
        splits["train"] = datasets.Dataset.from_list(_training_rows(resolve_data_path(training_files, config_source), rows))
    return datasets.DatasetDict(splits)


def load_suite_dataset(data_files: str, config_source: str | None = None, training_files: str = SUITE_TRAINING_FILE, **kwargs: Any):
    """``custom_dataset`` hook: ``load_dataset`` with the suite's training part (``train/records.jsonl``) as ``train``."""
    return load_dataset(data_files, config_source, training_files=training_files, **kwargs)


def _training_rows(path: Path, evaluated: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of a training file (prompt/completion or ShopBench) for the evaluated rows' task, shaped as
    evaluation rows; a row whose prompt is an evaluated prompt (compared as the contamination check compares
    them: ``records.normalised_prompt``) is left out, so no example is a question it precedes."""
    tasks = {r.get("task_name") for r in evaluated}
    asked = {normalised_prompt(r["input_field"]) for r in evaluated}
    out = []
    for line, row in iter_jsonl(path):
        if (row.get("task") or row.get("task_name")) not in tasks:
            continue
        if "prompt" in row and "completion" in row:
            prompt, answer = row["prompt"], row["completion"]
        elif "input_field" in row and "output_field" in row:
            prompt, answer = row["input_field"], row["output_field"]
        else:
            raise EcombenchError(f"{path}:{line}: a training row needs prompt/completion or input_field/output_field")
        if normalised_prompt(prompt) not in asked:
            out.append({"input_field": prompt, "output_json": json.dumps(answer, ensure_ascii=False)})
    return out


def truth(doc: dict[str, Any]) -> Any:
    return json.loads(doc["output_json"])


def doc_to_target(doc: dict[str, Any]) -> str:
    """The truth as text, for logs and the per-item file."""
    value = truth(doc)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def doc_to_choice(doc: dict[str, Any]) -> list[str]:
    """Option numbers of a multiple-choice prompt ("0. ...", "1. ..."), for the log-likelihood protocol."""
    if doc.get("choices"):
        return [str(c) for c in doc["choices"]]
    found = list(dict.fromkeys(_OPTION_LINE.findall(doc["input_field"])))
    if not found:
        raise EcombenchError(f"task {doc.get('task_name')}: no numbered options in the prompt for log-likelihood scoring")
    return found


def raw_prediction(doc: dict[str, Any], response: Any) -> str:
    """The model's raw text: the generation, or under the log-likelihood protocol the best option."""
    if isinstance(response, str):
        return response
    # multiple_choice output: one (loglikelihood, is_greedy) per option
    lls = [r[0] if isinstance(r, (tuple, list)) else r for r in response]
    best = max(range(len(lls)), key=lambda i: lls[i])
    return doc_to_choice(doc)[best]


def scoring_item(doc: dict[str, Any], response: Any) -> ScoringItem:
    return ScoringItem(
        task_name=doc["task_name"],
        task_type=doc["task_type"],
        metric=doc["metric"],
        track=doc["track"],
        truth=truth(doc),
        raw=raw_prediction(doc, response),
    )


def process_results(doc: dict[str, Any], results: list[Any]) -> dict[str, Any]:
    """Keep what the aggregation needs; scoring happens per task so embeddings can be batched."""
    response = results[0] if len(results) == 1 and isinstance(results[0], str) else results
    item = scoring_item(doc, response)
    return {SCORE_KEY: {**item.__dict__, "rules": doc.get("rules")}}  # an imported suite's rows carry its rules


@lru_cache(maxsize=1)
def _embedders() -> Embedders:
    # One per process: plain `lm_eval` runs have no other place to keep the embedding model.
    return Embedders()


def aggregate(items: list[dict[str, Any]]) -> float:
    """Task score by the rules its rows carry (the KDD Cup scorer's by default): mean of question scores,
    pooled micro F1 for NER, or eCeLLM's task rule."""
    rules = resolve_rules(None, [i.get("rules") for i in items], [i["metric"] for i in items])
    scoring = [ScoringItem(**{k: v for k, v in i.items() if k != "rules"}) for i in items]
    scores = score_items(scoring, _embedders(), rules)
    return task_score(scoring[0].task_name, scoring, scores).score


# --- Group aggregation: the KDD Cup All-Around under plain lm-eval ----------------------------------
#
# lm-eval 0.4.13 computes every group's metric over the group's *leaf tasks* (Group.aggregate reads
# get_all_tasks(), recursively), weighted by size or not; subgroup results are never used, and a
# callable ``aggregation`` in ``aggregate_metric_list`` is accepted but not called. The All-Around is
# the mean of the track scores, each the mean of its tasks: a per-track weighting no leaf-level
# mean gives when tracks have different numbers of tasks. So a suite group names
# ``aggregation: !function ecombench.hooks.mean_of_members``, and resolving that name (lm-eval does it
# when it loads the group YAML, before any task runs) teaches Group.aggregate to take, for such an
# entry only, the plain mean of the group's direct members' results (tasks or subgroups; subgroups
# are aggregated first). Every other group keeps lm-eval's own aggregation untouched.


def _mean_of_members(values: list[float]) -> float:
    """Each member counts once: the mean of the members' scores."""
    return float(sum(values) / len(values))


def _member_stderr(stderrs: list[Any]) -> Any:
    if not stderrs or any(isinstance(s, bool) or not isinstance(s, (int, float)) for s in stderrs):
        return "N/A"
    return math.sqrt(sum(s * s for s in stderrs)) / len(stderrs)


def _install_mean_of_members() -> None:
    from lm_eval.api.group import Group

    leaf_aggregate = Group.aggregate
    if getattr(leaf_aggregate, "_ecombench_members", False):
        return
    if not all(hasattr(Group, a) for a in ("aggregate", "child_names", "aggregate_metric_list")):
        raise EcombenchError("ecombench.hooks.mean_of_members: this lm-eval has no Group.aggregate/child_names as in 0.4.13")

    def aggregate(self: Any, task_metrics: dict[str, Any]) -> Any:
        out = leaf_aggregate(self, task_metrics)
        for agg in self.aggregate_metric_list or []:
            if agg.aggregation is not _mean_of_members:
                continue
            members = [task_metrics.get(name) or {} for name in self.child_names]
            prefix = f"{agg.metric},"
            for key in [k for k in out if k.startswith(prefix)]:
                have = [m for m in members if isinstance(m.get(key), (int, float))]
                if not have:
                    continue
                out[key] = _mean_of_members([m[key] for m in have])
                stderr_key = f"{agg.metric}_stderr,{key[len(prefix) :]}"
                out[stderr_key] = _member_stderr([m.get(stderr_key) for m in have])
        return out

    aggregate._ecombench_members = True  # type: ignore[attr-defined]
    aggregate.__doc__ = leaf_aggregate.__doc__
    Group.aggregate = aggregate  # type: ignore[method-assign]


def __getattr__(name: str) -> Any:
    # lm-eval resolves ``!function ecombench.hooks.mean_of_members`` with getattr on this module each
    # time it loads a group YAML that names it; that is when Group.aggregate learns what it means.
    if name == "mean_of_members":
        _install_mean_of_members()
        return _mean_of_members
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
