"""lm-eval's OpenAI-compatible clients, hardened: requests sent by :mod:`ecombench.backends.openai.transport`,
the API key kept out of logs, and a server's failure told in one line."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ecombench.backends.openai.served import API_KEY_ENV, ServedModel, api_headers
from ecombench.errors import EcombenchError

# Model arguments the openai backend sets itself, and where each comes from.
API_MODEL_ARGS = {
    "base_url": "--base-url",
    "model": "--model",
    "num_concurrent": "--concurrency",
    "max_retries": "--retries",
    "timeout": "--request-timeout",
    "auth_token": f"${API_KEY_ENV} only",
    "header": f"${API_KEY_ENV} only",
    "tokenizer_backend": "the server (prompts go as text)",
    "tokenized_requests": "the server (prompts go as text)",
}


def check_api() -> None:
    from importlib.util import find_spec

    if any(find_spec(m) is None for m in ("aiohttp", "requests", "tenacity")):
        raise EcombenchError("--backend openai needs lm-eval's API clients: pip install 'ecombench[api]'")


def _api_client(endpoint: str) -> type:
    """lm-eval's ``local-completions`` or ``local-chat-completions`` client, its requests sent by
    :mod:`ecombench.backends.openai.transport` (no key across origins, a capped body, a deadline for the whole request, each
    reply checked before it is kept), and two changes for strict servers: no ``stop`` field when there is no
    stop sequence (ecombench's tasks stop at EOS only, and ``transformers serve`` fails every request that sends
    ``"stop": []``), and a plain prompt sent to chat as one user message."""
    import asyncio
    import copy
    import threading

    from lm_eval.models.openai_completions import (
        LocalChatCompletion,
        LocalCompletionsAPI,
    )

    from ecombench.backends.openai import transport as apiclient

    base = LocalChatCompletion if endpoint == "chat" else LocalCompletionsAPI

    class Client(base):  # type: ignore[valid-type,misc]  # base is one of two lm-eval classes, picked at run time
        answered = 0  # answers this run received (each kept in the answer cache, when there is one)
        malformed = 0  # replies refused as malformed
        cut = 0  # answers longer than the task's token limit allows, cut there
        refused: apiclient.ApiError | None = None  # a failure no retry can mend (a cross-origin redirect)
        _lock = threading.Lock()

        def create_message(self, messages, generate=False):
            out = super().create_message(messages, generate=generate)
            return [{"role": "user", "content": out}] if endpoint == "chat" and isinstance(out, str) else out

        def _create_payload(self, messages, generate=False, gen_kwargs=None, seed=1234, eos=None, **kwargs):
            payload = super()._create_payload(messages, generate=generate, gen_kwargs=gen_kwargs, seed=seed, eos=eos, **kwargs)
            if not payload.get("stop", True):
                del payload["stop"]
            return payload

        def model_call(self, messages, *, generate=True, gen_kwargs=None, **kwargs):
            if not generate:  # never reached: --backend openai refuses --protocol loglikelihood
                raise EcombenchError("--backend openai generates answers only")
            if self.refused is not None:
                raise self.refused
            gen_kwargs = copy.deepcopy(gen_kwargs) or {}
            limit = gen_kwargs.get("max_tokens", gen_kwargs.get("max_gen_toks", self._max_gen_toks))
            payload = self._create_payload(self.create_message(messages), generate=True, gen_kwargs=gen_kwargs, seed=self._seed, eos=self.eos_string, **kwargs)
            try:
                status, reason, body = apiclient.request("POST", self.base_url, payload=payload, headers=api_headers(), timeout=self.timeout)
                if not 200 <= status < 300:
                    raise apiclient.ApiError(self.base_url, f"HTTP {status} {apiclient._one_line(reason, 60)}")
                texts, cut = apiclient.answers(
                    self.base_url, apiclient.reply_json(self.base_url, body), len(messages), endpoint, int(limit) * apiclient.MAX_CHARS_PER_TOKEN
                )
            except apiclient.ApiError as exc:
                with self._lock:
                    Client.malformed += exc.malformed
                    if exc.final:
                        Client.refused = exc
                raise
            with self._lock:
                Client.answered += len(texts)
                Client.cut += cut
            return _Checked(texts)

        def parse_generations(self, outputs, **kwargs):
            return list(outputs)

        async def amodel_call(self, session, sem, messages, *, generate=True, cache_keys=None, ctxlens=None, gen_kwargs=None, **kwargs):
            async with sem:
                texts = await asyncio.to_thread(self.model_call, messages, generate=generate, gen_kwargs=gen_kwargs, **kwargs)
            for text, key in zip(texts, cache_keys or [], strict=False):
                self.cache_hook.add_partial("generate_until", key, text)
            return list(texts)

    Client.__name__ = Client.__qualname__ = f"Ecombench{base.__name__}"
    return Client


class _Checked(list):
    """Answers that passed :func:`ecombench.backends.openai.transport.answers`."""


class _HideApiKey(logging.Filter):
    """lm-eval (and asyncio, for a concurrent request) logs a failed request's ``repr``, which holds its headers;
    the key never reaches a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        import os

        key = os.environ.get(API_KEY_ENV)
        if key and key in (text := record.getMessage()):
            record.msg, record.args = text.replace(key, f"${API_KEY_ENV}"), None
        return True


