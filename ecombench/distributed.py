"""The process group of an ``accelerate launch`` run, on GPUs or on CPUs (gloo).

accelerate's ``PartialState()`` sees a multi-process CPU launch (``--multi_gpu`` on a machine
without GPUs) as one process unless asked for CPU; every ecombench module goes through here so
that the first call, which fixes the shared state, asks correctly.
"""

from __future__ import annotations

import os
from typing import Any


def launched_processes() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def state() -> Any:
    import torch
    from accelerate import PartialState

    if launched_processes() > 1 and not torch.cuda.is_available():
        return PartialState(cpu=True)
    return PartialState()
