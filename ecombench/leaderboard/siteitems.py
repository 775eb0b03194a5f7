"""The item explorer's data in the report site: each submission's item index, chunks of text, and each task's
prompts and targets, written from the items files (``report.write_report`` calls ``ItemsWriter``).

Layout (``sitedata`` builds the payloads; the pages' ``common.js`` reads them):

- ``items/bundles/<k>.js``: the item indexes of small submissions (an index of up to ``BUNDLE_MAX_CHARS``;
  48 items make 5 KB), ``SUBMISSIONS_PER_BUNDLE`` or so a file, by ``sitedata.shard_of`` of the id over
  ``bundle_count`` files. 10,000 submissions make 250 files, not 10,000 (on a small virtual disk creating
  10,000 files took more than a second of the report's ten). One member a line, so that a rebuild takes an
  unchanged submission's index from the old bundle as text, without reading its items file again;
- ``items/<id>.js``: the index of a bigger submission, alone (its page should not load 40 others);
- ``items/chunks/<id>.<k>.js``: chunk ``k`` of the text of a submission of more than one chunk of items;
- ``items/texts/<key>.js``: a task's prompts and targets, once per task data hash for every run of that data.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecombench.errors import EcombenchError
from ecombench.io import read_cache_pickle, write_cache_pickle
from ecombench.leaderboard.sitedata import (
    PROTO_KEY,
    TaskTexts,
    _json,
    _literal,
    chunk_file,
    index_file,
    item_payload,
    script,
    shard_of,
    task_texts,
    texts_key,
)
from ecombench.paths import cache_dir
from ecombench.submissions import open_items, parse_items
from ecombench.taskindex import TaskIndex

SUBMISSIONS_PER_BUNDLE = 40
PAYLOAD_VERSION = 2  # bump when ``item_payload`` or ``_json`` change: cached payloads of older versions are rebuilt
BUNDLE_MAX_CHARS = 32_768  # a bigger index gets its own file: a page loads one bundle of at most ~1.3 MB


def _payload_cache(folder: Path) -> Path:
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "report-items" / f"{key}.pickle"


def _made_of(digest: str, tasks: dict[str, list[Any]], shared: dict[str, TaskTexts]) -> list[Any]:
    """What a submission's item payload is made of: its items file (``digest``), its tasks' tracks, counts and
    data hashes as its record has them, and which task texts files the items may point to now. Compared with
    ``==`` (1.5 us), not hashed (a repr and hash of it took 200 us a submission, 2 s of 10,000)."""
    return [digest, tasks, {t: found[0] for t, found in shared.items()}]


def _put(key: str, text: str) -> str:
    """``sitedata.script`` of a value already written as JSON ``text``."""
    return f"ECOM.put({_json(key)},{_literal(text)});\n"


def bundle_count(submissions: int) -> int:
    return max(1, math.ceil(submissions / SUBMISSIONS_PER_BUNDLE))


def bundle_file(k: int) -> str:
    return f"items/bundles/{k}.js"


def bundle_script(k: int, members: dict[str, str]) -> str:
    """Bundle ``k``: ``{id: index}`` of its submissions (each index as JSON text), one member a line."""
    body = ",\n".join(f"{_json(sid)}:{text}" for sid, text in members.items())
    return f"ECOM.put({_json(f'bundle:{k}')},{{\n{body}\n}});\n"


def bundle_members(text: str) -> dict[str, str]:
    """The members of a bundle written by ``bundle_script`` (id -> index as JSON text); anything else is left out."""
    out: dict[str, str] = {}
    for line in text.split("\n")[1:-2]:
        sid, sep, value = line.partition('":')
        if sep and sid.startswith('"') and value.startswith("{"):
            out[sid[1:]] = value.removesuffix(",")
    return out


class Writer:
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
        try:  # asked once per task of every submission: 240,000 times for 10,000
            return self.found[(task, data_sha256)]
        except KeyError:
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


@dataclass
class ItemsWriter:
    """Writes (or keeps from the previous build in ``out``, described by its manifest ``old``) the items of the
    submissions of a build of ``submissions`` submissions; ``manifest()`` is what the next build reads."""

    w: Writer
    folder: Path  # the submissions
    out: Path  # the previous build
    index: TaskIndex
    submissions: int
    old: dict[str, Any]
    written: int = 0  # submissions whose items were read and written
    kept: int = 0  # ... kept unchanged from the previous build
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        items, known = self.old.get("items"), self.old.get("texts")
        self.before: dict[str, Any] = items if isinstance(items, dict) else {}
        self.old_bundles = self.old.get("bundles") if isinstance(self.old.get("bundles"), int) else None
        self.texts = _Texts(self.index, known if isinstance(known, dict) else {})
        self.bundles = bundle_count(self.submissions)
        self.members: dict[int, dict[str, str]] = {}
        self.old_members: dict[int, dict[str, str]] = {}
        self.entries: dict[str, list[Any]] = {}
        # sid -> [_made_of, items, index JSON, chunks' JSON, [[task, texts key]...]]: a report rebuilt into a new
        # folder (or after a change elsewhere) reuses the payload of every items file it has made before
        cached = read_cache_pickle(_payload_cache(self.folder))
        ok = isinstance(cached, dict) and cached.get("version") == PAYLOAD_VERSION and isinstance(cached.get("items"), dict)
        self.cached: dict[str, Any] = cached["items"] if ok else {}
        self.payloads: dict[str, list[Any]] = {}
        self.missed = 0
        for made in ("items", "items/chunks", "items/bundles", "items/texts"):
            (self.w.root / made).mkdir(parents=True, exist_ok=True)
            self.w.folders.add(made)

    def add(self, sid: str, d: dict[str, Any]) -> None:
        """Write (or keep) one submission's items, from its items file alone: the record's part is ``d``, its
        cached ``sitedata`` entry (nothing of the record is read again)."""
        self.counts[sid] = 0
        tasks: dict[str, list[Any]] = d["tasks"]
        try:
            path, handle = open_items(self.folder, d["items_file"], sid)
            with handle:  # hashed, then (unless kept or cached) parsed: two streaming reads, never the file in memory
                digest = hashlib.file_digest(handle, lambda: hashlib.blake2b(digest_size=16)).hexdigest()
                if self._keep(sid, digest):
                    if sid in self.cached:  # still in the cache for the next build into another folder
                        self.payloads[sid] = self.cached[sid]
                    return
                shared = {t: found for t, r in tasks.items() if (found := self.texts.of(t, r[2])) is not None}
                key = _made_of(digest, tasks, shared)
                payload = self.cached.get(sid)
                if not (isinstance(payload, list) and len(payload) == 5 and payload[0] == key):
                    handle.seek(0)
                    items = parse_items(handle, path, sid, {t: r[1] for t, r in tasks.items()})
                    index, chunks = item_payload({t: r[0] for t, r in tasks.items()}, items, shared)
                    # the texts files the items refer to: they are written with the site
                    uses = [[t, ref] for t, ref in zip(index["tasks"], index["texts"], strict=True) if ref is not None]
                    payload = [key, len(items), _json(index), [_json(chunk) for chunk in chunks], uses]
                    self.missed += 1
        except OSError as exc:
            self.warnings.append(f"no items in the report for {sid}: {self.folder / d['items_file']}: cannot read ({exc.strerror})")
            return
        except EcombenchError as exc:
            self.warnings.append(f"no items in the report for {sid}: {exc}")
            return
        self.payloads[sid] = payload
        _, count, text, chunk_texts, uses = payload
        for t, ref in uses:
            self.texts.use(ref, t, tasks[t][2] or "", shared[t])
        files = [chunk_file(sid, k) for k in range(len(chunk_texts))]
        if len(text) <= BUNDLE_MAX_CHARS and PROTO_KEY not in text:
            self.members.setdefault(shard_of(sid, self.bundles), {})[sid] = text
            bundled = True
        else:
            files.insert(0, index_file(sid))
            self.w.write(files[0], _put(f"items:{sid}", text))
            bundled = False
        for k, chunk_text in enumerate(chunk_texts):
            self.w.write(chunk_file(sid, k), _put(f"items:{sid}:{k}", chunk_text))
        self.written += 1
        self.counts[sid] = count
        if count:
            self.entries[sid] = [digest, count, [ref for _, ref in uses], files, bundled]

    def _keep(self, sid: str, digest: str) -> bool:
        """Keep a submission's items from the previous build if its items file is the same and all is there."""
        before = self.before.get(sid)
        if not (isinstance(before, list) and len(before) == 5 and before[0] == digest and isinstance(before[1], int)):
            return False
        refs, files, bundled = before[2], before[3], before[4] is True
        if not (isinstance(refs, list) and isinstance(files, list) and all(isinstance(x, str) for x in refs + files)):
            return False
        text = None
        if bundled:
            if self.old_bundles is None:
                return False
            k = shard_of(sid, self.old_bundles)
            if k not in self.old_members:
                old = _read(self.out / bundle_file(k))
                self.old_members[k] = bundle_members(old.decode("utf-8", "replace")) if old is not None else {}
            text = self.old_members[k].get(sid)
            if text is None:
                return False
        if not (all(self.texts.by_key(key) for key in refs) and _keep(self.out, self.w.root, files)):
            return False
        if text is not None:
            self.members.setdefault(shard_of(sid, self.bundles), {})[sid] = text
        self.kept += 1
        self.w.hash.update(f"items/{sid}:{digest}".encode())
        self.counts[sid] = before[1]
        self.entries[sid] = before
        return True

    def finish(self) -> dict[str, Any]:
        """Write the bundles and the texts files, and the payload cache if it changed; returns what the manifest
        keeps for the next build."""
        if self.missed or set(self.cached) - set(self.payloads):
            write_cache_pickle(_payload_cache(self.folder), {"version": PAYLOAD_VERSION, "items": self.payloads})
        for k, members in sorted(self.members.items()):
            self.w.write(bundle_file(k), bundle_script(k, members))
        for key, (_, _, (_, rows)) in self.texts.used.items():  # each task's prompts and targets, once for every run of its data
            self.w.write(f"items/texts/{key}.js", script(f"texts:{key}", rows))
        return {"items": self.entries, "texts": {key: [task, sha] for key, (task, sha, _) in self.texts.used.items()}, "bundles": self.bundles}