def build_api(served: ServedModel, *, batch_size: int, concurrency: int, retries: int, timeout: int, extra: dict[str, Any] | None = None):
    """lm-eval's client for an OpenAI-compatible server: prompts go as text (the server tokenizes),
    ``concurrency`` requests in flight, a failed request tried ``retries`` more times with exponential
    backoff (1 s to 10 s, lm-eval's), each request given ``timeout`` seconds. lm-eval reads the API key
    from ``$OPENAI_API_KEY`` when it sends; ecombench never stores it. ``extra`` (``--model-args``) goes on
    to the client (``max_gen_toks``, ``seed``, ``eos_string``, ...)."""
    for key in extra or {}:
        if key in API_MODEL_ARGS:
            raise EcombenchError(f"--model-args {key}: ecombench sets it from {API_MODEL_ARGS[key]}")
    check_api()
    for name in ("lm_eval.models.api_models", "lm_eval.models.openai_completions", "asyncio"):
        log = logging.getLogger(name)
        if not any(isinstance(f, _HideApiKey) for f in log.filters):
            log.addFilter(_HideApiKey())
    kwargs: dict[str, Any] = {
        "base_url": served.endpoint_url,
        "model": served.name,
        "num_concurrent": concurrency,
        "max_retries": retries + 1,
        "timeout": timeout,
        "batch_size": batch_size,
        "tokenizer_backend": None,
        "tokenized_requests": False,
    }
    return _api_client(served.endpoint)(**kwargs, **(extra or {}))


@contextmanager
def api_failures(lm: Any, served: ServedModel, *, retries: int, timeout: int, cached: bool = True) -> Iterator[None]:
    """A server that goes down, is too slow, answers with errors or malformed replies after every retry: one line
    that says what happened and how many of this run's answers the answer cache kept (a rerun asks only for the rest)."""
    from ecombench.backends.openai.transport import ApiError

    try:
        yield
    except ApiError as exc:
        from tqdm import tqdm

        for bar in list(getattr(tqdm, "_instances", ())):  # lm-eval's "Requesting API" bar, left open: end its line first
            bar.close()
        client = type(getattr(lm, "lm", lm))
        kept = getattr(client, "answered", 0)
        malformed = getattr(client, "malformed", 0)
        tries = "" if exc.final else f", {retries + 1} tries"
        bad = f" ({malformed} malformed {'reply' if malformed == 1 else 'replies'}, none kept)" if malformed else ""
        after = (
            f"{kept} answers of this run are kept in the answer cache: run the same command again to go on" if cached else "no answers were kept (--no-cache)"
        )
        raise EcombenchError(f"{served.endpoint_url}: {exc.why}{tries}{bad}; {after}") from exc
