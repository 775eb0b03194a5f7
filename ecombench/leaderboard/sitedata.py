"""What the report site's pages read: JSON payloads written as small scripts, ``ECOM.put(key, value);``.

Pages opened from ``file://`` may not ``fetch`` files, so data travels as scripts that the pages add
(``<script src>`` works offline and over HTTP alike). A script only hands its JSON value to the page,
which puts every string on screen with ``textContent``; ``<``, ``>``, ``&`` and the two Unicode line
separators are escaped too, so no value can end a script or be read as markup.

- ``board_payload``: one board, column by column (rank, names, scores, flags, per-task scores);
- ``detail``: one submission's settings and tasks, kept as JSON text by ``load_details`` in a cache
  keyed by each record file's bytes (validating 10,000 records takes longer than the whole report may);
- ``item_payload``: a submission's items as a compact index (task, score, pairing key and a hash of
  each answer, for filters and paired tests) and chunks of full text (prompt, answer, target) that
  the explorer loads one page at a time; where they lie in the site is ``index_file`` and ``chunk_file``;
- ``lineage_payload``: trained adapters with their base's submission, for the sweep and lineage charts.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecombench.contamination import contamination_text
from ecombench.efficiency import efficiency_line
from ecombench.errors import EcombenchError
from ecombench.io import read_cache_pickle, write_cache_pickle
from ecombench.leaderboard.render import columns
from ecombench.leaderboard.stats import shown_decimals_of
from ecombench.leaderboard.store import interned, read_entry
from ecombench.leaderboard.table import REFERENCE_KIND, BoardTable
from ecombench.paths import cache_dir
from ecombench.submissions import GenerationSettings, ItemRecord, Submission, parse_record
from ecombench.taskindex import TaskIndex, TaskInfo

ITEMS_PER_CHUNK = 500  # a page of the explorer needs one or two chunks; 20,000 items make 40
SUBMISSIONS_PER_SHARD = 40
MAX_SHARDS = 256
DETAIL_VERSION = 5  # bump when ``detail`` changes: cached details of older versions are rebuilt
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json(value: Any) -> str:
    """Compact JSON that can stand in a script: the characters that could end one are escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _ESCAPES.items():  # these characters only occur inside JSON strings
        text = text.replace(raw, escaped)
    return text


PROTO_KEY = '"__proto__":'
PARSED = "JSON.parse("


def _literal(text: str) -> str:
    """JSON text as a script expression. In an object literal a ``"__proto__"`` key (escaped or not) sets the object's
    prototype, so a payload with one (a task or track of that name) goes as a string that ``JSON.parse`` reads,
    which makes it an ordinary key."""
    return f"{PARSED}{_json(text)})" if PROTO_KEY in text else text


def script(key: str, value: Any) -> str:
    """``value`` as a script that hands it to the page under ``key``."""
    return f"ECOM.put({_json(key)},{_literal(_json(value))});\n"


def script_value(text: str) -> str:
    """The JSON value a data script hands to the page (what ``report --serve`` sends as ``X.json``)."""
    prefix = "ECOM.put("
    if not text.startswith(prefix) or not text.endswith(");\n"):
        raise EcombenchError("not a report data script")
    _, end = json.JSONDecoder().raw_decode(text, len(prefix))
    value = text[end + 1 : -3]
    if value.startswith(PARSED):
        inner = json.loads(value[len(PARSED) : -1])
        return inner if isinstance(inner, str) else value
    return value


def shard_script(k: int, details: dict[str, dict[str, Any]], items: dict[str, int]) -> str:
    """The details file ``k``: each submission's page detail (JSON text kept from the cache) with its item count."""
    body = ",".join(f'{_json(sid)}:{d["json"][:-1]},"items":{items.get(sid, 0)}}}' for sid, d in details.items())
    return f"ECOM.put({_json(f'subs:{k}')},{_literal('{' + body + '}')});\n"


def shard_count(submissions: int) -> int:
    return max(1, min(MAX_SHARDS, math.ceil(submissions / SUBMISSIONS_PER_SHARD)))


def shard_of(sid: str, shards: int) -> int:
    """Which details file holds a submission: 32-bit FNV-1a of its id (ASCII), as ``ECOM.shardOf`` computes it."""
    h = 0x811C9DC5
    for byte in sid.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h % shards


