"""``ecombench train``: check the data, train the adapter, score it, and keep the lineage.

The output folder holds ``train_config.json`` and ``mixture.json`` (written before training),
``checkpoints/`` while training, ``log.jsonl``, and, once training has finished, the adapter with
``training.json`` (its lineage). ``adapter_config.json`` is written last, so it marks a whole adapter.
Re-running the same command on the same folder resumes from the last checkpoint; another config
there is an error.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, cast

from ecombench import contamination, submissions
from ecombench.errors import EcombenchError
from ecombench.io import atomic_write_text
from ecombench.models import ResolvedModel, check_loadable, folder_hash
from ecombench.taskindex import TaskInfo, build_index, default_roots
from ecombench.tiny import resolve_model
from ecombench.train.config import DataConfig, TrainConfig
from ecombench.train.data import Mixture, apply_capabilities, as_evaluated, build_mixture, candidates, read_sources, source_path
from ecombench.train.sources import model_chat_template

CONFIG_FILE = "train_config.json"
MIXTURE_FILE = "mixture.json"
LINEAGE_FILE = "training.json"


@dataclass(frozen=True)
class TrainOutcome:
    adapter: Path
    lineage: submissions.Lineage | None
    submission: Path | None
    report: Any = None


def default_output(config: TrainConfig) -> Path:
    name = submissions.slug(config.name or f"{config.model.replace(':', '-').rstrip('/').split('/')[-1]}-r{config.lora.rank}")
    return Path("adapters") / f"{name}-{config.fingerprint()[:8]}"


def _check_output(out: Path, config: TrainConfig, resume: bool) -> bool:
    """Whether ``out`` already holds the finished adapter of this config; errors for any other content."""
    if not out.exists():
        if resume:
            raise EcombenchError(f"--resume: {out} does not exist (nothing to resume)")
        return False
    if not out.is_dir():
        raise EcombenchError(f"--output {out} is a file, not a folder")
    saved = out / CONFIG_FILE
    if not saved.is_file():
        if any(out.iterdir()):
            raise EcombenchError(f"--output {out} is not empty and is not an ecombench training folder; choose another folder")
        return False
    try:
        previous = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EcombenchError(f"{saved}: unreadable ({exc})") from exc
    if previous.get("fingerprint") != config.fingerprint():
        old = _flat(TrainConfig.model_validate(previous.get("config", {})).model_dump(mode="json", include={"model", "data", "lora", "train"}))
        new = _flat(config.model_dump(mode="json", include={"model", "data", "lora", "train"}))
        changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        raise EcombenchError(f"--output {out} holds a run of another config (differs in {', '.join(changed) or 'settings'}); choose another --output")
    finished = (out / "adapter_config.json").is_file()
    if finished and not resume:
        raise EcombenchError(f"--output {out} already holds this trained adapter; pass --resume to score it again, or choose another --output")
    return finished


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _lora_targets(target_modules: str | list[str]) -> str | list[str]:
    return target_modules if isinstance(target_modules, str) else sorted(target_modules)


def _eval_tasks(config: TrainConfig) -> list[TaskInfo]:
    index = build_index(default_roots())
    return index.select(config.eval.tasks)


def eval_renderer(model_path: Path) -> Callable[[str], str] | None:
    """How ``ecombench run`` renders a 0-shot prompt for this model, or None when it sends prompts as they are.

    Run's default: the tokenizer's chat template when it has one, with the prompt as the user turn; the
    score after training passes no system prompt, so training prompts get none either.
    """
    from transformers import AutoTokenizer

    from ecombench.run.lm_eval_bridge import render_prompt

    tok = AutoTokenizer.from_pretrained(model_path)
    if not getattr(tok, "chat_template", None):
        return None

    def template(messages: list[dict[str, str]]) -> str:
        return cast(str, tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))  # tokenize=False: the text

    def render(prompt: str) -> str:
        return render_prompt(prompt, None, template)

    return render


def read_lineage(adapter_dir: Path) -> submissions.Lineage:
    path = adapter_dir / LINEAGE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise EcombenchError(f"{path}: unreadable training lineage ({exc})") from exc
    data.pop("fit", None)
    return submissions.Lineage.model_validate(data)


LINEAGE_FINDINGS = 20  # findings kept in a submission's lineage (the adapter's mixture.json keeps every one)


def lineage_contamination(report: contamination.Report, dropped: int, findings: int | None = None) -> dict[str, Any]:
    """What the lineage records of the check: its counts and findings, how many leaking records
    ``--decontaminate`` dropped, and ``trained_overlap``, the items of each task that the records trained on leak
    (what the leaderboard flags)."""
    return {**report.as_dict(findings), "decontaminated": dropped, "trained_overlap": {} if dropped else report.tasks}


def _contamination_error(report: contamination.Report, config: TrainConfig) -> EcombenchError:
    worst = ", ".join(f"{t} ({n})" for t, n in sorted(report.tasks.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
    first = report.findings[0]  # exact copies come first
    item = report.items[first.item]
    return EcombenchError(
        f"contamination: {len(report.leaking)} of {report.records} training records leak {report.items_overlapped} evaluation "
        f"item(s) ({report.exact} exact copies; most in {worst}; e.g. {report.where[first.record]} holds item {item.index} of {item.task}); "
        f"the limit is {config.contamination.max_items} item(s) and {config.contamination.threshold:.1%} of records. Pass --decontaminate "
        f"to drop them and train on the rest, or --allow-contamination (`ecombench data inspect` lists them)"
    )


def _write_card(out: Path, config: TrainConfig, lineage: submissions.Lineage, scored: submissions.Submission | None) -> None:
    """The adapter's README.md model card (peft writes an empty template): base, mixture, settings, scores."""
    from ecombench.train.card import model_card

    atomic_write_text(out / "README.md", model_card(config.name or out.name, lineage, scored))


