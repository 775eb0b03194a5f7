"""Parsers that turn a model's raw text into a typed answer, exactly as the KDD Cup 2024 scorer did.

A parser never raises: text it cannot read gets the task type's empty value, which scores 0.
Every raw output is read whole, as the scorer reads it (a cut at 5,000 characters lost an answer after
5,000 blank characters, and made a long valid answer invalid); each parser takes time linear in its length.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable
from typing import Any, Literal

TaskType = Literal["multiple-choice", "generation", "retrieval", "ranking", "named_entity_recognition"]
TASK_TYPES: tuple[str, ...] = ("multiple-choice", "generation", "retrieval", "ranking", "named_entity_recognition")

Parsed = int | str | list[int] | list[str]


def parse_multiple_choice(raw: str) -> int:
    """The integer value of the first non-space character, or -1."""
    text = raw.strip()
    try:
        return int(text[0])
    except (IndexError, ValueError):
        return -1


def _comma_ints(raw: str) -> list[int]:
    # The official cleaning keeps str.isnumeric() characters (a superset of ASCII digits),
    # commas and spaces; pieces int() cannot read are skipped.
    cleaned = "".join(c for c in raw if c.isnumeric() or c in (",", " "))
    values = []
    for piece in cleaned.split(","):
        try:
            values.append(int(piece))
        except ValueError:
            continue
    return values


def parse_ranking(raw: str) -> list[int]:
    """The first 5 comma-separated ints that are <= 5; empty if any of them repeats."""
    ranked = [v for v in _comma_ints(raw) if v <= 5][:5]
    return ranked if len(ranked) == len(set(ranked)) else []


def parse_retrieval(raw: str) -> list[int]:
    """The first 3 comma-separated ints."""
    return _comma_ints(raw)[:3]


def literal(text: str) -> Any:
    """``ast.literal_eval`` of a model's or a file's text, quietly: text such as ``1in stock`` or ``"a\\d"``
    makes the compiler warn (``SyntaxWarning: invalid decimal literal``) on the way to failing, and those
    warnings are about the text, not about any code. Raises what ``ast.literal_eval`` raises."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.literal_eval(text)


def parse_ner(raw: str) -> list[str]:
    """A literal list of strings if the text is one, else the non-empty comma-separated pieces."""
    text = raw
    try:
        value = literal(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return [piece.strip() for piece in text.split(",") if piece.strip()]


def parse_generation(raw: str) -> str:
    """The text with surrounding whitespace stripped."""
    return raw.strip()


PARSERS: dict[str, Callable[[str], Parsed]] = {
    "multiple-choice": parse_multiple_choice,
    "ranking": parse_ranking,
    "retrieval": parse_retrieval,
    "named_entity_recognition": parse_ner,
    "generation": parse_generation,
}


def parse(task_type: str, raw: str) -> Parsed:
    """Parse ``raw`` for ``task_type`` (one of ``TASK_TYPES``)."""
    return PARSERS[task_type](raw)
