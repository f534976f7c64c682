"""The network of ``paceline demo``: network namespaces on a Linux bridge, managed with iproute2's
``ip`` (run as subprocesses; ``-j`` JSON output is parsed, never screen text).

Layout of a ``DemoNet``: a bridge ``<prefix>br0`` in the host's namespace; per member (the nodes
``n1..n<N>`` and the observer ``client``) a namespace ``<prefix><name>`` whose ``eth0`` is one end
of a veth pair; the other end, ``<prefix><tag>h`` (``n1h``, ``ch``), is a port of the bridge. In
each namespace ``lo`` is up and ``eth0`` has one address, ``192.0.2.<host>/24``.

Invariants:
- Every address this module assigns is in TEST-NET-1, 192.0.2.0/24 (``SUBNET``); host numbers are
  checked when a ``DemoNet`` is made. Nothing but the demo's own namespaces, veths and bridge is
  ever changed.
- Every name derives from the prefix, which matches ``[a-z][a-z0-9]*-`` (exactly one dash, at the
  end, so a namespace name has exactly one owning prefix); every interface name fits Linux's
  15 characters (checked when a ``DemoNet`` is made).
- ``create()`` only creates. It refuses, changing nothing, if any of its names already exists (it
  does not clean first: that could kill a running demo's processes), and if it fails half-way it
  removes exactly what it made, then re-raises.
- ``destroy()`` removes whatever of its names exists: the veths and the bridge, then each namespace
  after killing the processes left in it (a namespace whose name is deleted lives on as long as a
  process is in it); safe to run twice and after a crashed ``create()``.
- The host joins the bridge (``host`` address on it) only when ``host`` is set, and ``create()``
  refuses when the host already uses 192.0.2.0/24 (an address or a gateway there): adding
  192.0.2.1 next to such a network would cut the machine off.
- ``kill_all`` never signals a process outside the namespace (each pid is pinned with a pidfd and
  its namespace re-checked before the signal) and refuses to run from inside the namespace.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Interface, ip_interface, ip_network
from typing import Any

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

SUBNET = ip_network("192.0.2.0/24")  # TEST-NET-1 (RFC 5737): the only addresses the demo uses
NS_IF = "eth0"  # the name of every member's own end of its veth pair, inside its namespace
PREFIX_RE = re.compile(r"[a-z][a-z0-9]*-")
NS_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
IFNAMSIZ = 15  # the longest interface name Linux accepts
NETNS_DIR = "/run/netns"  # where `ip netns add` pins namespaces
IP_TIMEOUT_S = 20.0


class DemoUnavailable(RuntimeError):
    """This machine cannot run the demo network; the message is one line saying what is needed."""


class NetnsError(RuntimeError):
    """An ``ip`` command failed, or a namespace could not be brought into the asked state."""


@dataclass(frozen=True)
class Link:
    name: str
    up: bool  # administratively up (the UP flag), whatever the carrier


@dataclass(frozen=True)
class Address:
    dev: str
    address: IPv4Interface | IPv6Interface
    scope: str  # "global", "link", "host"


def _ip_path() -> str:
    return shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin") or "ip"


def require_netns(*, euid: Callable[[], int] = os.geteuid, ip: str | None = None) -> None:
    """Raise ``DemoUnavailable`` (one line) unless we are root and ``ip netns`` works."""
    if euid() != 0:
        raise DemoUnavailable(
            "the demo network needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN for `ip netns`): run it as root"
        )
    exe = ip or _ip_path()
    if shutil.which(exe) is None:
        raise DemoUnavailable(
            f"the demo network needs iproute2's `ip` ({exe} not found): apt-get install iproute2"
        )
    try:
        res = subprocess.run(
            [exe, "netns", "list"], capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise DemoUnavailable(f"the demo network needs `ip netns`, which failed here: {e}") from None
    if res.returncode != 0:
        why = " ".join(res.stderr.split()) or f"exit {res.returncode}"
        raise DemoUnavailable(f"the demo network needs `ip netns`, which failed here: {why}")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [_ip_path(), *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False
    )
    if check and res.returncode != 0:
        why = " ".join(res.stderr.split()) or f"exit {res.returncode}"
        raise NetnsError(f"ip {' '.join(args)}: {why}")
    return res


def _json(*args: str) -> list[dict[str, Any]]:
    out = _ip("-j", *args).stdout.strip()
    data = json.loads(out) if out else []
    if not isinstance(data, list):
        raise NetnsError(f"ip -j {' '.join(args)}: expected a JSON list, got {out[:80]!r}")
    return [d for d in data if isinstance(d, dict)]


def _check_ns(ns: str) -> str:
    if not NS_RE.fullmatch(ns):
        raise ValueError(f"not a network namespace name: {ns!r}")
    return ns


def node_address(k: int, first_host: int = 11) -> IPv4Interface:
    """The own address of node ``n<k>`` (k >= 1): 192.0.2.<first_host + k - 1>/24."""
    return _host_address(first_host + k - 1)


def _host_address(host: int) -> IPv4Interface:
    if not 1 <= host <= 254:
        raise ValueError(f"host number {host} is not in 1..254 (192.0.2.0/24)")
    addr = IPv4Interface(f"{SUBNET.network_address + host}/{SUBNET.prefixlen}")
    assert addr.ip in SUBNET
    return addr


def namespaces() -> list[str]:
    """Names of every named network namespace (``ip netns list``)."""
    return sorted(str(d["name"]) for d in _json("netns", "list") if "name" in d)


def exists(ns: str) -> bool:
    return _check_ns(ns) in namespaces()


def exec_argv(ns: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside namespace ``ns`` (``ip netns exec NS ...``)."""
    return [_ip_path(), "netns", "exec", _check_ns(ns), *argv]


