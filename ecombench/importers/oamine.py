"""OA-Mine attribute-value extraction (ExtractGPT processing) as per-attribute extraction tasks."""

from __future__ import annotations

from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.records import iter_jsonl, make_record

MIN_ROWS = 20  # attributes annotated on fewer titles make too small a task
TRACK = "concept_understanding"


# The `import` command's options this format takes, each to the keyword of `read` it sets.
OPTIONS: dict[str, str] = {}


def read(source: Path, min_rows: int = MIN_ROWS) -> ImportedSuite:
    """One NER task (micro F1) per attribute; "n/a" means the title has no value (empty truth)."""
    suite = ImportedSuite("oamine", [source])
    for number, row in iter_jsonl(source):
        title, scores = row.get("input"), row.get("target_scores")
        if not isinstance(title, str) or not isinstance(scores, dict):
            raise EcombenchError(
                f"{source}:{number}: not OA-Mine (expected fields 'input': str, 'category': str, 'target_scores': {{attribute: {{value: 1}}}})"
            )
        for attribute, values in scores.items():
            truth = [v for v in values if v != "n/a"] if isinstance(values, dict) else []
            prompt = (
                f"Extract phrases of entity type '{attribute.lower()}' from the product title '{title}'. "
                "Output the phrases separated by commas, or nothing if there is none.\nOutput: "
            )
            suite.tasks.setdefault(attribute, []).append(make_record(attribute, "named_entity_recognition", "micro f1", TRACK, prompt, truth))
    suite.tasks = {a: rows for a, rows in suite.tasks.items() if len(rows) >= min_rows}
    for attribute in suite.tasks:
        suite.descriptions[attribute] = f"OA-Mine: extract the '{attribute}' value from a product title"
    return suite
