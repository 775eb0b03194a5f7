"""``ecombench report --serve``: serve the report folder on localhost and rebuild it when submissions change.

A thread looks at the submissions folder every ``interval`` seconds (names, sizes and modification
times of its ``*.json`` records, which are written last and by rename) and calls ``rebuild`` when
they change; the site is swapped in whole, so a request sees the old site or the new one. Served
pages look for a new ``data/stamp.js`` every few seconds: the board reloads itself, the other
pages offer a reload.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ecombench.errors import EcombenchError

DATA_FOLDERS = ("data", "items")  # the report's data: names, prompts, answers


class _Handler(SimpleHTTPRequestHandler):
    """The report folder, for this machine's browser only.

    - ``Host`` must name this machine (``localhost``, ``127.0.0.1`` or ``[::1]``, with the bound port): a
      page whose name was rebound to 127.0.0.1 (DNS rebinding) is refused;
    - data (``data/``, ``items/``) is read by the pages as JSON (``X.json`` is ``X.js``'s value) fetched
      same-origin; a data script (``X.js``) is served only to a same-origin request, so a page on another
      origin (another localhost port included) cannot include it and read the report; every reply says
      ``Cross-Origin-Resource-Policy: same-origin`` and ``nosniff``;
    - no directory listings.
    """

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would drown the rebuild messages

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rebuilt site is seen at once
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def _port(self) -> int:
        return int(self.server.server_address[1])  # type: ignore[index]  # an (address, port) pair: IPv4

    def _host_ok(self) -> bool:
        from urllib.parse import urlsplit

        host = self.headers.get("Host", "")
        try:
            parts = urlsplit(f"//{host}")
            port = parts.port
        except ValueError:
            return False
        return (parts.hostname or "") in ("localhost", "127.0.0.1", "::1") and port in (None, self._port())

    def _same_origin(self) -> bool:
        """Whether the browser says this request comes from the report's own pages (``Sec-Fetch-Site``; else ``Referer``)."""
        from urllib.parse import urlsplit

        site = self.headers.get("Sec-Fetch-Site")
        if site is not None:
            return site in ("same-origin", "none")
        referer = self.headers.get("Referer")
        if not referer:
            return False
        try:
            parts = urlsplit(referer)
            return parts.hostname in ("localhost", "127.0.0.1", "::1") and parts.port == self._port()
        except ValueError:
            return False

    def send_head(self):  # type: ignore[no-untyped-def]  # http.server's own signature
        if not self._host_ok():
            self.send_error(421, "Misdirected Request: this server answers to localhost only")
            return None
        # the path as the file server reads it (decoded, `.` and `..` resolved), so `/data%2Fboard-0.js`,
        # `/%64ata/...`, `/%2e/data/...` and `/assets/../data/...` are the data they name
        local = Path(self.translate_path(self.path))
        top = os.path.relpath(local, self.directory).split(os.sep, 1)[0]
        if top in DATA_FOLDERS and local.name.endswith(".json"):
            return self._data_json(local.with_name(local.name.removesuffix(".json") + ".js"))
        if top in DATA_FOLDERS and not self._same_origin():
            self.send_error(403, "Forbidden: the report's data is for its own pages (fetch X.json)")
            return None
        return super().send_head()

    def _data_json(self, local: Path):  # type: ignore[no-untyped-def]
        import io

        from ecombench.leaderboard.sitedata import script_value

        try:
            text = local.read_text(encoding="utf-8") if local.is_file() else None
        except (OSError, UnicodeDecodeError):
            text = None
        try:
            raw = script_value(text).encode() if text is not None else None
        except (EcombenchError, ValueError):
            raw = None
        if raw is None:
            self.send_error(404, "File not found")
            return None
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        return io.BytesIO(raw)

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(404, "File not found")
        return None


def snapshot(folder: Path) -> frozenset[tuple[str, int, int]]:
    """What changes when a submission lands, is rewritten or removed."""
    try:
        with os.scandir(folder) as entries:
            return frozenset((e.name, e.stat().st_mtime_ns, e.stat().st_size) for e in entries if e.name.endswith(".json") and e.is_file())
    except OSError:
        return frozenset()


def watch(folder: Path, rebuild: Callable[[], object], stop: threading.Event, interval: float = 1.0) -> None:
    """Call ``rebuild`` whenever ``snapshot(folder)`` changes, until ``stop`` is set; a failed rebuild is reported, not fatal."""
    seen = snapshot(folder)
    while not stop.wait(interval):
        now = snapshot(folder)
        if now == seen:
            continue
        seen = now
        try:
            rebuild()
            _say(f"ecombench: rebuilt the report ({len(now)} submissions)")
        except Exception as exc:  # whatever a submission breaks, the last good site stays served
            why = str(exc) if isinstance(exc, EcombenchError) else f"{type(exc).__name__}: {exc}"
            _say(f"ecombench: warning: report not rebuilt, the last good one is still served: {why}")


def _say(line: str) -> None:
    """A line on stderr; a closed or full stderr (a broken pipe) never stops the server."""
    from ecombench.terminal import safe_text

    try:
        print(safe_text(line), file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        """A browser that goes away mid-reply (a broken pipe) is no news; anything else is one line, not a traceback."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError | TimeoutError):
            _say(f"ecombench: warning: a request failed: {type(exc).__name__}: {exc}")


def make_server(out: Path, port: int) -> ThreadingHTTPServer:
    """The report server on 127.0.0.1:``port`` (0: any free port), not yet serving."""
    if not 0 <= port <= 65535:
        raise EcombenchError(f"--port {port}: use 1 to 65535, or 0 for any free one")
    handler = functools.partial(_Handler, directory=str(out.absolute()))
    try:
        return _Server(("127.0.0.1", port), handler)
    except OSError as exc:
        raise EcombenchError(f"--port {port}: cannot serve there ({exc.strerror}); pick another port, or --port 0 for any free one") from exc


def serve_site(out: Path, folder: Path, rebuild: Callable[[], object], port: int = 8000, interval: float = 1.0) -> None:
    """Serve ``out`` on 127.0.0.1:``port`` until interrupted, rebuilding it as submissions land in ``folder``."""
    server = make_server(out, port)
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(folder, rebuild, stop, interval), daemon=True)
    watcher.start()
    print(f"serving http://127.0.0.1:{server.server_address[1]}/ ; rebuilt when a submission lands in {folder} (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
