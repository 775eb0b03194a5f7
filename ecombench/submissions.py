"""Submissions: one scored run, kept as a versioned JSON record plus a per-item JSON Lines file.

The item file is written first and the record last, each by atomic rename, so a record on disk
always has its items and an interrupted run leaves nothing that looks like a submission.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from ecombench.errors import EcombenchError
from ecombench.io import atomic_writer, bounded_lines, open_inside, owner_tag, parse_json, read_inside, sweep_stale
from ecombench.metrics.rulesets import RuleName, inferred
from ecombench.records import describe

if TYPE_CHECKING:
    from ecombench.scoring import TaskScore

# 2: ``rules`` (whose scoring code the scores follow). A version-1 record has none; it loads with the
# rules its metric names imply (``kddcup`` unless they are EcomGPT's or eCeLLM's), which scored it.
SCHEMA_VERSION = 2
Rules = RuleName  # the names of ecombench.metrics.rulesets.RULESETS
# Ids and item-file names become file names: no separators, no leading dot, nothing to escape the folder.
FileSafe = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=200)]


# Every score ecombench computes lies in [0, 1]; anything else (Infinity, NaN, 1e6) in a file is refused
# on load, naming the file and field, instead of being ranked.
Score = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Stderr = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]  # of a mean of scores in [0, 1]: at most 0.5
Finite = Annotated[float, Field(allow_inf_nan=False)]  # every other number that reaches a figure or a chart
# What a run measured (seconds, MiB, tokens per second) is finite, not negative and at most a billion (31 years,
# a PiB, a billion tokens a second), so a hand-edited 1e300 neither breaks a page's JSON nor widens a board's column.
MAX_MEASURE = 1e9
Measure = Annotated[float, Field(ge=0.0, le=MAX_MEASURE, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10**15)]  # items, tokens, steps, ranks: never a 4,000-digit integer on a board


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class ModelIdentity(_Record):
    spec: str  # what the user passed to --model (`score --save`: the predictions file's name)
    kind: str  # builtin, local, hub or adapter; "predictions" for `score --save`; "api" for --backend openai
    base_model: str  # kind "api": the model id the server reported
    weights_sha256: str | None  # None when scored from predictions: no weights were seen; kind "api": "api:" + sha256(url, id)
    adapter_sha256: str | None = None
    adapter_path: str | None = None
    dtype: str
    predictions_sha256: str | None = None  # `score --save`: sha256 of the predictions file scored
    base_url: str | None = None  # kind "api": the server's API root (never the API key)
    api: str | None = None  # kind "api": the endpoint, "completions" or "chat"
    note: str | None = None  # what the identity does not prove (kind "api": the weights were not hashed)


class TaskResult(_Record):
    track: str
    task_type: str
    metric: str | list[str]  # one metric name, or the names of a task whose rows use different ones
    n: Count
    score: Score
    stderr: Stderr | None
    version: str
    data_sha256: str | None

    @classmethod
    def of(cls, scored: TaskScore, version: str, data_sha256: str | None) -> TaskResult:
        """A task's scores as the scorer gave them, with the version and data hash of the task they were scored on."""
        return cls(
            track=scored.track,
            task_type=scored.task_type,
            metric=scored.metric,
            n=scored.n,
            score=scored.score,
            stderr=scored.stderr,
            version=version,
            data_sha256=data_sha256,
        )


class GenerationSettings(_Record):
    protocol: str  # "generate" (KDD Cup) or "loglikelihood" for multiple-choice
    system_prompt: str | None
    greedy: bool = True
    max_gen_toks: dict[str, int]  # per task
    batch_size: str
    device: str
    limit: int | None
    backend: str = "hf"  # "hf" (transformers) or "vllm"
    processes: int = 1  # hf: processes of an `accelerate launch` run, each answering its share
    tensor_parallel: int = 1  # vllm: GPUs per model replica
    data_parallel: int = 1  # vllm: model replicas
    model_args: dict[str, str | int | Finite | bool | None] = {}  # --model-args, passed on to the backend
    apply_chat_template: bool = False  # prompts went through the tokenizer's chat template (system prompt as its system turn)
    chat_template_sha256: str | None = None  # sha256 of that template (ecombench.backends.base.chat_template_sha256); None when none was applied
    num_fewshot: int = 0  # examples from the task's training part before each question
    fewshot_as_multiturn: bool = False  # few-shot examples as separate chat turns


class Hardware(_Record):
    platform: str
    python: str
    torch: str
    device: str
    cpu_count: int


