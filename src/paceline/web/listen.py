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

from ..controller.view import effective_config, walk_primitives
from ..daemon.http import TcpHttpServer, UnixHttpServer
from ..daemon.paths import socket_path
from ..model.listen import DEFAULT_HTTP_LISTEN, parse_listen
from ..model.scores import INFINITY
from ..scheduler.meta import effective_meta, meta_score
from .metrics import ClusterFacts, Metrics, ObservedList, TimedRunner
from .server import WebApi
from .tokens import TokenFile, tokens_path

if TYPE_CHECKING:
    from ..daemon.api import Api
    from ..node.agent import NodeAgent
    from ..node.membership import Membership

__all__ = [
    "ApiServers",
    "WebOptions",
    "cluster_facts",
    "http_info_path",
    "instrument",
    "serve_api",
    "tls_context",
]

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


def instrument(api: Api, agent: NodeAgent, membership: Membership) -> Metrics:
    """The daemon's metrics: its agent's operations are timed and its lease renewals observed
    (the wrappers change nothing else); the cluster's state is read at every scrape."""
    m = Metrics(lambda: cluster_facts(api))
    timed = TimedRunner(agent.runner, m.observe_operation)
    agent.runner = timed
    agent.monitors.runner = timed
    membership.renew_latencies = ObservedList(membership.renew_latencies, m.lease_renew.observe)
    return m


async def cluster_facts(api: Api) -> ClusterFacts:
    """The facts `/metrics` reports, read from the store now (the status API's view)."""
    status = await api.status()
    snap = await api.d.db.snapshot()
    config, node, _ = api.explain_inputs(snap)
    eff = effective_config(config, node, snap)
    parents: dict[str, tuple[str, str]] = {}
    thresholds: dict[tuple[str, str], int] = {}
    for prim, group, clone in walk_primitives(eff):
        parents[prim.id] = (group.id if group else "", clone.id if clone else "")
        threshold = meta_score(effective_meta(eff, prim, group, clone), "migration-threshold", INFINITY)
        for n in eff.nodes:
            thresholds[(prim.id, n.name)] = threshold
    fails: dict[tuple[str, str], int] = {}
    for f in snap.failures:
        fails[(f.resource, f.node)] = min(INFINITY, fails.get((f.resource, f.node), 0) + f.count)
    current = await api.d.db.current_config()
    return ClusterFacts(
        status,
        parents,
        fails,
        thresholds,
        eff.options.stonith_enabled,
        current.applied_at if current is not None else 0.0,
    )


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
