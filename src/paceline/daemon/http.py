"""A tiny HTTP/1.1 server (one request per connection) over a Unix socket (the local API) or TCP
(the web API, dashboard and metrics, optionally with TLS).

Invariants: the Unix socket file is created owner-only (0600, under a 0700 directory); a request
is `METHOD PATH[?QUERY]` with an optional JSON body (Content-Length, at most `max_body` bytes:
else 413); every answer has `Connection: close`. A handler returns a JSON-able value (200, JSON),
a `Response` (any status, type and bytes) or a `Stream` (chunks written as they come, e.g.
server-sent events, until the client goes away or the server closes). A handler exception becomes
a 500 with the message, never a crash; a client that does not send its request within
`read_timeout_s` gets a 408. `close()` ends every open connection, streams included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["HttpError", "Request", "Response", "Stream", "TcpHttpServer", "UnixHttpServer"]

log = logging.getLogger("paceline.api")

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    504: "Gateway Timeout",
}


class HttpError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        body: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body or {"error": message}
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""

    @property
    def parts(self) -> list[str]:
        return [unquote(p) for p in self.path.strip("/").split("/") if p]


@dataclass(frozen=True)
class Response:
    """An answer that is not JSON (a page, a script, the metrics text)."""

    body: bytes
    content_type: str = "application/json"
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stream:
    """An answer written chunk by chunk as `chunks` yields them (no Content-Length)."""

    chunks: AsyncIterator[bytes]
    content_type: str = "text/event-stream"
    headers: Mapping[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Any]]


class _HttpServer:
    max_body = 4 * 1024 * 1024

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.read_timeout_s = 10.0
        self._server: asyncio.AbstractServer | None = None
        self._conns: set[asyncio.Task[Any]] = set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._conns):
            t.cancel()
        if self._conns:
            await asyncio.wait(list(self._conns), timeout=2)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        try:
            try:
                status, answer = await self._handle(reader)
            except TimeoutError:
                status, answer = 408, {"error": "request not received in time"}
            if isinstance(answer, Stream):
                await self._stream(writer, answer)
                return
            extra: Mapping[str, str] = {}
            if isinstance(answer, Response):
                status, ctype, data, extra = answer.status, answer.content_type, answer.body, answer.headers
            elif isinstance(answer, HttpError):
                ctype, data, extra = "application/json", json.dumps(answer.body).encode(), answer.headers
            else:
                ctype, data = "application/json", json.dumps(answer).encode()
            writer.write(_head(status, ctype, extra, len(data)) + data)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            if task is not None:
                self._conns.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    @staticmethod
    async def _stream(writer: asyncio.StreamWriter, answer: Stream) -> None:
        writer.write(_head(200, answer.content_type, {"Cache-Control": "no-store", **answer.headers}, None))
        await writer.drain()
        try:
            async for chunk in answer.chunks:
                writer.write(chunk)
                await writer.drain()
        finally:
            close = getattr(answer.chunks, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, Any]:
        try:
            async with asyncio.timeout(self.read_timeout_s):
                request = await self._read(reader)
        except HttpError as e:
            return e.status, e
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": "bad request"}
        try:
            return 200, await self.handler(request)
        except HttpError as e:
            return e.status, e
        except Exception as e:
            log.exception("API handler failed for %s %s", request.method, request.path)
            return 500, {"error": f"{type(e).__name__}: {e}"}

    async def _read(self, reader: asyncio.StreamReader) -> Request:
        line = (await reader.readline()).decode("latin-1").strip()
        method, target, _ = line.split(" ", 2)
        length = 0
        headers: dict[str, str] = {}
        while True:
            h = (await reader.readline()).decode("latin-1").strip()
            if not h:
                break
            name, _, value = h.partition(":")
            headers[name.strip().lower()] = value.strip()
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length > self.max_body:
            raise HttpError(413, f"request body larger than {self.max_body} bytes")
        raw = await reader.readexactly(length) if length else b""
        body = json.loads(raw) if raw else None
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        return Request(method.upper(), url.path, query, body, headers)


def _head(status: int, ctype: str, extra: Mapping[str, str], length: int | None) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", f"Content-Type: {ctype}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.extend(f"{k}: {v}" for k, v in extra.items())
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class UnixHttpServer(_HttpServer):
    def __init__(self, path: str | os.PathLike[str], handler: Handler) -> None:
        super().__init__(handler)
        self.path = Path(path)

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
        await super().close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class TcpHttpServer(_HttpServer):
    """HTTP (or HTTPS with `tls`) on host:port; port 0 picks a free port (see `port` once started)."""

    def __init__(self, host: str, port: int, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(handler)
        self.host = host
        self.port = port
        self.tls = tls

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.tls)
        socks = self._server.sockets
        if socks:
            self.port = int(socks[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"
