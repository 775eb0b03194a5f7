"""The training config: one pydantic record, read from YAML and overridden by CLI flags.

Every setting is documented in ``examples/train.yaml``. Unknown keys are errors that name the
key and the file, so a typo never silently trains with a default.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ecombench.errors import EcombenchError
from ecombench.taskindex import DEFAULT_SUITE


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataConfig(_Section):
    """Which records to train on, and how many of each task (the mixture)."""

    sources: list[str] = ["core"]  # "core", "suite:NAME", files, folders or globs of JSON arrays / JSON Lines (ecombench.train.sources)
    strict: bool = False  # a bad row (empty answer, unknown layout, broken line) is an error instead of skipped and counted
    mixture: Path | None = None  # a mixture file (examples/mixture-shopbench.yaml): capabilities, their weights, task weights
    # capability -> task names or glob patterns (fnmatch); records of a matched task take the capability as
    # their track; with a mapping, tasks it does not match are left out (and said so)
    capabilities: dict[str, list[str]] = {}
    # An int is a record count, a float a weight (a share of `total`); a list gives every name weight 1.0.
    tracks: dict[str, int | float] | list[str] = {}  # capabilities to keep; empty = every track
    tasks: dict[str, int | float] | list[str] = {}  # tasks to keep; empty = every task of the kept tracks
    max_per_task: int | None = Field(default=None, ge=1)
    total: int | None = Field(default=None, ge=1)  # records in all, shared out by weights; None = all allowed
    eval_fraction: float = Field(default=0.05, ge=0.0, lt=0.5)  # held back for the held-out loss


class LoraConfig(_Section):
    rank: int = 16
    alpha: float = 32.0
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: str | list[str] = "all-linear"

    @model_validator(mode="after")
    def _positive(self) -> LoraConfig:
        if self.rank <= 0:
            raise ValueError(f"rank must be a positive integer, got {self.rank}")
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")
        if isinstance(self.target_modules, list) and not self.target_modules:
            raise ValueError("target_modules is empty")
        return self


class OptimConfig(_Section):
    max_steps: int | None = Field(default=None, ge=1)  # wins over epochs
    epochs: float = Field(default=1.0, gt=0)
    lr: float = Field(default=2e-4, gt=0)
    batch_size: int = Field(default=8, ge=1)  # packed sequences per device and step
    grad_accum: int = Field(default=1, ge=1)
    max_length: int = Field(default=1024, ge=16)  # tokens per packed sequence
    packing: bool = True  # padding-free best-fit packing of short records
    gradient_checkpointing: bool = False
    warmup_ratio: float = Field(default=0.03, ge=0.0, lt=1.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    save_steps: int = Field(default=50, ge=1)
    eval_steps: int = Field(default=50, ge=1)
    # The held-out loss is computed on at most this many held-out records (a seeded sample across tasks), once per
    # evaluation: 5% of a 75,000-record set took 60 s an evaluation. Shapes no weight, so not in the fingerprint.
    eval_records: int = Field(default=256, ge=1)
    logging_steps: int = Field(default=10, ge=1)
    seed: int = 0
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    qlora: bool = False  # 4-bit base through bitsandbytes; CUDA only


class EvalConfig(_Section):
    enabled: bool = True
    tasks: list[str] = [DEFAULT_SUITE]
    limit: int | None = Field(default=None, ge=1)  # items per task
    batch_size: str = "auto"


class ContaminationConfig(_Section):
    # Overlap is content, not template (ecombench.train.contamination states the rule). Training refuses when
    # more than `max_items` evaluation items, or more than `threshold` of the records, overlap.
    max_items: int = Field(default=0, ge=0)  # evaluation items the training data may overlap
    threshold: float = Field(default=0.01, ge=0.0, le=1.0)  # largest allowed fraction of overlapping records
    allow: bool = False  # --allow-contamination: train anyway (the overlap is recorded)
    decontaminate: bool = False  # --decontaminate: drop the overlapping records, train on the rest, record what was dropped


class TrainConfig(_Section):
    """A LoRA training run: base model, mixture, adapter, optimisation, closing evaluation."""

    model: str = "builtin:tiny"
    name: str | None = None
    output: Path | None = None
    submissions_dir: Path = Path("submissions")
    trust_remote_code: bool = False  # run code shipped in the model folder (auto_map); only for models you trust
    data: DataConfig = DataConfig()
    lora: LoraConfig = LoraConfig()
    train: OptimConfig = OptimConfig()
    eval: EvalConfig = EvalConfig()
    contamination: ContaminationConfig = ContaminationConfig()

    def fingerprint(self) -> str:
        """Hash of everything that shapes the trained weights (not where they go or how they are scored)."""
        shaping = self.model_dump(mode="json", include={"model", "data", "lora", "train"})
        shaping["data"].pop("mixture", None)  # its content is merged into data; where the file lies does not shape the weights
        for key, default in (("strict", False), ("capabilities", {})):  # unset new settings hash as before they existed
            if shaping["data"].get(key) == default:
                shaping["data"].pop(key)
        shaping["train"].pop("eval_records", None)
        return hashlib.sha256(json.dumps(shaping, sort_keys=True).encode()).hexdigest()[:16]


# CLI flag -> config path; flags left unset do not override the file.
FLAG_PATHS = {
    "model": ("model",),
    "name": ("name",),
    "output": ("output",),
    "submissions_dir": ("submissions_dir",),
    "data": ("data", "sources"),
    "rank": ("lora", "rank"),
    "alpha": ("lora", "alpha"),
    "dropout": ("lora", "dropout"),
    "target_modules": ("lora", "target_modules"),
    "max_steps": ("train", "max_steps"),
    "epochs": ("train", "epochs"),
    "lr": ("train", "lr"),
    "batch_size": ("train", "batch_size"),
    "grad_accum": ("train", "grad_accum"),
    "seed": ("train", "seed"),
    "qlora": ("train", "qlora"),
    "eval_limit": ("eval", "limit"),
    "eval_tasks": ("eval", "tasks"),
    "allow_contamination": ("contamination", "allow"),
    "decontaminate": ("contamination", "decontaminate"),
    "strict": ("data", "strict"),
    "mixture": ("data", "mixture"),
    "trust_remote_code": ("trust_remote_code",),
}


def _describe(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key '{where}'"
    return f"{source}: '{where}': {first['msg'].removeprefix('Value error, ')}"


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """A config file's top-level mapping (empty for an empty file); errors name the file and line."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EcombenchError(f"--config {path}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise EcombenchError(f"{path}{where}: YAML does not parse ({getattr(exc, 'problem', None) or exc})") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise EcombenchError(f"{path}: expected a mapping at the top level, got {type(loaded).__name__}")
    return loaded or {}


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML config (or the defaults) and apply CLI overrides; errors name the file and key."""
    raw: dict[str, Any] = read_yaml_mapping(path) if path is not None else {}
    source = str(path) if path is not None else "command line"
    for flag, value in (overrides or {}).items():
        if value is None:
            continue
        *parents, leaf = FLAG_PATHS[flag]
        node = raw
        for key in parents:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise EcombenchError(f"{source}: '{key}' must be a mapping")
            node = child
        node[leaf] = value
    try:
        config = TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise EcombenchError(_describe(exc, source)) from exc
    return with_mixture_file(config, path.parent if path is not None else Path("."))


class MixtureFile(_Section):
    """A mixture file: which tasks make each capability, and how much of each to train on."""

    # capability -> task names / glob patterns, in order (a task goes to the first capability that matches it)
    capabilities: dict[str, list[str]]
    weights: dict[str, int | float] = {}  # capability -> weight (float, a share of `total`) or record count (int)
    tasks: dict[str, int | float] = {}  # task -> weight or count inside its capability
    total: int | None = Field(default=None, ge=1)  # records in all, shared out by the weights
    max_per_task: int | None = Field(default=None, ge=1)


def read_mixture(path: Path) -> MixtureFile:
    raw = read_yaml_mapping(path)
    try:
        mixture = MixtureFile.model_validate(raw)
    except ValidationError as exc:
        raise EcombenchError(_describe(exc, str(path))) from exc
    if not mixture.capabilities:
        raise EcombenchError(f"{path}: 'capabilities' is empty")
    unknown = sorted(set(mixture.weights) - set(mixture.capabilities))
    if unknown:
        raise EcombenchError(f"{path}: weights name capabilities that are not listed: {', '.join(unknown)}")
    return mixture


def with_mixture_file(config: TrainConfig, base: Path) -> TrainConfig:
    """The config with ``data.mixture``'s file merged into ``data`` (its settings fill what ``data`` leaves unset)."""
    if config.data.mixture is None:
        return config
    path = config.data.mixture if config.data.mixture.is_absolute() or config.data.mixture.exists() else base / config.data.mixture
    mixture = read_mixture(path.expanduser())
    data = config.data.model_copy(
        update={
            "mixture": path.expanduser().resolve(),
            "capabilities": config.data.capabilities or mixture.capabilities,
            "tracks": config.data.tracks or mixture.weights,
            "tasks": config.data.tasks or mixture.tasks,
            "total": config.data.total or mixture.total,
            "max_per_task": config.data.max_per_task or mixture.max_per_task,
        }
    )
    return config.model_copy(update={"data": data})
