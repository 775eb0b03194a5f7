"""``ecombench run``: score one model or several (one submission each) on ecombench tasks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ecombench.cli.options import OutputFormat, RulesOption, debug, split_names
from ecombench.errors import EcombenchError
from ecombench.terminal import console as _console

# Each backend's own flags, and the judge's, under a help panel of their own.
_OPENAI = "Backend openai (an OpenAI-compatible server)"
_VLLM = "Backend vllm"
_JUDGE = "Model judge (judged tasks: docs/judged-tasks.md)"


def run(
    ctx: typer.Context,
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            metavar="MODEL",
            help="Model folder, hub id, PEFT adapter folder, or builtin:tiny; with --backend openai, the served model's name. "
            "Repeat it (or use --models-file) to score several models, one submission each. Default: builtin:tiny.",
        ),
    ] = None,
    models_file: Annotated[
        Path | None, typer.Option("--models-file", help="A file naming one model per line (# comments) to score, one submission each.")
    ] = None,
    tasks: Annotated[
        list[str] | None, typer.Option("--tasks", metavar="NAMES", help="Task, group or track names (repeat or comma-separate). Default: the bundled suite.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many items per task.")] = None,
    batch_size: Annotated[str, typer.Option("--batch-size", help="auto or a number.")] = "auto",
    device: Annotated[str | None, typer.Option("--device", help="cpu, cuda, cuda:1 ... Default: cuda if present.")] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="auto (bf16 on capable GPUs, else fp32), float32, bfloat16, float16.")] = "auto",
    name: Annotated[str | None, typer.Option("--name", help="Submission name. Default: the model's folder name.")] = None,
    base: Annotated[str | None, typer.Option("--base", help="Base model of an adapter (overrides adapter_config.json).")] = None,
    submissions_dir: Annotated[Path, typer.Option("--submissions-dir", help="Where submissions are written.")] = Path("submissions"),
    system_prompt: Annotated[str | None, typer.Option("--system-prompt", help="'kddcup' for the challenge's system prompt, or literal text.")] = None,
    protocol: Annotated[str, typer.Option("--protocol", help="generate (KDD Cup: greedy, 1 token for multiple-choice) or loglikelihood.")] = "generate",
    task_path: Annotated[list[Path] | None, typer.Option("--task-path", metavar="DIR", help="Extra folder of task YAMLs (needs --trust-tasks).")] = None,
    trust_tasks: Annotated[bool, typer.Option("--trust-tasks", help="Allow --task-path folders, whose YAMLs may run Python code.")] = False,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse or keep cached model answers.")] = False,
    embedding_model: Annotated[str | None, typer.Option("--embedding-model", help="Folder of all-MiniLM-L6-v2.")] = None,
    multilingual_embedding_model: Annotated[
        str | None, typer.Option("--multilingual-embedding-model", help="Folder of paraphrase-multilingual-MiniLM-L12-v2.")
    ] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow model code from the model folder.")] = False,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            help="hf (transformers, default), vllm (CUDA; pip install 'ecombench[vllm]') or openai (an "
            "OpenAI-compatible server at --base-url; API key from $OPENAI_API_KEY only).",
        ),
    ] = "hf",
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", rich_help_panel=_OPENAI, help="openai: the server's API root, e.g. http://localhost:8000/v1 (or an endpoint URL)."),
    ] = None,
    api: Annotated[
        str | None,
        typer.Option("--api", rich_help_panel=_OPENAI, help="openai: completions (the prompt as text; default) or chat (the server's chat template)."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", rich_help_panel=_OPENAI, help="openai: requests in flight at once.")] = 1,
    retries: Annotated[int, typer.Option("--retries", rich_help_panel=_OPENAI, help="openai: further tries of a failed request (backoff 1 s to 10 s).")] = 2,
    request_timeout: Annotated[int, typer.Option("--request-timeout", rich_help_panel=_OPENAI, help="openai: seconds one request may take.")] = 300,
    tensor_parallel: Annotated[int, typer.Option("--tensor-parallel", rich_help_panel=_VLLM, help="vllm: GPUs per model replica.")] = 1,
    data_parallel: Annotated[int, typer.Option("--data-parallel", rich_help_panel=_VLLM, help="vllm: model replicas.")] = 1,
    model_args: Annotated[
        str | None,
        typer.Option(
            "--model-args",
            help="key=value,... for the backend's model (lm-eval syntax): hf parallelize=True,max_length=4096; "
            "vllm gpu_memory_utilization=0.8,max_model_len=8192.",
        ),
    ] = None,
    apply_chat_template: Annotated[
        bool | None,
        typer.Option(
            "--apply-chat-template/--no-apply-chat-template",
            help="Render prompts with the tokenizer's chat template (system "
            "prompt as its system turn). Default: on when the tokenizer has one, off for base models.",
        ),
    ] = None,
    num_fewshot: Annotated[
        int,
        typer.Option(
            "--num-fewshot",
            help="Examples before each question, drawn (seeded) from the task's training part; never "
            "from the evaluated items. Tasks without a training part refuse N > 0.",
        ),
    ] = 0,
    fewshot_as_multiturn: Annotated[
        bool | None,
        typer.Option(
            "--fewshot-as-multiturn/--no-fewshot-as-multiturn",
            help="With a chat template: each example as its own user/assistant turns (default), or all in one user turn.",
        ),
    ] = None,
    format: Annotated[OutputFormat, typer.Option("--format", help="table, or json (the submission record, for scripts).")] = OutputFormat.table,
    rules: RulesOption = None,
    judge: Annotated[
        str | None,
        typer.Option(
            "--judge",
            "--judge-model",
            metavar="MODEL",
            rich_help_panel=_JUDGE,
            help="The model that grades judged tasks' answers (a folder, hub id or builtin:tiny; with --judge-backend openai, the served name).",
        ),
    ] = None,
    judge_backend: Annotated[str, typer.Option("--judge-backend", rich_help_panel=_JUDGE, help="hf (default), vllm or openai.")] = "hf",
    judge_base_url: Annotated[
        str | None, typer.Option("--judge-base-url", rich_help_panel=_JUDGE, help="openai judge: the server's API root, e.g. http://localhost:8001/v1.")
    ] = None,
    judge_api: Annotated[str | None, typer.Option("--judge-api", rich_help_panel=_JUDGE, help="openai judge: completions (default) or chat.")] = None,
    executor: Annotated[str, typer.Option("--executor", help="Several models: local (one after another) or ray (each a Ray task).")] = "local",
    address: Annotated[str | None, typer.Option("--address", help="ray: the cluster to join (default: $RAY_ADDRESS, else a local one).")] = None,
    gpus_per_model: Annotated[float, typer.Option("--gpus-per-model", help="ray: GPUs each model's task reserves.")] = 0,
    max_parallel: Annotated[int | None, typer.Option("--max-parallel", help="ray: models in flight at once.")] = None,
    storage: Annotated[str, typer.Option("--storage", help="ray: auto, shared (workers write in place) or gather (files sent back).")] = "auto",
) -> None:
    """Score a model on ecombench tasks and keep the run as a submission."""
    names = split_names(tasks)
    models = _models(model, models_file)
    _preflight(names, None if task_path and not trust_tasks else task_path or [], models, backend)
    if judge is not None and judge_backend != "openai":
        _preflight(None, None, [judge], judge_backend)
    from ecombench.backends.openai import OpenAIOptions
    from ecombench.backends.vllm import VLLMOptions
    from ecombench.metrics.embedding import Embedders
    from ecombench.render import report_table
    from ecombench.run import JudgeOptions, RunOptions
    from ecombench.run import run as run_model

    options = RunOptions(
        model=models[0],
        base=base,
        tasks=names,
        limit=limit,
        batch_size=batch_size,
        device=device,
        dtype=dtype,
        name=name,
        submissions_dir=submissions_dir,
        system_prompt=system_prompt,
        protocol=protocol,
        task_paths=task_path or [],
        use_cache=not no_cache,
        trust_tasks=trust_tasks,
        trust_remote_code=trust_remote_code,
        debug=debug(ctx),
        backend=backend,
        vllm=VLLMOptions(tensor_parallel=tensor_parallel, data_parallel=data_parallel),
        model_args=model_args,
        openai=OpenAIOptions(base_url=base_url, api=api, concurrency=concurrency, retries=retries, request_timeout=request_timeout),
        apply_chat_template=apply_chat_template,
        num_fewshot=num_fewshot,
        fewshot_as_multiturn=fewshot_as_multiturn,
        rules=rules,
        judge=JudgeOptions(model=judge, backend=judge_backend, base_url=judge_base_url, api=judge_api),
        embedders=Embedders(overrides={"sent-transformer": embedding_model, "multilingual-sent-transformer": multilingual_embedding_model}),
    )
    if len(models) > 1 or executor != "local":
        _run_many(models, options, executor, address=address, gpus=gpus_per_model, max_parallel=max_parallel, storage=storage)
        return
    result = run_model(options)
    if result.path is None:  # not the main process of `accelerate launch`
        return
    if result.submission is None or result.report is None:
        typer.echo(f"these tasks have no answers: predictions written to {result.path} (score them with `ecombench score`)")
        return
    for task, why in result.submission.skipped_tasks.items():
        print(f"ecombench: warning: skipped {task}: {why}", file=sys.stderr)
    if format is OutputFormat.json:
        typer.echo(result.submission.model_dump_json(indent=2))
        return
    console = _console()
    title = f"{result.submission.name} ({result.submission.model.spec}; {result.report.rules} rules)"
    console.print(report_table(result.report, title=title, width=console.width))
    console.print(f"submission {result.submission.id} written to {result.path}", markup=False, highlight=False)


def _preflight(names: list[str] | None, task_paths: list[Path] | None, models: list[str], backend: str) -> None:
    """Unknown task names and model folders that are not there, found before the heavy imports of a run (a second,
    not 16 s); ``task_paths`` None: --task-path without --trust-tasks, which the run refuses first."""
    from ecombench.models import check_path
    from ecombench.taskindex import build_index, default_roots

    if task_paths is not None:
        build_index(default_roots(task_paths)).select(names)
    if backend != "openai":
        for m in models:
            check_path(m)


def _models(given: list[str] | None, models_file: Path | None) -> list[str]:
    """The models to score: each --model, then each line of --models-file; builtin:tiny when none is named."""
    models = list(given or [])
    if models_file is not None:
        try:
            lines = models_file.read_text(encoding="utf-8").split("\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise EcombenchError(f"--models-file {models_file}: cannot read ({exc})") from exc
        models += [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]
        if not models:
            raise EcombenchError(f"--models-file {models_file}: names no model")
    return models or ["builtin:tiny"]


def _run_many(models: list[str], options, executor: str, *, address: str | None, gpus: float, max_parallel: int | None, storage: str) -> None:
    """Several models over the executor, one submission each; a model that fails is named and the others go on."""
    from dataclasses import replace

    from ecombench.executors import make_executor, run_many

    if options.name is not None and len(models) > 1:
        raise EcombenchError("--name: with several models each submission is named after its model")
    chosen = make_executor(executor, address=address, gpus_per_job=gpus, max_parallel=max_parallel, storage=storage)
    if options.backend != "openai":  # a model that is not there is found before any other is scored
        from ecombench.models import resolve_model

        for m in models:
            if not m.startswith("builtin:"):
                resolve_model(m, options.base)

    def done(outcome) -> None:
        if outcome.error is None:
            typer.echo(f"{outcome.job.model}: submission written to {outcome.value}")
        else:
            print(f"ecombench: {outcome.job.model}: failed: {outcome.error}", file=sys.stderr)

    outcomes = run_many([replace(options, model=m) for m in models], chosen, on_done=done)
    failed = [o.job.model for o in outcomes if o.error is not None]
    if failed:
        print(f"ecombench: {len(failed)} of {len(outcomes)} models failed ({', '.join(failed)})", file=sys.stderr)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(short_help="Score a model; keep the run as a submission.")(run)
