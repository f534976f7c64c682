"""Commands that run or talk to the node daemon: run, status, resource, node, config
show/diff/history/apply, events.

Every command that talks to the daemon takes `--state-dir DIR` (default $PACELINE_STATE_DIR, else
/var/lib/paceline) to find the daemon's socket, and says so in one line (exit 3) when no daemon
runs there. Exit codes: 0 done, 1 rejected (invalid configuration, refused command), 2 bad
command line, 3 no daemon.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ..daemon.paths import default_state_dir, socket_path
from .base import FLOAT, INT, PATH, Command, Exit, Group, argument, flag, option

ShowFile = Callable[[Path | None, Path | None], None]

# Start-up time matters here (every `paceline status` pays it): the daemon, asyncio and the
# agents are imported by `run` only, and the client speaks HTTP with the standard library.

__all__ = [
    "EXIT_NO_DAEMON",
    "DaemonClient",
    "NoDaemon",
    "config_apply",
    "config_diff",
    "config_history",
    "events",
    "make_config_show",
    "node_app",
    "resource_app",
    "run",
    "state_dir_option",
    "status",
]

EXIT_NO_DAEMON = 3

state_dir_option = option(
    "--state-dir",
    metavar="DIR",
    type=PATH,
    help="The daemon's state directory (default: $PACELINE_STATE_DIR or /var/lib/paceline).",
    show_default=False,
)


class NoDaemon(Exception):
    """No daemon answers on the socket."""


class DaemonTimeout(Exception):
    """The daemon did not answer in time."""


def _exchange(path: str, method: str, target: str, body: Any, timeout: float) -> tuple[int, bytes]:
    """One HTTP/1.1 request over the daemon's Unix socket, answered with `Connection: close`
    (`paceline.daemon.http`): (status, body). Raises OSError, TimeoutError or ValueError."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {target} HTTP/1.1\r\nHost: paceline\r\nConnection: close\r\n"
    if payload:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(head.encode("latin-1") + b"\r\n" + payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    header, sep, data = raw.partition(b"\r\n\r\n")
    status_line = header.split(b"\r\n", 1)[0].split()
    if not sep or len(status_line) < 2 or not status_line[1].isdigit():
        raise ValueError("not an HTTP answer")
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            data = data[: int(value.strip())]
    return int(status_line[1]), data


class DaemonClient:
    """Talks HTTP to the daemon over its Unix socket."""

    def __init__(self, state_dir: Path | None, timeout: float = 120.0) -> None:
        self.state_dir = state_dir or default_state_dir()
        self.sock = socket_path(self.state_dir)
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if not self.sock.exists():
            raise NoDaemon(
                f"no paceline daemon is running (no socket at {self.sock}); start one with `paceline run`"
            )
        try:
            status, raw = _exchange(str(self.sock), method, path, body, self.timeout)
        except TimeoutError:
            raise DaemonTimeout("the daemon did not answer in time") from None
        except (OSError, ValueError):
            raise NoDaemon(
                f"no paceline daemon answers on {self.sock} (is `paceline run` running?)"
            ) from None
        try:
            data = json.loads(raw)
        except ValueError:
            data = {"error": raw.decode("utf-8", "replace")}
        return status, data


def _call(state_dir: Path | None, method: str, path: str, body: Any = None) -> Any:
    try:
        status, data = DaemonClient(state_dir).request(method, path, body)
    except NoDaemon as e:
        print(f"paceline: {e}", file=sys.stderr)
        raise Exit(EXIT_NO_DAEMON) from None
    except DaemonTimeout:
        print("paceline: the daemon did not answer in time", file=sys.stderr)
        raise Exit(1) from None
    if status >= 400:
        print(f"paceline: {data.get('error', 'failed')}", file=sys.stderr)
        for problem in data.get("errors", []):
            print(f"  {problem}", file=sys.stderr)
        raise Exit(1)
    return data


# -- run -------------------------------------------------------------------------------------------
@click.command("run", cls=Command)
@argument(
    "config",
    metavar="[CONFIG]",
    type=PATH,
    required=False,
    help="Cluster configuration (default: the last applied one).",
)
@state_dir_option
@option("--node", help="This node's name (default: the hostname).")
@flag("--log-json", help="Log one JSON object per line.")
@flag("--verbose", "-v", help="Debug logging.")
@flag(
    "--restart-backoff/--no-restart-backoff",
    default=True,
    help="Wait (0.5 s doubling, at most 5 s) before restarting a resource that failed more "
    "than 3 times in 30 s.",
)
@option(
    "--http",
    metavar="ADDR:PORT",
    show_default=False,
    help="Serve the web API, dashboard and metrics here ('off': not at all; default: the "
    "cluster option http-listen, else 127.0.0.1:7445).",
)
@option("--http-cert", metavar="PEM", type=PATH, help="TLS certificate (chain) for --http.")
@option("--http-key", metavar="PEM", type=PATH, help="TLS private key for --http-cert.")
def run(
    config: Path | None,
    state_dir: Path | None,
    node: str | None,
    log_json: bool,
    verbose: bool,
    restart_backoff: bool,
    http: str | None,
    http_cert: Path | None,
    http_key: Path | None,
) -> None:
    """Run the node daemon in the foreground: keep the configured resources running."""
    import asyncio
    import logging

    from ..daemon.app import DaemonError, make_daemon
    from ..daemon.logs import setup_logging
    from ..model.listen import parse_listen
    from ..web.listen import WebOptions, tls_context

    try:
        if http is not None:
            parse_listen(http)
        if (http_cert is None) != (http_key is None):
            raise ValueError("give both --http-cert and --http-key")
        tls = tls_context(http_cert, http_key) if http_cert is not None and http_key is not None else None
    except ValueError as e:
        print(f"paceline run: {e}", file=sys.stderr)
        raise Exit(2) from None
    setup_logging(log_json, logging.DEBUG if verbose else logging.INFO)
    daemon = make_daemon(state_dir or default_state_dir(), config, node, restart_backoff=restart_backoff)
    daemon.web = WebOptions(http, tls)
    try:
        rc = asyncio.run(daemon.run())
    except DaemonError as e:
        print(f"paceline run: {e}", file=sys.stderr)
        raise Exit(1) from None
    except KeyboardInterrupt:
        rc = 0
    raise Exit(rc)


# -- status ----------------------------------------------------------------------------------------
def _status_text(data: dict[str, Any]) -> str:
    lines = [f"Cluster {data['cluster']}   DC: {data['dc']}   {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"]
    lines.append("Nodes:")
    for n in data["nodes"]:
        attrs = " ".join(f"{k}={v}" for k, v in sorted(n["attributes"].items()))
        state = n["state"].upper() if n["state"] == "unclean" else n["state"]
        line = f"  {n['name']}: {state}" + (f"   ({attrs})" if attrs else "")
        lines.append(line + (f"   {n['reason']}" if n.get("reason") else ""))
    lines.append("Resources:")
    width = max((len(r["id"]) for r in data["resources"]), default=4)
    awidth = max((len(r["agent"]) for r in data["resources"]), default=5)
    for r in data["resources"]:
        where = r["node"] or "-"
        line = f"  {r['id']:<{width}}  {r['agent']:<{awidth}}  {r['role']:<8}  {where}"
        if r["failcount"]:
            from ..model.scores import format_score  # (only then: status imports no model)

            line += f"   failcount={format_score(r['failcount'])}"
            if r["last_failure"]:
                line += f" last={r['last_failure']}"
        if r["reason"]:
            line += f"   {r['reason']}"
        lines.append(line)
    return "\n".join(lines)


def watch_frame(text: str, tty: bool) -> str:
    """One refresh of `status --watch`: on a terminal, the screen is cleared first; into a pipe
    or file, frames follow each other, separated by a blank line (no control codes)."""
    return ("\x1b[H\x1b[2J" if tty else "\n") + text + "\n"


@click.command("status", cls=Command)
@state_dir_option
@flag("--watch", "-w", help="Refresh until interrupted.")
@flag("--json", "as_json", help="Print the status as JSON.")
@option("--interval", type=FLOAT, default=1.0, help="Refresh period for --watch (seconds).")
def status(state_dir: Path | None, watch: bool, as_json: bool, interval: float) -> None:
    """Show what runs where, fail counts and why (--watch keeps going while the daemon restarts)."""
    render: Callable[[dict[str, Any]], str] = (lambda d: json.dumps(d, indent=2)) if as_json else _status_text
    if not watch:
        print(render(_call(state_dir, "GET", "/status")))
        return
    client = DaemonClient(state_dir)
    try:
        while True:
            try:
                code, data = client.request("GET", "/status")
                text = render(data) if code == 200 else f"paceline: {data.get('error', 'failed')}"
                if code == 200 and not as_json:
                    _, evs = client.request("GET", "/events?limit=6")
                    text += "\nRecent events:\n" + "\n".join(_event_line(e) for e in evs.get("events", []))
            except (NoDaemon, DaemonTimeout) as e:
                text = f"paceline: {e} (retrying every {interval:g}s)"
            sys.stdout.write(watch_frame(text, sys.stdout.isatty()))
            sys.stdout.flush()
            time.sleep(interval)
    except KeyboardInterrupt:
        pass


# -- resource and node commands ---------------------------------------------------------------------
resource_app = Group("resource", help="Restart, clean up, ban, clear or move a resource.")
node_app = Group("node", help="Put a node in standby, online or maintenance.")


def _resource_cmd(op: str, doc: str) -> None:
    @resource_app.command(op, help=doc)
    @argument("resource", metavar="RESOURCE", help="Resource id.")
    @state_dir_option
    @option("--node", help="The node (default: the daemon's node).")
    def cmd(resource: str, state_dir: Path | None, node: str | None) -> None:
        data = _call(state_dir, "POST", f"/resource/{resource}/{op}", {"node": node} if node else {})
        print(data.get("message", "done"))


for _op, _doc in (
    ("restart", "Stop the resource (and what depends on it) and start it again."),
    ("cleanup", "Forget the resource's failures and fail counts and probe it again."),
    ("ban", "Keep the resource off a node (a -INFINITY location constraint)."),
    ("clear", "Remove the bans and moves of a resource."),
    ("move", "Move the resource away from its node (with one node: stop it and say so)."),
):
    _resource_cmd(_op, _doc)


def _node_cmd(op: str, doc: str) -> None:
    @node_app.command(op, help=doc)
    @argument("name", metavar="[NODE]", required=False, help="Default: the daemon's node.")
    @state_dir_option
    def cmd(name: str | None, state_dir: Path | None) -> None:
        target = name or _call(state_dir, "GET", "/status")["dc"]
        print(_call(state_dir, "POST", f"/node/{target}/{op}").get("message", "done"))


for _op, _doc in (
    ("standby", "Move every resource off the node (here: stop them)."),
    ("online", "Let the node run resources again (ends standby and maintenance)."),
    ("maintenance", "Stop managing the node's resources (they keep running, unmonitored)."),
    ("fence", "Fence the node (a cluster on etcd): the DC fences it before its resources move."),
):
    _node_cmd(_op, _doc)


# -- config commands ---------------------------------------------------------------------------------
@click.command("apply", cls=Command)
@argument("file", metavar="FILE", type=PATH, help="The new configuration (YAML).")
@state_dir_option
def config_apply(file: Path, state_dir: Path | None) -> None:
    """Validate FILE and make it the running configuration (invalid: rejected, nothing changes)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        print(f"paceline config apply: cannot read {file}: {e.strerror or e}", file=sys.stderr)
        raise Exit(1) from None
    data = _call(state_dir, "POST", "/config/apply", {"text": text, "source": str(file)})
    print(data.get("message", "applied"))
    for w in data.get("warnings") or []:
        print(w, file=sys.stderr)
    if data.get("restarted"):
        print("restarted: " + ", ".join(data["restarted"]))
    if data.get("reloaded"):
        print("reloaded: " + ", ".join(data["reloaded"]))


@click.command("history", cls=Command)
@state_dir_option
def config_history(state_dir: Path | None) -> None:
    """List the configuration versions the daemon has run."""
    for v in _call(state_dir, "GET", "/config/history")["versions"]:
        when = datetime.fromtimestamp(v["applied_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{v['version']:>4}  {when} UTC  {v['source']}")


@click.command("diff", cls=Command)
@argument(
    "file", metavar="[FILE]", type=PATH, required=False, help="Compare FILE with the running configuration."
)
@option("--version", type=INT, help="Compare with this version instead of FILE.")
@state_dir_option
def config_diff(file: Path | None, version: int | None, state_dir: Path | None) -> None:
    """A unified diff from the running configuration to FILE (or to an earlier --version)."""
    cur = _call(state_dir, "GET", "/config")
    if file is not None:
        other, label = file.read_text(encoding="utf-8"), str(file)
        a, b, la, lb = cur.get("text", ""), other, f"running (version {cur.get('version')})", label
    elif version is not None:
        old = _call(state_dir, "GET", f"/config/{version}")
        a, b, la, lb = (
            old["text"],
            cur.get("text", ""),
            f"version {version}",
            f"running (version {cur.get('version')})",
        )
    else:
        hist = _call(state_dir, "GET", "/config/history")["versions"]
        if len(hist) < 2:
            print("only one configuration version: nothing to compare")
            return
        prev = hist[-2]["version"]
        old = _call(state_dir, "GET", f"/config/{prev}")
        a, b, la, lb = (
            old["text"],
            cur.get("text", ""),
            f"version {prev}",
            f"running (version {cur.get('version')})",
        )
    import difflib

    diff = difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True), la, lb)
    sys.stdout.writelines(diff)


def make_config_show(show_file: ShowFile) -> click.Command:
    """`config show`: FILE or --cib through `show_file` (which needs no daemon), else the daemon's."""

    @click.command("show", cls=Command)
    @argument("file", metavar="[FILE]", type=PATH, required=False, help="A configuration file to normalise.")
    @option("--cib", metavar="FILE.xml", type=PATH, help="Convert a Pacemaker CIB.")
    @state_dir_option
    def show(file: Path | None, cib: Path | None, state_dir: Path | None) -> None:
        """Print a configuration: FILE or --cib normalised, or (with neither) the daemon's running one."""
        if file is not None or cib is not None:
            show_file(file, cib)
            return
        cur = _call(state_dir, "GET", "/config")
        sys.stdout.write(cur.get("text", ""))

    return show


def _event_line(e: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(e["time"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{e['seq']:>6} {when} {e['kind']:<15} {e['message']}"


# -- events ------------------------------------------------------------------------------------------
@click.command("events", cls=Command)
@state_dir_option
@option("--since", type=INT, default=0, help="Only events after this sequence number.")
@option("--limit", "-n", type=INT, default=50, help="At most this many (the newest).")
@flag("--follow", "-f", help="Keep printing new events.")
@flag("--json", "as_json", help="One JSON object per line.")
def events(state_dir: Path | None, since: int, limit: int, follow: bool, as_json: bool) -> None:
    """Show the event log: failures, recoveries, escalations, stops, configuration changes."""
    last = since
    try:
        while True:
            evs = _call(
                state_dir, "GET", f"/events?since={last}&limit={limit if not last or not follow else 0}"
            )["events"]
            for e in evs:
                last = max(last, e["seq"])
                if as_json:
                    print(json.dumps(e))
                else:
                    print(_event_line(e))
            if not follow:
                return
            sys.stdout.flush()
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
