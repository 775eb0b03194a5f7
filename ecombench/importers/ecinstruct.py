"""eCeLLM's ECInstruct records, filtered by ``setting`` and ``split``.

A task eCeLLM's ``evaluate.py`` has a rule for (``ecombench.metrics.ecellm.METRIC_OF_TASK``) keeps its
gold ``output`` as text and that rule as its metric, asked as eCeLLM's ``inference.py`` asks it (the
Alpaca template of ``templates/alpaca.json``, 100 new tokens). Answer generation is scored by
``ecellm-ag-rougel``: ROUGE-L standing in for eCeLLM's BERTScore and BLEURT-20-D12, a substitute that every
report of the rules names (``ecombench.metrics.rulesets.SUBSTITUTES``). Query-product ranking needs eCeLLM's
``label.json`` (``data_label/label.json`` of ninglab/eCeLLM: the ESCI label of each option, one list per
test question, in data order): its truth is that list, checked against each gold ``output``. Any other
task with ``options`` becomes a multiple-choice question (accuracy).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.io import parse_json, read_text
from ecombench.metrics.ecellm import ESCI_GAIN, METRIC_OF_TASK, ranking_gold
from ecombench.metrics.parsers import literal
from ecombench.records import iter_jsonl, make_record

FIELDS = ("task", "setting", "split", "instruction", "input", "output")
TRACKS = {
    "attribute_value_extraction": "concept_understanding",
    "product_matching": "concept_understanding",
    "multiclass_product_classification": "concept_understanding",
    "product_substitute_identification": "knowledge_reasoning",
    "product_substitue_identification": "knowledge_reasoning",  # ECInstruct's own spelling (evaluate.py:112)
    "product_relation_prediction": "knowledge_reasoning",
    "product_relation_predicition": "knowledge_reasoning",  # ECInstruct's own spelling (evaluate.py:161)
    "answerability_prediction": "knowledge_reasoning",
    "answer_generation": "knowledge_reasoning",
    "sentiment_analysis": "user_behavior_alignment",
    "sequential_recommendation": "user_behavior_alignment",
    "query_product_ranking": "user_behavior_alignment",
}
RANKING = "query_product_ranking"
AG_SUBSTITUTE = "ecellm-ag-rougel"
LABELS_HOME = "data_label/label.json of github.com/ninglab/eCeLLM"


def _records(source: Path) -> list[tuple[int, dict[str, Any]]]:
    text = read_text(source)
    if text.lstrip().startswith("["):
        records = parse_json(text, str(source))
        for number, r in enumerate(records, start=1):
            if not isinstance(r, dict):
                raise EcombenchError(f"{source}: record {number}: expected a JSON object, got {type(r).__name__}")
        return list(enumerate(records, start=1))
    return list(iter_jsonl(source))


def _options(value: Any) -> list[str] | None:
    """A record's options as a list of texts, or None when they are not that. eCeLLM's notebooks write them as
    ``str(list)`` (``"['A: ...', 'B: ...']"``, data_processing/SR.ipynb), some copies as JSON text; the prompt
    keeps the value as the record has it (``Prompter.generate_prompt`` formats it as it is)."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        try:
            value = parse_json(value, "options")
        except EcombenchError:
            try:
                value = literal(value)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                return None
    if isinstance(value, list) and all(isinstance(o, str) for o in value):
        return value
    return None


def _answer_index(options: list[str], output: str) -> int | None:
    norm = [o.strip().lower() for o in options]
    if output.strip().lower() in norm:
        return norm.index(output.strip().lower())
    letter = re.match(r"\s*([A-Za-z])[:.)]", output)
    if letter:
        for i, o in enumerate(options):
            if re.match(rf"\s*{letter.group(1)}[:.)]", o):
                return i
    return None


# templates/alpaca.json of ninglab/eCeLLM (utils/prompter.py fills it; options as str.format renders them).
ALPACA = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n"
)
ALPACA_OPTIONS = "### Options:\n{options}\n\n"
ALPACA_RESPONSE = "### Response:\n"


def ecellm_prompt(record: dict[str, Any]) -> str:
    """``Prompter.generate_prompt`` with the Alpaca template: options shown when the record has any."""
    text = ALPACA.format(instruction=record["instruction"], input=record["input"])
    if record.get("options"):
        text += ALPACA_OPTIONS.format(options=record["options"])
    return text + ALPACA_RESPONSE


def _ranking_labels(path: Path) -> list[list[str]]:
    """eCeLLM's label.json: per ranking question, the ESCI label of each option (A first)."""
    text = read_text(path)
    labels = parse_json(text, str(path))
    if not isinstance(labels, list):
        raise EcombenchError(f"{path}: expected eCeLLM's label.json, a list of label lists ({LABELS_HOME})")
    for number, entry in enumerate(labels, start=1):
        if (
            not isinstance(entry, list)
            or not entry
            or len(entry) > 20
            or not all(isinstance(x, str) and x in ESCI_GAIN for x in entry)
            or len(set(entry)) != len(entry)
        ):
            raise EcombenchError(f"{path}: entry {number}: expected a list of distinct ESCI labels (E, S, C, I), got {str(entry)[:60]}")
    return labels


