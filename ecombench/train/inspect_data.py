"""``ecombench data inspect``: what a set of training sources holds, before any GPU hour is spent on it.

Rows per file and layout, the rows skipped and why, tasks with their capability, type, record count,
duplicates and token lengths (the model's tokenizer when one is given, else whitespace words), and the
contamination check against the evaluation tasks (``ecombench.contamination``: leaks of an item's content, exact
copies first, every one with its ``file:line``; templates never count).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from ecombench import contamination
from ecombench.taskindex import build_index, default_roots
from ecombench.train.data import apply_capabilities, read_sources
from ecombench.train.sources import TrainRecord, model_chat_template, plain_chat

QUANTILES = (0.5, 0.9, 0.99)
FINDINGS_SHOWN = 10  # contamination findings printed per kind (exact, leak, shared); JSON has them all


def _quantiles(values: Sequence[int]) -> dict[str, int]:
    if not values:
        return {}
    ordered = sorted(values)
    out = {f"p{round(q * 100)}": ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in QUANTILES}
    out["max"] = ordered[-1]
    return out


def _lengths(records: list[TrainRecord], model: str | None) -> tuple[list[int], str]:
    """Tokens of prompt + completion per record, by the model's tokenizer (in batches), or whitespace words."""
    if model is None:
        return [len((r.prompt + " " + r.completion).split()) for r in records], "words"
    from transformers import AutoTokenizer

    from ecombench.tiny import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(model).base_path)
    lengths: list[int] = []
    for start in range(0, len(records), 1024):
        batch = records[start : start + 1024]
        prompts = tokenizer([r.prompt for r in batch], add_special_tokens=False)["input_ids"]
        answers = tokenizer([r.completion for r in batch], add_special_tokens=False)["input_ids"]
        lengths.extend(len(p) + len(a) + 1 for p, a in zip(prompts, answers, strict=True))  # + EOS, as training adds it
    return lengths, "tokens"


def inspect_sources(
    sources: list[str],
    *,
    model: str | None = None,
    eval_tasks: list[str] | None = None,
    capabilities: dict[str, list[str]] | None = None,
    strict: bool = False,
    chat_template: Callable[[list[dict[str, str]]], str] | None = None,
) -> dict[str, Any]:
    """The description ``data inspect`` prints (as a table or JSON). Chat rows go through ``model``'s chat
    template, or without a model as plain ``role: content`` lines (their words counted)."""
    if chat_template is None:
        from ecombench.tiny import resolve_model

        chat_template = model_chat_template(resolve_model(model).base_path) if model is not None else plain_chat
    loaded = read_sources(sources, chat_template, strict=strict)
    records, left_out = apply_capabilities(loaded.records, capabilities or {})
    lengths, unit = _lengths(records, model)
    seen: Counter = Counter((r.prompt, r.completion) for r in records)
    answers_by_prompt: dict[str, set[str]] = {}
    for r in records:
        answers_by_prompt.setdefault(r.prompt, set()).add(r.completion)
    tasks: dict[str, dict[str, Any]] = {}
    by_task_lengths: dict[str, list[int]] = {}
    for r, n in zip(records, lengths, strict=True):
        info = tasks.setdefault(r.task, {"track": r.track, "types": Counter(), "records": 0, "duplicates": 0, "conflicting_answers": 0})
        info["records"] += 1
        info["types"][r.task_type or "-"] += 1
        by_task_lengths.setdefault(r.task, []).append(n)
    counted: set[tuple[str, str]] = set()
    for r in records:
        key = (r.prompt, r.completion)
        if seen[key] > 1 and key not in counted:
            counted.add(key)
            tasks[r.task]["duplicates"] += seen[key] - 1
        if len(answers_by_prompt.get(r.prompt, ())) > 1:
            tasks[r.task]["conflicting_answers"] += 1
            answers_by_prompt.pop(r.prompt)
    eval_infos = build_index(default_roots()).select(eval_tasks or ["ecombench_core"])
    report = contamination.check(records, contamination.eval_items(eval_infos), [t.name for t in eval_infos])
    for task in tasks.values():
        task["types"] = dict(task["types"])
    for name, values in by_task_lengths.items():
        tasks[name]["length"] = _quantiles(values)
    return {
        "files": [f.as_dict() for f in loaded.files],
        "records": len(records),
        "skipped": loaded.skipped.as_dict(),
        "flagged": loaded.flagged.as_dict(places=True),
        "left_out_tasks": left_out,
        "tasks": dict(sorted(tasks.items())),
        "tracks": dict(sorted(Counter(r.track for r in records).items())),
        "types": dict(sorted(Counter(r.task_type or "-" for r in records).items())),
        "duplicates": sum(t["duplicates"] for t in tasks.values()),
        "length_unit": unit,
        "length": _quantiles(lengths),
        "contamination": report.as_dict(),
        "contamination_line": report.line(),
    }


