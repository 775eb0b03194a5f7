"""``--backend openai``: a model behind an OpenAI-compatible server (vLLM, TGI, SGLang, ``transformers serve``,
a hosted API). The server sets the device, dtype and weights; ecombench sends prompts as text, keeps the
answers per URL, name and what the server says of its weights, and records that the weights were not hashed.

Modules: :mod:`.served` (the server and model asked once), :mod:`.client` (lm-eval's clients, hardened),
:mod:`.transport` (the HTTP requests themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ecombench.backends.base import Resolved, Settings
from ecombench.errors import EcombenchError
from ecombench.submissions import ModelIdentity


@dataclass(frozen=True)
class OpenAIOptions:
    """The server and how to talk to it."""

    base_url: str | None = None  # --base-url: the server's API root (http://host:port/v1) or an endpoint URL
    api: str | None = None  # --api: "completions" (the prompt as text) or "chat"; default: from the URL, else completions
    concurrency: int = 1  # --concurrency: requests in flight at once
    retries: int = 2  # --retries: further tries of a failed request, with lm-eval's exponential backoff
    request_timeout: int = 300  # --request-timeout: seconds one request may take


class _Settings(Settings, Protocol):
    openai: OpenAIOptions
    vllm: Any  # another backend's options: refused here when set


def default_name(name: str) -> str:
    """--model as asked (the server's id may be another's, or anything): "org/name" -> "name";
    transformers serve's "/path/to/folder@main" -> "folder"."""
    from pathlib import Path

    return Path(name.split("@")[0].rstrip("/")).name or name


class OpenAI:
    """A model behind an OpenAI-compatible server."""

    name: ClassVar[str] = "openai"

    def check(self, options: _Settings) -> None:
        """``--backend openai`` takes a server and its transport settings; the model's own settings belong to the server."""
        api = options.openai
        if not api.base_url:
            raise EcombenchError("--backend openai needs --base-url (the server's API root, e.g. http://localhost:8000/v1) and --model (the served name)")
        for flag, value, default in (
            ("--base", options.base, None),
            ("--device", options.device, None),
            ("--dtype", options.dtype, "auto"),
            ("--trust-remote-code", options.trust_remote_code, False),
            ("--tensor-parallel", getattr(options.vllm, "tensor_parallel", 1), 1),
            ("--data-parallel", getattr(options.vllm, "data_parallel", 1), 1),
        ):
            if value != default:
                raise EcombenchError(f"{flag}: the server sets it (--backend openai); start the server with it")
        if options.protocol == "loglikelihood":
            raise EcombenchError(
                "--protocol loglikelihood needs prompt log-probabilities, which OpenAI-compatible servers need not give; "
                "use --protocol generate with --backend openai"
            )
        if options.apply_chat_template:
            raise EcombenchError("--apply-chat-template: with --backend openai the server applies its template; use --api chat")
        for flag, value, least in (("--concurrency", api.concurrency, 1), ("--retries", api.retries, 0), ("--request-timeout", api.request_timeout, 1)):
            if value < least:
                raise EcombenchError(f"{flag} {value}: must be at least {least}")

    def misplaced(self, options: _Settings) -> None:
        if options.openai.base_url or options.openai.api:
            raise EcombenchError("--base-url and --api are settings of --backend openai")

    def resolve(self, options: _Settings) -> Resolved:
        """The server asked for one token before any task loads; the server sets device and dtype, and its weights
        cannot be hashed from here."""
        from ecombench.backends.openai.client import check_api
        from ecombench.backends.openai.served import API_NOTE, resolve_served_model
        from ecombench.notices import note

        check_api()
        api = options.openai
        served = resolve_served_model(api.base_url or "", options.model, api.api, api.request_timeout)
        identity = ModelIdentity(
            spec=served.name,
            kind="api",
            base_model=served.model_id,
            weights_sha256=served.identity,
            dtype="server",
            base_url=served.base_url,
            api=served.endpoint,
            note=API_NOTE,
        )
        batch = 1 if options.batch_size == "auto" else int(options.batch_size)
        # the chat endpoint wraps prompts in the server's template: other answers
        engine = f"{options.protocol}:openai:{served.endpoint}"
        if options.use_cache and not served.reported:
            note(
                f"{served.base_url} does not say which weights serve '{served.name}' (no root or system_fingerprint): answers kept from "
                "an earlier run under this URL and name are reused; pass --no-cache if the weights behind them changed"
            )
        return Resolved(served, identity, default_name(served.name), "server", "server", batch, served.identity, None, engine, served.reported, local=False)

    def build(self, resolved: Resolved, options: _Settings, model_args: dict[str, Any], loaded: Any = None) -> Any:
        from ecombench.backends.openai.client import build_api

        api = options.openai
        return build_api(
            resolved.subject,
            batch_size=int(resolved.batch_size),
            concurrency=api.concurrency,
            retries=api.retries,
            timeout=api.request_timeout,
            extra=model_args,
        )

    def chat_settings(self, options: _Settings, lm: Any, resolved: Resolved, system_prompt: str | None, rules: str) -> tuple[bool, bool]:
        """The chat endpoint applies the server's template to the messages lm-eval builds (system turn included)."""
        chat = resolved.subject.endpoint == "chat"
        if options.fewshot_as_multiturn and not chat:
            raise EcombenchError("--fewshot-as-multiturn sends examples as chat turns: use --api chat (the completions endpoint takes text)")
        return chat, chat and options.num_fewshot > 0 and options.fewshot_as_multiturn is not False

    def generating(self, lm: Any, resolved: Resolved, options: _Settings, cached: bool) -> Any:
        from contextlib import contextmanager

        from ecombench.backends.openai.client import api_failures
        from ecombench.notices import note

        served = resolved.subject

        @contextmanager
        def guarded():
            with api_failures(lm, served, retries=options.openai.retries, timeout=options.openai.request_timeout, cached=cached):
                yield
            cut = getattr(type(lm), "cut", 0)
            if cut:
                note(f"{cut} answers from {served.endpoint_url} were longer than their task's token limit allows and were cut there")

        return guarded()

    def settings(self, options: _Settings, batch_size: int | str) -> dict[str, Any]:
        return {"batch_size": str(batch_size), "processes": 1}