def slug(task: str) -> str:
    """An ECInstruct task name as the suite's task: lower case, runs of other characters as ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", task.lower()).strip("_")


# The `import` command's options this format takes, each to the keyword of `read` it sets.
OPTIONS: dict[str, str] = {"setting": "setting", "split": "split", "ranking_labels": "ranking_labels"}


def read(
    source: Path, setting: str = "IND_Diverse_Instruction", split: str = "test", ranking_labels: Path | None = None, only_task: str | None = None
) -> ImportedSuite:
    """``ranking_labels``: eCeLLM's label.json for Query_Product_Ranking (default: a ``label.json`` beside
    ``source``); needed only where the kept records have that task. ``only_task``: only that task's records
    (``score`` reads the one task evaluate.py scores)."""
    suite = ImportedSuite("ecinstruct", [source])
    ranking: list[tuple[int, dict[str, Any]]] = []
    for number, r in _records(source):
        missing = [f for f in FIELDS if f not in r]
        if missing:
            raise EcombenchError(f"{source}:{number}: missing {', '.join(missing)} (expected fields {', '.join(FIELDS)}, options optional)")
        if r["setting"] != setting or r["split"] != split or (only_task is not None and r["task"] != only_task):
            continue
        wrong = [f for f in ("instruction", "input") if not isinstance(r[f], str)] + ([] if isinstance(r["output"], str | int | float) else ["output"])
        options = _options(r.get("options"))
        if wrong or options is None:
            raise EcombenchError(
                f"{source}:{number}: {', '.join(wrong) or 'options'}: expected text (options: a list of texts, or one written as JSON or as Python's str(list))"
            )
        task = slug(str(r["task"]))
        track = TRACKS.get(task, "ecinstruct")
        prompt = f"{r['instruction']}\n{r['input']}"
        rule = METRIC_OF_TASK.get(task)
        if task == RANKING:
            ranking.append((number, {"task": task, "track": track, "prompt": ecellm_prompt(r), "output": str(r["output"])}))
            suite.tasks.setdefault(task, [])  # keeps the task's place; its rows come with the labels
            continue
        if rule is not None:
            metric = f"{rule}-ood" if rule == "ecellm-ave-f1" and "OOD" in setting else rule  # evaluate.py:78
            row = make_record(task, "generation", metric, track, ecellm_prompt(r), str(r["output"]))
        elif options:
            answer = _answer_index(options, str(r["output"]))
            if answer is None:
                raise EcombenchError(f"{source}:{number}: output {r['output']!r} is none of the options")
            body = "\n".join(f"{i}. {o}" for i, o in enumerate(options))
            row = make_record(task, "multiple-choice", "accuracy", track, f"{prompt}\n{body}\nAnswer: ", answer)
        else:
            metric = AG_SUBSTITUTE if task == "answer_generation" else "rougel"
            row = make_record(task, "generation", metric, track, f"{prompt}\nOutput: ", str(r["output"]))
        suite.tasks.setdefault(task, []).append(row)
    if not suite.tasks:
        raise EcombenchError(f"{source}: no records with setting {setting!r} and split {split!r}")
    if ranking:
        if ranking_labels is not None and not ranking_labels.is_file():
            raise EcombenchError(f"--ranking-labels {ranking_labels}: no such file (eCeLLM's label.json, {LABELS_HOME})")
        suite.tasks[RANKING] = _ranking_rows(source, ranking, ranking_labels or source.parent / "label.json")
    return suite


def _ranking_rows(source: Path, ranking: list[tuple[int, dict[str, Any]]], path: Path) -> list[dict[str, Any]]:
    """The ranking questions with their option labels: label.json's lists in data order (evaluate.py:248-256
    pairs its i-th list with the i-th answer), each checked against the question's gold output."""
    if not path.is_file():
        raise EcombenchError(
            f"{source}: Query_Product_Ranking is scored with eCeLLM's label.json ({LABELS_HOME}), not found at {path}; pass --ranking-labels PATH"
        )
    labels = _ranking_labels(path)
    if len(labels) != len(ranking):
        raise EcombenchError(f"{path}: {len(labels)} label lists for {len(ranking)} Query_Product_Ranking records of {source} (one per record, in order)")
    rows: list[dict[str, Any]] = []
    for (number, r), options in zip(ranking, labels, strict=True):
        if r["output"].strip() != ranking_gold(options):
            raise EcombenchError(
                f"{source}:{number}: output {r['output'][:40]!r} does not match label.json entry {len(rows) + 1} "
                f"({', '.join(options)} rank as {ranking_gold(options)!r}): is it this setting's and split's label.json?"
            )
        rows.append(make_record(r["task"], "generation", "ecellm-ndcg", r["track"], r["prompt"], list(options)))
    return rows
