"""How a model answers: one module per backend, one row per backend in :data:`BACKENDS`.

The table holds ``"module:Class"`` strings (lm-eval's ``MODEL_MAPPING`` does the same), so naming a backend
imports only its module, and no backend's optional dependency is imported by another's run. Adding a backend
is one new module with a class following :class:`~ecombench.backends.base.Backend` and one row here
(CONTRIBUTING.md shows a worked example).
"""

from __future__ import annotations

from importlib import import_module
from typing import Literal

from ecombench.backends.base import Backend, Resolved
from ecombench.errors import EcombenchError

BackendName = Literal["hf", "vllm", "openai"]

BACKENDS: dict[str, str] = {
    "hf": "ecombench.backends.hf:HF",
    "vllm": "ecombench.backends.vllm:VLLM",
    "openai": "ecombench.backends.openai:OpenAI",
}


def get(name: str) -> Backend:
    """The backend called ``name`` (``--backend``), its module imported now."""
    if name not in BACKENDS:
        names = list(BACKENDS)
        raise EcombenchError(f"--backend {name}: use {', '.join(names[:-1])} or {names[-1]}")
    module, _, cls = BACKENDS[name].partition(":")
    return getattr(import_module(module), cls)()


__all__ = ["BACKENDS", "Backend", "BackendName", "Resolved", "get"]
