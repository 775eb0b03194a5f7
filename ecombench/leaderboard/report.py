"""``ecombench report``: a static web site that works offline (no CDN, nothing fetched from elsewhere).

Pages (``ecombench/leaderboard/site/``, copied as they are): ``index.html`` (the board: search,
hide flagged or reference rows, choose columns, pick the board, sort, page), ``sub.html#id=ID``
(a submission: settings, profile over tracks, tasks, and the item explorer), ``compare.html``
(any two or more submissions side by side: per-task deltas with ``compare``'s paired tests, which
``sitepairs`` computes for the first runs of each board, and the differing items)
and ``charts.html`` (heatmap, sweep and lineage). Their data is JSON in ``data/`` and ``items/``,
written as scripts by ``sitedata``; every string goes on screen as text, never as markup.

The site is built in a staging folder beside ``--output`` and swapped in whole, so a reader (or
``--serve``) never sees half a site. The items of a submission whose items file has not changed
since the last build are taken from the old site instead of being read again (``siteitems``, which
also says where the item data lies).
"""

from __future__ import annotations

import html
import json
import os
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.io import replace_dir, restore_dir, staging_dir
from ecombench.leaderboard.boards import available_boards, board_candidates, coverage, get_board, implicit_boards
from ecombench.leaderboard.sitedata import (
    board_payload,
    detail,
    lineage_payload,
    load_details,
    script,
    shard_count,
    shard_of,
    shard_script,
)
from ecombench.leaderboard.siteitems import ItemsWriter, Writer
from ecombench.leaderboard.sitepairs import pair_payload, pair_runs
from ecombench.leaderboard.store import Loaded
from ecombench.leaderboard.table import BoardTable, build_table
from ecombench.submissions import Submission
from ecombench.taskindex import TaskIndex

SITE = Path(__file__).with_name("site")
PAGES = ("index.html", "sub.html", "compare.html", "charts.html")
ASSETS = ("common.js", "board.js", "explorer.js", "compare.js", "charts.js", "site.css")
MANIFEST = ".ecombench-report.json"
# 1: the pages of the first report (index.html, sub/, compare.html); 2: items/<id>/index.js and <k>.js;
# 3: item indexes in items/bundles/<k>.js or items/<id>.js, chunks in items/chunks/<id>.<k>.js (siteitems)
SITE_VERSION = 3
MAX_BOARDS = 8
# What a report folder holds; --output refuses a folder with anything else in it (it is replaced whole).
KNOWN = {*PAGES, "assets", "data", "items", "sub", MANIFEST}


@dataclass
class Site:
    index: Path
    boards: list[str]
    submissions: int
    items_written: int = 0  # submissions whose items were read and written
    items_kept: int = 0  # ... linked unchanged from the previous build
    warnings: list[str] = field(default_factory=list)


def site_boards(main: BoardTable, index: TaskIndex, loaded: Loaded, by: str = "task") -> list[BoardTable]:
    """The boards the site offers: ``main`` first, then every board file, suite and task of no suite (a task the user
    added) that submissions cover, most covered first; a group or task inside a bigger board offered (a track group
    inside its suite) is left out: the bigger board has its rows."""
    files = available_boards()
    candidates = board_candidates(index)
    cover = coverage(candidates, loaded.scores)
    names = [b for b, part in zip(cover["board"], cover["part_of"], strict=True) if b != main.board.name and (b in files or part == "")]
    tables = [main]
    for name in names[: MAX_BOARDS - 1]:
        table = replace(build_table(get_board(name, implicit_boards(index)), index, loaded, by=by), show_efficiency=main.show_efficiency)
        if not table.frame.empty:
            tables.append(table)
    return tables


def _check_output(out: Path) -> None:
    if out.is_symlink():
        raise EcombenchError(f"--output {out}: a link; the report replaces the folder whole, so give the folder itself ({out.resolve()})")
    if not out.exists():
        return
    if not out.is_dir():
        raise EcombenchError(f"--output {out}: not a folder")
    other = sorted(set(os.listdir(out)) - KNOWN)
    if other:
        raise EcombenchError(
            f"--output {out}: holds files a report does not write ({', '.join(other[:3])}); the report replaces the folder "
            "whole, so give an empty or new folder"
        )


