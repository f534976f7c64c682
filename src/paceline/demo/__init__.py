"""``paceline demo``: a whole cluster on one machine. ``netns`` makes its network (namespaces on
a bridge, TEST-NET-1 only); ``fence_netns`` is the fence agent that fences one of its nodes."""

from __future__ import annotations

from .netns import (
    NS_IF,
    SUBNET,
    Address,
    DemoNet,
    DemoUnavailable,
    Link,
    Member,
    NetnsError,
    addresses,
    exec_argv,
    exists,
    flush_extra_addresses,
    inside,
    kill_all,
    links,
    links_down,
    links_up,
    namespaces,
    node_address,
    pids,
    require_netns,
    subnet_conflicts,
)

__all__ = [
    "NS_IF",
    "SUBNET",
    "Address",
    "DemoNet",
    "DemoUnavailable",
    "Link",
    "Member",
    "NetnsError",
    "addresses",
    "exec_argv",
    "exists",
    "flush_extra_addresses",
    "inside",
    "kill_all",
    "links",
    "links_down",
    "links_up",
    "namespaces",
    "node_address",
    "pids",
    "require_netns",
    "subnet_conflicts",
]
