"""The one way user text reaches a terminal: as text, never as markup, with control characters visible.

Names, task and track names, prompts and model outputs come from strangers' files. Printed raw, an
ANSI escape can retitle or clear the terminal, a bidirectional override (U+202E) can reverse what a
table seems to say, and Rich reads ``[/bold]`` or ``[link=...]`` in a string as markup (a crash, or a
hidden link). ``safe_text`` shows every such character as a visible escape; ``text`` wraps the result
in a ``rich.text.Text``, which Rich never parses as markup. Imports nothing heavy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Col:
    """A column of a table that ``fit`` lays out for a terminal.

    ``keep``: never left out (names, the score a table is about, a mark such as significance).
    ``wrap``: free text (flags, notes, descriptions) that may wrap between words down to this many
    characters (never narrower than its longest word); 0: the column never wraps. A name column has
    ``wrap=0`` and ``keep=True``: it is never cut, folded or left out.
    ``drop``: columns that may be left out go in this order, lowest first (ties: the rightmost first).
    ``title``: the column is a record's heading where the table is shown as records.
    """

    header: str
    right: bool = False
    keep: bool = False
    wrap: int = 0
    drop: int = 0
    title: bool = False

    @property
    def label(self) -> str:
        """The header on one line: how notes name the column."""
        return " ".join(self.header.split())


@dataclass(frozen=True)
class Plan:
    """How a table fits a width: the columns shown (indexes) and their widths, the labels of those left out,
    and whether it is shown as one record per row (the columns that must stay do not fit side by side)."""

    shown: tuple[int, ...]
    widths: tuple[int, ...]
    dropped: tuple[str, ...]
    records: bool


def _width(cell: object) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in str(cell).split("\n")), default=0)


def _longest_word(cell: object) -> int:
    return max((_width(word) for word in str(cell).split()), default=0)


def plan(columns: list[Col], rows: list[list[Any]], width: int | None) -> Plan:
    """Lay ``rows`` out in ``width`` terminal columns (None: no limit). Every column first gets its natural width
    (the longest cell or header line); free text wraps down to its ``wrap`` width; then the columns that may go
    leave in their ``drop`` order until the rest fit; where the kept columns alone do not fit, one record per row."""
    natural = [max([_width(c.header), *(_width(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    least = [
        max(min(c.wrap, n), _width(c.header.split()[0]) if c.header.split() else 0, *(_longest_word(row[i]) for row in rows)) if c.wrap else n
        for i, (c, n) in enumerate(zip(columns, natural))
    ]
    shown = list(range(len(columns)))

    def total(widths: list[int]) -> int:  # cells, a space each side, and a border before each and after the last
        return sum(widths[i] for i in shown) + 3 * len(shown) + 1

    order = sorted((i for i, c in enumerate(columns) if not c.keep), key=lambda i: (columns[i].drop, -i))
    dropped: list[str] = []
    while width is not None and total(least) > width and order:
        gone = order.pop(0)
        shown.remove(gone)
        dropped.append(columns[gone].label)
    if width is not None and total(least) > width:
        return Plan(tuple(range(len(columns))), tuple(natural), (), True)
    widths = list(least)
    spare = (width - total(least)) if width is not None else sum(natural)
    growing = [i for i in shown if widths[i] < natural[i]]
    while spare > 0 and growing:  # the wrapping columns share what is left, a character each in turn, up to their natural width
        for i in list(growing):
            if spare == 0:
                break
            widths[i] += 1
            spare -= 1
            if widths[i] == natural[i]:
                growing.remove(i)
    return Plan(tuple(shown), tuple(widths[i] for i in shown), tuple(dropped), False)


def fit(
    columns: list[Col],
    rows: list[list[Any]],
    width: int | None,
    *,
    title: object = None,
    notes: tuple[str, ...] | list[str] = (),
    sections: tuple[int, ...] | list[int] = (),
    formats: str = "--format markdown|csv|json",
) -> Any:
    """A table for a terminal ``width`` columns wide that never cuts or folds a name: the table, then its notes.

    Cells are text (shown as text, never markup; ``rich.text.Text`` keeps its style). Columns that do not fit leave
    in their ``drop`` order and a note names every one; where even the kept columns do not fit, each row is shown
    as a record and a note says so. ``formats`` is how the view's other formats are asked for. ``sections``: rows
    before which a rule is drawn."""
    from rich.console import Group
    from rich.table import Table

    layout = plan(columns, rows, width)
    lines = [text(n) for n in notes]
    if layout.dropped:
        lines.append(text(f"left out at this width: {', '.join(layout.dropped)} (a wider terminal, or {formats}, shows them)"))
    if layout.records:  # said first: a reader expecting a table learns why there is none
        said = text(f"too wide for {width} columns: one record per row ({formats} shows the table)", style="italic")
        return Group(*([text(title, style="bold")] if title is not None else []), said, *_records(columns, rows, width or 80, sections), *lines)
    out = Table(title=_cell(title) if title is not None else None)
    for i, w in zip(layout.shown, layout.widths):
        c = columns[i]
        out.add_column(text(c.header, keep_lines=True), justify="right" if c.right else "left", width=w, no_wrap=not c.wrap, overflow="fold")
    for number, row in enumerate(rows):
        if number in sections and number:
            out.add_section()
        out.add_row(*[_cell(row[i]) for i in layout.shown])
    return Group(out, *lines)


def _cell(value: object) -> Any:
    from rich.text import Text

    return value if isinstance(value, Text) else text(value)


def _records(columns: list[Col], rows: list[list[Any]], width: int, sections: tuple[int, ...] | list[int]) -> list[Any]:
    """Each row as its title cells on one line, then ``header value`` pairs packed into indented lines."""
    from rich.text import Text

    heads = [i for i, c in enumerate(columns) if c.title] or [0]
    out: list[Any] = []
    for number, row in enumerate(rows):
        if number in sections and number:
            out.append(Text(""))
        head = Text("  ", style="bold").join(_cell(row[i]) for i in heads if str(row[i]).strip())
        head.stylize("bold")
        out.append(head)
        pairs = [f"{columns[i].label} {' '.join(str(row[i]).split())}" for i in range(len(columns)) if i not in heads and str(row[i]).strip()]
        line = ""
        for pair in pairs:
            if line and _width(line) + 2 + _width(pair) > width - 2:
                out.append(text("  " + line))
                line = ""
            line = f"{line}  {pair}" if line else pair
        if line:
            out.append(text("  " + line))
    return out