def _old_manifest(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return data if data.get("version") == SITE_VERSION else {}
    except (OSError, ValueError, AttributeError):
        return {}


def write_report(out: Path, tables: list[BoardTable], folder: Path, index: TaskIndex, digests: dict[str, str | None] | None = None) -> Site:
    """Write the site for ``tables`` (the first is the board shown first) into ``out``; returns what was written.
    ``digests``: the record files' hashes ``load_folder`` took (``Loaded.digests``), not taken again."""
    _check_output(out)
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    restore_dir(out)
    files: dict[str, str] = {}
    for table in tables:
        files.update(zip(table.frame["submission"], table.frame["file"], strict=True))
    details, warnings = load_details(folder, files, digests)
    site = Site(out / "index.html", [t.board.name for t in tables], len(details), warnings=warnings)
    staging = staging_dir(f".{out.name}-staging-", out.parent)
    try:
        w = Writer(staging)
        items = ItemsWriter(w, folder, out, index, len(details), _old_manifest(out))
        for sid, d in details.items():
            items.add(sid, d)
        kept = items.finish()
        site.items_written, site.items_kept = items.written, items.kept
        site.warnings.extend(items.warnings)
        counts = items.counts
        shards = shard_count(len(details))
        grouped: dict[int, dict[str, Any]] = {}
        for sid, d in details.items():
            grouped.setdefault(shard_of(sid, shards), {})[sid] = d
        for k, group in grouped.items():
            w.write(f"data/subs/{k}.js", shard_script(k, group, counts))
        boards = []
        for i, table in enumerate(tables):
            w.write(f"data/board-{i}.js", script(f"board:{i}", board_payload(table, index)))
            boards.append({"name": table.board.name, "file": f"board-{i}.js", "rows": len(table.frame)})
        pairs, pair_warnings = pair_payload(
            pair_runs(tables, counts), folder, {sid: e[0] for sid, e in kept["items"].items()}
        )  # the side-by-side page's paired tests (compare's own)
        site.warnings.extend(pair_warnings)
        w.write("data/pairs.js", script("pairs", pairs))
        w.write("data/lineage.js", script("lineage", lineage_payload(details)))
        w.write("data/names.js", script("names", [[sid, d["name"]] for sid, d in details.items()]))  # side by side offers them all
        stamp = w.hash.hexdigest()
        w.write("data/stamp.js", script("stamp", stamp))
        w.write(
            "data/site.js",
            script(
                "site",
                {
                    "boards": boards,
                    "shards": shards,
                    "item_bundles": items.bundles,
                    "stamp": stamp,
                    "submissions": len(details),
                    "generated": datetime.now(UTC).replace(microsecond=0).isoformat(),
                },
            ),
        )
        (staging / "assets").mkdir()
        for name in PAGES:
            shutil.copyfile(SITE / name, staging / name)
        for name in ASSETS:
            shutil.copyfile(SITE / name, staging / "assets" / name)
        w.write(MANIFEST, json.dumps({"version": SITE_VERSION, "stamp": stamp, **kept}, separators=(",", ":")))
        replace_dir(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return site


def _submission_page(sub: Submission) -> str:
    """One submission's settings and tasks as a static HTML page (every value escaped); the site shows the
    same rows (``sitedata.detail``) from JSON."""
    d = detail(sub)
    e = lambda v: html.escape(str(v), quote=True)  # noqa: E731
    settings = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in d["settings"])
    tasks = "".join(f"<tr><td>{e(t[0])}{' (held in)' if t[7] else ''}</td>" + "".join(f"<td>{e(v)}</td>" for v in t[1:7]) + "</tr>" for t in d["tasks"])
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(sub.name)}</title></head><body><h1>{e(sub.name)}</h1>"
        f"<table>{settings}</table><table>{tasks}</table></body></html>\n"
    )
