"""Which servers a balanced clone should have, from the recorded history (what the node that
runs HAProxy reads from the store before each `Balancer.sync`).

Invariant: a node's copy is a server exactly when that node's history says the copy runs there
healthy (Started, Promoted or Unpromoted, by `node.roles`): a copy that failed, is being stopped
(its stop recorded) or was never started is not; a node without an address is left out. Server
names are the node names (HAProxy's stats then name the node each copy runs on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..model.state import OpRecord
from ..node.roles import LocalRole, roles_on
from .servers import Server

__all__ = ["desired_servers"]

_RUNNING = (LocalRole.STARTED, LocalRole.PROMOTED, LocalRole.UNPROMOTED)


def desired_servers(
    nodes: Iterable[str],
    history: Iterable[OpRecord],
    primitive: str,
    address_of: Callable[[str], str | None],
    port: int,
    weight: int = 1,
) -> dict[str, Server]:
    """{node: Server(address:port)} for each node where `primitive`'s copy (anonymous, recorded
    under the primitive's id, or globally unique `primitive:N`) runs healthy."""
    records = tuple(history)
    out: dict[str, Server] = {}
    for node in nodes:
        roles = roles_on(records, node)
        runs = any(
            (rid == primitive or rid.rsplit(":", 1)[0] == primitive) and view.role in _RUNNING
            for rid, view in roles.items()
        )
        addr = address_of(node)
        if runs and addr:
            out[node] = Server(f"{addr}:{port}", weight)
    return out