def _column(series: pd.Series, board_column: str | None = None) -> list[Any]:
    """A column's values for a page: floats to 6 decimals, or, for a board column, to the decimals the
    terminal board shows (4; 2 for 0-100 scores; ci95 always 4), rounded once so that the page's
    ``toFixed`` prints what ``ecombench leaderboard`` prints (rounding to 6 and then to 4 turned
    0.10725000001 into 0.1072 where the CLI shows 0.1073)."""
    if pd.api.types.is_float_dtype(series.dtype):
        if board_column is None:
            series = series.round(6)
        else:  # Python's round, which rounds as the terminal's format does (a plain loop: 10,000 rows x 30 columns)
            values = series.to_numpy(dtype=float, na_value=np.nan)
            # shown_decimals of every value at once (a call a value was a third of the loop's time)
            places = np.full(len(values), 4) if board_column == "ci95" else shown_decimals_of(values)
            finite = np.isfinite(values)
            return [round(v, d) if f else None if v != v else v for v, d, f in zip(values.tolist(), places.tolist(), finite.tolist(), strict=True)]
    return series.astype(object).where(series.notna(), None).tolist()


def board_payload(table: BoardTable, index: TaskIndex) -> dict[str, Any]:
    """A board as the pages read it: columns in board order, one list of values per column."""
    frame = table.frame
    cols = columns(table)
    baselines = {t: (index.tasks[t].config.get("metadata") or {}).get("random_baseline") if t in index.tasks else None for t in table.tasks}
    return {
        "name": table.board.name,
        "description": table.board.description,
        "notes": list(table.notes),
        "normalize": table.board.normalize,
        "ranking": table.board.ranking,
        "columns": cols,
        "data": {**{c: _column(frame[c], c) for c in cols}, "reference": (frame["kind"] == REFERENCE_KIND).tolist()},
        "tasks": table.tasks,
        "tracks": {t: index.tasks[t].track if t in index.tasks else "" for t in table.tasks},
        "baselines": {t: float(b) if isinstance(b, (int, float)) else None for t, b in baselines.items()},
    }


def layout(gen: GenerationSettings) -> str:
    """How the answers were generated: ``hf, 2 processes`` or ``vllm, tensor parallel 4 x 2 replicas``."""
    if gen.backend == "vllm":
        return f"vllm, tensor parallel {gen.tensor_parallel} x {gen.data_parallel} replica{'s' if gen.data_parallel > 1 else ''}"
    return f"{gen.backend}, {gen.processes} process{'es' if gen.processes > 1 else ''}, batch size {gen.batch_size}"


def _lineage_rows(sub: Submission) -> list[tuple[str, str]]:
    lin = sub.lineage
    if lin is None:
        return []
    mixture = ", ".join(f"{t} ({n})" for t, n in lin.mixture.items())
    return [
        ("training", f"{lin.method} rank {lin.rank}, alpha {lin.alpha:g}, {lin.steps} steps, lr {lin.lr:g}, effective batch {lin.effective_batch}"),
        ("training mixture", mixture),
        ("training data sha256", lin.training_data_sha256),
        ("held out (never trained on)", f"{len(lin.held_out)} tasks"),
        ("contamination", contamination_text(lin.contamination)),
    ]


def detail(sub: Submission) -> dict[str, Any]:
    """One submission for its page: settings as (label, text) rows and per-task rows."""
    held_in = set(sub.lineage.held_in) if sub.lineage else set()
    settings = [
        ("id", sub.id),
        ("created", sub.created.isoformat()),
        ("model", sub.model.spec),
        ("kind", sub.model.kind),
        ("base model", sub.model.base_model),
        ("weights sha256", sub.model.weights_sha256 or "-"),
        ("adapter sha256", sub.model.adapter_sha256 or "-"),
        ("dtype", sub.model.dtype),
        ("protocol", sub.generation.protocol),
        ("system prompt", sub.generation.system_prompt or "-"),
        ("limit", sub.generation.limit or "-"),
        ("backend", layout(sub.generation)),
        ("device", sub.hardware.device),
        ("duration", f"{sub.duration_s:.1f} s"),
        ("efficiency", efficiency_line(sub.efficiency)),
        ("ecombench / lm-eval", f"{sub.ecombench_version} / {sub.lm_eval_version}"),
        ("skipped tasks", ", ".join(sub.skipped_tasks) or "-"),
        *_lineage_rows(sub),
    ]
    return {
        "id": sub.id,
        "name": sub.name,
        "kind": sub.model.kind,
        "all_around": sub.all_around,
        "overall_task_mean": sub.overall_task_mean,
        "settings": [[k, str(v)] for k, v in settings],
        "tasks": [
            [t, r.track, r.metric if isinstance(r.metric, str) else " + ".join(r.metric), r.n, r.score, r.stderr, r.version, t in held_in]
            for t, r in sub.tasks.items()
        ],
    }


