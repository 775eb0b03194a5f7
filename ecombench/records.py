"""ShopBench records and prediction files: validated on load, errors naming file, line and field."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator

from ecombench.errors import EcombenchError
from ecombench.io import bounded_lines, open_regular, parse_json
from ecombench.metrics import METRIC_NAMES, METRICS_BY_TASK_TYPE
from ecombench.metrics.parsers import TASK_TYPES

_TRUTH_CHECKS: dict[str, tuple[str, Any]] = {
    "multiple-choice": ("an int option index", lambda t: isinstance(t, int) and not isinstance(t, bool)),
    "retrieval": ("a list of ints", lambda t: isinstance(t, list) and all(type(x) is int for x in t)),
    # Gains are relevance grades (ESCI: 1, 0.1, 0.01, 0): a non-finite or huge gain makes NDCG's 2**gain
    # overflow or turn NaN, which would reach the board as an impossible score.
    "ranking": ("a list of finite gains between 0 and 100", lambda t: isinstance(t, list) and all(type(x) in (int, float) and 0 <= x <= 100 for x in t)),
    "named_entity_recognition": ("a list of strings", lambda t: isinstance(t, list) and all(isinstance(x, str) for x in t)),
    "generation": (
        "a string or a list of strings",
        lambda t: isinstance(t, str) or (isinstance(t, list) and bool(t) and all(isinstance(x, str) for x in t)),
    ),
}


class ShopBenchRecord(BaseModel):
    """One question in the ShopBench / KDD Cup 2024 record format."""

    model_config = ConfigDict(extra="allow")

    input_field: StrictStr
    output_field: Any
    task_name: StrictStr
    task_type: StrictStr
    metric: StrictStr
    track: StrictStr
    is_multiple_choice: StrictBool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ShopBenchRecord:
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type {self.task_type!r} is not one of {', '.join(TASK_TYPES)}")
        if self.metric not in METRIC_NAMES:
            raise ValueError(f"metric {self.metric!r} is not one of {', '.join(METRIC_NAMES)}")
        if self.metric not in METRICS_BY_TASK_TYPE[self.task_type]:
            allowed = ", ".join(METRICS_BY_TASK_TYPE[self.task_type])
            raise ValueError(f"metric {self.metric!r} does not fit task_type {self.task_type!r} (use {allowed})")
        what, check = _TRUTH_CHECKS[self.task_type]
        if not check(self.output_field):
            raise ValueError(f"output_field must be {what} for task_type {self.task_type!r}")
        return self


class Prediction(BaseModel):
    """One line of a predictions file: the raw model text for a data row."""

    model_config = ConfigDict(extra="allow")

    index: Annotated[StrictInt, Field(ge=0)] | None = None
    input_field: StrictStr | None = None
    prediction: StrictStr

    @model_validator(mode="after")
    def _keyed(self) -> Prediction:
        if self.index is None and self.input_field is None:
            raise ValueError("needs 'index' (0-based data row) or 'input_field'")
        return self


def make_record(task: str, task_type: str, metric: str, track: str, prompt: str, truth: Any) -> dict[str, Any]:
    """A ShopBench record as a plain dict (``is_multiple_choice`` follows the task type)."""
    return {
        "input_field": prompt,
        "output_field": truth,
        "task_name": task,
        "task_type": task_type,
        "metric": metric,
        "is_multiple_choice": task_type == "multiple-choice",
        "track": track,
    }


def normalised_prompt(text: str) -> str:
    """A prompt as the contamination check and the few-shot exclusion compare it: case and whitespace
    folded, so a trailing space moved into the answer (``"Answer:"`` + ``" 1"``) is the same question."""
    return " ".join(text.lower().split())


def item_key(prompt: str, truth_json: str) -> str:
    """Pairs the same question across submissions (``compare``): a hash of its prompt and its truth as JSON
    (``json.dumps(truth, ensure_ascii=False)``, the form the task hooks keep it in)."""
    return hashlib.sha256(f"{prompt}\0{truth_json}".encode()).hexdigest()[:16]


def describe(error: ValidationError) -> str:
    """The first validation error as 'field 'x': message'."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"field '{where}': {message}" if where else message


def iter_jsonl(path: Path, on_bad: Callable[[str, str, str], None] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; a broken line is an EcombenchError, or with ``on_bad``
    is told to it as (``file:line``, kind, why) and skipped. Only a regular file is read (a FIFO or ``/dev/zero`` is
    one error), a line at a time, each at most ``MAX_LINE_BYTES``."""
    try:
        raw = open_regular(path)
    except OSError as exc:
        raise EcombenchError(f"{path}: cannot read ({exc.strerror})") from exc
    with io.TextIOWrapper(raw, encoding="utf-8") as handle:
        try:
            for number, line in bounded_lines(handle, str(path)):
                if not line.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    obj = parse_json(line, where)
                except EcombenchError as exc:
                    if on_bad is None:
                        raise
                    on_bad(where, "not JSON", str(exc).removeprefix(f"{where}: "))
                    continue
                if not isinstance(obj, dict):
                    why = f"expected a JSON object, got {type(obj).__name__}"
                    if on_bad is None:
                        raise EcombenchError(f"{where}: {why}")
                    on_bad(where, "not an object", why)
                    continue
                yield number, obj
        except UnicodeDecodeError as exc:
            raise EcombenchError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def load_records(path: Path) -> list[ShopBenchRecord]:
    """Read a ShopBench JSON Lines file; every row is validated."""
    records = []
    for number, obj in iter_jsonl(path):
        try:
            records.append(ShopBenchRecord.model_validate(obj))
        except ValidationError as exc:
            raise EcombenchError(f"{path}:{number}: {describe(exc)}") from exc
    if not records:
        raise EcombenchError(f"{path}: no records")
    return records
