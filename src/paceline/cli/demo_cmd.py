"""`paceline demo up|status|kill|hang|partition|heal|down`: a 3-node cluster in namespaces.

Exit codes: 0 done, 1 the demo could not do it (one line says why and what to do)."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

from .base import Exit, Group, argument, flag

if TYPE_CHECKING:
    from ..demo.control import Demo

__all__ = ["demo_app"]

demo_app = Group(
    "demo", help="A 3-node Paceline cluster on this machine (network namespaces, a VIP, real fencing)."
)


def _demo(watchdog_only: bool = False) -> Demo:
    from ..demo.control import Demo

    return Demo.here(fence_device=not watchdog_only, lease_ttl="1s" if watchdog_only else "2s")


def _fail(e: Exception) -> None:
    print(f"paceline demo: {e}", file=sys.stderr)
    raise Exit(1)


@demo_app.command("up")
@flag(
    "--watchdog-only", help="No fence device: lost nodes are fenced by their lease watchdog (lease-ttl 1s)."
)
def up(watchdog_only: bool) -> None:
    """Create the namespaces, start etcd and paceline in each, wait until the VIP answers."""
    from ..demo.control import DemoError

    demo = _demo(watchdog_only)
    try:
        answer = demo.up()
    except DemoError as e:
        _fail(e)
        return
    n1 = demo.state_dir(demo.nodes[0])
    print(
        f"""
The VIP {demo.vip} answers: served by {answer.get("node")} (fencing token {answer.get("token")}).

Watch it:     paceline demo status              (or: paceline status --watch --state-dir {n1})
              {demo.curl_hint}
Break it:     paceline demo kill NODE           the machine dies (kill -9 of all, links down)
              paceline demo hang NODE           its daemon stops (SIGSTOP)
              paceline demo partition NODE      its links go down, its processes keep running
              paceline demo heal NODE           undoes any of the three; the node rejoins
Remove it:    paceline demo down
Files:        {demo.root} (configuration, logs)"""
    )


@demo_app.command("status")
@flag("--json", "as_json", help="Print JSON.")
@flag("--watch", "-w", help="Refresh every second.")
def status(as_json: bool, watch: bool) -> None:
    """Which node serves the VIP, which runs the web service, and each node's state."""
    demo = _demo()
    if not demo.exists():
        _fail(RuntimeError("no demo is running here: `paceline demo up` first"))
    while True:
        data = demo.status()
        text = json.dumps(data, indent=2) if as_json else _text(data)
        if watch and sys.stdout.isatty():
            sys.stdout.write("\x1b[H\x1b[2J")
        print(text, flush=True)
        if not watch:
            return
        try:
            time.sleep(1)
        except KeyboardInterrupt:
            return


def _text(d: dict[str, Any]) -> str:
    ans = d.get("answer")
    served = f"served by {ans['node']} (token {ans['token']})" if ans else "NOT ANSWERING"
    lines = [
        f"VIP {d['vip']}: {served}",
        f"web runs on: {d.get('web') or '-'}    DC: {d.get('dc') or '-'}",
        "nodes: " + ", ".join(f"{n['name']} {n['state']}" for n in d.get("nodes", [])),
    ]
    if d.get("note"):
        lines.append(str(d["note"]))
    return "\n".join(lines)


def _breaker(verb: str, doc: str) -> None:
    @demo_app.command(verb, help=doc)
    @argument("node", metavar="NODE", help="n1, n2 or n3.")
    def cmd(node: str) -> None:
        from ..demo.control import DemoError
        from ..demo.netns import NetnsError

        demo = _demo()
        try:
            result = getattr(demo, verb)(node)
        except (DemoError, NetnsError, OSError) as e:
            _fail(e)
            return
        print(f"{verb} {node}: done" + (f" ({result})" if result else ""))


for _verb, _doc in (
    ("kill", "The machine dies: every process in the node's namespace gets kill -9, its links go down."),
    ("hang", "The node's daemon stops (SIGSTOP): alive to the kernel, silent to the cluster."),
    ("partition", "The node's links go down; its processes keep running (split brain)."),
    ("heal", "Undo kill, hang or partition: links up, SIGCONT, restart what was killed."),
):
    _breaker(_verb, _doc)


@demo_app.command("down")
def down() -> None:
    """Remove the demo: processes, namespaces, bridge and files (safe to run twice)."""
    from ..demo.control import DemoError

    demo = _demo()
    try:
        problems = demo.down()
    except DemoError as e:
        _fail(e)
        return
    if problems:
        _fail(RuntimeError("; ".join(problems)))
    print("demo removed")
