"""A client of HAProxy's runtime API over its stats socket (`stats socket PATH level admin`).

Invariants:
- One command per connection (HAProxy's non-interactive mode: it answers and closes), so no state
  is kept between commands and a restarted HAProxy is simply reached again.
- An answer that is an error (HAProxy prints it instead of failing the connection) raises
  `RuntimeError_` with HAProxy's own words; a socket that cannot be reached raises it too.
- `show stat` is parsed from its CSV into `ServerStat` rows (server lines only: not FRONTEND or
  BACKEND), keyed by (backend, server).
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HaproxyRuntime", "RuntimeError_", "ServerStat", "parse_stat"]

_ERRORS = (
    "unknown command",
    "no such",
    "not found",
    "require",
    "cannot",
    "can't",
    "invalid",
    "error",
    "unexpected",
    "unknown",
    "must be",
    "permission denied",
    "already exists",
    "failed",
)


class RuntimeError_(Exception):
    """HAProxy refused a command, or its socket cannot be reached."""


@dataclass(frozen=True)
class ServerStat:
    backend: str
    name: str
    status: str
    """HAProxy's word: UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2" (going down), "no check", ..."""
    weight: int
    scur: int
    """Current sessions."""
    address: str
    check_status: str

    @property
    def down(self) -> bool:
        return self.status.startswith("DOWN")


def parse_stat(text: str) -> dict[tuple[str, str], ServerStat]:
    """`show stat` CSV -> {(backend, server): ServerStat}."""
    lines = text.lstrip("# ").splitlines()
    out: dict[tuple[str, str], ServerStat] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        sv = row.get("svname") or ""
        if not sv or sv in ("FRONTEND", "BACKEND"):
            continue
        out[(row.get("pxname") or "", sv)] = ServerStat(
            backend=row.get("pxname") or "",
            name=sv,
            status=row.get("status") or "",
            weight=_num(row, "weight"),
            scur=_num(row, "scur"),
            address=row.get("addr") or "",
            check_status=row.get("check_status") or "",
        )
    return out


def _num(row: dict[str, str], key: str) -> int:
    v = row.get(key) or "0"
    return int(v) if v.isdigit() else 0


class HaproxyRuntime:
    def __init__(self, socket: str | Path, timeout_s: float = 2.0) -> None:
        self.socket = str(socket)
        self.timeout_s = timeout_s

    async def command(self, cmd: str) -> str:
        """Send one command, return HAProxy's answer (raises `RuntimeError_` on an error answer)."""
        try:
            async with asyncio.timeout(self.timeout_s):
                reader, writer = await asyncio.open_unix_connection(self.socket)
                try:
                    writer.write(cmd.encode() + b"\n")
                    await writer.drain()
                    data = await reader.read()
                finally:
                    writer.close()
                    await writer.wait_closed()
        except (OSError, TimeoutError) as e:
            raise RuntimeError_(f"HAProxy runtime API at {self.socket}: {e or 'no answer'}") from None
        text = data.decode("utf-8", "replace")
        first = text.strip().splitlines()[0].lower() if text.strip() else ""
        if not cmd.startswith("show ") and any(w in first for w in _ERRORS):
            raise RuntimeError_(f"HAProxy refused {cmd!r}: {text.strip()}")
        return text

    async def stat(self) -> dict[tuple[str, str], ServerStat]:
        return parse_stat(await self.command("show stat"))
