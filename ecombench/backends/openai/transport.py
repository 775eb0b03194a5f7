"""HTTP for ``--backend openai``, written for servers run by strangers.

Every request to the server (the pre-flight, ``GET /models`` and each question) goes through
:func:`request`, which promises:

- the API key never leaves the origin of ``--base-url``: a redirect to another scheme, host or port
  is refused in one line and not followed; a same-origin 307/308 is followed (at most 3 times);
- a reply is read up to ``MAX_REPLY_BYTES`` and no further (an endless body is an error, not memory);
- ``timeout`` bounds the whole request, from connecting to the last byte: a server that trickles
  bytes is cut off when the time is up (the socket is shut down from a timer);
- :func:`answers` checks each reply before anything is kept: a malformed one is an error, never an
  empty answer, and never reaches the answer cache.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from ecombench.errors import EcombenchError

MAX_REPLY_BYTES = 16 << 20  # far above any real reply (answers are cut to the task's token limit anyway)
MAX_REDIRECTS = 3
# The server tokenizes, so ecombench cannot count an answer's tokens; no tokenizer's token is longer than this
# many characters in practice, so an answer longer than max_tokens * this ignored the limit and is cut there.
MAX_CHARS_PER_TOKEN = 32


class ApiError(EcombenchError):
    """A request that failed; ``why`` says how without the URL, ``final`` when retrying cannot help."""

    def __init__(self, url: str, why: str, *, final: bool = False, malformed: bool = False) -> None:
        super().__init__(f"{url}: {why}")
        self.url, self.why, self.final, self.malformed = url, why, final, malformed


def _one_line(text: str, limit: int = 120) -> str:
    return " ".join(text.split())[:limit]


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL, the default port filled in."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def request(method: str, url: str, *, payload: Any = None, headers: dict[str, str], timeout: float, max_bytes: int | None = None) -> tuple[int, str, bytes]:
    """(status, reason, body) of one request; redirects within the origin followed, none across."""
    deadline = time.monotonic() + timeout
    data = None if payload is None else json.dumps(payload).encode()
    for _ in range(MAX_REDIRECTS + 1):
        status, reason, location, body = _once(method, url, data, headers, deadline, timeout, max_bytes or MAX_REPLY_BYTES)
        if status not in (301, 302, 303, 307, 308):
            return status, reason, body
        target = urljoin(url, location or "")
        if origin(target) != origin(url):
            scheme, host, port = origin(target)
            raise ApiError(
                url,
                f"the server redirects to another origin ({_one_line(f'{scheme}://{host}:{port}', 80)}); ecombench never sends the API key "
                "across origins: pass that server's URL as --base-url if you trust it",
                final=True,
            )
        if status not in (307, 308):
            raise ApiError(
                url, f"HTTP {status} redirect to {_one_line(target)}, which would turn the request into a GET; pass that URL as --base-url", final=True
            )
        url = target
    raise ApiError(url, f"more than {MAX_REDIRECTS} redirects", final=True)


def _once(method: str, url: str, data: bytes | None, headers: dict[str, str], deadline: float, timeout: float, cap: int) -> tuple[int, str, str | None, bytes]:
    parts = urlsplit(url)
    left = deadline - time.monotonic()
    if left <= 0:
        raise ApiError(url, f"no answer within {timeout:g} s (--request-timeout)")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = kind(parts.hostname or "", parts.port, timeout=left)
    expired = threading.Event()
    opened: list[socket.socket] = []  # the connection drops its socket when the reply says "close"; the reply keeps reading it

    def cut() -> None:  # a socket timeout bounds one read; this bounds them all
        expired.set()
        for sock in opened:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(left, cut)
    timer.daemon = True
    timer.start()
    try:
        conn.connect()
        opened.append(conn.sock)
        if expired.is_set():
            raise TimeoutError
        conn.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""), body=data, headers=headers)
        response = conn.getresponse()
        length = response.getheader("Content-Length") or ""
        if length.isdigit() and int(length) > cap:
            raise ApiError(url, f"the reply is larger than {cap >> 20} MiB (Content-Length {length}); ecombench reads no more than that", final=True)
        chunks, total = [], 0
        while chunk := response.read1(1 << 16):
            total += len(chunk)
            if total > cap:
                raise ApiError(url, f"the reply is larger than {cap >> 20} MiB; ecombench stopped reading there")
            chunks.append(chunk)
        if expired.is_set():
            raise TimeoutError
        return response.status, response.reason, response.getheader("Location"), b"".join(chunks)
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set() or isinstance(exc, TimeoutError):
            raise ApiError(url, f"no answer within {timeout:g} s (--request-timeout)") from exc
        raise ApiError(url, f"cannot reach the server: {_one_line(str(exc) or type(exc).__name__)} (is it running?)") from exc
    finally:
        timer.cancel()
        conn.close()


def reply_json(url: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(url, "malformed reply (not JSON)", malformed=True) from exc


def answers(url: str, reply: Any, count: int, endpoint: str, max_chars: int | None = None) -> tuple[list[str], int]:
    """The ``count`` answers of an OpenAI reply in request order, and how many were cut to ``max_chars``.

    Raises ApiError (``malformed``) for anything but a JSON object whose ``choices`` hold one choice per
    question, each with its integer ``index`` and its answer as a string (``text``, or ``message.content``).
    """

    def bad(what: str) -> ApiError:
        return ApiError(url, f"malformed reply ({what})", malformed=True)

    if not isinstance(reply, dict):
        raise bad(f"a JSON {type(reply).__name__}, not an object")
    choices = reply.get("choices")
    if not isinstance(choices, list) or len(choices) != count:
        raise bad(f"'choices' is not a list of {count}")
    out: list[str | None] = [None] * count
    for choice in choices:
        index = choice.get("index") if isinstance(choice, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count or out[index] is not None:
            raise bad("a choice without a valid 'index'")
        if endpoint == "chat":
            message = choice.get("message")
            text = message.get("content") if isinstance(message, dict) else None
        else:
            text = choice.get("text")
        if not isinstance(text, str):
            field = "message.content" if endpoint == "chat" else "text"
            raise bad(f"'{field}' is {type(text).__name__ if text is not None else 'missing or null'}, not a string")
        out[index] = text
    texts = [t or "" for t in out]
    if max_chars is None:
        return texts, 0
    return [t[:max_chars] for t in texts], sum(len(t) > max_chars for t in texts)
