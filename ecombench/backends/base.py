"""What every backend is: the :class:`Backend` protocol, what resolving ``--model`` gives (:class:`Resolved`), and
the pieces the backends that load a model here share (chat template checks, the answer settings of local runs).

A backend owns its options (a frozen dataclass of its own flags: ``VLLMOptions``, ``OpenAIOptions``), the refusals
of options that make no sense for it, how ``--model`` resolves to something it can load or ask, the identity a
submission records, how its lm-eval model is built, and the generation settings it records. ``ecombench.run``
finds it in :data:`ecombench.backends.BACKENDS` by name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ecombench.errors import EcombenchError
from ecombench.submissions import ModelIdentity


class Settings(Protocol):
    """The run options every backend reads (``ecombench.run.RunOptions`` has them, and each backend's own)."""

    model: str
    base: str | None
    batch_size: str
    device: str | None
    dtype: str
    protocol: str
    trust_remote_code: bool
    use_cache: bool
    apply_chat_template: bool | None
    num_fewshot: int
    fewshot_as_multiturn: bool | None


@dataclass(frozen=True)
class Resolved:
    """What ``--model`` names for a backend, before anything is loaded: what the submission records of it
    (``identity``, ``name``), where and how it runs, and what keys its answer cache (``weights``, ``adapter``,
    ``engine``, ``reported``)."""

    subject: Any  # ecombench.models.ResolvedModel (hf, vllm) or the openai backend's ServedModel
    identity: ModelIdentity
    name: str  # the submission's default name
    device: str
    dtype: str
    batch_size: int | str
    weights: str
    adapter: str | None
    engine: str  # the protocol, and for backends other than hf the backend (and its endpoint): other engines, other answers
    reported: str = ""  # what a server says of the weights it serves (empty for local weights)
    local: bool = True  # the weights are loaded in this process (its length, tokenizer and chat template are ours to check)


class Backend(Protocol):
    """One way a model answers. Implementations: ``ecombench.backends.hf``, ``.vllm``, ``.openai``."""

    name: ClassVar[str]

    def check(self, options: Any) -> None:
        """Options that are wrong for this backend, refused before anything is read or loaded."""

    def misplaced(self, options: Any) -> None:
        """Refuse this backend's own flags when another backend runs (they would be silently ignored)."""

    def resolve(self, options: Any) -> Resolved:
        """``--model`` (and ``--base``) as this backend finds it: a folder, a hub id, an adapter, a served model."""
        ...

    def build(self, resolved: Resolved, options: Any, model_args: dict[str, Any], loaded: Any = None) -> Any:
        """The lm-eval model that answers (``loaded``: an hf model already built, see ``ecombench.adapter_runs``)."""

    def chat_settings(self, options: Any, lm: Any, resolved: Resolved, system_prompt: str | None, rules: str) -> tuple[bool, bool]:
        """(chat template applied, few-shot examples as chat turns)."""
        ...

    def generating(self, lm: Any, resolved: Resolved, options: Any, cached: bool) -> Any:
        """A context manager around generation: a backend's failures become one line."""

    def settings(self, options: Any, batch_size: int | str) -> dict[str, Any]:
        """The generation settings a submission records for this backend (batch size, processes, parallelism)."""
        ...


@contextmanager
def no_guard() -> Iterator[None]:
    yield


def chat_template_of(lm: Any) -> Any:
    """The backend's chat template (None for none): lm-eval applies it only when the tokenizer has one."""
    return getattr(getattr(lm, "tokenizer", None), "chat_template", None) or None


def chat_template_sha256(lm: Any) -> str | None:
    """sha256 of the backend's chat template as the tokenizer holds it (a text, or named templates as
    canonical JSON); None for none. Editing the template changes it, and with it the run's answer cache."""
    template = chat_template_of(lm)
    if template is None:
        return None
    text = template if isinstance(template, str) else json.dumps(template, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_system_turn(lm: Any, system_prompt: str) -> None:
    """lm-eval drops the system prompt, with only a log line, when a chat template refuses a system turn: refuse instead."""
    probe = [{"role": "system", "content": system_prompt}, {"role": "user", "content": "?"}]
    try:
        shown = lm.apply_chat_template(probe)  # lm-eval's own call, which falls back to no system turn
    except Exception as exc:  # jinja raises whatever the template says (raise_exception)
        raise EcombenchError(
            f"--system-prompt: this model's chat template takes no system turn ({exc}); drop --system-prompt, "
            "or pass --no-apply-chat-template to prepend it as text"
        ) from exc
    if system_prompt.strip() not in shown:
        raise EcombenchError(
            "--system-prompt: this model's chat template leaves the system turn out; drop --system-prompt, "
            "or pass --no-apply-chat-template to prepend it as text"
        )


def local_chat_settings(options: Settings, lm: Any, system_prompt: str | None, rules: str) -> tuple[bool, bool]:
    """(chat template, few-shot as turns) for a model loaded here: the template is on by default when the tokenizer has one."""
    from ecombench.metrics.rulesets import SHOPPING_MMLU

    has_template = chat_template_of(lm) is not None
    # Shopping MMLU's code tokenizes the system prompt and question as plain text (no chat template).
    default = has_template and rules != SHOPPING_MMLU
    chat = default if options.apply_chat_template is None else options.apply_chat_template
    if chat and not has_template:
        raise EcombenchError(f"--apply-chat-template: {options.model} has no chat template (its tokenizer has none); drop the flag")
    if options.fewshot_as_multiturn and not chat:
        raise EcombenchError(f"--fewshot-as-multiturn needs a chat template, and {options.model} has none")
    if chat and system_prompt:
        check_system_turn(lm, system_prompt)
    multiturn = chat and options.num_fewshot > 0 and options.fewshot_as_multiturn is not False
    return chat, multiturn


def local_model(options: Settings) -> tuple[Any, str, str | None]:
    """``--model`` resolved to local folders and checked loadable: (ResolvedModel, weights hash, adapter hash)."""
    from ecombench.models import check_loadable, folder_hash
    from ecombench.tiny import resolve_model

    model = resolve_model(options.model, options.base)
    check_loadable(model, options.trust_remote_code)
    return model, folder_hash(model.base_path), folder_hash(model.adapter_path) if model.adapter_path else None


def local_identity(model: Any, weights: str, adapter: str | None, dtype: str) -> ModelIdentity:
    return ModelIdentity(
        spec=model.spec,
        kind=model.kind,
        base_model=model.base_spec,
        weights_sha256=weights,
        adapter_sha256=adapter,
        adapter_path=str(model.adapter_path) if model.adapter_path else None,
        dtype=dtype,
    )


def local_name(model: Any) -> str:
    """A local model's default submission name: its folder's name; ``builtin:tiny`` -> ``builtin-tiny``."""
    if model.kind == "builtin":
        return model.spec.replace(":", "-")
    return Path(model.spec.rstrip("/")).name or model.spec