class Efficiency(_Record):
    """How fast and how heavy a run was (HELM's efficiency): wall time by stage, tokens, peak memory, where it ran.

    Token counts are by the model's own tokenizer; None where the backend has none to count with.
    """

    stage_s: dict[str, Measure]  # "load", "generate", "score", "record" -> wall seconds
    prompt_tokens: Count | None = None
    generated_tokens: Count | None = None
    generated_tokens_per_s: Measure | None = None  # generated tokens / generate-stage seconds
    peak_host_mb: Measure | None = None  # the process's peak resident memory (whole process, start-up included)
    peak_device_mb: Measure | None = None  # torch's peak allocated accelerator memory; None on CPU
    device: str
    threads: Count  # torch's intra-op threads (CPU); the accelerator's own parallelism is not counted


class Lineage(_Record):
    """How a trained model came to be: base, adapter, mixture, and which scored tasks it trained on."""

    base_model: str
    base_weights_sha256: str
    adapter_sha256: str
    method: str  # "lora" or "qlora"
    rank: Count
    alpha: Finite
    dropout: Finite
    target_modules: str | list[str]
    steps: Count
    epochs: Finite
    lr: Finite
    effective_batch: Count  # packed rows per optimiser step, all processes together
    world_size: Count
    mixture: dict[str, Count]  # training task -> records
    tracks: list[str]  # capabilities in the mixture
    training_data_sha256: str
    held_in: list[str]  # scored tasks with training records (seen in training)
    held_out: list[str]  # scored tasks without any (zero-shot generalisation)
    contamination: dict[str, Any]
    capabilities: dict[str, Count] = {}  # capability -> records (train + held-out)
    data: dict[str, Any] = {}  # rows skipped (by kind, first file:line), tasks left out, records decontaminated
    train_loss: Finite | None
    heldout_loss: Finite | None
    config_fingerprint: str
    resumed_from: str | None = None  # the checkpoint a resumed run went on from (checkpoints/checkpoint-N); None: one go


class JudgeRecord(_Record):
    """The model judge of a run's judged tasks (``ecombench.run.judging``): who judged, by which template, what it
    said, and what it cost, apart from the candidate's own load, generation and tokens."""

    model: ModelIdentity  # the judge as a run records a model (weights hash; a served judge's URL and id)
    backend: str
    identity: str  # the key verdicts are cached and compared by: weights, adapter, dtype, engine, what a server reports
    template: str  # the grading template's name (ecombench/judge/templates)
    template_sha256: str
    max_gen_toks: int
    judged: int  # answers graded
    calls: int  # prompts the judge was asked (cache misses)
    cached: int  # verdicts read from the judge cache
    unparseable: dict[str, int] = {}  # task (and "overall") -> replies read as no grade, scored as not correct
    scores: dict[str, dict[str, float]] = {}  # task (and "overall", pooled) -> SimpleQA's correct, correct_given_attempted, f_score, counts
    prompt_tokens: int | None = None  # of the calls made, by the judge's tokenizer (None for a served judge)
    reply_tokens: int | None = None
    load_s: float
    grade_s: float

    def key(self) -> tuple[str, str]:
        """What must be equal for two runs' judged scores to rank together."""
        return self.identity, self.template_sha256

    def label(self) -> str:
        """The judge as a person reads it: its model, its template's name and the start of the template's hash."""
        return f"{self.model.spec} with template {self.template} ({self.template_sha256[:8]})"


class Submission(_Record):
    """A scored run: model identity, settings, per-task / per-track / all-around scores."""

    schema_version: int = SCHEMA_VERSION
    id: FileSafe
    name: str
    created: datetime
    model: ModelIdentity
    ecombench_version: str
    lm_eval_version: str
    generation: GenerationSettings
    tasks: dict[str, TaskResult]
    tracks: dict[str, Score]
    all_around: Score
    overall_task_mean: Score
    duration_s: Measure
    hardware: Hardware
    items_file: FileSafe
    skipped_tasks: dict[str, str] = {}  # task -> why it was not run (a metric model is missing)
    lineage: Lineage | None = None  # set for models trained by `ecombench train`
    source: Literal["run", "predictions"] = "run"  # "predictions": `ecombench score --save`, answers generated elsewhere
    efficiency: Efficiency | None = None  # set by `ecombench run`; records from before it (or from predictions) have none
    rules: Rules = "kddcup"  # whose scoring code: runs under different rules never rank together
    judge: JudgeRecord | None = None  # set when judged tasks were run: their scores are only comparable under the same judge and template

    @model_validator(mode="before")
    @classmethod
    def _rules_of_version_1(cls, data: Any) -> Any:
        """A record written before rules were recorded was scored by the rules its metric names imply."""
        if isinstance(data, dict) and "rules" not in data and isinstance(data.get("tasks"), dict):
            metrics: list[str] = []
            for task in data["tasks"].values():
                metric = task.get("metric") if isinstance(task, dict) else None
                metrics.extend([metric] if isinstance(metric, str) else [m for m in metric or [] if isinstance(m, str)] if isinstance(metric, list) else [])
            return {**data, "rules": inferred(metrics)}
        return data


