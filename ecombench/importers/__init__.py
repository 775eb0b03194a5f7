"""Importers of public e-commerce datasets: one function per format, one explicit table."""

from __future__ import annotations

from collections.abc import Callable

from ecombench.importers import chinese_ecomqa, ecinstruct, ecominstruct, esci, jsonl, oamine, shopbench, shopping_mmlu
from ecombench.importers.writer import ImportedSuite

IMPORTERS: dict[str, Callable[..., ImportedSuite]] = {
    "shopbench": shopbench.read,
    "oamine": oamine.read,
    "jsonl": jsonl.read,
    "esci": esci.read,
    "shopping-mmlu": shopping_mmlu.read,
    "ecominstruct": ecominstruct.read,
    "ecinstruct": ecinstruct.read,
    "chinese-ecomqa": chinese_ecomqa.read,
}

__all__ = ["IMPORTERS", "ImportedSuite"]
