"""Submissions with chosen scores over the bundled starter suite, their item records, lineages and boards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from ecombench import submissions
from ecombench.leaderboard.boards import Board
from ecombench.leaderboard.store import from_submissions
from ecombench.leaderboard.table import build_table as _build_table
from ecombench.taskindex import build_index, default_roots
from tests.helpers.cli import REPO

INDEX = build_index(default_roots())
STARTER = INDEX.select(["ecombench_starter"])
MC = "starter_category_mc"
CORE = ["core_category_mc", "core_rating_mc"]


def make_submission(
    name: str,
    scores: dict[str, float],
    *,
    limit: int | None = None,
    data_sha: str | None = "current",
    base: str = "builtin:tiny",
    created: datetime | None = None,
    sub_id: str | None = None,
) -> submissions.Submission:
    """A submission over starter tasks with the given scores (stderr 0.01 each)."""
    created = created or datetime(2026, 11, 1, tzinfo=UTC)
    tasks = {}
    for t in STARTER:
        if t.name not in scores:
            continue
        tasks[t.name] = submissions.TaskResult(
            track=t.track,
            task_type=t.task_type,
            metric=t.metric,
            n=10,
            score=scores[t.name],
            stderr=0.01,
            version=t.version,
            data_sha256=t.data_hash() if data_sha == "current" else data_sha,
        )
    sid = sub_id or submissions.new_id(name, created)
    return submissions.Submission(
        id=sid,
        name=name,
        created=created,
        model=submissions.ModelIdentity(spec=name, kind="local", base_model=base, weights_sha256="0" * 64, dtype="float32"),
        ecombench_version="0.1.0",
        lm_eval_version="0.4.13",
        generation=submissions.GenerationSettings(protocol="generate", system_prompt=None, max_gen_toks={}, batch_size="1", device="cpu", limit=limit),
        tasks=tasks,
        tracks={},
        all_around=0.0,
        overall_task_mean=0.0,
        duration_s=1.0,
        hardware=submissions.Hardware(platform="p", python="3.11", torch="2", device="cpu", cpu_count=2),
        items_file=f"{sid}.items.jsonl",
    )


def uniform(value: float, **overrides: float) -> dict[str, float]:
    """``value`` on every starter task but those named in ``overrides``."""
    return {t.name: overrides.get(t.name, value) for t in STARTER}


def core_submission(name: str, score: float) -> submissions.Submission:
    """A submission with two ecombench-core tasks, so that the core boards are covered too."""
    sub = make_submission(name, {})
    tasks = {
        t: submissions.TaskResult(
            track=INDEX.tasks[t].track,
            task_type="multiple-choice",
            metric="accuracy",
            n=10,
            score=score,
            stderr=0.01,
            version=INDEX.tasks[t].version,
            data_sha256=INDEX.tasks[t].data_hash(),
        )
        for t in CORE
    }
    return sub.model_copy(update={"tasks": tasks})


def as_reference(sub: submissions.Submission) -> submissions.Submission:
    return sub.model_copy(update={"model": sub.model.model_copy(update={"kind": "reference"})})


def make_lineage(held_in: list[str], held_out: list[str], rank: int = 16) -> submissions.Lineage:
    """An adapter's lineage: trained on ``held_in`` tasks (10 items each), ``held_out`` kept out."""
    return submissions.Lineage(
        base_model="builtin:tiny",
        base_weights_sha256="0" * 64,
        adapter_sha256="1" * 64,
        method="lora",
        rank=rank,
        alpha=32.0,
        dropout=0.0,
        target_modules="all-linear",
        steps=10,
        epochs=1.0,
        lr=1e-3,
        effective_batch=8,
        world_size=1,
        mixture={t: 10 for t in held_in},
        tracks=["x"],
        training_data_sha256="2" * 64,
        held_in=held_in,
        held_out=held_out,
        contamination={"ngram_13": 0},
        train_loss=1.0,
        heldout_loss=1.0,
        config_fingerprint="f",
    )


def item_records(scores: list[float], prediction: str, task: str = MC) -> list[submissions.ItemRecord]:
    """One item per score of ``task``, its prompt bold HTML; a scored item predicted ``prediction``, the others "0"."""
    return [
        submissions.ItemRecord(
            task=task, doc_id=i, item_hash=f"h{i}", prompt=f"<b>question {i}</b>", target="1", prediction=prediction if s else "0", parsed=None, score=s
        )
        for i, s in enumerate(scores)
    ]


def items_by_task(scores: dict[str, list[float]], reverse: bool = False) -> list[submissions.ItemRecord]:
    """Item records of each task's scores (item hashes ``TASK-i``), in reverse order with ``reverse``."""
    out = []
    for task, values in scores.items():
        for i, score in enumerate(values):
            out.append(
                submissions.ItemRecord(
                    task=task, doc_id=i, item_hash=f"{task}-{i}", prompt=f"q{i}", target="t", prediction="p" if score else "x", parsed=None, score=score
                )
            )
    return out[::-1] if reverse else out


def copies_of_a_real_run(folder: Path, n: int) -> list[str]:
    """``n`` copies of the committed oracle reference row of the starter suite (its items are the task data's)."""
    src = REPO / "submissions"
    record = json.loads((src / "reference-ecombench_starter-oracle.json").read_text())
    items = (src / "reference-ecombench_starter-oracle.items.jsonl").read_text()
    folder.mkdir(parents=True)
    ids = []
    for i in range(n):
        sid = f"copy-{i}"
        (folder / f"{sid}.items.jsonl").write_text(items)
        (folder / f"{sid}.json").write_text(json.dumps({**record, "id": sid, "name": sid, "items_file": f"{sid}.items.jsonl"}))
        ids.append(sid)
    return ids


def board(**kwargs) -> Board:
    """A board ``b`` over the starter suite."""
    return Board(name="b", tasks=["ecombench_starter"], **kwargs)


def build_table(board_, index, subs, by="track"):
    return _build_table(board_, index, from_submissions(subs), by=by)
