"""Training records and task mixtures.

Sources (``ecombench.train.sources``) are ``core``, suites' training folders, and files, folders or
glob patterns of JSON arrays or JSON Lines in the layouts people publish (ShopBench rows,
prompt/completion, Alpaca, chat messages, ShareGPT); bad rows are counted and skipped. A mixture picks tracks (capabilities) and tasks with weights or counts, caps each task, and
samples with a seeded RNG, so the same config always trains on the same records.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.train.config import DataConfig
from ecombench.train.sources import UNTAGGED, FileSummary, Flagged, Skipped, TrainRecord, core_records_path, expand, stream

__all__ = [
    "UNTAGGED",
    "Loaded",
    "Mixture",
    "TrainRecord",
    "apply_capabilities",
    "build_mixture",
    "candidates",
    "core_records_path",
    "load_records",
    "read_sources",
]


@dataclass(frozen=True)
class Mixture:
    """The records chosen for training and held-out loss, and how they were chosen."""

    train: list[TrainRecord]
    heldout: list[TrainRecord]
    counts: dict[str, int]  # task -> records used (train + held-out)
    available: dict[str, int]  # task -> records in the sources
    tracks: dict[str, str]  # task -> track (capability)
    sources: list[dict[str, Any]]  # path and sha256 of each source
    records_sha256: str  # hash of the chosen records, in order
    data: dict[str, Any] = field(default_factory=dict)  # rows skipped, tasks left out, records decontaminated

    def capability_counts(self) -> dict[str, int]:
        """Records per capability (track), train and held-out together."""
        out: dict[str, int] = {}
        for task, n in self.counts.items():
            out[self.tracks[task]] = out.get(self.tracks[task], 0) + n
        return dict(sorted(out.items()))

    def summary(self) -> dict[str, Any]:
        return {
            "tasks": {t: {"track": self.tracks[t], "records": n, "available": self.available[t]} for t, n in sorted(self.counts.items())},
            "tracks": sorted({self.tracks[t] for t in self.counts}),
            "capabilities": self.capability_counts(),
            "train_records": len(self.train),
            "heldout_records": len(self.heldout),
            "sources": self.sources,
            "records_sha256": self.records_sha256,
            **self.data,
        }


def as_evaluated(records: list[TrainRecord], render: Callable[[str], str]) -> list[TrainRecord]:
    """Records whose prompts read as evaluation sends them (``render``: ``ecombench.run.lm_eval_bridge.render_prompt`` for the model);
    chat records are rendered already."""
    return [r if r.templated else replace(r, prompt=render(r.prompt), templated=True) for r in records]


def heldout_sample(records: list[TrainRecord], cap: int, seed: int) -> list[TrainRecord]:
    """At most ``cap`` of the held-out ``records`` (a seeded sample, in their order, so every task keeps its share):
    what the held-out loss is computed on."""
    if len(records) <= cap:
        return records
    return [records[i] for i in sorted(random.Random(seed).sample(range(len(records)), cap))]


def source_path(source: str) -> Path:
    """The first file a data source names; a source naming none is an error (checked before any model loads)."""
    return expand(source)[0].path


@dataclass(frozen=True)
class Loaded:
    """Every record of the sources, what each file held, the rows left out and the rows flagged (trained on)."""

    records: list[TrainRecord]
    files: list[FileSummary]
    skipped: Skipped
    flagged: Flagged = field(default_factory=Flagged)

    def described(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self.files]


def read_sources(sources: list[str], chat_template: Any = None, *, strict: bool = False) -> Loaded:
    """Read every source (see ``ecombench.train.sources``). A file with no row at all is skipped and counted; a
    file whose rows are all bad is an error (its layout is likely not one ecombench reads), as are sources with no record."""
    skipped, flagged = Skipped(strict=strict), Flagged(strict=strict)
    files: list[FileSummary] = []
    records = list(stream(sources, chat_template, skipped=skipped, files=files, flagged=flagged))
    for f in files:
        if f.records == 0 and f.skipped:
            raise EcombenchError(f"data source {f.path}: no records; all {f.skipped} row(s) are bad, e.g. {next(iter(skipped.examples.values()))[0]}")
    if not records:
        raise EcombenchError(f"data sources {', '.join(sources)}: no records ({len(skipped.files)} empty file(s) skipped)")
    return Loaded(records, files, skipped, flagged)


def load_records(sources: list[str], chat_template: Any = None, *, strict: bool = False) -> tuple[list[TrainRecord], list[dict[str, Any]]]:
    """Every record of every source, and each file's path, hash, layout and counts."""
    loaded = read_sources(sources, chat_template, strict=strict)
    return loaded.records, loaded.described()


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


def apply_capabilities(records: list[TrainRecord], capabilities: dict[str, list[str]]) -> tuple[list[TrainRecord], list[str]]:
    """Records of the tasks a capability mapping matches, each with its capability as its track; and the tasks
    left out. Without a mapping, every record as it is. A pattern that matches no task is an error (a typo)."""
    if not capabilities:
        return records, []
    tasks = sorted({r.task for r in records})
    capability_of: dict[str, str] = {}
    for capability, patterns in capabilities.items():
        for pattern in patterns:
            matched = [t for t in tasks if fnmatch.fnmatchcase(t, pattern)]
            if not matched:
                raise EcombenchError(
                    f"data.capabilities.{capability}: '{pattern}' matches no task of the sources (they have: {', '.join(tasks[:12])}{' ...' if len(tasks) > 12 else ''})"
                )
            for t in matched:
                capability_of.setdefault(t, capability)
    kept = [replace(r, track=capability_of[r.task]) for r in records if r.task in capability_of]
    return kept, [t for t in tasks if t not in capability_of]


def candidates(records: list[TrainRecord], config: DataConfig) -> list[TrainRecord]:
    """The records a mixture draws from: those of the tasks ``data.tracks`` and ``data.tasks`` select (in order)."""
    selected = set(_select(records, config)[0])
    return [r for r in records if r.task in selected]


def _select(records: list[TrainRecord], config: DataConfig):
    by_task: dict[str, list[TrainRecord]] = {}
    for r in records:
        by_task.setdefault(r.task, []).append(r)
    track_of = {t: rs[0].track for t, rs in by_task.items()}
    tracks = _weights(config.tracks, set(track_of.values()), "tracks") if config.tracks else None
    tasks = _weights(config.tasks, set(by_task), "tasks") if config.tasks else None
    selected = [t for t in sorted(by_task) if (tasks is None or t in tasks) and (tracks is None or track_of[t] in tracks)]
    if not selected:
        raise EcombenchError("the mixture is empty: no task is in both data.tracks and data.tasks")
    return selected, by_task, track_of, tracks, tasks


def build_mixture(records: list[TrainRecord], sources: list[dict[str, Any]], config: DataConfig, seed: int) -> Mixture:
    """Choose records per task as the config says; seeded and reproducible."""
    selected, by_task, track_of, tracks, tasks = _select(records, config)
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
        data = {"prompt": r.prompt, "completion": r.completion, "task": r.task, "track": r.track}
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
