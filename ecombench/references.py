"""Reference rows: submissions that every model on a board is seen against, built without a model.

``ecombench references`` writes, for each bundled suite, four submissions of model kind
``reference`` (``ecombench.leaderboard.table.REFERENCE_KIND``): the board lists them for scale
among the ranked rows, flags them ``reference`` and never ranks them.

- ``random``: one seeded random guess per item in the task's answer format (a random option,
  order or other item's answer; the guesser of ``ecombench data build-core``'s baselines, which
  average three guesses per item, so the two differ a little);
- ``most_frequent``: every item answered with the task's most frequent truth (the majority class);
- ``oracle``: every item answered with its truth as a model should write it (the upper bound);
- ``tiny``: ``builtin:tiny`` run as ``ecombench run`` runs it.

Each is a ``Submission`` with its items file, scored by the same code as ``run`` and ``score``, under
a fixed id (``reference-<suite>-<kind>``). A rebuild that changes no figure at the precision
shown (4 decimals) and no answer leaves the files as they are, so the committed ``submissions/reference-*`` files only change
with the tasks.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecombench import __version__, submissions, threads
from ecombench.errors import EcombenchError
from ecombench.hooks import doc_to_target
from ecombench.metrics import EMBEDDING_METRICS
from ecombench.metrics.embedding import Embedders, resolve_embedding_model
from ecombench.oracle import oracle_answer
from ecombench.records import ShopBenchRecord, load_records
from ecombench.scorefile import item_hash
from ecombench.scoring import ScoringItem, resolve_rules, score_report
from ecombench.taskindex import TaskIndex, TaskInfo, build_index, default_roots

SUITES = ("ecombench_core", "ecombench_starter")
KINDS = {"random": "random guess", "most_frequent": "most frequent answer", "oracle": "oracle", "tiny": "builtin:tiny"}
SEED = 2024
KIND = "reference"  # the model kind the board reads (table.REFERENCE_KIND; the leaderboard room is above this one)
NONE = "none"  # settings that a reference without a model does not have
# Fields a rebuild may change without the reference changing: it is rewritten only when something else differs.
VOLATILE = {"created", "duration_s", "hardware", "ecombench_version", "lm_eval_version"}


@dataclass(frozen=True)
class Built:
    submission: submissions.Submission
    path: Path
    written: bool  # False: the files on disk already held this reference


def reference_id(suite: str, kind: str) -> str:
    return f"reference-{suite}-{kind}"


def _runnable(tasks: list[TaskInfo], embedders: Embedders) -> tuple[list[TaskInfo], dict[str, str]]:
    """Tasks whose embedding model is here, and why the others are skipped (as ``ecombench run`` skips them)."""
    skipped = {}
    for t in tasks:
        if t.metric in EMBEDDING_METRICS:
            try:
                resolve_embedding_model(t.metric, embedders.overrides.get(t.metric))
            except EcombenchError as exc:
                skipped[t.name] = str(exc)
    return [t for t in tasks if t.name not in skipped], skipped


def _answers(kind: str, rows: list[ShopBenchRecord], rng: random.Random, rules: str = "kddcup") -> list[str]:
    """Raw outputs of a model-free reference for one task's rows."""
    if kind == "oracle":
        return [oracle_answer(r.task_type, r.output_field, rules, r.metric) for r in rows]
    if kind == "most_frequent":
        counts = Counter(json.dumps(r.output_field, ensure_ascii=False, sort_keys=True) for r in rows)
        truth = json.loads(counts.most_common(1)[0][0])  # ties: the first seen in data order
        return [oracle_answer(rows[0].task_type, truth, rules, rows[0].metric)] * len(rows)
    from ecombench.data.core import _random_answer  # the guesser behind every task's stored random baseline

    dicts = [r.model_dump() for r in rows]
    return [_random_answer(rng, d, dicts) for d in dicts]


