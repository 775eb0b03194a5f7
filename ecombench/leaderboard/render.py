"""Leaderboard output: rich table, Markdown, CSV, JSON and a plain HTML table.

Names and models come from submissions (and task names from imported suites), so they are untrusted
text: terminal output shows control characters and escape sequences as visible escapes; Markdown
shows every cell literally (``markdown_cell``: no HTML, links, code spans or emphasis, no broken
table); CSV keeps text as it is but defuses spreadsheet formulas (``csv_cell``); HTML escapes
everything.
"""

from __future__ import annotations

import html
import json
import re
from typing import SupportsInt, cast

import pandas as pd

from ecombench.leaderboard.stats import shown_decimals
from ecombench.leaderboard.table import BoardTable
from ecombench.terminal import safe_text, text


def columns(table: BoardTable) -> list[str]:
    frame = table.frame
    extra = [c for c in frame.columns if c.startswith(("track:", "task:"))]
    ranking = ["win_rate"] if "win_rate" in frame.columns else []
    lineage = ["lora_rank", "held_out"] if "held_out" in frame.columns else []
    source = ["source"] if "source" in frame.columns else []
    cost = [c for c in frame.columns if c.startswith("efficiency:")] if table.show_efficiency else []
    note = ["note"] if "note" in frame.columns else []  # a ranked row's caveat (training data not checked against some tasks)
    return ["rank", "name", "model", "base", *source, "all_around", "ci95", *ranking, *lineage, *extra, *cost, "date", "flags", *note, "submission"]


def _fmt(value: object, column: str) -> str:
    if _missing(value):
        return "-"
    if column in ("lora_rank", "efficiency:threads"):
        return str(int(cast(SupportsInt, value)))
    if column.startswith("efficiency:") and isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, float):
        return f"{value:.{4 if column == 'ci95' else shown_decimals(value)}f}"
    return safe_text(value)


# Markdown that could make a cell more than its text: HTML-significant characters (raw HTML, autolinks,
# entity references) become entities; the escape character, code spans, emphasis, strikethrough, link
# and image brackets and the cell separator are backslash-escaped (GFM unescapes \| before it parses a
# cell). "_" inside a word never starts emphasis, so task names like core_category_mc stay as they are.
_MD_SPECIAL = re.compile(r"[&<>\\`*~\[\]|]|(?<![^\W_])_|_(?![^\W_])")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: what a spreadsheet may read as a formula


def markdown_cell(value: object) -> str:
    """``value`` as one Markdown table cell that renders as its literal text and runs nothing: control
    characters and line breaks as visible escapes (``safe_text``), then Markdown and HTML defused."""
    return _MD_SPECIAL.sub(lambda m: _MD_ENTITIES.get(m.group(), "\\" + m.group()), safe_text(value))


def csv_cell(value: object) -> object:
    """A CSV cell a spreadsheet will not run: text starting with ``= + - @``, a tab or a carriage return
    gets a leading ``'``; anything else (numbers, negative ones included) is returned unchanged."""
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def to_records(table: BoardTable) -> list[dict[str, object]]:
    cols = columns(table)
    records = []
    for row in table.frame[cols].to_dict(orient="records"):
        records.append({k: (None if _missing(v) else (int(v) if k in ("rank", "lora_rank", "efficiency:threads") else v)) for k, v in row.items()})
    return records


def _missing(value: object) -> bool:
    """None, pandas' NA (a flagged row's rank) or NaN."""
    return value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value))