def _without_emptied(data: DataConfig, pool: list, say: Callable[[str], None]) -> DataConfig:
    """``data`` without the capabilities and tasks that decontamination left with no record (each said)."""
    update: dict[str, Any] = {}
    for key, present in (("tracks", {r.track for r in pool}), ("tasks", {r.task for r in pool})):
        chosen = getattr(data, key)
        gone = [name for name in chosen if name not in present]
        if gone:
            say(f"--decontaminate: no record left in {key.removesuffix('s')}(s) {', '.join(gone)}; left out")
            update[key] = {k: v for k, v in chosen.items() if k in present} if isinstance(chosen, dict) else [k for k in chosen if k in present]
    return data.model_copy(update=update) if update else data


def prepare(config: TrainConfig, base: ResolvedModel, say: Callable[[str], None] | None = None) -> tuple[Mixture, contamination.Report, list[TaskInfo]]:
    """Load the sources, map tasks to capabilities, check the candidates against the evaluation items (dropping
    the leaking records with ``--decontaminate``), and build the mixture. ``say`` gets one line
    per source file, the skipped rows and the contamination summary."""
    say = say or (lambda line: None)
    if base.kind == "adapter":
        raise EcombenchError(f"--model {config.model} is an adapter; train on its base model, or merge it first (ecombench merge)")
    loaded = read_sources(config.data.sources, model_chat_template(base.base_path), strict=config.data.strict)
    for file in loaded.files:
        say(file.line())
    if loaded.skipped.total or loaded.skipped.files:
        say(loaded.skipped.line())
    if loaded.flagged.total:
        say(loaded.flagged.line())
    records, left_out = apply_capabilities(loaded.records, config.data.capabilities)
    if left_out:
        say(f"left out {len(left_out)} task(s) that no capability names: {', '.join(left_out[:8])}{' ...' if len(left_out) > 8 else ''}")
    data_config = config.data
    pool = candidates(records, data_config)
    eval_tasks = _eval_tasks(config)
    report = contamination.check(pool, contamination.eval_items(eval_tasks), [t.name for t in eval_tasks])
    say(report.line())
    dropped = 0
    if report.leaking and config.contamination.decontaminate:
        pool = [r for i, r in enumerate(pool) if i not in report.leaking]
        dropped = len(report.leaking)
        say(f"--decontaminate: dropped the {dropped} leaking record(s); training on the other {len(pool)}")
        data_config = _without_emptied(data_config, pool, say)
    elif (report.items_overlapped > config.contamination.max_items or report.fraction > config.contamination.threshold) and not config.contamination.allow:
        raise _contamination_error(report, config)
    mixture = build_mixture(pool, loaded.described(), data_config, config.train.seed)
    mixture = replace(
        mixture,
        data={
            "skipped": loaded.skipped.as_dict(),
            "flagged": loaded.flagged.as_dict(),
            "left_out_tasks": left_out,
            "decontaminated": dropped,
            "formats": {f.path: dict(f.formats) for f in loaded.files},
        },
    )
    # Held-in scores mean what they say only if training prompts read as evaluation's (checked on raw prompts above).
    render = eval_renderer(base.base_path)
    if render is not None:
        mixture = replace(mixture, train=as_evaluated(mixture.train, render), heldout=as_evaluated(mixture.heldout, render))
    return mixture, report, eval_tasks


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    debug: bool = False,
    show_progress: bool = True,
    say: Callable[[str], None] | None = None,
    score: bool = True,
) -> TrainOutcome:
    """Train an adapter as ``config`` says and, unless ``eval.enabled`` is off, score it as a submission.

    ``score=False`` leaves the closing evaluation to the caller (``ecombench sweep`` scores the adapters of its
    cells together, ``score_adapters``): the outcome then has the lineage and no submission."""
    from ecombench import threads
    from ecombench.distributed import state as process_state

    threads.apply()
    state = process_state()
    out = (config.output or default_output(config)).expanduser()
    finished = _check_output(out, config, resume)
    for source in config.data.sources:  # a missing file is reported before any model is built or loaded
        source_path(source)
    base = resolve_model(config.model)
    check_loadable(base, config.trust_remote_code)
    mixture, report, eval_tasks = prepare(config, base, say if state.is_main_process else None)
    if state.is_main_process:
        from ecombench.train.trainer import CHECKPOINTS, clear_staging

        out.mkdir(parents=True, exist_ok=True)
        clear_staging(out)  # the staging folder of an adapter save that was killed
        if finished:  # whole adapter; checkpoints left by a kill just after it was written
            shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
        atomic_write_text(out / CONFIG_FILE, json.dumps({"fingerprint": config.fingerprint(), "config": config.model_dump(mode="json")}, indent=2) + "\n")
        atomic_write_text(
            out / MIXTURE_FILE,
            json.dumps({**mixture.summary(), "contamination": lineage_contamination(report, mixture.data.get("decontaminated", 0))}, indent=2) + "\n",
        )
    state.wait_for_everyone()

    if finished:
        lineage: submissions.Lineage | None = read_lineage(out)
    else:
        from ecombench.run.lm_eval_bridge import quiet_logs
        from ecombench.train.trainer import fit, last_checkpoint, save_adapter

        quiet_logs(debug)  # run() below quiets lm-eval itself, if the adapter is scored
        if say is not None and state.is_main_process and (checkpoint := last_checkpoint(out)) is not None:
            say(f"resuming from {checkpoint.relative_to(out)} (the last checkpoint in {out})")
        model, tokenizer, result = fit(
            base.base_path,
            mixture.train,
            mixture.heldout,
            config.train,
            config.lora,
            out,
            resume=True,
            show_progress=show_progress,
            trust_remote_code=config.trust_remote_code,
        )
        if state.is_main_process:
            scored = {t.name for t in eval_tasks}
            lineage_fields: dict[str, Any] = dict(
                base_model=config.model,
                base_weights_sha256=folder_hash(base.base_path),
                method="qlora" if config.train.qlora else "lora",
                rank=config.lora.rank,
                alpha=config.lora.alpha,
                dropout=config.lora.dropout,
                target_modules=_lora_targets(config.lora.target_modules),
                steps=result.steps,
                epochs=result.epochs,
                lr=config.train.lr,
                effective_batch=config.train.batch_size * config.train.grad_accum * result.world_size,
                world_size=result.world_size,
                mixture=mixture.counts,
                tracks=sorted({mixture.tracks[t] for t in mixture.counts}),
                training_data_sha256=mixture.records_sha256,
                held_in=sorted(scored & set(mixture.counts)),
                held_out=sorted(scored - set(mixture.counts)),
                contamination=lineage_contamination(report, mixture.data.get("decontaminated", 0), findings=LINEAGE_FINDINGS),
                capabilities=mixture.capability_counts(),
                data={k: v for k, v in mixture.data.items() if k != "formats"},
                train_loss=result.train_loss,
                heldout_loss=result.heldout_loss,
                config_fingerprint=config.fingerprint(),
                resumed_from=result.resumed_from,
            )
            stats = {k: v for k, v in asdict(result).items() if k != "is_main"}

            def lineage_text(adapter_sha256: str) -> str:
                record = submissions.Lineage(adapter_sha256=adapter_sha256, **lineage_fields)
                return json.dumps({**record.model_dump(mode="json"), "fit": stats}, indent=2) + "\n"

            base_spec = config.model if base.kind in ("builtin", "hub") else str(base.base_path)
            save_adapter(model, tokenizer, out, base_spec, lineage_text)
            _write_card(out, config, read_lineage(out), None)
        state.wait_for_everyone()  # the other processes score the adapter too (data-parallel eval)
        lineage = read_lineage(out) if state.is_main_process else None
    if not config.eval.enabled or not score:
        return TrainOutcome(out, lineage, None)
    from ecombench.run import run

    scored_run = run(eval_options(config, out, debug), lineage=lineage)
    if scored_run.path is None:  # not the main process
        return TrainOutcome(out, None, None)
    if lineage is not None:
        _write_card(out, config, lineage, submissions.load(scored_run.path))
    return TrainOutcome(out, lineage, scored_run.path, scored_run.report)


