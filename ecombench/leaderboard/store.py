"""Reading a submissions folder for the leaderboard, fast: flat tables with an index cache.

Every ``*.json`` record is validated once; what the leaderboard needs (one row per submission,
one per submission and task) is cached under the user cache, keyed by each file's name and a hash
of its bytes, so a warm board of thousands of submissions re-validates only what changed. Size and
modification time are not used: a file rewritten in place with the same length and ``os.utime`` back
to its old mtime would keep its old name and scores on the board. Hashing a few kB per file costs
little next to validating it.
Bad files are skipped with a warning, never deleted; duplicate ids are reported.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, overload

import pandas as pd

from ecombench.errors import EcombenchError
from ecombench.io import read_cache_pickle, write_cache_pickle
from ecombench.leaderboard import overlap
from ecombench.paths import cache_dir
from ecombench.submissions import Submission, load, parse_record, read_record

INDEX_VERSION = 10  # 3: scores outside [0, 1] are refused on load; 4: entries keyed by a hash of the file bytes, not size and mtime; 5: shots; 6: rules;
# 7: efficiency; 8: overlap; 9: measures and counts bounded on load; 10: judge
# what a run cost (Submission.efficiency), shown on the board only when asked (--efficiency); None for records without it
EFFICIENCY_COLUMNS = [
    "efficiency:generate_s",
    "efficiency:tokens_per_s",
    "efficiency:peak_host_mb",
    "efficiency:peak_device_mb",
    "efficiency:device",
    "efficiency:threads",
]
META_COLUMNS = ["submission", "name", "model", "base", "kind", "date", "limit", "file", "lora_rank", "held_in", "shots", "rules", *EFFICIENCY_COLUMNS]
META_COLUMNS += ["judge", "judge_label"]  # judged tasks: the judge's key (identity and template hash) and how it reads; None without
META_COLUMNS += ["overlap", "checked"]  # training data against evaluation items (overlap.py): task -> items trained on; tasks checked (None: unknown)
SCORE_COLUMNS = ["submission", "task", "track", "score", "stderr", "version", "data_sha256"]


@dataclass
class Loaded:
    meta: pd.DataFrame
    scores: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    digests: dict[str, str | None] = field(default_factory=dict)  # record file name -> hash of its bytes, as read here


def _rows(sub: Submission, file: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    trained_overlap, checked = overlap.of(sub)
    meta = {
        "submission": sub.id,
        "name": sub.name,
        "model": sub.model.spec,
        "base": sub.model.base_model,
        "kind": sub.model.kind,
        "date": sub.created.date().isoformat(),
        "limit": sub.generation.limit,
        "file": file,
        # training lineage: LoRA rank, and the tasks seen in training (None for models not trained by ecombench)
        "lora_rank": sub.lineage.rank if sub.lineage else None,
        "held_in": " ".join(sub.lineage.held_in) if sub.lineage else None,
        "shots": sub.generation.num_fewshot,
        "rules": sub.rules,
        "overlap": trained_overlap,
        "checked": checked,
        "judge": "|".join(sub.judge.key()) if sub.judge is not None else None,
        "judge_label": sub.judge.label() if sub.judge is not None else None,
        **_efficiency(sub),
    }  # few-shot runs, and runs scored by other rules, are ranked apart (table.py)
    # the names and hashes every record repeats are interned: the index pickles each once (10,000 records x 24 tasks:
    # a 37 MB index of the files loaded in 3.1 s, 10 MB in 1.1 s)
    scores = [
        (sub.id, interned(t), interned(r.track), r.score, r.stderr if r.stderr is not None else 0.0, interned(r.version), interned(r.data_sha256))
        for t, r in sub.tasks.items()
    ]
    return meta, scores


@overload
def interned(text: str) -> str: ...
@overload
def interned(text: str | None) -> str | None: ...
def interned(text: str | None) -> str | None:
    """``text`` as the one copy of that string (``sys.intern``): pickled once however many records repeat it."""
    return None if text is None else sys.intern(text)


def _efficiency(sub: Submission) -> dict[str, Any]:
    cost = sub.efficiency
    if cost is None:
        return dict.fromkeys(EFFICIENCY_COLUMNS)
    values = (cost.stage_s.get("generate"), cost.generated_tokens_per_s, cost.peak_host_mb, cost.peak_device_mb, cost.device, cost.threads)
    return dict(zip(EFFICIENCY_COLUMNS, values, strict=True))


def _index_path(folder: Path) -> Path:
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "leaderboard-index" / f"{key}.pickle"


def _read_index(path: Path) -> dict[str, Any]:
    index = read_cache_pickle(path)
    return index if isinstance(index, dict) and index.get("version") == INDEX_VERSION else {}


def read_entry(path: Path) -> tuple[bytes | None, str | None, str | None]:
    """A record file's bytes, a hash of them, and None; or None, None and why it is not read (``read_record``'s guard)."""
    try:
        data = read_record(path)
    except EcombenchError as exc:
        return None, None, str(exc)
    return data, hashlib.blake2b(data, digest_size=16).hexdigest(), None


def load_folder(folder: Path, use_index: bool = True) -> Loaded:
    """The leaderboard's view of ``folder``; corrupt files and duplicate ids become warnings."""
    if not folder.is_dir():
        raise EcombenchError(f"{folder}: no submissions folder; make a first submission with: ecombench run --model builtin:tiny --submissions-dir {folder}")
    index_path = _index_path(folder)
    cached_index = _read_index(index_path) if use_index else {}
    old = cached_index.get("files", {})
    files: dict[str, Any] = {}
    digests: dict[str, str | None] = {}
    changed = False
    with os.scandir(folder) as entries:  # links and FIFOs too: read_record refuses them with a warning
        names = sorted(e.name for e in entries if e.name.endswith(".json") and not e.is_dir(follow_symlinks=False))
    for name in names:
        path = Path(folder, name)
        data, digest, why = read_entry(path)
        digests[name] = digest
        cached = old.get(name)
        if digest is not None and cached is not None and cached["digest"] == digest:
            files[name] = cached
            continue
        changed = True
        if data is None:
            files[name] = {"digest": None, "error": why}  # not cached: read again next time
            continue
        try:
            sub = parse_record(data, path)
            meta, scores = _rows(sub, name)
            entry: dict[str, Any] = {"meta": meta, "scores": scores}
        except EcombenchError as exc:
            entry = {"error": str(exc)}  # the same bytes give the same error
        files[name] = {"digest": digest, **entry}
    if not changed and files.keys() == old.keys() and "frames" in cached_index:
        meta, score_frame, warnings = cached_index["frames"]  # nothing changed: the finished tables
        return Loaded(meta, score_frame, list(warnings), digests)
    loaded = replace(_assemble(folder, files), digests=digests)
    if use_index:
        write_cache_pickle(index_path, {"version": INDEX_VERSION, "files": files, "frames": (loaded.meta, loaded.scores, loaded.warnings)})
    return loaded


