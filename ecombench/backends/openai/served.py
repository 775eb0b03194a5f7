"""A model behind an OpenAI-compatible server: ``--base-url`` and ``--api`` as an API root and endpoint, and the
served model asked once before any task loads (what answered, and what the server says of its weights)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from ecombench.errors import EcombenchError

# --backend openai: a model behind an OpenAI-compatible server. There are no weights to hash, so it is
# known by where it answers and by the model id the server reports in its replies.
API_ENDPOINTS = {"completions": "/completions", "chat": "/chat/completions"}
API_KEY_ENV = "OPENAI_API_KEY"  # the variable lm-eval's local-completions clients read; never a flag, never recorded
API_NOTE = "weights not hashed: served by an OpenAI-compatible server; weights_sha256 is 'api:' + sha256(base_url, model id)"


@dataclass(frozen=True)
class ServedModel:
    """A model answering at ``base_url``: ``name`` is what requests ask for, ``model_id`` what the server says answered,
    ``reported`` what else the server says of the model (``GET /models``'s entry and the reply's ``system_fingerprint``,
    as canonical JSON; empty when it says nothing that would change with its weights)."""

    name: str
    model_id: str
    base_url: str  # the API root, e.g. http://localhost:8000/v1
    endpoint: str  # "completions" (the prompt as text) or "chat" (the server applies its chat template)
    reported: str = ""

    @property
    def endpoint_url(self) -> str:
        return self.base_url + API_ENDPOINTS[self.endpoint]

    @property
    def identity(self) -> str:
        """Stands in for a weights hash, and says it is not one: ``api:`` + sha256 of the URL, the name asked for and
        the model id the server reported (two names one server answers with the same model are still two models)."""
        return "api:" + hashlib.sha256(f"{self.base_url}\0{self.name}\0{self.model_id}".encode()).hexdigest()


def api_root(url: str, api: str | None) -> tuple[str, str]:
    """``--base-url`` and ``--api`` as (API root, endpoint).

    The root is the OpenAI SDK's ``base_url`` (``http://host:port/v1``; a bare ``http://host:port`` means
    ``/v1``). A URL ending in ``/completions`` or ``/chat/completions`` names its endpoint; otherwise
    ``--api`` does, and completions is the default. Credentials and query strings are refused: the URL
    is recorded in the submission, and the key belongs in ``$OPENAI_API_KEY``.
    """
    from urllib.parse import urlsplit

    if api is not None and api not in API_ENDPOINTS:
        raise EcombenchError(f"--api {api}: use completions or chat")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        raise EcombenchError(f"--base-url {url}: not a URL ({exc})") from exc
    if parts.scheme not in ("http", "https") or not host:
        raise EcombenchError(f"--base-url {url}: use http(s)://HOST:PORT/v1")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise EcombenchError(f"--base-url: no credentials or query string in the URL (it is recorded); the API key goes in ${API_KEY_ENV}")
    path, named = parts.path.rstrip("/"), None
    for endpoint in ("chat", "completions"):  # chat first: its path ends in /completions too
        if path.endswith(API_ENDPOINTS[endpoint]):
            path, named = path.removesuffix(API_ENDPOINTS[endpoint]), endpoint
            break
    if named and api and named != api:
        raise EcombenchError(f"--base-url {url} is the {named} endpoint, but --api is {api}")
    return f"{parts.scheme}://{parts.netloc}{path or '/v1'}", api or named or "completions"


def api_headers() -> dict[str, str]:
    key = os.environ.get(API_KEY_ENV)
    return {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}


def _server_said(body: bytes) -> str:
    """The gist of an error reply (OpenAI's ``error.message``, FastAPI's ``detail``, or its first line), on one line."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        data = error.get("message") if isinstance(error, dict) else error or data.get("detail") or data.get("message")
    text = data if isinstance(data, str) else body.decode("utf-8", "replace")
    text = " ".join(text.split())[:200]
    return f" ({text})" if text else ""


MAX_SERVER_TEXT = 200  # of a name a server reports: model ids are some tens of characters


def kept_text(text: str) -> str:
    """A server's name for something as a record keeps it: whole up to ``MAX_SERVER_TEXT`` characters; a longer one
    (a 300 KB model id made a 602 KB record) as its start, its length and a hash of the whole, so two still differ."""
    if len(text) <= MAX_SERVER_TEXT:
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[:MAX_SERVER_TEXT]}... ({len(text)} characters, sha256 {digest})"


# What a server may say of the model it serves that changes when its weights do (vLLM's ``root`` is the folder
# or hub id it loaded, OpenAI's ``system_fingerprint`` its backend configuration); ``created`` is left out:
# vLLM gives the time of the request.
REPORTED_FIELDS = ("id", "root", "parent", "owned_by", "max_model_len", "system_fingerprint")
WEIGHT_FIELDS = ("root", "system_fingerprint")


def _model_card(root: str, names: tuple[str, str], timeout: float) -> dict:
    """The entry of ``GET /models`` for the served model, or {} when the server lists none (or not it)."""
    from ecombench.backends.openai.transport import ApiError, request

    try:
        status, _, body = request("GET", root + "/models", headers=api_headers(), timeout=timeout, max_bytes=4 << 20)
        listed = json.loads(body) if status == 200 else None
    except (ApiError, ValueError, UnicodeDecodeError, RecursionError):
        return {}
    entries = listed.get("data") if isinstance(listed, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id") in names:
            return entry
    return {}


def resolve_served_model(url: str, name: str, api: str | None, timeout: float) -> ServedModel:
    """Ask the server for one greedy token from ``name``, before any task loads: a server that is down, slower
    than ``timeout``, refusing the key or the model is one line here. Its reply names the model that answered;
    ``GET /models`` may say more of it (``reported``).
    """
    from ecombench.backends.openai.transport import ApiError, answers, reply_json, request

    root, endpoint = api_root(url, api)
    served = ServedModel(name=name, model_id=name, base_url=root, endpoint=endpoint)
    ask = {"messages": [{"role": "user", "content": "Hello"}]} if endpoint == "chat" else {"prompt": "Hello"}
    where = served.endpoint_url
    status, reason, body = request("POST", where, payload={"model": name, **ask, "max_tokens": 1, "temperature": 0}, headers=api_headers(), timeout=timeout)
    if status >= 400:
        said = _server_said(body)
        if status in (401, 403):
            raise EcombenchError(f"{where}: HTTP {status}, the server refused the API key (set ${API_KEY_ENV}){said}")
        if status == 404:
            raise EcombenchError(f"{where}: HTTP 404, no such endpoint or model '{name}' (check --base-url, --api and --model){said}")
        raise EcombenchError(f"{where}: HTTP {status} to a one-token test request{said}")
    if not 200 <= status < 300:
        raise EcombenchError(f"{where}: HTTP {status} {reason} to a one-token test request")
    try:
        reply = reply_json(where, body)
        answers(where, reply, 1, endpoint)
    except ApiError as exc:
        raise EcombenchError(f"{where}: the reply is not an OpenAI {endpoint} answer ({exc.why}; is --base-url an OpenAI-compatible API root?)") from exc
    model_id = kept_text(reply["model"]) if isinstance(reply.get("model"), str) and reply.get("model") else name
    card = {**_model_card(root, (name, model_id), timeout), "system_fingerprint": reply.get("system_fingerprint")}
    details = {k: card[k] for k in REPORTED_FIELDS if card.get(k) not in (None, "")}
    told = json.dumps(details, sort_keys=True) if any(k in details for k in WEIGHT_FIELDS) else ""
    return ServedModel(name=name, model_id=model_id, base_url=root, endpoint=endpoint, reported=told)
