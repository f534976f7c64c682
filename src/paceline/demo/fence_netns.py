"""``fence_paceline_netns``: a fence agent (fence-agents' stdin protocol) for the nodes of the demo
network (``paceline.demo.netns``). Node ``n<k>`` is the namespace ``<netns_prefix>n<k>``.

Protocol: ``key=value`` lines on stdin (blank lines and ``#`` comments ignored; ``port`` is an
alias of ``plug``; unknown keys are ignored with a warning, as fence-agents do; the default action
is reboot). Exit 0 = done / status on, 2 = status off, 1 = failure, explained by an ``ERROR:``
line on stderr.

Actions:
- ``off``: set every link of the namespace but lo down, then SIGKILL every process in it until none
  is left; succeeds only when verified (no process, no link up). Links first: from then on the
  namespace cannot answer anyone. Killing alone is not a fence: the kernel keeps answering for
  the namespace's addresses (ping works, TCP gets RST).
- ``on``: remove every global address but the node's own (192.0.2.<first_host + k - 1>/24), e.g.
  a VIP that has since moved elsewhere, then set the links up (in that order, so a stale VIP never
  answers again). Refused, changing nothing, if the node's own address is not in the namespace
  (``first_host`` wrong).
- ``reboot``: off, then on. As fence-agents do, it succeeds once off succeeded (the node is fenced);
  an ``on`` that fails is only reported on stderr.
- ``status``: 0 if any link but lo is up, 2 if all are down. A missing namespace is a failure (1),
  not "off": a namespace whose name was deleted lives on, links up, while a process is in it.
- ``list`` / ``list-status``: the nodes with a namespace under the prefix (``n1,pl-n1[,ON]``).
- ``monitor``: 0 if we are root and ``ip netns`` works. ``metadata``, ``validate-all``.

Safety: only a namespace named ``<netns_prefix>n<k>`` that exists is ever touched (anything else is
refused with exit 1), and ``off``/``reboot`` refuse to fence the namespace the agent runs in.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO
from xml.sax.saxutils import quoteattr

from . import netns
from .netns import DemoUnavailable, NetnsError

__all__ = ["ACTIONS", "AGENT", "FenceRequest", "main", "metadata_xml", "parse_request"]

AGENT = "fence_paceline_netns"
ACTIONS = ("off", "on", "reboot", "status", "list", "list-status", "monitor", "metadata", "validate-all")
PLUG_RE = re.compile(r"n[1-9][0-9]{0,2}")
KILL_TIMEOUT_S = 10.0

# (name, type, default, shortdesc); "port" is the deprecated alias of "plug", as in fence-agents
PARAMETERS: tuple[tuple[str, str, str | None, str], ...] = (
    ("action", "string", "reboot", "Fencing action"),
    ("plug", "string", None, "The node to fence (n1, n2, ...): its namespace is <netns_prefix><plug>"),
    ("port", "string", None, "Deprecated alias of plug"),
    ("netns_prefix", "string", "pl-", "Prefix of the demo network's namespaces ([a-z][a-z0-9]*-)"),
    ("first_host", "integer", "11", "Node n<k>'s own address is 192.0.2.<first_host + k - 1>/24"),
)


class FenceError(Exception):
    """A refused or failed request; the message becomes the ``ERROR:`` line."""


@dataclass(frozen=True)
class FenceRequest:
    action: str
    plug: str | None
    prefix: str
    first_host: int

    @property
    def k(self) -> int:
        return int(self.plug[1:]) if self.plug else 0

    @property
    def ns(self) -> str:
        if self.plug is None:
            raise FenceError(f"action {self.action} needs plug= (a node name such as n1)")
        return f"{self.prefix}{self.plug}"


def parse_request(lines: Iterable[str], warn: TextIO) -> FenceRequest:
    """The request in fence-agents' stdin lines; raises ``FenceError`` if it is not acceptable."""
    opts: dict[str, str] = {}
    known = {p[0] for p in PARAMETERS}
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, eq, value = line.partition("=")
        key = key.strip()
        if not eq or key not in known:
            print(f"WARNING: ignoring unknown parameter {line!r}", file=warn)
            continue
        opts["plug" if key == "port" else key] = value.strip()
    action = opts.get("action", "reboot")
    if action == "meta-data":
        action = "metadata"
    if action not in ACTIONS:
        raise FenceError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    prefix = opts.get("netns_prefix", "pl-")
    if not netns.PREFIX_RE.fullmatch(prefix):
        raise FenceError(f"netns_prefix={prefix!r} must match [a-z][a-z0-9]*- (e.g. pl-)")
    try:
        first_host = int(opts.get("first_host", "11"))
    except ValueError:
        raise FenceError(f"first_host={opts['first_host']!r} is not an integer") from None
    plug = opts.get("plug") or None
    if plug is not None:
        if not PLUG_RE.fullmatch(plug):
            raise FenceError(f"plug={plug!r} is not a demo node name (n1, n2, ...); refusing")
        try:
            netns.node_address(int(plug[1:]), first_host)
        except ValueError as e:
            raise FenceError(f"plug={plug} with first_host={first_host}: {e}") from None
    return FenceRequest(action, plug, prefix, first_host)


