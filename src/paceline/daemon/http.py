"""A tiny HTTP/1.1 server over a Unix socket for the local API (one request per connection).

Invariants: the socket file is created owner-only (0600, under a 0700 directory); a request is
`METHOD PATH[?QUERY]` with an optional JSON body (Content-Length); every answer is JSON with
`Connection: close`. A handler exception becomes a 500 with the message, never a crash; a client
that does not send its request within `read_timeout_s` gets a 408.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["HttpError", "Request", "UnixHttpServer"]

log = logging.getLogger("paceline.api")

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}


class HttpError(Exception):
    def __init__(self, status: int, message: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {"error": message}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def parts(self) -> list[str]:
        return [unquote(p) for p in self.path.strip("/").split("/") if p]


Handler = Callable[[Request], Awaitable[Any]]


class UnixHttpServer:
    def __init__(self, path: str | os.PathLike[str], handler: Handler) -> None:
        self.path = Path(path)
        self.handler = handler
        self.read_timeout_s = 10.0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                status, body = await self._handle(reader)
            except TimeoutError:
                status, body = 408, {"error": "request not received in time"}
            data = json.dumps(body).encode()
            head = (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + data)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, Any]:
        try:
            async with asyncio.timeout(self.read_timeout_s):
                request = await self._read(reader)
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": "bad request"}
        try:
            return 200, await self.handler(request)
        except HttpError as e:
            return e.status, e.body
        except Exception as e:
            log.exception("API handler failed for %s %s", request.method, request.path)
            return 500, {"error": f"{type(e).__name__}: {e}"}

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Request:
        line = (await reader.readline()).decode("latin-1").strip()
        method, target, _ = line.split(" ", 2)
        length = 0
        while True:
            h = (await reader.readline()).decode("latin-1").strip()
            if not h:
                break
            name, _, value = h.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        raw = await reader.readexactly(length) if length else b""
        body = json.loads(raw) if raw else None
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        return Request(method.upper(), url.path, query, body)
