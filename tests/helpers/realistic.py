"""A submissions folder as a user's looks after the tour: the bundled suite's four reference rows and six
runs of ordinary models (names as their hubs spell them) over the 24 tasks in 4 tracks of ecombench-core,
one of them a LoRA adapter (lineage: rank, held-out tasks, a contamination check), one scored from
predictions. Item scores are drawn (seeded) between the oracle's and the random guess's, so ``compare``
finds significant and insignificant tasks alike. Built from the repository's own reference rows.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ecombench import submissions
from tests.helpers.cli import REPO

REFERENCES = ("oracle", "random", "most_frequent", "tiny")
# name, skill (chance an item is answered as the oracle does), source
MODELS = (
    ("Qwen2.5-0.5B-Instruct", 0.35, "run"),
    ("Llama-3.2-1B-Instruct", 0.45, "run"),
    ("gemma-2-2b-it", 0.55, "run"),
    ("Phi-3.5-mini-instruct", 0.65, "predictions"),
    ("Mistral-7B-Instruct-v0.3", 0.7, "run"),
    ("Qwen2.5-0.5B-Instruct-ecom-lora", 0.5, "run"),
)


def _reference(kind: str) -> tuple[dict, list[dict]]:
    stem = REPO / "submissions" / f"reference-ecombench_core-{kind}"
    record = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
    items = [json.loads(line) for line in (REPO / "submissions" / f"{stem.name}.items.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return record, items


def realistic_folder(dest: Path, models: tuple[tuple[str, float, str], ...] = MODELS) -> dict[str, str]:
    """Write the folder at ``dest``; returns each model's name -> submission id."""
    dest.mkdir(parents=True, exist_ok=True)
    for kind in REFERENCES:
        for suffix in (".json", ".items.jsonl"):
            shutil.copy(REPO / "submissions" / f"reference-ecombench_core-{kind}{suffix}", dest)
    template, oracle = _reference("oracle")
    _, guess = _reference("random")
    guessed = {(g["task"], g["item_hash"]): g for g in guess}
    ids = {}
    for number, (name, skill, source) in enumerate(models):
        rng = random.Random(number)
        items = [dict(o if rng.random() < skill else guessed[(o["task"], o["item_hash"])]) for o in oracle]
        by_task: dict[str, list[float]] = {}
        for item in items:
            by_task.setdefault(item["task"], []).append(item["score"])
        record = json.loads(json.dumps(template))
        for task, result in record["tasks"].items():
            result["score"] = mean = sum(by_task[task]) / len(by_task[task])
            result["stderr"] = (sum((x - mean) ** 2 for x in by_task[task]) / (len(by_task[task]) - 1) / len(by_task[task])) ** 0.5
        tracks: dict[str, list[float]] = {}
        for result in record["tasks"].values():
            tracks.setdefault(result["track"], []).append(result["score"])
        record["tracks"] = {t: sum(v) / len(v) for t, v in tracks.items()}
        record["all_around"] = sum(record["tracks"].values()) / len(tracks)
        record["overall_task_mean"] = sum(r["score"] for r in record["tasks"].values()) / len(record["tasks"])
        created = datetime(2026, 12, 1, 9, tzinfo=UTC) + timedelta(hours=number)
        record["id"] = submissions.new_id(name, created)
        record["name"] = name
        record["created"] = created.isoformat()
        record["source"] = source
        record["model"] = {**record["model"], "spec": name, "kind": "predictions" if source == "predictions" else "hub", "base_model": name}
        if source == "run":
            generate = 60.0 + 40 * number
            record["efficiency"] = {
                "stage_s": {"load": 4.0, "generate": generate, "score": 2.0, "record": 0.1},
                "prompt_tokens": 250_000,
                "generated_tokens": 40_000,
                "generated_tokens_per_s": 40_000 / generate,
                "peak_host_mb": 3100.0 + 100 * number,
                "peak_device_mb": 1500.0 + 2000 * number,
                "device": "cuda:0",
                "threads": 1,
            }
        if name.endswith("-lora"):
            base = name.removesuffix("-ecom-lora")
            record["model"].update(kind="adapter", base_model=base, adapter_sha256="1" * 64, adapter_path=name)
            tasks = list(record["tasks"])
            record["lineage"] = _lineage(base, held_in=tasks[:6], held_out=tasks[6:])
        sub = submissions.Submission.model_validate({**record, "items_file": record["id"] + ".items.jsonl"})
        written = [submissions.ItemRecord.model_validate(item) for item in items]
        submissions.save(dest, sub, written)
        ids[name] = sub.id
    return ids


def _lineage(base: str, held_in: list[str], held_out: list[str]) -> dict:
    return {
        "base_model": base,
        "base_weights_sha256": "0" * 64,
        "adapter_sha256": "1" * 64,
        "method": "lora",
        "rank": 16,
        "alpha": 32.0,
        "dropout": 0.05,
        "target_modules": "all-linear",
        "steps": 200,
        "epochs": 1.0,
        "lr": 2e-4,
        "effective_batch": 16,
        "world_size": 1,
        "mixture": {t: 100 for t in held_in},
        "tracks": ["concept_understanding"],
        "training_data_sha256": "2" * 64,
        "held_in": held_in,
        "held_out": held_out,
        "contamination": {"ngram_13": 0, "exact": 0, "checked_tasks": held_in + held_out, "trained_overlap": {}},
        "train_loss": 1.2,
        "heldout_loss": 1.4,
        "config_fingerprint": "f",
    }


if __name__ == "__main__":  # python -m tests.realistic FOLDER: the folder to try the tables on by hand
    import sys

    print(json.dumps(realistic_folder(Path(sys.argv[1])), indent=2))
