"""One OpenAI-compatible server on localhost (stdlib ``http.server``) whose answers a test sets.

By default every question is answered "1" (one choice per prompt of a batch) as ``model_id``. A test changes
that through ``fail_after`` (answer that many questions, then HTTP 500), ``delay`` (seconds per question),
``root`` (``GET /models`` lists the model with this root; otherwise 404) or ``behave(handler, body, probe)``,
which answers a request itself with ``handler.reply(...)`` and returns True, or returns False to leave it to
the default. The probe (the one-token request ecombench sends before a run) is never delayed or refused.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROBE = "Hello"  # the prompt of ecombench's one-token request before a run


def choice(path: str, text: object) -> dict:
    """An answer's choice as the endpoint at ``path`` words it (chat: a message; completions: a text)."""
    if path.endswith("/chat/completions"):
        return {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    return {"index": 0, "text": text, "finish_reason": "stop"}


class FakeServer:
    """Started at construction (``url`` ends in ``/v1``); ``close()`` or a ``with`` block stops it. ``questions``
    holds the bodies of the questions asked (not probes), ``auth`` every request's Authorization header."""

    def __init__(self, model_id: str = "fake-model") -> None:
        self.model_id = model_id
        self.root: str | None = None
        self.fail_after: int | None = None
        self.delay = 0.0
        self.behave: Callable[[BaseHTTPRequestHandler, dict, bool], bool] | None = None
        self.questions: list[dict] = []
        self.auth: list[str | None] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep pytest's output clean
                pass

            def do_GET(self):
                server.auth.append(self.headers.get("Authorization"))
                if self.path.endswith("/models") and server.root is not None:
                    return self.reply(200, {"object": "list", "data": [{"id": server.model_id, "root": server.root, "created": time.time()}]})
                self.reply(404, {"error": {"message": "no"}})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                probe = body.get("max_tokens") == 1 and PROBE in (body.get("prompt"), (body.get("messages") or [{}])[-1].get("content"))
                with server.lock:
                    server.auth.append(self.headers.get("Authorization"))
                    if not probe:
                        server.questions.append(body)
                    refuse = not probe and server.fail_after is not None and len(server.questions) > server.fail_after
                if refuse:
                    return self.reply(500, {"error": {"message": "model crashed"}})
                if server.behave is not None and server.behave(self, body, probe):
                    return
                if not probe and server.delay:
                    time.sleep(server.delay)
                prompts = body.get("prompt")
                count = len(prompts) if isinstance(prompts, list) else 1
                choices = [{**choice(self.path, "1"), "index": i} for i in range(count)]
                self.reply(200, {"id": "x", "object": "text_completion", "model": server.model_id, "choices": choices})

            def reply(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (timeout tests)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
