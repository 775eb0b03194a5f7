"""Training records and task mixtures.

Sources are ``core`` (the ecombench-core training records), or JSON Lines files with
``prompt``/``completion``, chat ``messages``, or ShopBench rows (``input_field``/``output_field``).
A mixture picks tracks (capabilities) and tasks with weights or counts, caps each task, and
samples with a seeded RNG, so the same config always trains on the same records.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.models import file_hash
from ecombench.oracle import oracle_answer
from ecombench.paths import builtin_tasks_dir
from ecombench.records import iter_jsonl
from ecombench.train.config import DataConfig

UNTAGGED = "untagged"  # task / track of a record that names none


@dataclass(frozen=True)
class TrainRecord:
    prompt: str
    completion: str
    task: str = UNTAGGED
    track: str = UNTAGGED
    templated: bool = False  # the prompt is already rendered as the model sees it (chat records); not part of the data hash


@dataclass(frozen=True)
class Mixture:
    """The records chosen for training and held-out loss, and how they were chosen."""

    train: list[TrainRecord]
    heldout: list[TrainRecord]
    counts: dict[str, int]  # task -> records used (train + held-out)
    available: dict[str, int]  # task -> records in the sources
    tracks: dict[str, str]  # task -> track
    sources: list[dict[str, Any]]  # path and sha256 of each source
    records_sha256: str  # hash of the chosen records, in order

    def summary(self) -> dict[str, Any]:
        return {
            "tasks": {t: {"track": self.tracks[t], "records": n, "available": self.available[t]} for t, n in sorted(self.counts.items())},
            "tracks": sorted({self.tracks[t] for t in self.counts}),
            "train_records": len(self.train),
            "heldout_records": len(self.heldout),
            "sources": self.sources,
            "records_sha256": self.records_sha256,
        }


def core_records_path() -> Path:
    return builtin_tasks_dir() / "core" / "train" / "records.jsonl"


def _from_row(row: dict[str, Any], where: str, chat_template: Any) -> TrainRecord:
    task = str(row.get("task") or row.get("task_name") or UNTAGGED)
    track = str(row.get("track") or UNTAGGED)
    templated = False
    if "prompt" in row and "completion" in row:
        prompt, completion = row["prompt"], row["completion"]
    elif "input_field" in row and "output_field" in row:
        prompt = row["input_field"]
        completion = oracle_answer(str(row.get("task_type", "generation")), row["output_field"])
    elif "messages" in row:
        prompt, completion = _from_messages(row["messages"], where, chat_template)
        templated = True
    else:
        raise EcombenchError(f"{where}: a record needs prompt/completion, messages, or input_field/output_field (ShopBench)")
    if not isinstance(prompt, str) or not isinstance(completion, str) or not completion:
        raise EcombenchError(f"{where}: prompt and completion must be strings, and the completion not empty")
    return TrainRecord(prompt, completion, task, track, templated)


def _from_messages(messages: Any, where: str, chat_template: Any) -> tuple[str, str]:
    """Chat records train on the last assistant turn; the turns before it, templated, are the prompt."""
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "role" in m and "content" in m for m in messages):
        raise EcombenchError(f"{where}: 'messages' must be a list of {{role, content}} objects")
    if messages[-1]["role"] != "assistant":
        raise EcombenchError(f"{where}: the last message must be the assistant's answer")
    if chat_template is None:
        raise EcombenchError(f"{where}: chat records need a tokenizer with a chat template, and this model has none")
    prompt = chat_template(messages[:-1])
    return prompt, str(messages[-1]["content"])


def as_evaluated(records: list[TrainRecord], render: Callable[[str], str]) -> list[TrainRecord]:
    """Records whose prompts read as evaluation sends them (``render``: ``harness.render_prompt`` for the model);
    chat records are rendered already."""
    return [r if r.templated else replace(r, prompt=render(r.prompt), templated=True) for r in records]


def source_path(source: str) -> Path:
    """The file a data source names; a missing one is an error (checked before any model loads)."""
    path = core_records_path() if source == "core" else Path(source).expanduser()
    if not path.is_file():
        raise EcombenchError(f"data source {source}: no such file")
    return path


def load_records(sources: list[str], chat_template: Any = None) -> tuple[list[TrainRecord], list[dict[str, Any]]]:
    """Every record of every source, and each source's path and hash."""
    if not sources:
        raise EcombenchError("data.sources is empty: name 'core' or JSON Lines files")
    records: list[TrainRecord] = []
    described: list[dict[str, Any]] = []
    for source in sources:
        path = source_path(source)
        before = len(records)
        for line, row in iter_jsonl(path):
            records.append(_from_row(row, f"{path}:{line}", chat_template))
        if len(records) == before:
            raise EcombenchError(f"data source {path}: no records")
        described.append({"source": source, "path": str(path.resolve()), "sha256": file_hash(path), "records": len(records) - before})
    return records, described


