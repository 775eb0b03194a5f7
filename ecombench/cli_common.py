"""Option parsing shared by the command modules (``cli`` and ``cli_train``), which must not import each other."""

from __future__ import annotations


def split_names(values: list[str] | None) -> list[str] | None:
    """Names given repeated or comma-separated (``--tasks a,b --tasks c``); None when none."""
    return [n.strip() for item in values or [] for n in item.split(",") if n.strip()] or None


def plural(count: int, noun: str) -> str:
    """``1 task``, ``2 tasks``: a count with its noun in the right number (regular plurals only)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
