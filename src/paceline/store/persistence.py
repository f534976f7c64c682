"""Durable storage under the embedded store: a SQLite file in the state directory.

Invariants: `save(events, revision)` applies the PUT/DELETE events and the new revision in one
SQLite transaction (WAL, synchronous=NORMAL: a crash of the daemon loses nothing that `save`
returned; a power cut may lose the last moments). `load()` returns exactly the keys and revision
of the last completed `save`.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Protocol

from .protocol import EventType, KeyValue, WatchEvent

__all__ = ["Persistence", "SqlitePersistence"]


class Persistence(Protocol):
    def load(self) -> tuple[list[KeyValue], int]: ...

    def save(self, events: list[WatchEvent], revision: int) -> None: ...

    def close(self) -> None: ...


class SqlitePersistence:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
            " create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL, version INTEGER NOT NULL)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        os.chmod(self.path, 0o600)

    def load(self) -> tuple[list[KeyValue], int]:
        rows = self._db.execute("SELECT key, value, create_rev, mod_rev, version FROM kv ORDER BY key")
        kvs = [KeyValue(k, v, c, m, n) for k, v, c, m, n in rows]
        row = self._db.execute("SELECT value FROM meta WHERE name = 'revision'").fetchone()
        return kvs, int(row[0]) if row else 0

    def save(self, events: list[WatchEvent], revision: int) -> None:
        cur = self._db.cursor()
        cur.execute("BEGIN")
        try:
            for ev in events:
                kv = ev.kv
                if ev.type is EventType.PUT:
                    cur.execute(
                        "INSERT OR REPLACE INTO kv VALUES (?, ?, ?, ?, ?)",
                        (kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version),
                    )
                else:
                    cur.execute("DELETE FROM kv WHERE key = ?", (kv.key,))
            cur.execute("INSERT OR REPLACE INTO meta VALUES ('revision', ?)", (revision,))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()