class ItemRecord(_Record):
    """One scored question."""

    task: str
    doc_id: int
    item_hash: str  # sha256 of prompt and target: pairs items across submissions
    prompt: str
    target: Any
    prediction: str
    parsed: Any
    score: Score
    verdict: str | None = None  # judged tasks: the judge's grade (CORRECT, INCORRECT, NOT_ATTEMPTED, UNPARSEABLE)
    judge_reply: str | None = None  # judged tasks: the judge's reply as it came, read strictly into the verdict


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(name: str) -> str:
    """A file-name-safe form of a submission name (no separators, no leading dots, at most 60 chars)."""
    cleaned = _UNSAFE.sub("-", name.replace("\0", "")).strip(".-")[:60].strip(".-")
    return cleaned or "model"


def new_id(name: str, created: datetime) -> str:
    return f"{created:%Y%m%d-%H%M%S}-{slug(name)}-{secrets.token_hex(3)}"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


ORPHAN_AFTER_S = 3600  # an items file whose record never came (the writer was killed between the two)


def _named_items_files(directory: Path) -> set[str] | None:
    """The ``items_file`` every record in ``directory`` names; None when a record cannot be read (it might name any)."""
    named: set[str] = set()
    for record in directory.glob("*.json"):
        try:
            data = json.loads(read_record(record))
        except EcombenchError:
            if not record.exists() and not record.is_symlink():
                continue  # removed meanwhile
            return None
        except (ValueError, RecursionError):
            return None
        if isinstance(data, dict) and isinstance(data.get("items_file"), str):
            named.add(data["items_file"])
    return named


def sweep_leftovers(directory: Path) -> list[Path]:
    """Remove what killed writers left in a submissions folder: temporary files, and items files whose
    record was never written (once they are an hour old, far past any live writer's gap between the two).
    An items file that any record names (a record renamed by hand keeps its ``items_file``) is never removed."""
    removed = sweep_stale(directory, ".", ".tmp")
    cutoff = time.time() - ORPHAN_AFTER_S
    orphans = []
    for items in directory.glob("*.items.jsonl"):
        record = items.with_name(items.name.removesuffix(".items.jsonl") + ".json")
        try:
            if not record.exists() and items.stat().st_mtime < cutoff:
                orphans.append(items)
        except FileNotFoundError:
            continue
    named = _named_items_files(directory) if orphans else set()
    if named is None:
        return removed
    for items in orphans:
        if items.name not in named:
            items.unlink(missing_ok=True)
            removed.append(items)
    return removed


def save(directory: Path, submission: Submission, items: list[ItemRecord]) -> Path:
    """Write ``<id>.items.jsonl`` then ``<id>.json`` atomically; return the record's path."""
    directory.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(directory)
    with atomic_writer(directory / submission.items_file) as handle:
        for item in items:
            handle.write(item.model_dump_json() + "\n")
    record = directory / f"{submission.id}.json"
    with atomic_writer(record) as handle:
        handle.write(submission.model_dump_json(indent=2) + "\n")
    return record


@dataclass(frozen=True)
class Removal:
    removed: list[Path]  # the record, and its items file unless kept
    kept: str | None = None  # why the items file stayed


def remove(directory: Path, submission: Submission, record: Path | None = None) -> Removal:
    """Delete a submission: its record (``record``, where it is not ``<id>.json``: a record renamed by hand) and its
    items file, unless another record names that file too (a copy of the record under a new id) or a record that
    cannot be read might.

    The record leaves first, in one step (renamed to a hidden temporary name that ``sweep_leftovers``
    clears if this is killed), so a reader sees the whole submission or none of it, never a record
    without items; then the items file and the renamed record are deleted.
    """
    record = record if record is not None else directory / f"{submission.id}.json"
    hidden = directory / f".{owner_tag()}{secrets.token_hex(4)}-{submission.id}.json.tmp"
    try:
        record.rename(hidden)
    except FileNotFoundError as exc:
        raise EcombenchError(f"{record}: no such submission (removed already?)") from exc
    except OSError as exc:
        raise EcombenchError(f"{record}: cannot remove ({exc.strerror})") from exc
    removed, kept = [record], None
    items = directory / submission.items_file
    named = _named_items_files(directory)  # by the records left
    if named is None:
        kept = f"kept {items}: a record in {directory} cannot be read, and it might name it"
    elif submission.items_file in named:
        kept = f"kept {items}: another record names it"
    elif items.exists():
        items.unlink()
        removed.append(items)
    hidden.unlink()
    return Removal(removed, kept)


