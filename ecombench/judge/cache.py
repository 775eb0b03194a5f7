"""The judge's replies, cached by what decides them: judge identity, template sha256, question, answer, reference.

One SQLite file (``<cache dir>/judge/replies.sqlite3``, beside the answer cache; ``ECOMBENCH_CACHE`` moves both)
maps a key to the judge's raw reply; the verdict is parsed again on every read, so a change to the parser never
leaves a stale verdict behind. Replies are greedy, so the same prompt to the same judge gives the same reply: a
second grading of the same pairs asks the judge nothing. SQLite makes concurrent runs safe; a cache that cannot
be read or written costs only time (the judge is asked again), as the other ecombench caches do.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ecombench.paths import cache_dir

_CHUNK = 500  # keys per query: under SQLite's bound-parameter limit


def cache_key(judge_identity: str, template_sha256: str, question: str, answer: str, reference: str = "") -> str:
    """sha256 over the five things a verdict depends on (the reference: the gold answer, a rubric point or the
    other answer of a pair), as a JSON list so that no two different tuples share a key."""
    return hashlib.sha256(json.dumps([judge_identity, template_sha256, question, answer, reference], ensure_ascii=False).encode("utf-8")).hexdigest()


def default_path() -> Path:
    return cache_dir() / "judge" / "replies.sqlite3"


class JudgeCache:
    """Replies by key, in one SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        connection.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, judge TEXT NOT NULL, template_sha256 TEXT NOT NULL, reply TEXT NOT NULL)")
        return connection

    def get_many(self, keys: Iterable[str]) -> dict[str, str]:
        """The cached replies of those keys that have one."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        try:
            connection = self._connect()
        except (OSError, sqlite3.Error):
            return found
        try:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(connection.execute(f"SELECT key, reply FROM replies WHERE key IN ({marks})", chunk).fetchall())
        except sqlite3.Error:
            return {}
        finally:
            connection.close()
        return found

    def put_many(self, replies: dict[str, str], judge_identity: str, template_sha256: str) -> None:
        """Keep replies (one transaction: all or none)."""
        if not replies:
            return
        try:
            connection = self._connect()
        except (OSError, sqlite3.Error):
            return
        try:
            with connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO replies (key, judge, template_sha256, reply) VALUES (?, ?, ?, ?)",
                    [(key, judge_identity, template_sha256, reply) for key, reply in replies.items()],
                )
        except sqlite3.Error:
            pass
        finally:
            connection.close()