def _model_free(
    kind: str, suite: str, tasks: list[TaskInfo], skipped: dict[str, str], embedders: Embedders
) -> tuple[submissions.Submission, list[submissions.ItemRecord]]:
    started = time.monotonic()
    rng = random.Random(SEED)
    rows: list[tuple[TaskInfo, int, ShopBenchRecord]] = []
    raws: list[str] = []
    # the suite's rules: the board ranks reference rows beside its runs
    rules = resolve_rules(None, [(t.config.get("metadata") or {}).get("rules") for t in tasks], [t.metric for t in tasks])
    for t in tasks:
        if t.data_file is None:
            raise EcombenchError(f"task {t.name}: no data file to build a reference from")
        records = load_records(t.data_file)
        rows += [(t, i, r) for i, r in enumerate(records)]
        raws += _answers(kind, records, rng, rules)
    items = [ScoringItem(t.name, r.task_type, r.metric, r.track, r.output_field, raw) for (t, _, r), raw in zip(rows, raws, strict=True)]
    report, scores = score_report(items, embedders, rules)
    sid = reference_id(suite, kind)
    by_name = {t.name: t for t in tasks}
    submission = submissions.Submission(
        id=sid,
        name=f"{KINDS[kind]} (reference)",
        created=submissions.now(),
        model=submissions.ModelIdentity(spec=f"reference:{kind}", kind=KIND, base_model=f"reference:{kind}", weights_sha256=None, dtype=NONE),
        ecombench_version=__version__,
        lm_eval_version=NONE,
        generation=submissions.GenerationSettings(protocol=KIND, system_prompt=None, max_gen_toks={}, batch_size=NONE, device=NONE, limit=None, backend=NONE),
        tasks={n: submissions.TaskResult.of(r, by_name[n].version, by_name[n].data_hash()) for n, r in report.tasks.items()},
        tracks=dict(report.tracks),
        all_around=report.all_around,
        overall_task_mean=report.overall_task_mean,
        duration_s=round(time.monotonic() - started, 3),
        hardware=submissions.Hardware(platform=NONE, python=NONE, torch=NONE, device=NONE, cpu_count=0),
        items_file=f"{sid}.items.jsonl",
        skipped_tasks=skipped,
        rules=report.rules,  # type: ignore[arg-type]  # resolve_rules admits only the four names
    )
    kept = [
        submissions.ItemRecord(
            task=t.name,
            doc_id=i,
            item_hash=item_hash(r.input_field, r.output_field),
            prompt=r.input_field,
            target=doc_to_target({"output_json": json.dumps(r.output_field, ensure_ascii=False)}),
            prediction=item.raw,
            parsed=score.parsed,
            score=score.score,
        )
        for (t, i, r), item, score in zip(rows, items, scores, strict=True)
    ]
    return submission, kept


def _tiny(suite: str, embedders: Embedders) -> tuple[submissions.Submission, list[submissions.ItemRecord]]:
    """``builtin:tiny`` run on the suite (answers come from the answer cache when it has run before), relabelled."""
    from ecombench.run import RunOptions, run

    with tempfile.TemporaryDirectory(prefix="ecombench-reference-") as tmp:
        result = run(RunOptions(model="builtin:tiny", tasks=[suite], submissions_dir=Path(tmp), embedders=embedders))
        if result.submission is None:
            raise EcombenchError(f"builtin:tiny on {suite} gave no scores")
        items = submissions.load_items(Path(tmp), result.submission)
    sid = reference_id(suite, "tiny")
    sub = result.submission
    return sub.model_copy(
        update={
            "id": sid,
            "name": f"{KINDS['tiny']} (reference)",
            "items_file": f"{sid}.items.jsonl",
            "model": sub.model.model_copy(update={"kind": KIND}),
            "efficiency": None,  # a scale row, its answers mostly from the answer cache: nothing to time
        }
    ), items


SHOWN = 4  # decimals the board, compare and the explorer show: a figure that changes only beyond them is noise
NOISE = 1e-7  # a smaller move is noise even where it crosses a rounding boundary (0.12345 -> 0.1234500001)


def _same(old: Any, new: Any) -> bool:
    """Whether two records agree at the shown precision: embedding scores move in their last bits with
    torch's thread count, and a rebuild that changes no figure as shown leaves the files alone."""
    if isinstance(old, float) and isinstance(new, float):
        return round(old, SHOWN) == round(new, SHOWN) or abs(old - new) < NOISE
    if isinstance(old, dict) and isinstance(new, dict):
        return old.keys() == new.keys() and all(_same(v, new[k]) for k, v in old.items())
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(_same(a, b) for a, b in zip(old, new, strict=True))
    return bool(old == new)


def _unchanged(folder: Path, sub: submissions.Submission, items: list[submissions.ItemRecord]) -> bool:
    try:
        old = submissions.load(folder / f"{sub.id}.json")
        old_items = submissions.load_items(folder, old)
    except EcombenchError:
        return False
    return _same(old.model_dump(exclude=VOLATILE), sub.model_dump(exclude=VOLATILE)) and _same(
        [i.model_dump() for i in old_items], [i.model_dump() for i in items]
    )


def build_references(
    folder: Path, suites: list[str] | None = None, kinds: list[str] | None = None, embedders: Embedders | None = None, index: TaskIndex | None = None
) -> list[Built]:
    """Write the reference submissions of each suite (default: the bundled suites) into ``folder``."""
    threads.apply()  # the thread rule of `ecombench run`, for the embedding metrics as for builtin:tiny
    embedders = embedders or Embedders()
    index = index or build_index(default_roots())
    kinds = kinds or list(KINDS)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise EcombenchError(f"unknown reference kind '{unknown[0]}'; use {', '.join(KINDS)}")
    out = []
    for suite in suites or list(SUITES):
        tasks, skipped = _runnable(index.select([suite]), embedders)
        if not tasks:
            raise EcombenchError(f"{suite}: no task can be scored here ({'; '.join(skipped.values())})")
        for kind in kinds:
            sub, items = _tiny(suite, embedders) if kind == "tiny" else _model_free(kind, suite, tasks, skipped, embedders)
            if _unchanged(folder, sub, items):
                out.append(Built(sub, folder / f"{sub.id}.json", False))
            else:
                out.append(Built(sub, submissions.save(folder, sub, items), True))
    return out
