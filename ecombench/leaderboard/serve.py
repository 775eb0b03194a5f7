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


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per request would drown the rebuild messages

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rebuilt site is seen at once
        super().end_headers()


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
            print(f"ecombench: rebuilt the report ({len(now)} submissions)", file=sys.stderr, flush=True)
        except EcombenchError as exc:
            print(f"ecombench: warning: report not rebuilt: {exc}", file=sys.stderr, flush=True)


def serve_site(out: Path, folder: Path, rebuild: Callable[[], object], port: int = 8000, interval: float = 1.0) -> None:
    """Serve ``out`` on 127.0.0.1:``port`` until interrupted, rebuilding it as submissions land in ``folder``."""
    handler = functools.partial(_Handler, directory=str(out.absolute()))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise EcombenchError(f"--port {port}: cannot serve there ({exc.strerror}); pick another port, or --port 0 for any free one") from exc
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
