"""What ``--model`` names: a local folder, a hub id, a PEFT adapter, ``builtin:tiny``, or a model on a server.

Everything resolves to local folders before loading, so a run records what it scored
(a content hash of the weights and of the adapter) and works offline from local paths.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ecombench.errors import EcombenchError
from ecombench.io import parse_json

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
HASHED_FILES = ("config.json", "adapter_config.json")
LOADABLE_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".gguf")


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to load: the base folder, and the adapter folder when ``--model`` is one."""

    spec: str
    kind: str  # "builtin", "local", "hub" or "adapter"
    base_path: Path
    base_spec: str
    adapter_path: Path | None = None


def _looks_like_path(spec: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else that is not on disk is a missing folder."""
    return spec.startswith((".", "/", "~")) or spec.count("/") > 1 or "\\" in spec


def _hub_snapshot(repo_id: str, context: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    offline = os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes")
    try:
        return Path(snapshot_download(repo_id, local_files_only=offline))
    except HFValidationError as exc:
        raise EcombenchError(f"{context}: '{repo_id}' is neither a folder nor a valid hub id") from exc
    except Exception as exc:
        how = "it is not in the local Hugging Face cache and HF_HUB_OFFLINE=1" if offline else type(exc).__name__
        raise EcombenchError(f"{context}: cannot find model '{repo_id}' ({how}); pass a local folder") from exc


def _check_model_folder(path: Path, context: str) -> None:
    if not path.is_dir():
        raise EcombenchError(f"{context}: {path} is not a folder")
    if not any(path.iterdir()):
        raise EcombenchError(f"{context}: model folder {path} is empty")
    if not (path / "config.json").is_file():
        raise EcombenchError(f"{context}: {path} has no config.json (not a Hugging Face model folder)")
    if not any(p.suffix in LOADABLE_WEIGHTS or p.name.endswith(".index.json") for p in path.iterdir()):
        raise EcombenchError(f"{context}: {path} has a config.json but no weights (model.safetensors, pytorch_model.bin or a sharded index)")


def check_loadable(model: ResolvedModel, trust_remote_code: bool) -> None:
    """Refuse, before anything loads, a base model whose architecture exists only as code in its folder
    (``auto_map`` in config.json for a model type transformers does not know) unless the user trusts it."""
    if trust_remote_code:
        return
    config_path = model.base_path / "config.json"
    try:
        config = parse_json(config_path.read_text(encoding="utf-8"), str(config_path))
    except (OSError, UnicodeDecodeError) as exc:
        raise EcombenchError(f"{config_path}: cannot read ({exc})") from exc
    if not isinstance(config, dict):
        raise EcombenchError(f"{config_path}: expected a JSON object")
    if not config.get("auto_map"):
        return
    from transformers import CONFIG_MAPPING

    if config.get("model_type") not in CONFIG_MAPPING:
        raise EcombenchError(
            f"{config_path}: model type {config.get('model_type')!r} is defined by code in the model folder (auto_map); "
            "read that code, and pass --trust-remote-code only if you trust it"
        )


Builtins = Mapping[str, Callable[[], Path]]  # "builtin:name" -> a function returning its (built) folder


def check_path(spec: str) -> None:
    """Raise, as ``resolve_model`` would, when ``--model`` names a folder that is not there (checked before the
    heavy imports of a run, so a typo costs a second); hub ids and built-in models are left to ``resolve_model``."""
    if not spec.startswith("builtin:") and not Path(spec).expanduser().exists() and _looks_like_path(spec):
        raise EcombenchError(f"--model {spec}: model folder {spec} does not exist")


def _resolve_base(spec: str, relative_to: Path | None, context: str, builtins: Builtins) -> tuple[Path, str]:
    if spec.startswith("builtin:"):
        if spec not in builtins:
            raise EcombenchError(f"{context}: unknown built-in model '{spec}' (available: {', '.join(builtins) or 'none here'})")
        return builtins[spec](), "builtin"
    candidates = [Path(spec).expanduser()]
    if relative_to is not None and not candidates[0].is_absolute():
        candidates.insert(0, relative_to / spec)
    for candidate in candidates:
        if candidate.exists():
            _check_model_folder(candidate, context)
            return candidate.resolve(), "local"
    if _looks_like_path(spec):
        raise EcombenchError(f"{context}: model folder {spec} does not exist")
    return _hub_snapshot(spec, context), "hub"


def resolve_model(spec: str, base: str | None = None, builtins: Builtins | None = None) -> ResolvedModel:
    """Resolve ``--model`` (and ``--base`` for adapters) to local folders.

    Built-in models (``builtin:tiny``) are built by a layer above this one (``ecombench.tiny.resolve_model``
    passes them in), so that model resolution never imports the trainer that builds them.
    """
    builtins = builtins or {}
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "adapter_config.json").is_file():
        adapter_cfg_path = path / "adapter_config.json"
        try:
            adapter_cfg = parse_json(adapter_cfg_path.read_text(encoding="utf-8"), str(adapter_cfg_path))
        except (OSError, UnicodeDecodeError) as exc:
            raise EcombenchError(f"{adapter_cfg_path}: cannot read ({exc})") from exc
        if not isinstance(adapter_cfg, dict):
            raise EcombenchError(f"{adapter_cfg_path}: expected a JSON object")
        base_spec = base or adapter_cfg.get("base_model_name_or_path")
        if not base_spec:
            raise EcombenchError(f"{adapter_cfg_path}: no base_model_name_or_path; pass --base MODEL")
        context = "--base" if base else f"{adapter_cfg_path} (base_model_name_or_path)"
        base_path, _ = _resolve_base(str(base_spec), None if base else path, context, builtins)
        return ResolvedModel(spec, "adapter", base_path, str(base_spec), path.resolve())
    if base:
        raise EcombenchError(f"--base is only for adapter folders, and {spec} has no adapter_config.json")
    base_path, kind = _resolve_base(spec, None, f"--model {spec}", builtins)
    return ResolvedModel(spec, kind, base_path, spec)


def file_hash(file: Path) -> str:
    """sha256 of a file, remembered per (path, size, mtime) so a large model is read once."""
    from ecombench.io import atomic_write_text
    from ecombench.paths import cache_dir

    stat = file.stat()
    key = hashlib.sha256(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    memo = cache_dir() / "file-hashes" / key
    if memo.is_file():
        return memo.read_text().strip()
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    atomic_write_text(memo, value)
    return value


ADAPTER_CONFIG = "adapter_config.json"
# peft keeps these as sets and writes them in set order, which changes from one process to the next
SET_VALUED_ADAPTER_KEYS = ("target_modules", "exclude_modules")


def canonical_adapter_config(config: dict) -> dict:
    """``adapter_config.json``'s content with its set-valued module lists sorted."""
    return {
        key: sorted(value) if key in SET_VALUED_ADAPTER_KEYS and isinstance(value, list) and all(isinstance(v, str) for v in value) else value
        for key, value in config.items()
    }


def _adapter_config_hash(file: Path) -> str:
    """sha256 of the adapter config as canonical JSON (sorted keys, sorted module lists), so that two
    configs saying the same thing hash the same; the file's bytes if it is not a JSON object."""
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return file_hash(file)
    if not isinstance(config, dict):
        return file_hash(file)
    text = json.dumps(canonical_adapter_config(config), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _hashed_files(folder: Path) -> list[Path]:
    """The files that define a model: weights and configs, never hidden files or folders (staging leftovers,
    temporary files, download metadata). An adapter is what peft loads from the folder itself, so only
    its top level counts (not ``checkpoints/``); a full model's weights may lie in subfolders."""

    def wanted(p: Path) -> bool:
        return not p.name.startswith(".") and p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in HASHED_FILES)

    if (folder / ADAPTER_CONFIG).is_file():
        return sorted(p for p in folder.iterdir() if wanted(p))
    files: list[Path] = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        files.extend(p for p in (Path(root) / n for n in names) if wanted(p))
    return sorted(files)


def folder_hash(folder: Path) -> str:
    """sha256 over the names and content hashes of a model or adapter folder's weight and config files
    (``adapter_config.json`` hashed as canonical JSON, see :func:`_adapter_config_hash`)."""
    digest = hashlib.sha256()
    for file in _hashed_files(folder):
        content = _adapter_config_hash(file) if file.name == ADAPTER_CONFIG and file.parent == folder else file_hash(file)
        digest.update(f"{file.relative_to(folder).as_posix()}\0{content}\n".encode())
    return digest.hexdigest()
