"""Several LoRA adapters of one base scored together: the base loaded once, their answers generated in shared batches.

A sweep leaves many adapters of one base, and every one must be scored. ``run_many`` (``ecombench run
--model a0 --model a1 ...``) hands the adapters of one base folder that run with the same options to
``run_adapters``:

1. the base is loaded once, as lm-eval loads it with the first adapter; the other adapters are loaded into
   the same model beside it (peft's ``load_adapter``, one name each);
2. each adapter is scored in turn by the stages of ``ecombench.run`` (generate through lm-eval, score,
   record), with its adapter active. Off CPU, the first evaluation that asks for greedy answers gets them,
   in the same generation pass, for every adapter still to be scored (``SharedPass``): each prompt is
   prefilled with its own adapter active (a packed prefill holds one adapter's prompts), and rows of
   different adapters decode together in one batch (peft's per-row adapter selection, ``adapter_names``).
   Later evaluations find their answers waiting and generate only what they still lack. On CPU each
   evaluation generates for its own adapter (``MIXED_ON_CPU``: mixed batches were slower there);
3. each adapter keeps what a run of it alone keeps: its answer cache (written by its own evaluation, so
   an adapter whose answers are cached is not generated for again), its submission, and its efficiency
   record, where the load and generation it shared count in proportion (``SharedPass.settle``).

Answers are token for token those of scoring each adapter alone: the same prompts, the same prefill, and
a decode step whose rows are each computed as alone (the base layers for all rows, each adapter's
low-rank update on its own rows). Runs that cannot share (other bases, other options, another backend,
adapters other than plain LoRA, several processes) go one after another as before.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ecombench import efficiency, submissions, threads
from ecombench.run import Built, RunOptions, RunResult, build_model, check_options, generate, record, score, select_tasks, write_predictions
from ecombench.tiny import resolve_model

SHAREABLE_PEFT_TYPES = ("LORA",)  # peft's mixed-batch inference serves LoRA (not DoRA) adapters
# Mixed-adapter decode batches on CPU: off. There a step costs its arithmetic, rows of four adapters cost four
# times one adapter's, and peft's per-row selection adds its indexing: generation took 0.96x the time of one
# adapter after another on the real development set (docs/speed.md). Elsewhere (GPU) a step costs about the same
# for few rows as for many, which is where shared batches pay.
MIXED_ON_CPU = False


def base_of(options: RunOptions) -> Path | None:
    """The base folder an adapter is scored on, when its run can share a pass with others (an hf run of a
    plain LoRA adapter in a single process); None when it runs alone."""
    from ecombench.distributed import launched_processes

    if options.backend != "hf" or options.judge.model or launched_processes() > 1 or not (Path(options.model).expanduser() / "adapter_config.json").is_file():
        return None
    model = resolve_model(options.model, options.base)
    if model.kind != "adapter" or model.adapter_path is None:
        return None
    try:
        config = json.loads((model.adapter_path / "adapter_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or config.get("peft_type") not in SHAREABLE_PEFT_TYPES or config.get("use_dora"):
        return None
    return model.base_path


def _settings(options: RunOptions) -> RunOptions:
    """What must be equal for two runs to share a pass: everything but the model and its name."""
    return replace(options, model="", name=None)


def groups(options: Sequence[RunOptions]) -> list[list[int]]:
    """The runs (indices into ``options``) that share a pass: adapters of one base with the same settings, in the
    order of their first member; every other run is a group of its own."""
    out: list[list[int]] = []
    keys: list[tuple[Path, RunOptions] | None] = []
    for i, o in enumerate(options):
        base = base_of(o)
        for group, key in zip(out, keys):
            if base is not None and key is not None and key[0] == base and key[1] == _settings(o):
                group.append(i)
                break
        else:
            out.append([i])
            keys.append(None if base is None else (base, _settings(o)))
    return out


class SharedPass:
    """Greedy answers for several adapters loaded in one model, generated in shared batches (``FastHFLM.shared``).

    ``start(name)`` says whose evaluation asks next; ``generate`` answers its requests and, in the same pass,
    the same requests for every adapter still ``waiting`` (unless its answer cache holds them), keeping their
    tokens until their own evaluation asks. Time is kept per adapter: ``hosted`` (passes run during its
    evaluation) and ``share`` (its part of every pass it had rows in, by the tokens of its rows).
    """

    def __init__(
        self, names: Sequence[str], caches: Sequence[Path | None], rank: int = 0, clock: Callable[[], float] = time.perf_counter, mixed: bool = True
    ) -> None:
        self.clock = clock
        self.mixed = mixed  # False: each evaluation generates for its own adapter only (a pass of its own, base still loaded once)
        self.waiting = list(names)
        self.caches = dict(zip(names, caches, strict=True))
        self.rank = rank
        self.active: str | None = None
        self.held: dict[tuple[str, str], list[int]] = {}  # (adapter, request hash) -> answer tokens
        self.hosted = dict.fromkeys(names, 0.0)
        self.share = dict.fromkeys(names, 0.0)

    def start(self, name: str) -> None:
        self.active = name

    def finish(self, name: str) -> None:
        """``name``'s evaluation is over: nothing more is generated for it."""
        self.waiting.remove(name)
        self.held = {k: v for k, v in self.held.items() if k[0] != name}
        self.active = None

    def _cached(self, name: str, keys: list[str]) -> set[str]:
        """Which of ``keys`` the adapter's answer cache already holds (lm-eval's file for this process's rank)."""
        cache = self.caches.get(name)
        path = Path(f"{cache}_rank{self.rank}.db") if cache is not None else None
        if path is None or not path.is_file():
            return set()
        from sqlitedict import SqliteDict

        with SqliteDict(str(path), flag="r") as db:
            return {k for k in keys if k in db}

    def generate(self, lm: Any, requests: Sequence[Any], specs: Sequence[Any], done: Callable[[int, list[int]], None]) -> None:
        """Answer ``requests`` (tokenised as ``specs``) for the active adapter, calling ``done(i, tokens)`` for each."""
        from lm_eval.api.model import hash_args

        from ecombench.backends.hf.generation import greedy_generate

        active = self.active
        assert active is not None  # set by run_adapters before each evaluation
        keys = [hash_args("generate_until", r.args) for r in requests]
        todo = []
        for i, key in enumerate(keys):
            tokens = self.held.pop((active, key), None)
            if tokens is None:
                todo.append(i)
            else:
                done(i, tokens)
        if not todo:
            return
        rows = [(i, active) for i in todo]
        for name in self.waiting if self.mixed else ():
            if name != active:
                have = self._cached(name, [keys[i] for i in todo])
                rows += [(i, name) for i in todo if keys[i] not in have and (name, keys[i]) not in self.held]
        work: dict[str, int] = {}

        def finished(j: int, tokens: list[int]) -> None:
            i, name = rows[j]
            work[name] = work.get(name, 0) + len(specs[i].tokens) + len(tokens)
            if name == active:
                done(i, tokens)
            else:
                self.held[(name, keys[i])] = tokens

        started = self.clock()
        batch = [replace(specs[i], adapter=name) for i, name in rows]
        greedy_generate(lm.model, batch, eos_ids=lm._eos_ids(), decode=lm.tok_decode, token_budget=lm.token_budget, on_done=finished)
        elapsed = self.clock() - started
        self.hosted[active] += elapsed
        total = sum(work.values()) or 1
        for name, count in work.items():
            self.share[name] += elapsed * count / total

    def settle(self, name: str) -> float:
        """Seconds to add to ``name``'s generation time: its share of the passes, less the passes it hosted."""
        return self.share[name] - self.hosted[name]