MAX_RECORD_BYTES = 16 << 20  # a record is a few kB; one with a long lineage is far less than this
MAX_ITEMS_BYTES = 1 << 30  # 10,000 items of long prompts and answers are far less


def read_record(path: Path) -> bytes:
    """A record file's bytes, if it is a regular file inside its folder and at most ``MAX_RECORD_BYTES``: a link to
    ``/dev/zero``, a FIFO or a file elsewhere is one error, never read (the guard items files have)."""
    try:
        return read_inside(path.parent, path.name, "record", MAX_RECORD_BYTES)
    except FileNotFoundError as exc:
        raise EcombenchError(f"{path}: not a readable submission (no such file)") from exc


def parse_record(data: bytes, path: Path) -> Submission:
    """The submission record in ``data``, read from ``path``; errors name the file and field."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{path}: not a readable submission ({exc})") from exc
    parsed = parse_json(text, f"{path}: not a readable submission")
    try:
        return Submission.model_validate(parsed)
    except ValidationError as exc:
        raise EcombenchError(f"{path}: {describe(exc)}") from exc


def load(path: Path) -> Submission:
    """Read and validate a submission record; errors name the file and field."""
    return parse_record(read_record(path), path)


def open_items(directory: Path, items_file: str, sid: str) -> tuple[Path, io.BufferedReader]:
    """A submission's items file, opened, if it is a regular file inside ``directory`` and at most ``MAX_ITEMS_BYTES``:
    a link to ``/dev/zero``, a FIFO or a file elsewhere is one error, never read."""
    try:
        return open_inside(directory, items_file, f"items file of submission '{sid}'", MAX_ITEMS_BYTES)
    except FileNotFoundError as exc:
        raise EcombenchError(
            f"{directory / items_file}: items file of submission '{sid}' is missing; re-run it, or remove it: "
            f"ecombench submissions rm {sid} --submissions-dir {directory}"
        ) from exc


def load_items(directory: Path, submission: Submission) -> list[ItemRecord]:
    """The per-item answers of a submission; a missing, cut or edited file is one error naming it."""
    path, handle = open_items(directory, submission.items_file, submission.id)
    with handle:
        return parse_items(handle, path, submission.id, {t: r.n for t, r in submission.tasks.items()})


_ITEM = ItemRecord.__pydantic_validator__


def parse_items(handle: IO[bytes], path: Path, sid: str, scored: dict[str, int]) -> list[ItemRecord]:
    """The items of the JSON Lines file ``handle`` read from ``path`` (of submission ``sid``, whose tasks scored
    ``scored`` items each); a broken line or a file cut short is one error naming it.

    The file is read a line at a time (each line at most ``MAX_LINE_BYTES``), so reading costs the items it
    holds and one line, not the file several times over. Each line is parsed and validated by pydantic's JSON
    parser in one step (twice as fast as ``json.loads`` and ``model_validate``, which counts for a report of
    10,000 submissions); a line it refuses is read again the plain way, which says what is wrong as ever (or
    takes a line the stricter parser refused)."""
    items: list[ItemRecord] = []
    # text mode: newlines as the file had them before (\r\n and a raw \r end a line; a raw CR cannot stand inside a JSON string)
    text = io.TextIOWrapper(handle, encoding="utf-8", newline=None)
    try:
        for number, line in bounded_lines(text, str(path)):
            if line.isspace():
                continue
            try:
                items.append(_ITEM.validate_json(line))
                continue
            except ValidationError:
                pass
            try:
                items.append(ItemRecord.model_validate(parse_json(line, f"{path}:{number}")))
            except ValidationError as exc:
                raise EcombenchError(f"{path}:{number}: {describe(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise EcombenchError(f"{path}: cannot read ({exc})") from exc
    finally:
        text.detach()  # the caller closes its file
    counts = Counter(item.task for item in items)
    for task, count in counts.items():
        if count < scored.get(task, 0):
            raise EcombenchError(f"{path}: {count} items of task '{task}', but submission '{sid}' scored {scored[task]}; the file is cut short")
    return items
