"""The adapter's model card (``README.md``): base, data mixture, training settings and, once scored, the scores of its
closing evaluation as Hugging Face ``model-index`` metadata. Not part of the adapter's hash: it is rewritten when
the adapter is scored again."""

from __future__ import annotations

from typing import Any

import yaml

from ecombench.contamination import leaking_records
from ecombench.submissions import Lineage, Submission


def _md(value: object) -> str:
    """A table cell: no pipes or line breaks from user-given names."""
    return str(value).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def model_card(name: str, lineage: Lineage, submission: Submission | None = None) -> str:
    meta: dict[str, Any] = {
        "base_model": lineage.base_model,
        "library_name": "peft",
        "pipeline_tag": "text-generation",
        "tags": ["ecombench", "lora", "e-commerce"],
    }
    if submission is not None:
        meta["model-index"] = [
            {
                "name": name,
                "results": [
                    {
                        "task": {"type": "text-generation", "name": task},
                        "dataset": {"type": "ecombench", "name": task, "revision": result.version},
                        "metrics": [{"type": _md(result.metric), "value": round(result.score, 6)}],
                    }
                    for task, result in sorted(submission.tasks.items())
                ]
                + [
                    {
                        "task": {"type": "text-generation", "name": "All-Around"},
                        "dataset": {"type": "ecombench", "name": "All-Around"},
                        "metrics": [{"type": "all_around", "value": round(submission.all_around, 6)}],
                    }
                ],
            }
        ]
    lines = [
        "---",
        yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).strip(),
        "---",
        "",
        f"# {_md(name)}",
        "",
        f"A {lineage.method.upper()} adapter of rank {lineage.rank} on `{_md(lineage.base_model)}`, trained with "
        "ecombench `train` (TRL's SFTTrainer, loss on completions only).",
        "",
        "## Training data",
        "",
        "| capability | records |",
        "|---|---|",
        *[f"| {_md(c)} | {n} |" for c, n in (lineage.capabilities or {t: 0 for t in lineage.tracks}).items()],
        "",
        "| task | records |",
        "|---|---|",
        *[f"| {_md(t)} | {n} |" for t, n in sorted(lineage.mixture.items())],
        "",
        f"Training data hash `{lineage.training_data_sha256[:16]}`. Contamination check against the scored tasks: "
        f"{leaking_records(lineage.contamination)} record(s) leaking evaluation items, {lineage.contamination.get('decontaminated', 0)} "
        f"dropped by --decontaminate.",
        f"Rows skipped as bad: {(lineage.data.get('skipped') or {}).get('rows', 0)}.",
        "",
        "## Training settings",
        "",
        f"rank {lineage.rank}, alpha {lineage.alpha:g}, dropout {lineage.dropout:g}, target modules {_md(lineage.target_modules)}, "
        f"{lineage.steps} steps ({lineage.epochs:.2f} epochs), learning rate {lineage.lr:g}, effective batch {lineage.effective_batch}, "
        f"{lineage.world_size} process(es); train loss {lineage.train_loss if lineage.train_loss is None else f'{lineage.train_loss:.4f}'}, "
        f"held-out loss {lineage.heldout_loss if lineage.heldout_loss is None else f'{lineage.heldout_loss:.4f}'}.",
        "",
    ]
    if submission is not None:
        lines += [
            "## Closing evaluation",
            "",
            f"All-Around **{submission.all_around:.4f}** (submission `{submission.id}`). Held in (trained on): "
            f"{', '.join(map(_md, lineage.held_in)) or 'none'}; held out: {len(lineage.held_out)} task(s).",
            "",
            "| task | metric | score |",
            "|---|---|---|",
            *[f"| {_md(t)} | {_md(r.metric)} | {r.score:.4f} |" for t, r in sorted(submission.tasks.items())],
            "",
        ]
    else:
        lines += ["Not scored yet: `ecombench run --model THIS_FOLDER`.", ""]
    return "\n".join(lines)
