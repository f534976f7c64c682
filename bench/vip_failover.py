"""VIP failover in network namespaces: kill the node serving the VIP, time until the VIP answers
HTTP again (from another node), seen from a client namespace. Paceline against keepalived, in
the same run and the same namespaces (`failover_bench.py --cluster` runs this).

Set-ups (each: `kills` kills of whichever node serves the VIP; the killed node is healed and the
cluster left to settle before the next kill, and is never the one measured twice in a row):
  paceline-device     `paceline demo` with the namespace fence device: 3 missed 100 ms heartbeats
                      -> fence (links down, every process killed) -> start VIP and web elsewhere
  paceline-device-dc  the same, but before each kill the VIP is moved to the DC: the kill takes the
                      DC with it (the first other live node fences it, a new DC is elected and
                      re-probes before it acts)
  paceline-watchdog   no fence device, `lease-ttl` 1s: the lost node's lease expires, the DC
                      waits out its self-fence deadline, then starts VIP and web elsewhere
  keepalived-1s       keepalived 2.2 (Debian), VRRPv2, advert_int 1, the demo's web page running
                      on every node (keepalived moves only the address)
  keepalived-50ms     the same with VRRPv3, advert_int 0.05
A kill is the demo's `kill`: the namespace's links go down and every process in it gets SIGKILL
(a dead machine). The time is from just before the kill to the first HTTP answer from another
node, polled every 10 ms (50 ms timeout) by a thread inside the client namespace.
Overlaps: any answer, after the first one from the new node, from the killed node (it must be
dead) or under a lower fencing token, is counted; the /proc observer counts any moment two
nodes run the web service (Paceline set-ups; keepalived runs it on every node by design).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from cluster.harness import SingletonObserver
from paceline.agents import become_subreaper
from paceline.demo import netns
from paceline.demo.control import Demo
from paceline.demo.netns import DemoNet
from paceline.demo.observe import VipObserver

PREFIX = "bf-"
VIP = "192.0.2.50"


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def summary(xs: list[float]) -> dict[str, float]:
    if not xs:
        return {"n": 0}
    return {
        "n": len(xs),
        "median_s": round(statistics.median(xs), 3),
        "p99_s": round(_pct(xs, 99), 3),
        "min_s": round(min(xs), 3),
        "max_s": round(max(xs), 3),
    }


def _wait(pred: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def measure(
    kill: Callable[[str], None],
    heal: Callable[[str], None],
    settled: Callable[[], bool],
    obs: VipObserver,
    kills: int,
    label: str,
    prepare: Callable[[], None] | None = None,
) -> tuple[list[float], int]:
    times: list[float] = []
    failures = 0
    for i in range(kills):
        if not _wait(lambda: settled() and obs.current() is not None and obs.current().node is not None, 60):  # type: ignore[union-attr]
            print(f"  {label} #{i}: did not settle; stopping", flush=True)
            break
        if prepare is not None:
            prepare()
        cur = obs.current()
        assert cur is not None and cur.node is not None
        victim = cur.node
        t0 = time.monotonic()
        kill(victim)
        ok = _wait(lambda v=victim: (a := obs.current()) is not None and a.node not in (None, v), 30, 0.005)  # type: ignore[misc]
        got = obs.first_answer_after(t0, victim)
        if not ok or got is None:
            failures += 1
            print(f"  {label} #{i}: kill {victim}: no answer from another node within 30 s", flush=True)
        else:
            times.append(got.at - t0)
            print(f"  {label} #{i}: kill {victim}: {got.node} answers after {got.at - t0:.3f} s", flush=True)
        heal(victim)
    return times, failures


# -- Paceline ------------------------------------------------------------------------------------------
def bench_paceline(root: Path, kills: int, device: bool, dc_serves: bool = False) -> dict[str, Any]:
    label = ("paceline-device" if device else "paceline-watchdog") + ("-dc" if dc_serves else "")
    demo = Demo(
        root=root / label,
        net=DemoNet(prefix=PREFIX, host=None),
        fence_device=device,
        lease_ttl="2s" if device else "1s",
        name=f"bench-{label}",
    )
    demo.up(timeout_s=60, say=lambda *_: None)
    time.sleep(2.5)  # past every node's heartbeat grace (2 s after joining): steady state
    procs = SingletonObserver(f"--demo\0{demo.name}\0").start()
    obs = VipObserver(demo.client_ns, demo.vip, period_s=0.01, timeout_s=0.05).start()
    try:

        def settled() -> bool:
            st = demo.status()
            return {n["state"] for n in st["nodes"]} == {"online"} and st["web"] is not None

        def heal(node: str) -> None:
            demo.heal(node)
            _wait(settled, 60)
            time.sleep(2.5)  # past the healed node's heartbeat grace (2 s): it is a full member

        def to_the_dc() -> None:
            """Make the DC the node that serves (ban the VIP from the others, then clear: the
            stickiness keeps it there), so that the kill takes the DC with it."""
            dc = str(demo.status()["dc"])
            for n in demo.nodes:
                if n != dc:
                    _cli(demo, dc, "resource", "ban", "vip", "--node", n)
            _wait(lambda: (a := obs.current()) is not None and a.node == dc, 30)
            _cli(demo, dc, "resource", "clear", "vip")
            time.sleep(2.5)

        times, failures = measure(
            demo.kill, heal, settled, obs, kills, label, prepare=to_the_dc if dc_serves else None
        )
    finally:
        obs.stop()
        procs.stop()
        keep = os.environ.get("VIPBENCH_KEEP")
        if keep:  # the daemons' logs, for whoever wants to know where a slow failover spent its time
            for log in demo.root.glob("*/*.log"):
                dest = Path(keep) / label / f"{log.parent.name}-{log.name}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(log, dest)
        demo.down()
    return {
        **summary(times),
        "no_answer": failures,
        "token_violations": obs.violations(),
        "process_overlaps": len(procs.overlaps),
        "observer_polls": obs.polls,
    }


def _cli(demo: Demo, node: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "paceline.cli.main", *args, "--state-dir", str(demo.state_dir(node))],
        capture_output=True,
        check=True,
    )


# -- keepalived ----------------------------------------------------------------------------------------
KEEPALIVED_CONF = """global_defs {{
  router_id {node}
  {version}
  script_user root
  enable_script_security
}}
vrrp_instance VI_1 {{
  state BACKUP
  nopreempt
  interface {nic}
  virtual_router_id 51
  priority {priority}
  advert_int {advert}
  virtual_ipaddress {{
    {vip}/24 dev {nic}
  }}
}}
"""


def bench_keepalived(root: Path, kills: int, advert: str) -> dict[str, Any]:
    net = DemoNet(prefix=PREFIX, host=None)
    net.create()
    label = f"keepalived-{advert}s"
    procs: dict[str, list[subprocess.Popen[bytes]]] = {}
    root = root / f"keepalived-{advert}"
    root.mkdir(parents=True)

    def start(node: str) -> None:
        d = root / node
        d.mkdir(exist_ok=True)
        conf = d / "keepalived.conf"
        conf.write_text(
            KEEPALIVED_CONF.format(
                node=node,
                version="vrrp_version 3" if float(advert) < 1 else "",
                nic=netns.NS_IF,
                priority=100 + int(node[1:]),
                advert=advert,
                vip=VIP,
            )
        )
        for pidfile in ("keepalived.pid", "vrrp.pid"):  # a killed one's: it would refuse to start
            (d / pidfile).unlink(missing_ok=True)
        ns = net.ns(node)
        env = {**os.environ, "PACELINE_NODE_NAME": node, "PACELINE_TOKEN": "0"}
        web = subprocess.Popen(
            netns.exec_argv(ns, [sys.executable, "-m", "paceline.demo.web", "--port", "80"]),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        ka = subprocess.Popen(
            netns.exec_argv(
                ns,
                [
                    "keepalived",
                    "--dont-fork",
                    "--vrrp",
                    "--log-console",
                    "-f",
                    str(conf),
                    "-p",
                    str(d / "keepalived.pid"),
                    "-r",
                    str(d / "vrrp.pid"),
                ],
            ),
            stdout=open(d / "keepalived.log", "ab"),  # noqa: SIM115 (kept by the child)
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs[node] = [web, ka]

    def kill(node: str) -> None:
        ns = net.ns(node)
        netns.links_down(ns)
        netns.kill_all(ns)
        for p in procs.pop(node, []):
            p.wait()

    def heal(node: str) -> None:
        _reap_orphans()
        ns = net.ns(node)
        netns.flush_extra_addresses(ns, keep=[net.member(node).address])
        netns.links_up(ns)
        start(node)
        time.sleep(3 * float(advert) + 1.0)

    obs: VipObserver | None = None
    try:
        for n in net.node_names:
            start(n)
        obs = VipObserver(net.ns("client"), VIP, period_s=0.01, timeout_s=0.05).start()
        times, failures = measure(kill, heal, lambda: True, obs, kills, label)
        if failures and os.environ.get("VIPBENCH_DEBUG"):
            for log in sorted(root.glob("*/keepalived.log")):
                print(f"--- {log}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:]))
    finally:
        if obs is not None:
            obs.stop()
        for ps in procs.values():
            for p in ps:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        net.destroy()
    return {**summary(times), "no_answer": failures, "observer_polls": obs.polls if obs else 0}


def _reap_orphans() -> None:
    """Reap what was re-parented to this process (a subreaper: see `run`)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass


def run(kills: int, only: list[str] | None = None) -> dict[str, Any]:
    if shutil.which("keepalived") is None:
        raise SystemExit("keepalived is not installed: bash scripts/setup.sh")
    if DemoNet(prefix=PREFIX).leftovers():
        raise SystemExit(f"namespaces {PREFIX}* exist from an earlier run: remove them first")
    become_subreaper()  # keepalived's VRRP child, orphaned by a kill, must not linger as a zombie
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="pl-vipbench-") as tmp:
        root = Path(tmp)
        setups: dict[str, Callable[[], dict[str, Any]]] = {
            "paceline-device": lambda: bench_paceline(root, kills, device=True),
            "paceline-device-dc": lambda: bench_paceline(root, kills, device=True, dc_serves=True),
            "paceline-watchdog": lambda: bench_paceline(root, kills, device=False),
            "keepalived-1s": lambda: bench_keepalived(root, kills, "1"),
            "keepalived-50ms": lambda: bench_keepalived(root, kills, "0.05"),
        }
        for name, fn in setups.items():
            if only and name not in only:
                continue
            print(f"== {name}", flush=True)
            results[name] = fn()
            print(f"   {results[name]}", flush=True)
    return results
