"""Importers of public e-commerce datasets: one module per format (its ``read`` and the ``OPTIONS`` of the
``import`` command it takes), one explicit table."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

from ecombench.errors import EcombenchError
from ecombench.importers import chinese_ecomqa, ecinstruct, ecominstruct, esci, jsonl, oamine, shopbench, shopping_mmlu
from ecombench.importers.writer import ImportedSuite

_FORMATS: dict[str, ModuleType] = {
    "shopbench": shopbench,
    "oamine": oamine,
    "jsonl": jsonl,
    "esci": esci,
    "shopping-mmlu": shopping_mmlu,
    "ecominstruct": ecominstruct,
    "ecinstruct": ecinstruct,
    "chinese-ecomqa": chinese_ecomqa,
}
IMPORTERS: dict[str, Callable[..., ImportedSuite]] = {name: module.read for name, module in _FORMATS.items()}


def read_suite(format: str, source: Path, options: Mapping[str, object]) -> ImportedSuite:
    """The suite in ``source`` as ``format`` reads it. ``options``: the ``import`` command's options by name; the
    format takes those it declares (its module's ``OPTIONS``) and leaves the others."""
    if format not in IMPORTERS:
        raise EcombenchError(f"unknown format '{format}'; use one of {', '.join(sorted(IMPORTERS))}")
    if not source.exists():
        raise EcombenchError(f"{source}: no such file or folder")
    declared: dict[str, str] = _FORMATS[format].OPTIONS
    return IMPORTERS[format](source, **{keyword: options[name] for name, keyword in declared.items() if name in options})


__all__ = ["IMPORTERS", "ImportedSuite", "read_suite"]
