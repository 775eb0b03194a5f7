"""``ecombench report``: a static web site that works offline (no CDN, nothing fetched from elsewhere).

Pages (``ecombench/leaderboard/site/``, copied as they are): ``index.html`` (the board: search,
hide flagged or reference rows, choose columns, pick the board, sort, page), ``sub.html#id=ID``
(a submission: settings, profile over tracks, tasks, and the item explorer), ``compare.html``
(any two or more submissions side by side: per-task deltas with the paired test, differing items)
and ``charts.html`` (heatmap, sweep and lineage). Their data is JSON in ``data/`` and ``items/``,
written as scripts by ``sitedata``; every string goes on screen as text, never as markup.

The site is built in a staging folder beside ``--output`` and swapped in whole, so a reader (or
``--serve``) never sees half a site. The items of a submission whose items file has not changed
since the last build are linked from the old site instead of being read again.
"""

from __future__ import annotations

import hashlib
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
    TaskTexts,
    board_payload,
    chunk_file,
    detail,
    index_file,
    item_payload,
    lineage_payload,
    load_details,
    script,
    shard_count,
    shard_of,
    shard_script,
    task_texts,
    texts_key,
)
from ecombench.leaderboard.store import Loaded
from ecombench.leaderboard.table import BoardTable, build_table
from ecombench.submissions import Submission, items_path, parse_items
from ecombench.taskindex import TaskIndex

SITE = Path(__file__).with_name("site")
PAGES = ("index.html", "sub.html", "compare.html", "charts.html")
ASSETS = ("common.js", "board.js", "explorer.js", "compare.js", "charts.js", "site.css")
MANIFEST = ".ecombench-report.json"
# 1: the pages of the first report (index.html, sub/, compare.html); 2: items/<id>/index.js and <k>.js;
# 3: items/<id>.js and items/chunks/<id>.<k>.js (no folder per submission)
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
    """The boards the site offers: ``main`` first, then every board file and suite the submissions cover
    (most covered first; groups inside a bigger one, such as track groups, and single tasks left out)."""
    files = available_boards()
    candidates = board_candidates(index)
    cover = coverage(candidates, loaded.scores)
    names = [b for b, part in zip(cover["board"], cover["part_of"], strict=True) if b != main.board.name and (b in files or (b in index.groups and part == ""))]
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


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _keep(old: Path, new: Path, files: list[str]) -> bool:
    """Link (or copy) ``files`` (paths in the site) of the previous build into the new one; False when one is gone."""
    done: list[Path] = []
    try:
        for rel in files:
            try:
                os.link(old / rel, new / rel)
            except OSError:
                shutil.copyfile(old / rel, new / rel)
            done.append(new / rel)
        return True
    except OSError:
        for path in done:
            path.unlink(missing_ok=True)
        return False