def _entry(sub: Submission) -> dict[str, Any]:
    """What the site keeps of a record: its page detail as JSON text, and what the site itself reads."""
    lin = sub.lineage
    return {
        "json": _json(detail(sub)),
        "name": sub.name,
        "kind": sub.model.kind,
        "items_file": sub.items_file,
        # what the item explorer's data needs of the record (track; n, to tell a cut items file; data hash)
        "tasks": {interned(t): [interned(r.track), r.n, interned(r.data_sha256)] for t, r in sub.tasks.items()},  # names cached once
        "weights": sub.model.weights_sha256,
        "adapter": sub.model.adapter_sha256,
        "settings": run_settings(sub.generation),
        "lineage": None
        if lin is None
        else {
            "base_model": lin.base_model,
            "base_weights": lin.base_weights_sha256,
            "rank": lin.rank,
            "method": lin.method,
            "capabilities": len(lin.tracks),
            "tasks": len(lin.mixture),
        },
    }


def run_settings(gen: GenerationSettings) -> str:
    """What makes two runs' scores comparable beyond the weights: protocol, prompting (system prompt, chat
    template, few-shot) and ``--limit``. An adapter is set against its base's run with the same settings."""
    keys = ("protocol", "system_prompt", "apply_chat_template", "num_fewshot", "fewshot_as_multiturn", "limit")
    return json.dumps([getattr(gen, k) for k in keys])


def _cache_path(folder: Path) -> Path:
    key = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return cache_dir() / "report-details" / f"{key}.pickle"


def load_details(folder: Path, files: dict[str, str], digests: dict[str, str | None] | None = None) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``_entry`` of each submission (id -> record file name in ``folder``), and warnings for records that no
    longer load. Entries are cached by a hash of each record's bytes, so only new or changed records are read;
    ``digests`` (file name -> hash, ``Loaded.digests``) are the hashes ``load_folder`` has just taken: a cached
    entry of the same hash is the record the board was built from (10,000 files are not read twice)."""
    digests = digests or {}
    path = _cache_path(folder)
    cached = read_cache_pickle(path)
    old = cached["files"] if isinstance(cached, dict) and cached.get("version") == DETAIL_VERSION and isinstance(cached.get("files"), dict) else {}
    entries: dict[str, Any] = {}
    details: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    changed = len(old) != len(files)
    for sid, name in files.items():
        hit = old.get(name)
        digest = digests.get(name)
        data: bytes | None = None
        why: str | None = None
        if digest is None or hit is None or hit[0] != digest:  # not the record the board was just built from: read it
            data, digest, why = read_entry(folder / name)
        if digest is not None and hit is not None and hit[0] == digest and hit[1] == sid:
            entries[name] = hit
            details[sid] = hit[2]
            continue
        changed = True
        try:
            if data is None:
                raise EcombenchError(str(why))
            sub = parse_record(data, folder / name)
        except EcombenchError as exc:
            warnings.append(f"skipped {exc}")
            continue
        if sub.id != sid:
            warnings.append(f"{folder / name}: changed while the report was written; run it again")
            continue
        details[sid] = _entry(sub)
        if digest is not None:
            entries[name] = (digest, sid, details[sid])
    if changed:
        write_cache_pickle(path, {"version": DETAIL_VERSION, "files": entries})
    return details, warnings


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if type(value) is int:  # most parsed answers; json.dumps writes an int as str does
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _answer_key(prediction: str) -> str:
    return hashlib.blake2b(prediction.encode(), digest_size=6).hexdigest()


TaskTexts = tuple[str, list[list[str]]]  # a texts file's key, and [prompt, target] per row (doc_id) of the task's data


def task_texts(task: TaskInfo) -> TaskTexts | None:
    """The prompts and targets of a task's data, stored once per task data hash for every submission that
    ran that data (``items/texts/<key>.js``); None for a task without a data file."""
    from ecombench.hooks import doc_to_target
    from ecombench.records import load_records

    sha = task.data_hash()
    if task.data_file is None or sha is None:
        return None
    rows = [[r.input_field, doc_to_target({"output_json": json.dumps(r.output_field, ensure_ascii=False)})] for r in load_records(task.data_file)]
    return texts_key(task.name, sha), rows


def index_file(sid: str) -> str:
    """Where a submission's item index lies in the site: one file per submission, no folder of its own (10,000
    folders cost the report more time than their files did)."""
    return f"items/{sid}.js"


def chunk_file(sid: str, k: int) -> str:
    """Where chunk ``k`` of a submission's items lies: apart from the indexes, so that no id followed by ``.k``
    names another id's index (ids may hold dots; ``k``, the last part, never does)."""
    return f"items/chunks/{sid}.{k}.js"


