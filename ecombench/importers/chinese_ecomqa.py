"""ChineseEcomQA (OpenStellarTeam/ChineseEcomQA, ``data/ChineseEcomQA.jsonl``): one task per concept type.

Each row holds ``system_prompt`` (the task's instruction and few-shot examples), ``prompt`` (the question),
``gt`` (the reference answer) and ``task`` (the concept type: BC, IC, SC, AC, CC, PC, RLC, IDC, ITC, RVC).
The prompt a model sees is ``system_prompt + prompt`` exactly as the file gives them (no separator: the
system prompts end with their own newline); both are also kept on the row, so a chat run can send the
system prompt as the system turn. Answers are graded by a model judge (``ecombench.judge``, template
``simpleqa_zh_v1``, named in each task YAML's ``metadata.judge``); the rows' metric is ``judge``, so a run
needs ``--judge MODEL`` and ``ecombench score`` refuses them in one line.

A bad row (not JSON, a missing or non-string field, an empty question or answer, an unknown concept type)
is skipped and counted with its ``file:line`` in ``ImportedSuite.skipped``; ``strict`` refuses it instead.
"""

from __future__ import annotations

from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.metrics.rulesets import JUDGE
from ecombench.records import iter_jsonl, make_record
from ecombench.train.sources import BadRow, Skipped

TRACK = "chinese_ecomqa"
METRIC = JUDGE  # each answer graded by a model judge (`run --judge`), scored 1 when it says CORRECT
JUDGE_TEMPLATE = "simpleqa_zh_v1"
FIELDS = ("system_prompt", "prompt", "gt", "task")
# The ten concept types, as the paper (arXiv 2502.20196, section 2) names them.
CONCEPTS: dict[str, str] = {
    "BC": "brand concept",
    "IC": "industry categorization",
    "SC": "spoken concept (fuzzy queries corrected)",
    "AC": "attribute concept",
    "CC": "category concept",
    "PC": "personalized concept",
    "RLC": "relevance concept",
    "IDC": "industry concept",
    "ITC": "intent concept",
    "RVC": "review concept",
}
MAX_GEN_TOKS = 100  # short answers: a phrase, a category, an option letter


def _row(row: dict) -> tuple[str, str, str, str]:
    """(concept, system prompt, prompt, reference) of a row, or the BadRow that says what is wrong."""
    missing = [f for f in FIELDS if f not in row]
    if missing:
        raise BadRow("missing field", f"missing field {', '.join(repr(f) for f in missing)} (expected {', '.join(FIELDS)})")
    wrong = [f for f in FIELDS if not isinstance(row[f], str)]
    if wrong:
        raise BadRow("not a string", f"field {wrong[0]!r} is not a string")
    if row["task"] not in CONCEPTS:
        raise BadRow("unknown concept", f"task {row['task']!r} is not one of {', '.join(CONCEPTS)}")
    for f in ("prompt", "gt"):
        if not row[f].strip():
            raise BadRow("empty field", f"field {f!r} is empty")
    return row["task"], row["system_prompt"], row["prompt"], row["gt"]


OPTIONS: dict[str, str] = {"strict": "strict"}


def read(source: Path, strict: bool = False) -> ImportedSuite:
    """Ten tasks (one per concept type present), track ``chinese_ecomqa``; bad rows skipped and counted."""
    suite = ImportedSuite("chinese-ecomqa", [source])
    skipped = Skipped(strict=strict)
    for number, obj in iter_jsonl(source, on_bad=lambda where, kind, why: skipped.add(where, BadRow(kind, why))):
        try:
            concept, system, prompt, truth = _row(obj)
        except BadRow as bad:
            skipped.add(f"{source}:{number}", bad)
            continue
        record = make_record(concept, "generation", METRIC, TRACK, system + prompt, truth)
        suite.tasks.setdefault(concept, []).append({**record, "concept": concept, "system_prompt": system, "prompt": prompt})
    if not suite.tasks:
        raise EcombenchError(f"{source}: no ChineseEcomQA rows (expected JSON Lines with fields {', '.join(FIELDS)})" + _first(skipped))
    suite.skipped = skipped
    for concept in suite.tasks:
        suite.descriptions[concept] = f"ChineseEcomQA {concept}: {CONCEPTS[concept]}, short answers graded by a model judge"
        suite.max_gen_toks[concept] = MAX_GEN_TOKS
        suite.metadata[concept] = {"judge": {"template": JUDGE_TEMPLATE, "metrics": ["correct", "correct_given_attempted", "f_score"], "concept": concept}}
    return suite


def _first(skipped: Skipped) -> str:
    examples = [e for kept in skipped.examples.values() for e in kept]
    return f"; first bad row: {examples[0]}" if examples else ""
