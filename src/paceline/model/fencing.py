"""Which fence devices can fence a node: the one definition, used by the checks of a
configuration and by the DC's fencer. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Configuration, Primitive

__all__ = ["FencingStep", "devices_for", "fencing_plan", "unfenceable_nodes"]


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


@dataclass(frozen=True)
class FencingStep:
    """One way to fence a node: it is fenced when every device succeeds, in order."""

    label: str
    devices: tuple[Primitive, ...]


def fencing_plan(config: Configuration, victim: str) -> list[FencingStep]:
    """How to fence `victim`, in the order to try: its fencing levels (Pacemaker's topology) by
    index when it has any, else each device of `devices_for` on its own."""
    by_id = {p.id: p for p in config.primitives() if p.agent.standard == "stonith"}
    levels = sorted((lv for lv in config.fencing_levels if lv.target == victim), key=lambda lv: lv.index)
    if levels:
        return [
            FencingStep(f"level {lv.index} ({', '.join(lv.devices)})", tuple(by_id[d] for d in lv.devices))
            for lv in levels
            if all(d in by_id for d in lv.devices)
        ]
    return [FencingStep(f"device {p.id}", (p,)) for p in devices_for(config, victim)]


def unfenceable_nodes(config: Configuration) -> list[str]:
    """The configured nodes no device can fence (only their lease watchdog can)."""
    return [n.name for n in config.nodes if not fencing_plan(config, n.name)]
