"""Importers of public e-commerce datasets: one function per format, one explicit table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ecombench.importers import jsonl, oamine, shopbench
from ecombench.importers.writer import ImportedSuite

IMPORTERS: dict[str, Callable[..., ImportedSuite]] = {
    "shopbench": shopbench.read,
    "oamine": oamine.read,
    "jsonl": jsonl.read,
}

__all__ = ["IMPORTERS", "ImportedSuite"]


def formats() -> list[str]:
    return sorted(IMPORTERS)


