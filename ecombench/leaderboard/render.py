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
from ecombench.terminal import safe_text


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


# The terminal board: which columns go first where the terminal is narrow (lowest first; ties: the rightmost
# first). Rank, name, All-Around, flags and note always stay; names are never cut or folded.
_KEEP = ("rank", "name", "all_around", "flags", "note")
_DROP_FIRST = {"date": 0, "base": 1, "source": 2, "lora_rank": 3, "held_out": 3, "win_rate": 4, "ci95": 5}


def terminal_columns(table: BoardTable) -> list[str]:
    """The terminal board's columns, in order: rank, name and All-Around first, then the other scores, then
    flags and notes, then where each row came from."""
    cols = [c for c in columns(table) if c not in ("submission", "model")]
    tail = [c for c in ("flags", "note", "date", "source", "base") if c in cols]
    head = [c for c in ("rank", "name", "all_around") if c in cols]
    return head + [c for c in cols if c not in head and c not in tail] + tail


_COST_HEADERS = {
    "efficiency:generate_s": "generate\ns",
    "efficiency:tokens_per_s": "tokens\n/s",
    "efficiency:peak_host_mb": "host\nMiB",
    "efficiency:peak_device_mb": "device\nMiB",
}


def _drop_order(column: str) -> int:
    if column in _DROP_FIRST:
        return _DROP_FIRST[column]
    if column.startswith("task:"):
        return 6
    return 7 if column.startswith("track:") else 8  # the efficiency columns were asked for: they go last


def _header(column: str) -> str:
    """A score column's header: a track by its first word (``concept``, ``user``), so that the header is
    never what makes a number's column wide; ``all_around`` over two lines."""
    if column in ("all_around", "lora_rank", "held_out", "win_rate"):
        return column.replace("_", "\n")
    if column.startswith("track:"):
        return column.removeprefix("track:").split("_")[0]
    if column.startswith("efficiency:"):
        return _COST_HEADERS.get(column, column.removeprefix("efficiency:"))
    return column.removeprefix("task:")


def rich_table(table: BoardTable, width: int | None = None):
    """The board for a terminal ``width`` columns wide (None: no limit): rank, name and All-Around first, never cut;
    names whole on one line; flags and notes wrap between words; the other columns are left out where they do not
    fit (date, base, source, lineage, win rate, interval, tasks, tracks, costs: in that order), each named under it."""
    from ecombench.terminal import Col, fit

    frame = table.frame.assign(date=table.frame["date"].astype(str).str[:10]) if "date" in table.frame else table.frame
    if "base" in frame and "model" in frame:  # a base that is the model itself says nothing new
        frame = frame.assign(base=frame["base"].where(frame["base"] != frame["model"], ""))
    if "source" in frame:  # a reference row says so in its flags
        frame = frame.assign(source=frame["source"].where(frame["source"] != "reference", ""))
    cols = terminal_columns(table)
    spec = [
        Col(
            _header(c),
            right=c not in ("name", "flags", "note", "date", "source", "base"),
            keep=c in _KEEP,
            wrap=1 if c in ("flags", "note") else 0,  # down to their longest word
            drop=_drop_order(c),
            title=c == "name",
        )
        for c in cols
    ]
    rows = [[_fmt(v, c) for v, c in zip(row, cols, strict=True)] for row in frame[cols].itertuples(index=False)]
    title = f"{table.board.name}: {table.board.description}" if table.board.description else table.board.name
    return fit(spec, rows, width, title=title, notes=table.notes, formats="--format markdown|csv|json")