class _Writer:
    """Plain writes into the staging folder (the folder is swapped in whole), hashing what it writes for the stamp."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.hash = hashlib.blake2b(digest_size=8)
        self.folders: set[str] = set()

    def write(self, rel: str, text: str) -> None:
        folder = os.path.dirname(rel)
        if folder not in self.folders:  # made once, not once per file
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            self.folders.add(folder)
        data = text.encode()
        self.hash.update(rel.encode() + b"\0" + data)
        with open(os.path.join(self.root, rel), "wb") as handle:
            handle.write(data)


class _Texts:
    """The prompts and targets of each task's data (``sitedata.task_texts``), read once per build, by the key
    of the task and data hash a submission ran; the keys the written items refer to are written at the end.
    ``known``: key -> [task, data sha256] of the texts files of the previous build (its manifest)."""

    def __init__(self, index: TaskIndex, known: dict[str, list[str]]) -> None:
        self.index = index
        self.known = known
        self.hashes: dict[str, str | None] = {}  # task -> its data hash now, hashed once per build
        self.loaded: dict[str, TaskTexts | None] = {}
        self.used: dict[str, tuple[str, str, TaskTexts]] = {}  # key -> task, data sha256, texts
        self.found: dict[tuple[str, str | None], TaskTexts | None] = {}

    def of(self, task: str, data_sha256: str | None) -> TaskTexts | None:
        if (task, data_sha256) in self.found:  # asked once per task of every submission: 240,000 times for 10,000
            return self.found[(task, data_sha256)]
        self.found[(task, data_sha256)] = found = self._of(task, data_sha256)
        return found

    def _of(self, task: str, data_sha256: str | None) -> TaskTexts | None:
        info = self.index.tasks.get(task)
        if data_sha256 is None or info is None:
            return None
        if task not in self.hashes:
            self.hashes[task] = info.data_hash()
        if self.hashes[task] != data_sha256:
            return None  # other data than the task has now: the items keep their own text
        key = texts_key(task, data_sha256)
        if key not in self.loaded:
            self.loaded[key] = task_texts(info)
        return self.loaded[key]

    def use(self, key: str, task: str, data_sha256: str, found: TaskTexts) -> None:
        self.used[key] = (task, data_sha256, found)

    def by_key(self, key: str) -> bool:
        """Whether the texts file ``key`` (of a kept submission's items) can be written in this build."""
        if key in self.used:
            return True
        ref = self.known.get(key)
        if not (isinstance(ref, list) and len(ref) == 2 and all(isinstance(r, str) for r in ref)):
            return False
        found = self.of(ref[0], ref[1])
        if found is None or found[0] != key:
            return False
        self.use(key, ref[0], ref[1], found)
        return True


def _items(
    w: _Writer, folder: Path, out: Path, sid: str, d: dict[str, Any], old: dict[str, list[Any]], site: Site, texts: _Texts
) -> tuple[int, str | None, list[str], list[str]]:
    """Write (or keep) one submission's items from its items file alone (the record's part is ``d``, the cached
    ``sitedata`` entry: nothing of the record is read again); returns their number, the items file's digest,
    the keys of the texts files they refer to and the files written."""
    try:
        path = items_path(folder, d["items_file"], sid)
    except EcombenchError as exc:
        site.warnings.append(f"no items in the report for {sid}: {exc}")
        return 0, None, [], []
    data = _read(path)
    if data is None:
        return 0, None, [], []
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    before = old.get(sid)
    if before is not None and len(before) == 4 and before[0] == digest and isinstance(before[2], list) and isinstance(before[3], list):
        refs, files = [str(k) for k in before[2]], [str(f) for f in before[3]]
        if all(texts.by_key(k) for k in refs) and _keep(out, w.root, files):
            site.items_kept += 1
            w.hash.update(f"items/{sid}:{digest}".encode())
            return int(before[1]), digest, refs, files
    tasks: dict[str, list[Any]] = d["tasks"]
    try:
        items = parse_items(data, path, sid, {t: r[1] for t, r in tasks.items()})
    except EcombenchError as exc:
        site.warnings.append(f"no items in the report for {sid}: {exc}")
        return 0, None, [], []
    shared = {t: found for t, r in tasks.items() if (found := texts.of(t, r[2])) is not None}
    index, chunks = item_payload({t: r[0] for t, r in tasks.items()}, items, shared)
    refs = []
    for t, key in zip(index["tasks"], index["texts"], strict=True):
        if key is not None:  # the items refer to this task's texts file: it is written with the site
            refs.append(key)
            texts.use(key, t, tasks[t][2] or "", shared[t])
    files = [index_file(sid), *(chunk_file(sid, k) for k in range(len(chunks)))]
    w.write(files[0], script(f"items:{sid}", index))
    for k, chunk in enumerate(chunks):
        w.write(files[k + 1], script(f"items:{sid}:{k}", chunk))
    site.items_written += 1
    return len(items), digest, refs, files


def write_report(out: Path, tables: list[BoardTable], folder: Path, index: TaskIndex) -> Site:
    """Write the site for ``tables`` (the first is the board shown first) into ``out``; returns what was written."""
    _check_output(out)
    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    restore_dir(out)
    files: dict[str, str] = {}
    for table in tables:
        files.update(zip(table.frame["submission"], table.frame["file"], strict=True))
    details, warnings = load_details(folder, files)
    site = Site(out / "index.html", [t.board.name for t in tables], len(details), warnings=warnings)
    manifest = _old_manifest(out)
    old, known = manifest.get("items"), manifest.get("texts")
    old = old if isinstance(old, dict) else {}
    staging = staging_dir(f".{out.name}-staging-", out.parent)
    try:
        w = _Writer(staging)
        for made in ("items", "items/chunks"):
            (staging / made).mkdir()
            w.folders.add(made)
        items: dict[str, list[Any]] = {}
        counts: dict[str, int] = {}
        texts = _Texts(index, known if isinstance(known, dict) else {})
        for sid, d in details.items():
            counts[sid], digest, refs, written = _items(w, folder, out, sid, d, old, site, texts)
            if digest is not None and counts[sid]:
                items[sid] = [digest, counts[sid], refs, written]
        for key, (_, _, (_, rows)) in texts.used.items():  # each task's prompts and targets, once for every run of its data
            w.write(f"items/texts/{key}.js", script(f"texts:{key}", rows))
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
        used = {key: [task, sha] for key, (task, sha, _) in texts.used.items()}
        w.write(MANIFEST, json.dumps({"version": SITE_VERSION, "stamp": stamp, "items": items, "texts": used}, separators=(",", ":")))
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
