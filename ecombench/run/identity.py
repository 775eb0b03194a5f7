"""What a run is known by: its answer cache folder (the model's identity and the settings that change answers),
the machine it ran on, and the lm-eval version that asked the questions."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from pathlib import Path

from ecombench import submissions
from ecombench.paths import cache_dir


def answer_cache(
    weights: str,
    adapter: str | None,
    dtype: str,
    device: str,
    protocol: str,
    model_args: dict | None = None,
    prompting: tuple[bool, int, bool] = (False, 0, False),
    chat_template_sha256: str | None = None,
    reported: str = "",
) -> Path:
    """lm-eval's request cache is keyed by request only; a folder per model identity keys it by model.

    ``protocol`` is the engine (the protocol, and for backends other than hf the backend and its endpoint).
    ``prompting`` is (chat template, few-shot examples, few-shot as turns); plain 0-shot keeps its old folder.
    ``chat_template_sha256`` (the template applied, when one is): an edited template answers anew.
    ``reported`` is what a server says of the model it serves (other weights behind the same URL and name: other answers).
    """
    identity: list = [weights, adapter, dtype, device.split(":")[0], protocol]
    if model_args:  # answers under other model arguments (max_length, quantization, ...) are kept apart
        identity.append(sorted((k, repr(v)) for k, v in model_args.items()))
    if prompting != (False, 0, False):
        identity.append({"chat_template": prompting[0], "num_fewshot": prompting[1], "fewshot_as_multiturn": prompting[2]})
    if chat_template_sha256 is not None:
        identity.append({"chat_template_sha256": chat_template_sha256})
    if reported:
        identity.append({"server_reported": reported})
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    return cache_dir() / "answers" / key / "requests"


def hardware(device: str) -> submissions.Hardware:
    import torch

    name = torch.cuda.get_device_name(0) if device.startswith("cuda") and torch.cuda.is_available() else platform.processor() or "cpu"
    return submissions.Hardware(
        platform=platform.platform(), python=sys.version.split()[0], torch=torch.__version__, device=name, cpu_count=os.cpu_count() or 1
    )


def lm_eval_version() -> str:
    from importlib.metadata import version

    return version("lm_eval")