def _cache_rank(lm: Any) -> int:
    """The rank lm-eval names its answer-cache file by (``simple_evaluate``'s rule)."""
    return int(getattr(lm, "rank", 0) or os.environ.get("LOCAL_RANK", "0"))


def run_adapters(
    options: Sequence[RunOptions],
    lineages: Sequence[submissions.Lineage | None] | None = None,
    on_result: Callable[[int, RunResult], None] | None = None,
) -> list[RunResult]:
    """Score adapters of one base (a group of ``groups``) with the base loaded once and shared generation passes;
    one result per adapter, in order, as ``run`` gives it. ``lineages`` (``ecombench train``/``sweep``): each
    adapter's training record; ``on_result(i, result)`` is called as each adapter's submission is written."""
    for o in options:
        check_options(o)
    threads.apply()
    selection = select_tasks(options[0])
    clocks = [efficiency.StageClock() for _ in options]
    built: list[Built] = []
    for k, o in enumerate(options):
        with clocks[k].stage("load"):
            if not built:
                built.append(build_model(o, selection))
            else:
                lm = built[0].lm
                adapter = resolve_model(o.model, o.base).adapter_path
                lm.model.load_adapter(str(adapter), adapter_name=f"adapter{k}")
                lm.model.eval()
                built.append(build_model(o, selection, loaded=lm))
    lm = built[0].lm
    names = [lm.model.active_adapter] + [f"adapter{k}" for k in range(1, len(options))]
    # the base was loaded once for all: each adapter's load is its share of it, and the loading of its own weights
    first_load = clocks[0].seconds["load"] / len(options)
    for clock in clocks:
        clock.seconds["load"] = clock.seconds.get("load", 0.0) + first_load
    clocks[0].seconds["load"] = first_load
    on_cpu = str(getattr(lm, "device", "cpu")).startswith("cpu")
    shared = SharedPass(names, [b.cache for b in built], _cache_rank(lm), mixed=MIXED_ON_CPU or not on_cpu)
    lm.shared = shared
    results: list[RunResult] = []
    try:
        for k, (o, b) in enumerate(zip(options, built, strict=True)):
            lm.model.set_adapter(names[k])
            shared.start(names[k])
            started, created = time.monotonic(), submissions.now()
            with clocks[k].stage("generate"):
                samples = generate(o, selection, b)
            shared.finish(names[k])
            clocks[k].seconds["generate"] += shared.settle(names[k])
            if samples is None:  # not reached: shared runs are single-process (base_of)
                results.append(RunResult(None, None, None))
                continue
            if selection.unanswered:
                result = RunResult(None, None, write_predictions(o.submissions_dir, submissions.new_id(b.name, created), samples))
            else:
                with clocks[k].stage("score"):
                    scored = score(samples, o.embedders, selection.rules)
                with clocks[k].stage("record"):
                    cost = efficiency.measure(clocks[k], samples, getattr(lm, "tokenizer", None), b.device)
                    duration = time.monotonic() - started + shared.settle(names[k])
                    lineage = lineages[k] if lineages is not None else None
                    result = record(o, selection, b, scored, created=created, duration_s=duration, lineage=lineage, cost=cost)
            results.append(result)
            if on_result is not None:
                on_result(k, result)
    finally:
        lm.shared = None
    return results
