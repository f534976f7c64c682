"""The web API, dashboard and metrics on TCP: `WebApi.handle` in front of the daemon's `Api`.

One implementation of each route: `/api/v1/...` is translated to the local API's route and
answered by the same `Api` (or `ClusterApi`) object the Unix socket serves, so the CLI and the
web give the same effects and the same errors.

    GET  /api/v1/status                      GET  /api/v1/events?since=N&limit=M  ({events, cursor})
    GET  /api/v1/stream?since=N              server-sent events: `status` (whenever it changes)
                                             and `events` ({events, cursor}, new ones only)
    POST /api/v1/resources/{id}/{action}     move, ban, clear, cleanup, restart ({node?})
    POST /api/v1/nodes/{name}/{action}       standby, online, maintenance, fence
    GET  /api/v1/config[/history|/{version}|/diff?from=&to=]
    POST /api/v1/config/validate|diff|apply  {text, source?}
    GET  /api/v1/explain/{rsc}               GET  /api/v1/whoami  ({role})
    GET  /metrics                            GET  /  and /static/{file}: the dashboard

Access: without a token, everything that changes nothing (GETs, config validate and diff); a
request that sends a token (`Authorization: Bearer TOKEN`) must send a valid one, else 401 and
nothing is done; the actions need the admin role: 401 without a token, 403 with a read token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..daemon.http import HttpError, Request, Response, Stream
from .tokens import Role, TokenFile

if TYPE_CHECKING:
    from ..daemon.api import Api

__all__ = ["WebApi"]

log = logging.getLogger("paceline.web")

_READ_POSTS = {("config", "validate"), ("config", "diff")}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
_SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:",
    "X-Frame-Options": "DENY",
}


class WebApi:
    def __init__(self, api: Api, tokens: TokenFile, metrics: Callable[[], Any] | None = None) -> None:
        self.api = api
        self.tokens = tokens
        self.metrics = metrics
        self.feed = Feed(api)

    async def close(self) -> None:
        await self.feed.close()

    def role(self, req: Request) -> Role | None:
        """The caller's role: None without a token; 401 for a token that is not valid."""
        auth = req.headers.get("authorization", "")
        if not auth:
            return None
        scheme, _, token = auth.partition(" ")
        entry = self.tokens.check(token.strip()) if scheme.lower() == "bearer" and token.strip() else None
        if entry is None:
            if self.tokens.problem:
                log.error("API token file: %s", self.tokens.problem)
            raise HttpError(401, "invalid token", headers={"WWW-Authenticate": 'Bearer realm="paceline"'})
        return entry.role

    async def handle(self, req: Request) -> Any:
        parts = req.parts
        role = self.role(req)
        if parts[:2] == ["api", "v1"]:
            return await self._api(req, parts[2:], role)
        if req.method != "GET":
            raise HttpError(405, f"{req.method} {req.path}: only GET here")
        if parts == ["metrics"] and self.metrics is not None:
            return Response(await self.metrics(), "text/plain; version=0.0.4; charset=utf-8")
        if not parts or parts == ["index.html"]:
            return _static("index.html")
        if len(parts) == 2 and parts[0] == "static":
            return _static(parts[1])
        raise HttpError(404, f"no such page: {req.path}")

    async def _api(self, req: Request, rest: list[str], role: Role | None) -> Any:
        if req.method == "POST" and tuple(rest[:2]) not in _READ_POSTS:
            if role is None:
                raise HttpError(
                    401,
                    "this action needs an admin token",
                    headers={"WWW-Authenticate": 'Bearer realm="paceline"'},
                )
            if role is not Role.ADMIN:
                raise HttpError(403, "this action needs an admin token (the token given has the read role)")
        elif req.method not in ("GET", "POST"):
            raise HttpError(405, f"{req.method} is not an API method here")
        if req.method == "GET" and rest == ["whoami"]:
            return {"role": role.value if role is not None else None}
        if req.method == "GET" and rest == ["stream"]:
            return Stream(self.feed.stream(int(req.query.get("since", "0") or 0)))
        inner = _translate(req.method, rest)
        if inner is None:
            raise HttpError(404, f"no such API endpoint: {req.method} {req.path}")
        if req.method == "POST":
            log.info("web API: %s %s (role %s)", req.method, req.path, role.value if role else "none")
        path = "/" + "/".join(quote(p, safe="") for p in inner)
        return await self.api.handle(Request(req.method, path, dict(req.query), req.body, req.headers))