def pids(ns: str) -> list[int]:
    """PIDs of every process in namespace ``ns`` (``ip netns pids``; zombies are not in it)."""
    out = _ip("netns", "pids", _check_ns(ns)).stdout
    return sorted(int(tok) for tok in out.split() if tok.isdigit())


def _ns_id(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _kill_if_in(pid: int, target: tuple[int, int]) -> bool:
    """SIGKILL ``pid`` if it is (still) in the namespace ``target``; True if signalled."""
    try:
        fd = os.pidfd_open(pid)
    except (ProcessLookupError, FileNotFoundError):
        return False
    try:
        if _ns_id(f"/proc/{pid}/ns/net") != target:
            return False  # exited and the pid was reused, or it moved: not ours to kill
        signal.pidfd_send_signal(fd, signal.SIGKILL)
        return True
    except (ProcessLookupError, FileNotFoundError, PermissionError):
        return False
    finally:
        os.close(fd)


def inside(ns: str) -> bool:
    """True if this process runs in namespace ``ns``."""
    return _ns_id("/proc/self/ns/net") == _ns_id(os.path.join(NETNS_DIR, _check_ns(ns)))


def kill_all(ns: str, *, timeout_s: float = 5.0) -> int:
    """SIGKILL every process in namespace ``ns``, again and again (forks, late joiners) until none
    is left; returns how many signals were sent. Raises ``NetnsError`` if processes remain after
    ``timeout_s`` (e.g. stuck in uninterruptible sleep), or if this process itself is in ``ns``."""
    target = _ns_id(os.path.join(NETNS_DIR, _check_ns(ns)))
    if _ns_id("/proc/self/ns/net") == target:
        raise NetnsError(f"refusing to kill every process of {ns}: this process runs in it")
    deadline = time.monotonic() + timeout_s
    sent = 0
    while True:
        left = pids(ns)
        if not left:
            return sent
        if time.monotonic() > deadline:
            raise NetnsError(
                f"{len(left)} process(es) in {ns} survived SIGKILL for {timeout_s} s: {left[:10]}"
            )
        sent += sum(_kill_if_in(pid, target) for pid in left)
        time.sleep(0.005)


def links(ns: str) -> list[Link]:
    """Every link in namespace ``ns``, lo included."""
    return [
        Link(str(d["ifname"]), "UP" in d.get("flags", []))
        for d in _json("-n", _check_ns(ns), "link", "show")
        if "ifname" in d
    ]


def links_down(ns: str) -> None:
    """Set every link of ``ns`` except lo down. lo stays up: it carries nothing out of the
    namespace, so downing it isolates nothing, and processes later started in the namespace
    (after ``links_up``) expect it."""
    for link in links(ns):
        if link.name != "lo" and link.up:
            _ip("-n", ns, "link", "set", "dev", link.name, "down")


def links_up(ns: str) -> None:
    """Set every link of ``ns`` up (lo included; the kernel restores the connected routes)."""
    for link in links(ns):
        if not link.up:
            _ip("-n", ns, "link", "set", "dev", link.name, "up")


def addresses(ns: str) -> list[Address]:
    """Every IPv4/IPv6 address in namespace ``ns``."""
    out: list[Address] = []
    for d in _json("-n", _check_ns(ns), "addr", "show"):
        for a in d.get("addr_info", []):
            if "local" in a and "prefixlen" in a:
                out.append(
                    Address(
                        str(d["ifname"]),
                        ip_interface(f"{a['local']}/{a['prefixlen']}"),
                        str(a.get("scope", "global")),
                    )
                )
    return out


def flush_extra_addresses(ns: str, keep: Iterable[IPv4Interface | IPv6Interface]) -> list[Address]:
    """Remove every global-scope address in ``ns`` (on any link, lo too: Linux answers ARP for an
    address on any interface) that is not in ``keep``, e.g. a VIP left behind; returns what was
    removed. Link-local and host-scope addresses (fe80::, 127.0.0.1) stay."""
    kept = set(keep)
    removed: list[Address] = []
    for a in addresses(ns):
        if a.scope == "global" and a.address not in kept:
            _ip("-n", ns, "addr", "del", str(a.address), "dev", a.dev)
            removed.append(a)
    return removed


def subnet_conflicts(addrs: list[dict[str, Any]], routes: list[dict[str, Any]], own_dev: str) -> list[str]:
    """Where the host (``ip -j -4 addr show`` and ``ip -j -4 route show`` of its namespace)
    already uses 192.0.2.0/24 on a device other than ``own_dev``: addresses in it, routes into it,
    gateways in it. Empty = the host can join the demo bridge."""
    found: list[str] = []
    for d in addrs:
        dev = str(d.get("ifname", "?"))
        for a in d.get("addr_info", []):
            if dev != own_dev and "local" in a:
                net = ip_network(f"{a['local']}/{a.get('prefixlen', 32)}", strict=False)
                if net.overlaps(SUBNET):
                    found.append(f"{dev} has {a['local']}/{a.get('prefixlen', 32)}")
    for r in routes:
        dev = str(r.get("dev", "?"))
        if dev == own_dev:
            continue
        dst = str(r.get("dst", ""))
        gw = r.get("gateway")
        if dst and dst != "default" and ip_network(dst, strict=False).overlaps(SUBNET):
            found.append(f"route {dst} dev {dev}")
        elif gw and IPv4Address(str(gw)) in SUBNET:
            found.append(f"route {dst or '?'} via {gw} dev {dev}")
    return found


@dataclass(frozen=True)
class Member:
    """One namespace on the demo bridge."""

    name: str  # "n1", ..., "client"
    ns: str  # "<prefix><name>"
    host_if: str  # the bridge's end of the veth pair, in the host's namespace
    address: IPv4Interface  # on NS_IF inside ns


@dataclass(frozen=True)
class DemoNet:
    """The demo network's description (names and addresses); ``create``/``destroy`` make it real.
    Node ``n<k>`` has 192.0.2.<first_node_host + k - 1>, the client 192.0.2.<client_host>, the host
    (if it joins) 192.0.2.<host> on the bridge. Tests use their own prefix, hence their own
    namespaces, veths and bridge."""

    prefix: str = "pl-"
    nodes: int = 3
    first_node_host: int = 11
    client_host: int = 100
    host: int | None = 1

    def __post_init__(self) -> None:
        if not PREFIX_RE.fullmatch(self.prefix):
            raise ValueError(f"demo prefix {self.prefix!r} must match [a-z][a-z0-9]*- (e.g. 'pl-')")
        if self.nodes < 1:
            raise ValueError("a demo network needs at least one node")
        hosts = [self.first_node_host + k for k in range(self.nodes)] + [self.client_host]
        if self.host is not None:
            hosts.append(self.host)
        for h in hosts:
            _host_address(h)  # raises outside 1..254
        if len(set(hosts)) != len(hosts):
            raise ValueError(f"host numbers overlap: {sorted(hosts)}")
        too_long = [n for n in [self.bridge, *(m.host_if for m in self.members)] if len(n) > IFNAMSIZ]
        if too_long:
            raise ValueError(
                f"interface names longer than {IFNAMSIZ} characters: {too_long} (shorten the prefix)"
            )

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br0"

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(f"n{k}" for k in range(1, self.nodes + 1))

    @property
    def members(self) -> tuple[Member, ...]:
        nodes = tuple(
            Member(n, f"{self.prefix}{n}", f"{self.prefix}{n}h", node_address(k, self.first_node_host))
            for k, n in enumerate(self.node_names, start=1)
        )
        client = Member("client", f"{self.prefix}client", f"{self.prefix}ch", _host_address(self.client_host))
        return (*nodes, client)

    @property
    def host_address(self) -> IPv4Interface | None:
        return None if self.host is None else _host_address(self.host)

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(f"no member {name!r} in demo network {self.prefix!r}")

    def ns(self, name: str) -> str:
        """The namespace of member ``name`` ("n1" -> "pl-n1")."""
        return self.member(name).ns

    def leftovers(self) -> list[str]:
        """Which of this network's namespaces and links exist now."""
        have_ns = set(namespaces())
        have_links = _link_names()
        out = [m.ns for m in self.members if m.ns in have_ns]
        out += [n for n in (*(m.host_if for m in self.members), self.bridge) if n in have_links]
        return out

    def host_conflicts(self) -> list[str]:
        return subnet_conflicts(_json("-4", "addr", "show"), _json("-4", "route", "show"), self.bridge)

    def create(self) -> None:
        """Make the network. Refuses (``NetnsError``) if any of its names exists; on failure
        removes what it made and re-raises."""
        require_netns()
        left = self.leftovers()
        if left:
            raise NetnsError(
                f"demo network {self.prefix!r} partly exists ({', '.join(left)}): destroy it first"
            )
        if self.host_address is not None:
            conflicts = self.host_conflicts()
            if conflicts:
                raise DemoUnavailable(
                    f"this host already uses 192.0.2.0/24 ({'; '.join(conflicts)}): it cannot join the "
                    f"demo bridge as {self.host_address} without cutting off its own network; use host=None"
                )
        made_ns: list[str] = []
        made_links: list[str] = []
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            made_links.append(self.bridge)
            if self.host_address is not None:
                _ip("addr", "add", str(self.host_address), "dev", self.bridge)
            _ip("link", "set", "dev", self.bridge, "up")
            for m in self.members:
                _ip("netns", "add", m.ns)
                made_ns.append(m.ns)
                _ip("link", "add", m.host_if, "type", "veth", "peer", "name", NS_IF, "netns", m.ns)
                made_links.append(m.host_if)
                _ip("link", "set", "dev", m.host_if, "master", self.bridge, "up")
                _ip("-n", m.ns, "link", "set", "dev", "lo", "up")
                _ip("-n", m.ns, "addr", "add", str(m.address), "dev", NS_IF)
                _ip("-n", m.ns, "link", "set", "dev", NS_IF, "up")
        except BaseException:
            _remove(made_ns, made_links[1:] + made_links[:1])  # veths, then the bridge
            raise

    def destroy(self) -> None:
        """Remove every namespace, veth and the bridge of this network that exists, killing the
        processes in its namespaces first. Raises ``NetnsError`` at the end if something stayed."""
        require_netns()
        have_ns = set(namespaces())
        have_links = _link_names()
        errors = _remove(
            [m.ns for m in self.members if m.ns in have_ns],
            [n for n in (*(m.host_if for m in self.members), self.bridge) if n in have_links],
        )
        if errors:
            raise NetnsError("; ".join(errors))


def _link_names() -> set[str]:
    return {str(d.get("ifname")) for d in _json("link", "show")}


def _remove(nss: list[str], link_names: list[str]) -> list[str]:
    """Best effort, in this order: delete the links (a veth's deletion removes both ends at once,
    cutting its namespace off; the bridge goes last), then kill the processes of the namespaces
    and delete them. Links go first because a namespace's deletion removes its veth only
    asynchronously. Returns what went wrong; a link that vanished meanwhile is not an error."""
    errors: list[str] = []
    for name in link_names:
        res = _ip("link", "del", "dev", name, check=False)
        if res.returncode != 0 and name in _link_names():
            errors.append(f"ip link del dev {name}: {' '.join(res.stderr.split())}")
    for ns in nss:
        try:
            kill_all(ns)
        except (NetnsError, OSError) as e:
            errors.append(str(e))
        try:
            _ip("netns", "del", ns)
        except NetnsError as e:
            errors.append(str(e))
    return errors