def eval_options(config: TrainConfig, adapter: Path, debug: bool = False) -> Any:
    """The ``RunOptions`` of a trained adapter's closing evaluation (``config.eval``)."""
    from ecombench.run import RunOptions

    return RunOptions(
        model=str(adapter),
        tasks=config.eval.tasks,
        limit=config.eval.limit,
        name=config.name or adapter.name,
        submissions_dir=config.submissions_dir,
        batch_size=config.eval.batch_size,
        debug=debug,
        trust_remote_code=config.trust_remote_code,
    )


def score_adapters(trained: list[tuple[TrainConfig, TrainOutcome]], debug: bool = False) -> list[TrainOutcome]:
    """The closing evaluations of adapters trained with ``score=False``, as ``train`` would run each: adapters of one
    base with the same evaluation settings are scored together (the base loaded once, shared generation passes:
    ``ecombench.adapter_runs``), the rest one by one. Each outcome gains its submission; each card its scores."""
    from ecombench.adapter_runs import groups, run_adapters
    from ecombench.run import run

    options = [eval_options(config, outcome.adapter, debug) for config, outcome in trained]
    results: dict[int, Any] = {}
    for group in groups(options):
        if len(group) == 1:
            results[group[0]] = run(options[group[0]], lineage=trained[group[0]][1].lineage)
        else:
            for i, result in zip(group, run_adapters([options[i] for i in group], [trained[i][1].lineage for i in group]), strict=True):
                results[i] = result
    out = []
    for i, (config, outcome) in enumerate(trained):
        result = results[i]
        if outcome.lineage is not None and result.path is not None:
            _write_card(outcome.adapter, config, outcome.lineage, submissions.load(result.path))
        out.append(replace(outcome, submission=result.path, report=result.report))
    return out
