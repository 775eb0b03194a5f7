"""What a run cost: wall time by stage, tokens in and out, peak memory, threads (HELM's efficiency).

``StageClock`` times the named stages of ``ecombench run``; ``measure`` turns the clock, the answers
and the process's peaks into the submission's ``Efficiency`` record. torch is imported only when a
model was built on an accelerator (it is loaded by then).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ecombench.submissions import MAX_MEASURE, Efficiency

STAGES = ("load", "generate", "score", "record")


class StageClock:
    """Wall seconds per named stage, in the order they ran (a stage timed twice adds up)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._open: tuple[str, float] | None = None

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self._open = (name, started)
        try:
            yield
        finally:
            self._open = None
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def snapshot(self) -> dict[str, float]:
        """Seconds per stage so far, the stage still running counted up to now (the record is built inside its own stage)."""
        seconds = dict(self.seconds)
        if self._open is not None:
            name, started = self._open
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        return seconds


def peak_host_mb() -> float:
    """The process's peak resident memory in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def peak_device_mb(device: str) -> float | None:
    """torch's peak allocated memory on a CUDA device in MiB; None on CPU or anything else."""
    if not device.startswith("cuda") or "torch" not in sys.modules:
        return None
    import torch

    return torch.cuda.max_memory_allocated() / (1024 * 1024) if torch.cuda.is_available() else None


def torch_threads() -> int:
    """torch's intra-op threads, or 1 where torch was never loaded (a served model)."""
    if "torch" not in sys.modules:
        return 1
    import torch

    return int(torch.get_num_threads())


def count_tokens(tokenizer: Any, texts: Iterable[str]) -> int | None:
    """Tokens in ``texts`` by the model's tokenizer (no special tokens added); None without a usable one."""
    encode = getattr(tokenizer, "encode", None)
    if encode is None:
        return None
    total = 0
    try:
        for text in texts:
            try:
                total += len(encode(text, add_special_tokens=False))
            except TypeError:  # tiktoken-style encoders take no add_special_tokens
                total += len(encode(text))
    except Exception:  # a tokenizer that cannot count is no reason to lose the run
        return None
    return total


def efficiency_line(cost: Efficiency | None) -> str:
    """One line of what a run cost, for ``compare``; records from before efficiency was kept say so."""
    if cost is None:
        return "not recorded (a record from before ecombench kept it, or scored from predictions)"
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in cost.stage_s.items())
    tokens = f"{cost.prompt_tokens if cost.prompt_tokens is not None else '?'} prompt / {cost.generated_tokens if cost.generated_tokens is not None else '?'} generated tokens"
    rate = f"{cost.generated_tokens_per_s:.1f} tok/s" if cost.generated_tokens_per_s is not None else "- tok/s"
    memory = f"peak host {cost.peak_host_mb:.0f} MiB" if cost.peak_host_mb is not None else "peak host -"
    if cost.peak_device_mb is not None:
        memory += f", device {cost.peak_device_mb:.0f} MiB"
    return f"{stages}; {tokens}, {rate}; {memory}; {cost.device}, {cost.threads} thread{'' if cost.threads == 1 else 's'}"


def measure(clock: StageClock, samples: list[Any], tokenizer: Any, device: str) -> Efficiency:
    """The efficiency record of a run whose stages ``clock`` timed and whose answers are ``samples``.

    Called inside the "record" stage, which then holds counting tokens and building the record,
    not the record's own write (it cannot time itself); that write is a few milliseconds.

    Generated tokens are counted only for generated answers (strings); the loglikelihood protocol generates none.
    """
    prompts = count_tokens(tokenizer, (s.prompt for s in samples if isinstance(s.prompt, str)))
    answers = [s.response for s in samples if isinstance(s.response, str)]
    generated = count_tokens(tokenizer, answers) if answers else None
    seconds = clock.snapshot()
    stage_s = {name: round(value, 3) for name, value in seconds.items()}
    generate_s = seconds.get("generate", 0.0)
    rate = round(generated / generate_s, 2) if generated is not None and generate_s > 0 else None
    if rate is not None and rate > MAX_MEASURE:  # a clock too coarse for a stage this short: no rate, not a lost run
        rate = None
    host = round(peak_host_mb(), 1)
    dev = peak_device_mb(device)
    return Efficiency(
        stage_s=stage_s,
        prompt_tokens=prompts,
        generated_tokens=generated,
        generated_tokens_per_s=rate,
        peak_host_mb=host,
        peak_device_mb=round(dev, 1) if dev is not None else None,
        device=device,
        threads=torch_threads(),
    )