def _assemble(folder: Path, files: dict[str, Any]) -> Loaded:
    metas: list[dict[str, Any]] = []
    scores: list[tuple[Any, ...]] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}
    for name, entry in files.items():
        if "error" in entry:
            warnings.append(f"skipped {entry['error']}")
            continue
        sid = entry["meta"]["submission"]
        if sid in seen:
            warnings.append(f"duplicate submission id {sid} in {name} and {seen[sid]}; the first is used")
            continue
        seen[sid] = name
        metas.append(entry["meta"])
        scores.extend(entry["scores"])
    if not metas:
        raise EcombenchError(f"{folder}: no submissions yet; make a first one with: ecombench run --model builtin:tiny --submissions-dir {folder}")
    return _frames(metas, scores, warnings)


def _frames(metas: list[dict[str, Any]], scores: list[tuple[Any, ...]], warnings: list[str] | None = None) -> Loaded:
    # Repeated strings as categories: smaller to cache and faster to merge and group.
    score_frame = pd.DataFrame(scores, columns=SCORE_COLUMNS).astype({c: "category" for c in ("task", "track", "version", "data_sha256")})
    return Loaded(pd.DataFrame(metas, columns=META_COLUMNS), score_frame, warnings or [])


def from_submissions(subs: list[Submission]) -> Loaded:
    """The leaderboard's view of records already in memory."""
    metas, scores = [], []
    for sub in subs:
        meta, rows = _rows(sub, f"{sub.id}.json")
        metas.append(meta)
        scores.extend(rows)
    return _frames(metas, scores)


def load_records(folder: Path) -> list[tuple[Path, Submission]]:
    """Full records with the file each is in (a record renamed by hand is known by its id all the same), validated."""
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            out.append((path, load(path)))
        except EcombenchError:
            continue
    if not out:
        raise EcombenchError(f"{folder}: no submissions yet; make a first one with: ecombench run --model builtin:tiny --submissions-dir {folder}")
    return out


def load_submissions(folder: Path) -> list[Submission]:
    """Full records (for ``compare``): all of them, validated."""
    return [sub for _, sub in load_records(folder)]