def render(table: BoardTable, fmt: str) -> str:
    if table.frame.empty:
        return ""
    cols = columns(table)
    if fmt == "json":
        return json.dumps({"board": table.board.model_dump(), "notes": list(table.notes), "rows": to_records(table)}, indent=2, ensure_ascii=False, default=str)
    if fmt == "csv":
        frame = table.frame[cols]
        text_cols = [c for c in cols if frame[c].dtype == object or isinstance(frame[c].dtype, (pd.StringDtype, pd.CategoricalDtype))]
        return frame.assign(**{c: frame[c].astype(object).map(csv_cell) for c in text_cols}).to_csv(index=False)
    if fmt == "markdown":
        lines = ["| " + " | ".join(markdown_cell(c) for c in cols) + " |", "|" + "---|" * len(cols)]
        for row in table.frame[cols].itertuples(index=False):
            lines.append("| " + " | ".join(markdown_cell(_fmt(v, c)) for v, c in zip(row, cols, strict=True)) + " |")
        for note in table.notes:  # each a paragraph under the table
            lines += ["", markdown_cell(note)]
        return "\n".join(lines) + "\n"
    if fmt == "html":
        head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_fmt(v, c))}</td>" for v, c in zip(row, cols, strict=True)) + "</tr>"
            for row in table.frame[cols].itertuples(index=False)
        )
        title = html.escape(table.board.name)
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in table.notes)
        return (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<h1>{title}</h1><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}</body></html>\n"
        )
    raise ValueError(fmt)


_TEXT_COLUMNS = ("name", "base", "source", "date", "flags", "note")
_OPTIONAL = ("date", "source", "base")  # left out, in this order, where the terminal is too narrow for them
_TEXT_MIN = 10  # the width a text column folds down to before an optional one is left out


def terminal_columns(table: BoardTable) -> list[str]:
    """The terminal board's columns: rank and every score first (they never fold or truncate), then the
    text columns, which fold to fit a narrow terminal."""
    cols = [c for c in columns(table) if c not in ("submission", "model")]
    return [c for c in cols if c not in _TEXT_COLUMNS] + [c for c in cols if c in _TEXT_COLUMNS]


def _header(column: str) -> str:
    """A score column's header: a track by its first word (``concept``, ``user``), so that the header is
    never what makes a number's column wide; ``all_around`` over two lines."""
    if column in ("all_around", "lora_rank", "held_out", "win_rate"):
        return column.replace("_", "\n")
    if column.startswith("track:"):
        return column.removeprefix("track:").split("_")[0]
    return column.removeprefix("task:")


def rich_table(table: BoardTable, width: int | None = None):
    """The board for a terminal ``width`` columns wide (None: no limit). Rank and scores come first and are
    never cut; names and flags fold; date, source and base are left out, in that order, where they do not fit."""
    from rich.table import Table
    from rich.text import Text

    frame = table.frame.assign(date=table.frame["date"].astype(str).str[:10]) if "date" in table.frame else table.frame
    if "base" in frame and "model" in frame:  # a base that is the model itself says nothing new
        frame = frame.assign(base=frame["base"].where(frame["base"] != frame["model"], ""))
    cols = terminal_columns(table)
    cells = {c: [_fmt(v, c) for v in frame[c]] for c in cols}
    widths = {c: max([len(v) for v in cells[c]] + [len(w) for w in _header(c).split("\n")]) for c in cols if c not in _TEXT_COLUMNS}
    dropped: list[str] = []

    def needed() -> int:
        text_cols = [c for c in cols if c in _TEXT_COLUMNS]
        return sum(widths.values()) + sum(min(_TEXT_MIN, max([len(v) for v in cells[c]] + [len(c)])) for c in text_cols) + 3 * len(cols) + 1

    for optional in _OPTIONAL:
        if width is None or needed() <= width:
            break
        if optional in cols:
            cols.remove(optional)
            dropped.append(optional)
    notes = [*table.notes] + ([f"left out at this width: {', '.join(dropped)} (a wider terminal, or --format markdown, shows them)"] if dropped else [])
    out = Table(
        title=text(f"{table.board.name}: {table.board.description}" if table.board.description else table.board.name),
        caption=text("\n".join(notes), keep_lines=True) if notes else None,
        caption_justify="left",
    )
    for c in cols:
        if c in _TEXT_COLUMNS:
            out.add_column(c, justify="left", overflow="fold", ratio=1)
        else:
            out.add_column(_header(c), justify="right", no_wrap=True, min_width=widths[c])
    for i in range(len(frame)):
        out.add_row(*[Text(cells[c][i]) for c in cols])
    return out
