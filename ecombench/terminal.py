"""The one way user text reaches a terminal: as text, never as markup, with control characters visible.

Names, task and track names, prompts and model outputs come from strangers' files. Printed raw, an
ANSI escape can retitle or clear the terminal, a bidirectional override (U+202E) can reverse what a
table seems to say, and Rich reads ``[/bold]`` or ``[link=...]`` in a string as markup (a crash, or a
hidden link). ``safe_text`` shows every such character as a visible escape; ``text`` wraps the result
in a ``rich.text.Text``, which Rich never parses as markup. Imports nothing heavy.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls, DEL, and the bidirectional and direction-mark controls.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_LINES = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(value: object, keep_lines: bool = False) -> str:
    """``value`` as text with control, escape and bidi characters shown as ``\\x..``/``\\u....``;
    ``keep_lines`` keeps line breaks and tabs (prompts, outputs) as they are."""
    return (_UNSAFE_KEEP_LINES if keep_lines else _UNSAFE).sub(_escape, str(value))


def text(value: object, style: str | None = None, keep_lines: bool = False) -> Any:
    """A ``rich.text.Text`` of ``safe_text(value)``: for table cells, titles and panels."""
    from rich.text import Text

    return Text(safe_text(value, keep_lines), style=style or "")


def natural_key(value: object) -> tuple[Any, ...]:
    """Sort key that orders numbers by value: ``task8`` before ``task10``."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", str(value)))


def metric_label(metric: str | list[str]) -> str:
    """A task's metric as shown: one name, or ``bleu + jp-bleu (per row)`` for a task whose rows differ."""
    return metric if isinstance(metric, str) else " + ".join(metric) + " (per row)"


def console(**kwargs: Any) -> Any:
    """A Rich console for tables. Written to a pipe or file (not a terminal) it is wide enough that no
    name is cut, so ``ecombench tasks | grep name`` finds it; on a terminal long names fold, never vanish."""
    import os
    import sys

    from rich.console import Console

    if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        kwargs.setdefault("width", 1000)
    return Console(**kwargs)


def table(*columns: str, title: object = None, right: tuple[str, ...] = (), min_widths: dict[str, int] | None = None) -> Any:
    """A Rich table whose columns fold long cells onto more lines instead of cutting them to ``…``;
    ``min_widths`` keeps a column (the names) whole while the others fold."""
    from rich.table import Table

    out = Table(title=text(title) if title is not None else None)
    for column in columns:
        out.add_column(column, justify="right" if column in right else "left", overflow="fold", min_width=(min_widths or {}).get(column))
    return out
