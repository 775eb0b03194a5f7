"""Functions that task YAMLs name with ``!function ecombench.hooks.<name>``.

They adapt ShopBench records to lm-eval and back; all scoring logic lives in
``ecombench.scoring`` so that ``lm_eval``, ``ecombench run`` and ``ecombench score`` agree.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.metrics.embedding import Embedders
from ecombench.paths import resolve_data_path
from ecombench.records import iter_jsonl, load_records
from ecombench.scoring import ScoringItem, score_items, task_score

SCORE_KEY = "kdd_score"
_OPTION_LINE = re.compile(r"^\s*(\d+)\.\s", re.MULTILINE)


def load_dataset(data_files: str, config_source: str | None = None, answers: bool = True, **_metadata: Any):
    """``custom_dataset`` hook: a ShopBench JSON Lines file as a one-split (``test``) dataset.

    The truth is kept JSON-encoded in ``output_json`` because its type varies by task type. A task
    whose metadata says ``answers: false`` (a test set) has no truths: ``output_json`` is null.
    """
    import datasets

    path = resolve_data_path(data_files, config_source)
    if not answers:
        rows = [{**row, "output_json": "null"} for _, row in iter_jsonl(path)]
        return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
    rows = []
    for record in load_records(path):
        row = record.model_dump(exclude={"output_field"}, exclude_none=True)
        row["output_json"] = json.dumps(record.output_field, ensure_ascii=False)
        rows.append(row)
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


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
    return {SCORE_KEY: item.__dict__}


@lru_cache(maxsize=1)
def _embedders() -> Embedders:
    # One per process: plain `lm_eval` runs have no other place to keep the embedding model.
    return Embedders()


def aggregate(items: list[dict[str, Any]]) -> float:
    """Task score exactly as the KDD Cup scorer: mean of question scores, pooled micro F1 for NER."""
    scoring = [ScoringItem(**i) for i in items]
    scores = score_items(scoring, _embedders())
    return task_score(scoring[0].task_name, scoring, scores).score
