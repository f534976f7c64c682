"""`paceline demo`: a 3-node Paceline cluster on this machine, in network namespaces.

Layout (`Demo`, all names derived from one `DemoNet`): namespaces `pl-n1..pl-n3` on the bridge
`pl-br0`, addresses 192.0.2.11-13 (TEST-NET-1: they exist only inside what the demo creates),
the host at 192.0.2.1 on the bridge, a client namespace `pl-client` (192.0.2.100) for observers.
Each node namespace runs an etcd member (client port 2379, election 250 ms) and a
`paceline run` whose state lives in `ROOT/<node>/state` (ROOT: /run/paceline-demo). The
configuration (`ROOT/cluster.yaml`): a web service (`paceline.demo.web`, whose page names its
node and fencing token) colocated with, and ordered after, a virtual IP (ocf:heartbeat:IPaddr2,
192.0.2.50, gratuitous ARP), and a fence device (`fence_paceline_netns`) for the namespaces.
Every process is a child of the demo's keeper (`paceline.demo.keeper`), which reaps them.

Invariants: `up` refuses to start over anything left from another demo (`down` first); `down`
removes every process (by PID, then whatever is left in the namespaces), namespace, link and
the ROOT directory, and is safe to run twice and after a crashed `up`. `kill`, `hang` and
`partition` break one node; `heal` undoes any of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import netns
from .keeper import request
from .netns import DemoNet, DemoUnavailable, NetnsError
from .observe import get_json, in_netns

__all__ = ["Demo", "DemoError"]

ETCD_CLIENT = 2379
ETCD_PEER = 2380


class DemoError(RuntimeError):
    """The demo cannot do what was asked; the message says why and what to do."""


@dataclass(frozen=True)
class Demo:
    root: Path = Path("/run/paceline-demo")
    net: DemoNet = field(default_factory=DemoNet)
    vip: str = "192.0.2.50"
    fence_device: bool = True
    """False: no fence device, the lease watchdog alone fences (the benchmark's second case)."""
    lease_ttl: str = "2s"
    name: str = "paceline-demo"

    @classmethod
    def here(cls, **kw: Any) -> Demo:
        """The demo for this machine: the host joins the bridge (as 192.0.2.1) only when it does
        not already use 192.0.2.0/24 itself (some sandboxes do); otherwise clients reach the VIP
        from the client namespace. `PACELINE_DEMO_PREFIX` (default `pl-`) and
        `PACELINE_DEMO_ROOT` (default /run/paceline-demo) let a second demo (a test) live beside
        the first; its name is `paceline-demo` plus the prefix when the prefix is not the default."""
        prefix = os.environ.get("PACELINE_DEMO_PREFIX", "pl-")
        root = Path(os.environ.get("PACELINE_DEMO_ROOT", "/run/paceline-demo"))
        try:
            free = not DemoNet(prefix=prefix).host_conflicts()
        except (OSError, NetnsError, DemoUnavailable):
            free = False
        name = "paceline-demo" if prefix == "pl-" else f"paceline-demo-{prefix.rstrip('-')}"
        return cls(root=root, net=DemoNet(prefix=prefix, host=1 if free else None), name=name, **kw)

    @property
    def curl_hint(self) -> str:
        prefix = "" if self.net.host is not None else f"ip netns exec {self.client_ns} "
        return f"{prefix}curl http://{self.vip}/"

    # -- layout ---------------------------------------------------------------------------------------
    @property
    def nodes(self) -> tuple[str, ...]:
        return self.net.node_names

    def address(self, node: str) -> str:
        return str(self.net.member(node).address.ip)

    def node_dir(self, node: str) -> Path:
        return self.root / node

    def etcd_dir(self, node: str) -> Path:
        """The node's etcd data: in memory (/dev/shm) where there is one, as a demo's store is
        thrown away with it and a disk shared with other work makes etcd's fsyncs, and with
        them a node's heartbeats, late enough to get it fenced."""
        shm = Path("/dev/shm")
        if shm.is_dir():
            return shm / f"{self.name}-{self.net.prefix}{node}-etcd"
        return self.node_dir(node) / "etcd"

    def state_dir(self, node: str) -> Path:
        return self.node_dir(node) / "state"

    @property
    def client_ns(self) -> str:
        return self.net.ns("client")

    @property
    def store_url(self) -> str:
        return "etcd://" + ",".join(f"{self.address(n)}:{ETCD_CLIENT}" for n in self.nodes)

    def config_text(self) -> str:
        py = sys.executable
        fencing = (
            f"""fencing:
  devices:
    - id: netns-fence
      agent: fence_paceline_netns
      hosts: [{", ".join(self.nodes)}]
      params:
        netns_prefix: "{self.net.prefix}"
        first_host: "{self.net.first_node_host}"
        pcmk_off_timeout: 10s
"""
            if self.fence_device
            else ""
        )
        return f"""# Written by `paceline demo up`: {len(self.nodes)} nodes, each in its own network namespace
cluster:
  name: {self.name}
  store: {self.store_url}
  options: {{lease-ttl: {self.lease_ttl}, heartbeat-interval: 100ms, stonith-action: "off"}}
nodes: [{", ".join(self.nodes)}]
rsc_defaults: {{resource-stickiness: "100"}}   # a node that comes back takes nothing back
{fencing}resources:
  - id: vip
    agent: ocf:heartbeat:IPaddr2
    params: {{ip: "{self.vip}", cidr_netmask: "24", nic: {netns.NS_IF}}}
    ops:
      monitor: {{interval: 5s, timeout: 20s}}
  - id: web
    service:
      command: [{py}, -m, paceline.demo.web, --port, "80", --demo, {self.name}]
      probe: {{http: "http://127.0.0.1:80/json", interval: 1s, timeout: 1s, failure_threshold: 3}}
      stop_grace: 2s
    ops:
      monitor: {{interval: 10s, timeout: 5s}}
constraints:
  - order: {{first: vip, then: web}}
  - colocation: {{resource: web, with: vip, score: INFINITY}}
"""

    def _keeper_spec(self) -> dict[str, Any]:
        cluster = ",".join(f"{n}=http://{self.address(n)}:{ETCD_PEER}" for n in self.nodes)
        nodes: dict[str, Any] = {}
        for n in self.nodes:
            ns, addr, d = self.net.ns(n), self.address(n), self.node_dir(n)
            etcd = [
                "etcd",
                "--name", n,
                "--data-dir", str(self.etcd_dir(n)),
                "--listen-client-urls", f"http://{addr}:{ETCD_CLIENT}",
                "--advertise-client-urls", f"http://{addr}:{ETCD_CLIENT}",
                "--listen-peer-urls", f"http://{addr}:{ETCD_PEER}",
                "--initial-advertise-peer-urls", f"http://{addr}:{ETCD_PEER}",
                "--initial-cluster", cluster,
                "--initial-cluster-token", f"{self.name}-{self.net.prefix}",
                "--initial-cluster-state", "new",
                "--election-timeout", "250",
                "--heartbeat-interval", "25",
                "--auto-compaction-mode", "revision",
                "--auto-compaction-retention", "10000",
                "--logger", "zap",
                "--log-level", "warn",
            ]  # fmt: skip
            daemon = [
                sys.executable, "-m", "paceline.cli.main", "run", str(self.root / "cluster.yaml"),
                "--node", n, "--state-dir", str(self.state_dir(n)),
            ]  # fmt: skip
            nodes[n] = {
                "etcd": {
                    "argv": netns.exec_argv(ns, etcd),
                    "log": str(d / "etcd.log"),
                    "health": {"ns": ns, "url": f"http://{addr}:{ETCD_CLIENT}/health"},
                },
                "daemon": {"argv": netns.exec_argv(ns, daemon), "log": str(d / "daemon.log")},
            }
        return {"nodes": nodes}

    # -- up / down ------------------------------------------------------------------------------------
    def check(self) -> None:
        """Everything `up` needs, each missing piece in one line."""
        try:
            netns.require_netns()
        except DemoUnavailable as e:
            raise DemoError(str(e)) from None
        missing = [b for b in ("etcd",) if shutil.which(b) is None]
        if not Path("/usr/lib/ocf/resource.d/heartbeat/IPaddr2").exists():
            missing.append("ocf:heartbeat:IPaddr2 (Debian package resource-agents)")
        if missing:
            raise DemoError(
                f"the demo needs {', '.join(missing)}: run `bash scripts/setup.sh` (it installs them)"
            )

    def exists(self) -> bool:
        return self.root.exists() or bool(self.net.leftovers())

    def up(self, timeout_s: float = 90.0, say: Any = print) -> dict[str, Any]:
        self.check()
        if self.exists():
            raise DemoError(
                f"a demo is already here ({self.root} or namespaces {self.net.prefix}*): "
                "`paceline demo status` to see it, `paceline demo down` to remove it"
            )
        try:
            self.net.create()
        except (NetnsError, DemoUnavailable) as e:
            raise DemoError(str(e)) from None
        try:
            for n in self.nodes:
                self.node_dir(n).mkdir(parents=True, exist_ok=True)
            (self.root / "cluster.yaml").write_text(self.config_text())
            (self.root / "keeper.json").write_text(json.dumps(self._keeper_spec(), indent=1))
            (self.root / "demo.json").write_text(
                json.dumps({"prefix": self.net.prefix, "vip": self.vip, "nodes": list(self.nodes)})
            )
            spaces = ", ".join(self.net.ns(n) for n in self.nodes)
            say(f"network: bridge {self.net.bridge}, namespaces {spaces}")
            log = os.open(self.root / "keeper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                subprocess.Popen(
                    [sys.executable, "-m", "paceline.demo.keeper", str(self.root)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    close_fds=True,
                )
            finally:
                os.close(log)
            say(f"starting etcd and paceline in each namespace; waiting for the VIP {self.vip} to answer")
            answer = self.wait_vip(timeout_s)
            if answer is None:
                raise DemoError(
                    f"the VIP did not answer within {timeout_s:g}s; logs in {self.root}/*/daemon.log "
                    "(`paceline demo down` removes everything)"
                )
            return answer
        except BaseException:
            if not (self.root / "keeper.json").exists():
                self.down()
            raise

    def wait_vip(self, timeout_s: float) -> dict[str, Any] | None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            answer = self.fetch_vip()
            if answer is not None:
                return answer
            time.sleep(0.2)
        return None

    def fetch_vip(self, timeout: float = 0.5) -> dict[str, Any] | None:
        """What the VIP answers to a client in the client namespace (None: nothing answers)."""
        url = f"http://{self.vip}/json"
        return in_netns(self.client_ns, lambda: get_json(url, timeout))

    def down(self) -> list[str]:
        """Remove everything; returns what could not be removed (empty when all is gone)."""
        problems: list[str] = []
        if (self.root / "keeper.sock").exists():
            with contextlib.suppress(OSError, ValueError):
                request(self.root, {"op": "shutdown"}, timeout=60)
        for pid in self._recorded_pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        for m in self.net.members:
            if netns.exists(m.ns):
                with contextlib.suppress(NetnsError):
                    netns.kill_all(m.ns)
        try:
            self.net.destroy()
        except (NetnsError, DemoUnavailable) as e:
            problems.append(str(e))
        self._unmount_under_root()
        for n in self.nodes:
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(self.etcd_dir(n))
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.root)
        if self.root.exists():
            problems.append(f"{self.root} could not be removed")
        return problems

    def _recorded_pids(self) -> list[int]:
        out: list[int] = []
        with contextlib.suppress(OSError, ValueError):
            out.append(int((self.root / "keeper.pid").read_text()))
        with contextlib.suppress(OSError, ValueError):
            for procs in json.loads((self.root / "keeper.pids").read_text()).values():
                out.extend(int(p) for p in procs.values() if p)
        return out

    def _unmount_under_root(self) -> None:
        with contextlib.suppress(OSError):
            mounts = [ln.split()[1] for ln in Path("/proc/self/mounts").read_text().splitlines()]
            for mnt in sorted((m for m in mounts if m.startswith(str(self.root) + "/")), reverse=True):
                subprocess.run(["umount", "-l", mnt], check=False, capture_output=True)

    # -- breaking and healing -------------------------------------------------------------------------
    def _node(self, node: str) -> str:
        if node not in self.nodes:
            raise DemoError(f"no node {node!r} in the demo (nodes: {', '.join(self.nodes)})")
        if not (self.root / "keeper.sock").exists():
            raise DemoError("no demo is running here: `paceline demo up` first")
        return self.net.ns(node)

    def pids(self) -> dict[str, dict[str, int | None]]:
        answer = request(self.root, {"op": "pids"}, timeout=10)
        return {n: {k: v for k, v in p.items()} for n, p in answer.items()}

    def kill(self, node: str) -> int:
        """The machine dies: every process in its namespace gets SIGKILL and its links go down
        (a dead machine's kernel answers nothing either: no ARP, no RST for the VIP)."""
        ns = self._node(node)
        netns.links_down(ns)
        return netns.kill_all(ns)

    def hang(self, node: str) -> int:
        """The node's daemon stops (SIGSTOP): alive to the kernel, silent to the cluster."""
        self._node(node)
        pid = self.pids()[node]["daemon"]
        if pid is None:
            raise DemoError(f"{node}'s daemon is not running (killed? `paceline demo heal {node}`)")
        os.kill(pid, signal.SIGSTOP)
        return pid

    def partition(self, node: str) -> None:
        """The node's links go down; its processes keep running (the split-brain case)."""
        netns.links_down(self._node(node))

    def heal(self, node: str) -> dict[str, Any]:
        """Undo kill, hang or partition: links up, SIGCONT, start what is not running."""
        ns = self._node(node)
        pids = self.pids()[node]
        if pids["daemon"] is None:
            # the node died (or was fenced): addresses it held (the VIP) died with it
            netns.flush_extra_addresses(ns, keep=[self.net.member(node).address])
        netns.links_up(ns)
        if pids["daemon"] is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pids["daemon"], signal.SIGCONT)
        return request(self.root, {"op": "start", "node": node}, timeout=60)

    # -- looking ---------------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """`{"vip", "web", "dc", "nodes": [{"name", "state"}], "resources": [{"id", "node",
        "role"}], "answer"}` from the first node whose daemon answers, and what the VIP answers."""
        from ..cli.daemon_cmds import DaemonClient, DaemonTimeout, NoDaemon

        data: dict[str, Any] | None = None
        for n in self.nodes:
            with contextlib.suppress(NoDaemon, DaemonTimeout, OSError, ValueError):
                code, got = DaemonClient(self.state_dir(n), timeout=3).request("GET", "/status")
                if code == 200:
                    data = got
                    break
        answer = self.fetch_vip() if netns.exists(self.client_ns) else None
        out: dict[str, Any] = {"vip": self.vip, "web": None, "dc": None, "nodes": [], "answer": answer}
        if data is None:
            out["note"] = (
                "no node's daemon can read the cluster store: with one etcd member per node, two "
                "nodes down means no quorum (heal one)"
            )
        else:
            out["dc"] = data.get("dc") or None
            out["nodes"] = [{"name": n["name"], "state": n["state"]} for n in data.get("nodes", [])]
            out["resources"] = [
                {"id": r["id"], "node": r.get("node"), "role": r.get("role")}
                for r in data.get("resources", [])
            ]
            for r in out["resources"]:
                if r["id"] == "web" and r["node"] and r["role"] == "Started":
                    out["web"] = r["node"]
        return out
