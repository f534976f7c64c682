"""Which fence devices can fence a node: the one definition, used by the checks of a
configuration and by the DC's fencer. Pure."""

from __future__ import annotations

from .config import Configuration, Primitive

__all__ = ["devices_for", "unfenceable_nodes"]


def devices_for(config: Configuration, victim: str) -> list[Primitive]:
    """The fence devices (`stonith:` primitives) that can fence `victim`, in the order they are
    tried: a device whose `pcmk_host_list` names the victim, or that has no host list; higher
    `priority` meta first, then configuration order."""
    out = []
    for prim in config.primitives():
        if prim.agent.standard != "stonith":
            continue
        hosts = prim.params.get("pcmk_host_list", "").replace(",", " ").split()
        if hosts and victim not in hosts:
            continue
        out.append(prim)
    return sorted(out, key=lambda p: -int(p.meta.get("priority", "0") or 0))


def unfenceable_nodes(config: Configuration) -> list[str]:
    """The configured nodes no device can fence (only their lease watchdog can)."""
    return [n.name for n in config.nodes if not devices_for(config, n.name)]