def metadata_xml() -> str:
    """fence-agents-style meta-data: the parameters and actions of this agent."""
    out = [
        '<?xml version="1.0" ?>',
        f'<resource-agent name="{AGENT}" shortdesc="Fences a node of the Paceline demo network">',
        "<longdesc>Fences a node of paceline demo, a network namespace (netns_prefix + plug): off sets "
        "its links down and kills every process in it; on removes stray addresses (a moved VIP) and "
        "sets its links up again.</longdesc>",
        "<vendor-url>https://github.com/paceline</vendor-url>",
        "<parameters>",
    ]
    for name, typ, default, desc in PARAMETERS:
        required = "1" if name in ("action", "plug") else "0"
        extra = ' deprecated="1"' if name == "port" else (' obsoletes="port"' if name == "plug" else "")
        dflt = f" default={quoteattr(default)}" if default is not None else ""
        out += [
            f'\t<parameter name="{name}" unique="0" required="{required}"{extra}>',
            f'\t\t<getopt mixed="--{name.replace("_", "-")}=[{name}]" />',
            f'\t\t<content type="{typ}"{dflt} />',
            f'\t\t<shortdesc lang="en">{desc.replace("<", "&lt;").replace(">", "&gt;")}</shortdesc>',
            "\t</parameter>",
        ]
    out += ["</parameters>", "<actions>"]
    for action in ACTIONS:
        auto = ' automatic="0"' if action == "on" else ""
        out.append(f'\t<action name="{action}"{auto} />')
    out += ["</actions>", "</resource-agent>"]
    return "\n".join(out) + "\n"


def _nodes(prefix: str) -> list[str]:
    names = [ns[len(prefix) :] for ns in netns.namespaces() if ns.startswith(prefix)]
    return sorted((n for n in names if PLUG_RE.fullmatch(n)), key=lambda n: int(n[1:]))


def _is_on(ns: str) -> bool:
    return any(link.up for link in netns.links(ns) if link.name != "lo")


def _target(req: FenceRequest) -> str:
    ns = req.ns
    if not netns.exists(ns):
        known = ", ".join(_nodes(req.prefix)) or "none"
        raise FenceError(f"plug={req.plug}: no namespace {ns} (known nodes: {known})")
    return ns


def _off(req: FenceRequest, out: TextIO) -> None:
    ns = _target(req)
    if netns.inside(ns):
        raise FenceError(f"refusing to fence {ns}: this agent runs in it (a node cannot fence itself)")
    t0 = time.monotonic()
    netns.links_down(ns)
    killed = netns.kill_all(ns, timeout_s=KILL_TIMEOUT_S)
    left, up = netns.pids(ns), _is_on(ns)
    if left or up:
        raise FenceError(f"{ns} not off: processes {left}, links up: {up}")
    took = time.monotonic() - t0
    print(f"Success: Powered OFF ({ns}: links down, {killed} SIGKILL sent, {took:.3f} s)", file=out)


def _on(req: FenceRequest, out: TextIO) -> None:
    ns = _target(req)
    own = netns.node_address(req.k, req.first_host)
    if own not in {a.address for a in netns.addresses(ns)}:
        raise FenceError(
            f"{ns} does not have its own address {own} (first_host={req.first_host} wrong?); not touching it"
        )
    removed = netns.flush_extra_addresses(ns, [own])
    netns.links_up(ns)
    if not _is_on(ns):
        raise FenceError(f"{ns}: links did not come up")
    gone = ", ".join(f"{a.address} on {a.dev}" for a in removed) or "none"
    print(f"Success: Powered ON ({ns}: links up, removed addresses: {gone})", file=out)


def run(req: FenceRequest, out: TextIO, err: TextIO) -> int:
    """Perform ``req``; returns the exit code. ``FenceError`` and the netns errors propagate."""
    if req.action == "metadata":
        out.write(metadata_xml())
        return 0
    netns.require_netns()
    if req.action == "monitor":
        return 0
    if req.action == "validate-all":
        req.ns  # noqa: B018 - raises without a plug
        return 0
    if req.action in ("list", "list-status"):
        for n in _nodes(req.prefix):
            state = f",{'ON' if _is_on(req.prefix + n) else 'OFF'}" if req.action == "list-status" else ""
            print(f"{n},{req.prefix}{n}{state}", file=out)
        return 0
    if req.action == "status":
        on = _is_on(_target(req))
        print(f"Status: {'ON' if on else 'OFF'}", file=out)
        return 0 if on else 2
    if req.action == "off":
        _off(req, out)
        return 0
    if req.action == "on":
        _on(req, out)
        return 0
    assert req.action == "reboot"
    _off(req, out)
    try:
        _on(req, out)
    except (FenceError, NetnsError, OSError) as e:
        print(f"ERROR: power on after off failed (the node is fenced): {e}", file=err)
    return 0


def main() -> int:
    """Console script ``fence_paceline_netns``: read the request on stdin, act, return the exit code."""
    try:
        req = parse_request(sys.stdin, sys.stderr)
        return run(req, sys.stdout, sys.stderr)
    except (FenceError, DemoUnavailable, NetnsError, OSError, ValueError) as e:
        print(f"ERROR: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
