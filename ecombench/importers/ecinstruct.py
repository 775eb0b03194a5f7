"""eCeLLM's ECInstruct records, filtered by ``setting`` and ``split``.

A task eCeLLM's ``evaluate.py`` has a rule for (``ecombench.metrics.ecellm.METRIC_OF_TASK``) keeps its
gold ``output`` as text and that rule as its metric, asked as eCeLLM's ``inference.py`` asks it (the
Alpaca template of ``templates/alpaca.json``, 100 new tokens). Answer generation is scored by ROUGE-L
(eCeLLM's BLEURT and BERTScore need models ecombench cannot ship); any other task with ``options``
becomes a multiple-choice question (accuracy).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.io import parse_json
from ecombench.metrics.ecellm import METRIC_OF_TASK
from ecombench.records import iter_jsonl, make_record

FIELDS = ("task", "setting", "split", "instruction", "input", "output")
TRACKS = {
    "attribute_value_extraction": "concept_understanding",
    "product_matching": "concept_understanding",
    "multiclass_product_classification": "concept_understanding",
    "product_substitute_identification": "knowledge_reasoning",
    "product_relation_prediction": "knowledge_reasoning",
    "answerability_prediction": "knowledge_reasoning",
    "answer_generation": "knowledge_reasoning",
    "sentiment_analysis": "user_behavior_alignment",
    "sequential_recommendation": "user_behavior_alignment",
    "query_product_rank": "user_behavior_alignment",
}


def _records(source: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = source.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{source}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise EcombenchError(f"{source}: cannot read ({exc.strerror})") from exc
    if text.lstrip().startswith("["):
        records = parse_json(text, str(source))
        for number, r in enumerate(records, start=1):
            if not isinstance(r, dict):
                raise EcombenchError(f"{source}: record {number}: expected a JSON object, got {type(r).__name__}")
        return list(enumerate(records, start=1))
    return list(iter_jsonl(source))


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


def read(source: Path, setting: str = "IND_Diverse_Instruction", split: str = "test") -> ImportedSuite:
    suite = ImportedSuite("ecinstruct", [source])
    for number, r in _records(source):
        missing = [f for f in FIELDS if f not in r]
        if missing:
            raise EcombenchError(f"{source}:{number}: missing {', '.join(missing)} (expected fields {', '.join(FIELDS)}, options optional)")
        if r["setting"] != setting or r["split"] != split:
            continue
        wrong = [f for f in ("instruction", "input") if not isinstance(r[f], str)] + ([] if isinstance(r["output"], str | int | float) else ["output"])
        if wrong or not isinstance(r.get("options") or [], list) or not all(isinstance(o, str) for o in r.get("options") or []):
            raise EcombenchError(f"{source}:{number}: {', '.join(wrong) or 'options'}: expected text (options: a list of texts)")
        task = re.sub(r"[^a-z0-9]+", "_", str(r["task"]).lower()).strip("_")
        track = TRACKS.get(task, "ecinstruct")
        prompt = f"{r['instruction']}\n{r['input']}"
        options = r.get("options") or []
        rule = METRIC_OF_TASK.get(task)
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
            row = make_record(task, "generation", "rougel", track, f"{prompt}\nOutput: ", str(r["output"]))
        suite.tasks.setdefault(task, []).append(row)
    if not suite.tasks:
        raise EcombenchError(f"{source}: no records with setting {setting!r} and split {split!r}")
    return suite