def _weights(spec: dict[str, float] | list[str], known: set[str], what: str) -> dict[str, float]:
    chosen = {name: 1.0 for name in spec} if isinstance(spec, list) else dict(spec)
    unknown = sorted(set(chosen) - known)
    if unknown:
        raise EcombenchError(f"data.{what}: no training records for {', '.join(unknown)} (available: {', '.join(sorted(known))})")
    bad = [n for n, w in chosen.items() if w <= 0]
    if bad:
        raise EcombenchError(f"data.{what}: weights and counts must be positive ({', '.join(bad)})")
    return chosen


def _share(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders, ties by name)."""
    whole = sum(weights.values())
    exact = {k: total * w / whole for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (-(exact[k] - out[k]), k))[: total - sum(out.values())]:
        out[k] += 1
    return out


def _is_count(value: float) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _allocate(
    selected: list[str], track_of: dict[str, str], cap: dict[str, int], tracks: dict[str, float], tasks: dict[str, float], total: int | None
) -> dict[str, int]:
    """Records per task: counts are taken as given, weights share ``total`` (tracks first, then their tasks).

    Without ``total`` a track or task with no count gives all its records (up to ``max_per_task``).
    """
    chosen_tracks = sorted({track_of[t] for t in selected})
    budget: dict[str, int | None] = {k: int(tracks[k]) for k in chosen_tracks if _is_count(tracks.get(k, 1.0))}
    weighted = {k: float(tracks.get(k, 1.0)) for k in chosen_tracks if k not in budget}
    if total is not None and weighted:
        budget.update(_share(max(total - sum(v or 0 for v in budget.values()), 0), weighted))
    counts: dict[str, int] = {}
    for track in chosen_tracks:
        members = [t for t in selected if track_of[t] == track]
        fixed = {t: int(tasks[t]) for t in members if t in tasks and _is_count(tasks[t])}
        left = budget.get(track)
        if left is None:
            counts.update({t: fixed.get(t, cap[t]) for t in members})
            continue
        rest = [t for t in members if t not in fixed]
        shares = _share(max(left - sum(fixed.values()), 0), {t: float(tasks.get(t, 1.0)) for t in rest}) if rest else {}
        counts.update({t: fixed.get(t, shares.get(t, 0)) for t in members})
    return {t: min(n, cap[t]) for t, n in counts.items()}


def build_mixture(records: list[TrainRecord], sources: list[dict[str, Any]], config: DataConfig, seed: int) -> Mixture:
    """Choose records per task as the config says; seeded and reproducible."""
    by_task: dict[str, list[TrainRecord]] = {}
    for r in records:
        by_task.setdefault(r.task, []).append(r)
    track_of = {t: rs[0].track for t, rs in by_task.items()}
    tracks = _weights(config.tracks, set(track_of.values()), "tracks") if config.tracks else None
    tasks = _weights(config.tasks, set(by_task), "tasks") if config.tasks else None
    selected = [t for t in sorted(by_task) if (tasks is None or t in tasks) and (tracks is None or track_of[t] in tracks)]
    if not selected:
        raise EcombenchError("the mixture is empty: no task is in both data.tracks and data.tasks")
    cap = {t: min(len(by_task[t]), config.max_per_task or len(by_task[t])) for t in selected}
    counts = _allocate(selected, track_of, cap, tracks or {}, tasks or {}, config.total)
    rng = random.Random(seed)
    train: list[TrainRecord] = []
    heldout: list[TrainRecord] = []
    for task in selected:
        picked = rng.sample(by_task[task], counts[task]) if counts[task] else []
        n_heldout = round(len(picked) * config.eval_fraction) if len(picked) > 1 else 0
        heldout.extend(picked[:n_heldout])
        train.extend(picked[n_heldout:])
    if not train:
        raise EcombenchError("the mixture is empty: every selected task got 0 records (check data.total and counts)")
    rng.shuffle(train)
    digest = hashlib.sha256()
    for r in train + heldout:
        data = {k: v for k, v in asdict(r).items() if k != "templated"}
        digest.update(json.dumps(data, ensure_ascii=False, sort_keys=True).encode())
        digest.update(b"\n")
    return Mixture(
        train=train,
        heldout=heldout,
        counts={t: counts[t] for t in selected if counts[t]},
        available={t: len(by_task[t]) for t in selected},
        tracks={t: track_of[t] for t in selected},
        sources=sources,
        records_sha256=digest.hexdigest(),
    )