def render(summary: dict[str, Any], console: Any) -> None:
    """The summary as rich tables on ``console`` (every user-given text made inert)."""
    from ecombench.terminal import Col, fit, text

    for f in summary["files"]:
        formats = ", ".join(f"{n} {fmt}" for fmt, n in f["formats"].items()) or "no readable rows"
        counts = (f", {f['skipped']} skipped" if f["skipped"] else "") + (f", {f['flagged']} flagged" if f.get("flagged") else "")
        shown = f"{f['path']}: empty (no rows), skipped" if not f["records"] and not f["skipped"] else f"{f['path']}: {f['container']}, {formats}{counts}"
        console.print(text(shown), markup=False, highlight=False)
    skipped = summary["skipped"]
    if skipped["rows"]:
        console.print(f"skipped {skipped['rows']} bad row(s):", markup=False)
        for kind, n in skipped["by_kind"].items():
            console.print(text(f"  {n} {kind}: " + "; ".join(skipped["examples"][kind][:3])), markup=False, highlight=False)
    if skipped.get("empty_files"):
        console.print(
            text(f"skipped {len(skipped['empty_files'])} empty file(s): " + ", ".join(f.split(": ")[0] for f in skipped["empty_files"])), markup=False
        )
    flagged = summary["flagged"]
    for kind, n in flagged["by_kind"].items():
        console.print(text(f"flagged {n} row(s), trained on ({kind}): " + "; ".join(flagged["examples"][kind][:3])), markup=False, highlight=False)
    if summary["left_out_tasks"]:
        console.print(text(f"left out (no capability names them): {', '.join(summary['left_out_tasks'])}"), markup=False, highlight=False)
    unit = summary["length_unit"]
    headers = ("task", "capability", "type", "records", "dupes", "conflicts", f"p50 {unit}", "p90", "max")
    spec = [Col(h, right=i > 2, keep=i in (0, 3), title=i == 0, wrap=12 if h == "type" else 0, drop=9 - i) for i, h in enumerate(headers)]
    cells = []
    for name, info in summary["tasks"].items():
        length = info.get("length", {})
        cells.append(
            [
                name,
                info["track"],
                ", ".join(info["types"]),
                str(info["records"]),
                str(info["duplicates"]),
                str(info["conflicting_answers"]),
                str(length.get("p50", "")),
                str(length.get("p90", "")),
                str(length.get("max", "")),
            ]
        )
    title = f"{summary['records']} records, {len(summary['tasks'])} tasks ({unit}: prompt + answer)"
    console.print(fit(spec, cells, console.width, title=title, formats="--format json"))
    console.print(text(summary["contamination_line"]), markup=False, highlight=False)
    findings = summary["contamination"]["findings"]
    for kind, label in (("exact", "exact copy of"), ("leak", "leaks"), ("shared", "shares catalog text with")):
        chosen = [f for f in findings if f["kind"] == kind]
        for f in chosen[:FINDINGS_SHOWN]:
            console.print(
                text(
                    f"  {f['record']}: {label} {f['task']} item {f['item']} (content {f['content_coverage']:.0%}, item {f['item_coverage']:.0%}): {f['text']}"
                ),
                markup=False,
                highlight=False,
            )
        if len(chosen) > FINDINGS_SHOWN:
            console.print(f"  ... and {len(chosen) - FINDINGS_SHOWN} more ({kind}); --format json lists every one", markup=False)
    if findings:
        console.print("  ([[...]] marks an item's own content the record holds, {{...}} its template)", markup=False)
