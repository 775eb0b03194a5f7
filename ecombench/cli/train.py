"""The training commands of ``ecombench``: ``train``, ``sweep`` and ``merge`` (thin: parse, call, render)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import debug, split_names


def train(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option("--config", help="YAML config (see examples/train.yaml); flags override it.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Base model: HF folder, hub id or builtin:tiny.")] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            metavar="SOURCE",
            help="'core', 'suite:NAME', or files, folders or globs of JSON arrays / JSON Lines (ShopBench rows, prompt/completion, Alpaca, "
            "messages, ShareGPT). Repeat for several.",
        ),
    ] = None,
    mixture: Annotated[
        Path | None, typer.Option("--mixture", help="Mixture file: capabilities (task names or globs), their weights or counts (examples/mixture-*.yaml).")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse any bad row (empty answer, unknown layout) instead of skipping and counting it.")] = False,
    rank: Annotated[int | None, typer.Option("--rank", help="LoRA rank (capacity).")] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", help="LoRA alpha (scale = alpha / rank).")] = None,
    dropout: Annotated[float | None, typer.Option("--dropout", help="LoRA dropout.")] = None,
    target_modules: Annotated[
        list[str] | None,
        typer.Option("--target-modules", metavar="NAMES", help="Module names to adapt (repeat or comma-separate). Default: all linear layers."),
    ] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Optimiser steps (wins over --epochs).")] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Passes over the mixture.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate (cosine schedule).")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Packed rows per device and step.")] = None,
    grad_accum: Annotated[int | None, typer.Option("--grad-accum", help="Gradient accumulation steps.")] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of sampling, initialisation and data order.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="Adapter folder. Default: adapters/<name>-<config hash>.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name of the run and of its submission.")] = None,
    submissions_dir: Annotated[Path | None, typer.Option("--submissions-dir", help="Where the closing evaluation writes its submission.")] = None,
    eval_limit: Annotated[int | None, typer.Option("--eval-limit", help="Items per task in the closing evaluation.")] = None,
    eval_tasks: Annotated[
        list[str] | None, typer.Option("--eval-tasks", metavar="NAMES", help="Tasks, groups or tracks to score. Default: ecombench_core.")
    ] = None,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Train only; do not score the adapter.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --output (from its last checkpoint), or score its finished adapter again.")
    ] = False,
    allow_contamination: Annotated[bool, typer.Option("--allow-contamination", help="Train even if records overlap evaluation items.")] = False,
    decontaminate: Annotated[
        bool, typer.Option("--decontaminate", help="Drop the records that overlap evaluation items (content, not templates) and train on the rest.")
    ] = False,
    qlora: Annotated[bool, typer.Option("--qlora", help="4-bit base (bitsandbytes NF4); CUDA only.")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow model code from the model folder (auto_map).")] = False,
) -> None:
    """Train a LoRA adapter on a task mixture, then score it and keep the run as a submission."""
    from ecombench.render import report_table
    from ecombench.train.config import load_config
    from ecombench.train.pipeline import train as run_training

    overrides = {
        "model": model,
        "data": data,
        "rank": rank,
        "alpha": alpha,
        "dropout": dropout,
        "target_modules": split_names(target_modules),
        "max_steps": max_steps,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "grad_accum": grad_accum,
        "seed": seed,
        "output": str(output) if output else None,
        "name": name,
        "submissions_dir": str(submissions_dir) if submissions_dir else None,
        "eval_limit": eval_limit,
        "eval_tasks": split_names(eval_tasks),
        "allow_contamination": allow_contamination or None,
        "decontaminate": decontaminate or None,
        "strict": strict or None,
        "mixture": str(mixture) if mixture else None,
        "qlora": qlora or None,
        "trust_remote_code": trust_remote_code or None,
    }
    cfg = load_config(config, overrides)
    if no_eval:
        cfg.eval.enabled = False
    from ecombench.terminal import safe_text

    outcome = run_training(cfg, resume=resume, debug=debug(ctx), say=lambda line: typer.echo(safe_text(line)))
    if outcome.lineage is None:  # another process of a data-parallel run
        return
    lin = outcome.lineage
    typer.echo(
        f"adapter written to {outcome.adapter} ({lin.steps} steps"
        + (f", train loss {lin.train_loss:.4f}" if lin.train_loss is not None else "")
        + (f", held-out loss {lin.heldout_loss:.4f}" if lin.heldout_loss is not None else "")
        + (f", resumed from {lin.resumed_from}" if lin.resumed_from else "")
        + f"; held-in tasks {len(lin.held_in)}, held-out {len(lin.held_out)})"
    )
    if outcome.report is not None:
        from ecombench.terminal import console as terminal_console

        console = terminal_console()
        console.print(report_table(outcome.report, title=f"{outcome.adapter.name} (LoRA r={lin.rank} on {lin.base_model})", width=console.width))
        console.print(f"submission written to {outcome.submission}", markup=False, highlight=False)


def sweep(
    ctx: typer.Context,
    config: Annotated[Path, typer.Option("--config", help="Sweep YAML (see examples/sweep-tiny.yaml).")],
    executor: Annotated[str, typer.Option("--executor", help="local: cells one after another here; ray: each cell a Ray task.")] = "local",
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster to join ('auto', HOST:PORT, ray://...). Default: $RAY_ADDRESS, else a local one.")
    ] = None,
    gpus_per_cell: Annotated[float, typer.Option("--gpus-per-cell", help="GPUs each Ray task reserves (CUDA_VISIBLE_DEVICES is set to them).")] = 0,
    cpus_per_cell: Annotated[float, typer.Option("--cpus-per-cell", help="CPUs each Ray task reserves (and torch threads).")] = 1,
    max_parallel: Annotated[int | None, typer.Option("--max-parallel", help="Cells in flight at once. Default: as many as the cluster fits.")] = None,
    storage: Annotated[
        str, typer.Option("--storage", help="auto: workers on the driver's disk write in place, others send files back; shared; gather.")
    ] = "auto",
) -> None:
    """Train and score a grid of mixtures (capabilities x tasks) and LoRA ranks; write a table and a plot."""
    from ecombench.executors import make_executor
    from ecombench.terminal import Col, fit, text
    from ecombench.terminal import console as terminal_console
    from ecombench.train.sweep import load_sweep, run_sweep

    def progress(row: dict, status: str) -> None:
        if status == "failed":
            typer.echo(text(f"cell {row['id']}: failed: {row['error']}"), err=True)
            return
        if status == "elsewhere":
            typer.echo(text(f"cell {row['id']}: claimed by another driver ({row['owner']}), left to it"))
            return
        score = row.get("all_around")
        shown = f"All-Around {score:.4f}" if isinstance(score, float) else "not scored"
        typer.echo(f"cell {row['id']}: {shown}" + (" (finished earlier, kept)" if status == "kept" else ""))

    chosen = make_executor(executor, address=address, gpus_per_job=gpus_per_cell, cpus_per_job=cpus_per_cell, max_parallel=max_parallel, storage=storage)
    result = run_sweep(load_sweep(config), executor=chosen, debug=debug(ctx), on_cell=progress)
    folder, rows = result.folder, result.rows
    if rows:
        columns = ["id", "capabilities", "tasks_per_capability", "rank", "train_loss", "all_around", "held_in", "held_out"]
        spec = [Col(c.replace("_", "\n"), right=c != "id", keep=c in ("id", "all_around"), title=c == "id", drop=columns.index(c)) for c in columns]
        cells = [[f"{row.get(c):.4f}" if isinstance(row.get(c), float) else str(row.get(c, "")) for c in columns] for row in rows]
        console = terminal_console()
        console.print(fit(spec, cells, console.width, title=f"sweep {folder}", formats=f"{folder}/results.md"))
        console.print(f"table and plot written to {folder} (results.csv, results.md, plot.png)", markup=False, highlight=False)
    if result.elsewhere:
        typer.echo(f"{len(result.elsewhere)} cell(s) left to the other driver; its table will include them")
    if result.failed:
        typer.echo(f"ecombench: {len(result.failed)} cell(s) failed ({', '.join(result.failed)}); run the same command again to retry them", err=True)
        raise typer.Exit(1)
    if result.elsewhere:  # this run did not finish the sweep: a script must not read it as done
        shown = ", ".join(sorted(result.elsewhere)[:5])
        typer.echo(
            f"ecombench: {len(result.elsewhere)} cell(s) not done by this run ({shown}): another live driver holds their claims "
            f"({folder / 'claims'}); run the same command again once it is done (a claim whose driver is gone frees itself)",
            err=True,
        )
        raise typer.Exit(3)


def merge(
    adapter: Annotated[Path, typer.Argument(help="Adapter folder (from ecombench train, or any PEFT LoRA adapter).")],
    output: Annotated[Path, typer.Option("--output", help="New folder for the merged model.")],
    base: Annotated[str | None, typer.Option("--base", help="Base model (overrides adapter_config.json).")] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="auto (the base's stored dtype), float32, bfloat16, float16.")] = "auto",
) -> None:
    """Merge a LoRA adapter into its full-precision base model."""
    from ecombench.train.merge import merge as merge_adapter

    path = merge_adapter(adapter, output, base, dtype)
    typer.echo(f"merged model written to {path}")


def register(app: typer.Typer) -> None:
    app.command(short_help="Train a LoRA adapter, then score it.")(train)
    app.command(short_help="Train and score a grid of mixtures and ranks.")(sweep)
    app.command()(merge)
