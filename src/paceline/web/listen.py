"""The daemon's API listeners: the local Unix socket (root only, no tokens) and the web listener
on TCP (`--http ADDR:PORT`, else the cluster option `http-listen`, else 127.0.0.1:7445; `off`
for none), optionally TLS. Both serve the same `Api` object.

A web address that cannot be bound is logged and the daemon runs on without it (the Unix API is
what the CLI needs). Where it listens is written to `STATE/http.json` ({"url"}) while it does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..daemon.http import TcpHttpServer, UnixHttpServer
from ..daemon.paths import socket_path
from ..model.listen import DEFAULT_HTTP_LISTEN, parse_listen
from .server import WebApi
from .tokens import TokenFile, tokens_path

if TYPE_CHECKING:
    from ..daemon.api import Api

__all__ = ["ApiServers", "WebOptions", "http_info_path", "serve_api", "tls_context"]

log = logging.getLogger("paceline.web")


@dataclass(frozen=True)
class WebOptions:
    listen: str | None = None
    """`--http`: None for the cluster option `http-listen`, else the default."""
    tls: ssl.SSLContext | None = None


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context from a PEM certificate (chain) and key; ValueError says what is wrong."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as e:
        raise ValueError(f"cannot use the TLS certificate {cert} with key {key}: {e}") from None
    return ctx


def http_info_path(state_dir: Path) -> Path:
    return state_dir / "http.json"


class ApiServers:
    def __init__(self, unix: UnixHttpServer, web: TcpHttpServer | None, webapi: WebApi, info: Path) -> None:
        self.unix = unix
        self.web = web
        self.webapi = webapi
        self.info = info

    async def close(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.info.unlink()
        if self.web is not None:
            await self.web.close()
        await self.webapi.close()
        await self.unix.close()


async def serve_api(
    state_dir: Path,
    api: Api,
    options: WebOptions,
    cluster_options: Mapping[str, str],
    metrics: Callable[[], Awaitable[bytes]] | None = None,
) -> ApiServers:
    unix = UnixHttpServer(socket_path(state_dir), api.handle)
    await unix.start()
    webapi = WebApi(api, TokenFile(tokens_path(state_dir)), metrics)
    info = http_info_path(state_dir)
    text = options.listen or cluster_options.get("http-listen") or DEFAULT_HTTP_LISTEN
    web: TcpHttpServer | None = None
    try:
        addr = parse_listen(text)
    except ValueError as e:
        log.error("web API not started: %s", e, extra={"fields": {"kind": "daemon"}})
        addr = None
    if addr is not None:
        web = TcpHttpServer(addr[0], addr[1], webapi.handle, options.tls)
        try:
            await web.start()
        except OSError as e:
            log.error(
                "web API not started: cannot listen on %s: %s",
                text,
                e.strerror or e,
                extra={"fields": {"kind": "daemon"}},
            )
            web = None
    if web is not None:
        tmp = info.with_name(info.name + ".new")
        tmp.write_text(json.dumps({"url": web.url, "pid": os.getpid()}) + "\n", encoding="utf-8")
        tmp.replace(info)
        log.info("web API, dashboard and metrics on %s", web.url, extra={"fields": {"kind": "daemon"}})
    return ApiServers(unix, web, webapi, info)