def _translate(method: str, rest: list[str]) -> list[str] | None:
    """The local API's route for an /api/v1 route (None: there is none)."""
    if not rest:
        return None
    head, n = rest[0], len(rest)
    if method == "GET" and rest in (["status"], ["events"]):
        return rest
    if method == "POST" and head == "resources" and n == 3:
        return ["resource", rest[1], rest[2]]
    if method == "POST" and head == "nodes" and n == 3:
        return ["node", rest[1], rest[2]]
    if (
        head == "config"
        and n <= 2
        and (method == "GET" or (n == 2 and rest[1] in ("apply", "validate", "diff")))
    ):
        return rest
    if method == "GET" and head == "explain" and n == 2:
        return rest
    return None


def _static(name: str) -> Response:
    base = resources.files("paceline.web").joinpath("static")
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _TYPES:
        raise HttpError(404, f"no such file: {name}")
    f = base.joinpath(name)
    if not f.is_file():
        raise HttpError(404, f"no such file: {name}")
    return Response(f.read_bytes(), _TYPES[suffix], headers={**_SECURITY, "Cache-Control": "no-cache"})


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Feed:
    """Reads status and new events once per `interval_s` while someone listens, for every
    stream at once (a dashboard open in ten browsers reads the store as often as one)."""

    keepalive_s = 15.0

    def __init__(self, api: Api, interval_s: float = 0.5) -> None:
        self.api = api
        self.interval_s = interval_s
        self.status: dict[str, Any] | None = None
        self.status_text = ""
        self.recent: list[dict[str, Any]] = []
        self.cursor = -1
        self.version = 0
        self.listeners = 0
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _events(self, since: int, limit: int) -> dict[str, Any]:
        query = {"since": str(since), "limit": str(limit)}
        data: dict[str, Any] = await self.api.handle(Request("GET", "/events", query))
        return data

    async def _poll_once(self) -> None:
        status = await self.api.status()
        text = json.dumps(status, sort_keys=True)
        changed = False
        if text != self.status_text:
            self.status, self.status_text, changed = status, text, True
        if self.cursor < 0:
            self.cursor = (await self._events(0, 1))["cursor"]
        else:
            data = await self._events(self.cursor, 0)
            if data["events"]:
                self.recent = (self.recent + data["events"])[-500:]
                self.cursor = data["cursor"]
                changed = True
        if changed:
            async with self._changed:
                self.version += 1
                self._changed.notify_all()

    async def _run(self) -> None:
        while self.listeners:
            try:
                await self._poll_once()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # the store may be out of reach for a moment
                log.debug("dashboard feed: %s", e)
            await asyncio.sleep(self.interval_s)
        self._task = None

    async def _wait_past(self, version: int) -> None:
        """Until the feed's version is past `version`, or `keepalive_s`."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.version != version), self.keepalive_s
                )

    async def stream(self, since: int) -> AsyncIterator[bytes]:
        self.listeners += 1
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        try:
            status = await self.api.status()
            first = await self._events(since, 200 if since == 0 else 0)
            cursor = first["cursor"]
            yield b"retry: 1000\n\n" + _sse("status", status) + _sse("events", first)
            sent = json.dumps(status, sort_keys=True)
            seen = self.version
            while True:
                await self._wait_past(seen)
                if self.version == seen:
                    yield b": keepalive\n\n"
                    continue
                seen = self.version
                out = b""
                if self.status is not None and self.status_text != sent:
                    out += _sse("status", self.status)
                    sent = self.status_text
                new: list[dict[str, Any]] = []
                if self.cursor > cursor:
                    new = [e for e in self.recent if e["seq"] > cursor]
                    if not self.recent or self.recent[0]["seq"] > cursor + 1:
                        new = (await self._events(cursor, 0))["events"]  # not all in the ring
                if new:
                    cursor = max(e["seq"] for e in new)
                    out += _sse("events", {"events": new, "cursor": cursor})
                if out:
                    yield out
        finally:
            self.listeners -= 1