def texts_key(task: str, data_sha256: str) -> str:
    return hashlib.blake2b(f"{task}\0{data_sha256}".encode(), digest_size=8).hexdigest()


def item_payload(tracks: dict[str, str], items: list[ItemRecord], texts: dict[str, TaskTexts] | None = None) -> tuple[dict[str, Any], list[list[list[Any]]]]:
    """A submission's items as the explorer and the side-by-side page read them: the index, and the chunks of text.

    ``tracks``: task -> its track, as the submission records them. The index holds, per item in file
    order, its task (an index into ``tasks``), score, pairing key
    (``item_hash``, as ``compare`` pairs items) and a hash of the raw answer (for "same answers").
    Chunk ``k`` holds items ``k * chunk`` onwards as ``[doc_id, prompt, target, answer, parsed]`` (a submission
    of one chunk's items or fewer keeps them in the index, as ``rows``, and has no chunk files). An item
    whose prompt and target are its task data's row ``doc_id`` as it stands (``texts``: task -> the texts
    of the data this submission ran) keeps ``null`` for both: the page reads them from the task's texts
    file, named in ``index["texts"]`` (per task, or null), so 10,000 runs of a task store its text once.
    """
    texts = texts or {}
    tasks = list(dict.fromkeys(i.task for i in items))
    where = {t: n for n, t in enumerate(tasks)}
    used: dict[str, str] = {}

    def row(i: ItemRecord) -> list[Any]:
        shared = texts.get(i.task)
        target = _text(i.target)
        if shared is not None and 0 <= i.doc_id < len(shared[1]) and shared[1][i.doc_id] == [i.prompt, target]:
            used[i.task] = shared[0]
            return [i.doc_id, None, None, i.prediction, _text(i.parsed)]
        return [i.doc_id, i.prompt, target, i.prediction, _text(i.parsed)]

    rows = [row(i) for i in items]
    index = {
        "n": len(items),
        "chunk": ITEMS_PER_CHUNK,
        "tasks": tasks,
        "tracks": [tracks.get(t, "") for t in tasks],
        "task": [where[i.task] for i in items],
        "score": [i.score for i in items],
        "key": [i.item_hash for i in items],
        "answer": [_answer_key(i.prediction) for i in items],
        "texts": [used.get(t) for t in tasks],
    }
    if len(rows) <= ITEMS_PER_CHUNK:  # one chunk: kept in the index, one file per submission instead of two
        index["rows"] = rows
        return index, []
    chunks = [rows[start : start + ITEMS_PER_CHUNK] for start in range(0, len(items), ITEMS_PER_CHUNK)]
    return index, chunks


def lineage_payload(details: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every trained adapter with its base: the submission of the base weights without an adapter, run with
    the adapter's own settings (``run_settings``: a ``--system-prompt kddcup`` run of the base is no
    baseline for an adapter scored without one), the newest id when there are several and a user's run
    before a reference row; None when the base was never scored so."""
    bases: dict[tuple[str, str], str] = {}
    for sid in sorted(details, key=lambda s: (details[s]["kind"] != REFERENCE_KIND, s)):  # a user's run of the base before a reference row
        d = details[sid]
        if d["weights"] and d["adapter"] is None and d["lineage"] is None:
            bases[(d["weights"], d["settings"])] = sid
    return [
        {"id": sid, "base": bases.get((d["lineage"]["base_weights"], d["settings"])), **d["lineage"]}
        for sid, d in sorted(details.items())
        if d["lineage"] is not None
    ]
