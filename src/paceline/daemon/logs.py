"""The daemon's log: one line per event, plain text or JSON (`--log-json`), on stderr.

Plain: `2026-11-22T00:59:01.123Z INFO  failure node=h1 rsc=web: web monitor failed ...`
JSON:  `{"ts": ..., "level": "info", "kind": "failure", "node": "h1", "rsc": "web", "msg": ...}`
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

__all__ = ["setup_logging"]


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        ts = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        fields: dict[str, object] = dict(getattr(record, "fields", {}) or {})
        msg = record.getMessage()
        if record.exc_info:
            msg += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        if self.as_json:
            out: dict[str, object] = {"ts": ts, "level": record.levelname.lower(), "logger": record.name}
            out.update(fields)
            out["msg"] = msg
            return json.dumps(out, default=str)
        tags = " ".join(f"{k}={v}" for k, v in fields.items() if k != "kind" and v not in (None, ""))
        kind = fields.get("kind", record.name.rsplit(".", 1)[-1])
        return f"{ts} {record.levelname:<5} {kind} {tags + ': ' if tags else ''}{msg}"


def setup_logging(as_json: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json))
    root = logging.getLogger("paceline")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
