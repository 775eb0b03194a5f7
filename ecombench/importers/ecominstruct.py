"""EcomGPT's EcomInstruct task folders (``meta-info.json`` + ``test.json``), scored as its paper did.

Classification and NER/extraction kinds become label-set tasks scored by micro F1 over the labels
or span terms; the generation kind is scored by ROUGE-L.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.importers.writer import ImportedSuite
from ecombench.records import iter_jsonl, make_record

WRAPPER = "Below is an instruction that describes the {defi} task. Write a response that appropriately completes the request.\n\n"
META_FIELDS = ("task", "defi", "test_prompt", "label_set", "label_key")
TRACK = "ecominstruct"


def _meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EcombenchError(f"{path}: not valid JSON ({exc})") from exc
    missing = [f for f in META_FIELDS if f not in meta]
    if missing or "instruction" not in (meta.get("test_prompt") or {}):
        raise EcombenchError(f"{path}: missing {', '.join(missing) or 'test_prompt.instruction'} (expected {', '.join(META_FIELDS)})")
    return meta


def read(source: Path) -> ImportedSuite:
    folders = sorted(p.parent for p in source.rglob("meta-info.json")) if source.is_dir() else []
    if not folders:
        raise EcombenchError(f"{source}: no task folders with meta-info.json and test.json")
    suite = ImportedSuite("ecominstruct", [])
    for folder in folders:
        meta = _meta(folder / "meta-info.json")
        test = folder / "test.json"
        if not test.is_file():
            raise EcombenchError(f"{folder}: no test.json")
        suite.sources += [folder / "meta-info.json", test]
        kind = "generation" if "-Generate-" in meta["task"] else "labels"
        sep = meta.get("label_sep", ", ")
        labels = meta["label_set"].get(meta["label_key"], [])
        instruction = meta["test_prompt"]["instruction"].replace("{label_set}", sep.join(labels))
        rows = []
        for number, record in iter_jsonl(test):
            if "sentences" not in record:
                raise EcombenchError(f"{test}:{number}: no 'sentences' field")
            if "spans" in record:
                truth: Any = [s["term"] for s in record["spans"]]
            elif isinstance(record.get("labels"), dict):
                truth = record["labels"].get(meta["label_key"], [])
            else:
                raise EcombenchError(f"{test}:{number}: expected 'labels' {{{meta['label_key']}: [...]}} or 'spans' [...]")
            prompt = WRAPPER.format(defi=meta["defi"]) + instruction.replace("{sentences}", str(record["sentences"]))
            if kind == "generation":
                rows.append(make_record(meta["task"], "generation", "rougel", TRACK, prompt + "\nOutput: ",
                                        sep.join(truth) if isinstance(truth, list) else str(truth)))
            else:
                rows.append(make_record(meta["task"], "named_entity_recognition", "micro f1", TRACK, prompt + "\nOutput: ", [str(t) for t in truth]))
        suite.tasks[meta["task"]] = rows
        suite.descriptions[meta["task"]] = f"EcomInstruct {meta['task']}: {meta['defi']}"
    return suite

