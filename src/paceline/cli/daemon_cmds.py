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
from typing import Annotated, Any

import typer

from ..daemon.paths import default_state_dir, socket_path
from ..model.scores import format_score

# Start-up time matters here (every `paceline status` pays it): the daemon, asyncio and the
# agents are imported by `run` only, and the client speaks HTTP with the standard library.

__all__ = ["EXIT_NO_DAEMON", "DaemonClient", "NoDaemon", "register"]

EXIT_NO_DAEMON = 3

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        metavar="DIR",
        help="The daemon's state directory (default: $PACELINE_STATE_DIR or /var/lib/paceline).",
        show_default=False,
    ),
]


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
        raise typer.Exit(EXIT_NO_DAEMON) from None
    except DaemonTimeout:
        print("paceline: the daemon did not answer in time", file=sys.stderr)
        raise typer.Exit(1) from None
    if status >= 400:
        print(f"paceline: {data.get('error', 'failed')}", file=sys.stderr)
        for problem in data.get("errors", []):
            print(f"  {problem}", file=sys.stderr)
        raise typer.Exit(1)
    return data


# -- run -------------------------------------------------------------------------------------------
def run(
    config: Annotated[
        Path | None,
        typer.Argument(
            metavar="[CONFIG]",
            help="Cluster configuration (default: the last applied one).",
            show_default=False,
        ),
    ] = None,
    state_dir: StateDir = None,
    node: Annotated[
        str | None, typer.Option("--node", help="This node's name (default: the hostname).")
    ] = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log one JSON object per line.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
    restart_backoff: Annotated[
        bool,
        typer.Option(
            "--restart-backoff/--no-restart-backoff",
            help="Wait (0.5 s doubling, at most 5 s) before restarting a resource that failed more "
            "than 3 times in 30 s.",
        ),
    ] = True,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="ADDR:PORT",
            help="Serve the web API, dashboard and metrics here ('off': not at all; default: the "
            "cluster option http-listen, else 127.0.0.1:7445).",
            show_default=False,
        ),
    ] = None,
    http_cert: Annotated[
        Path | None, typer.Option("--http-cert", metavar="PEM", help="TLS certificate (chain) for --http.")
    ] = None,
    http_key: Annotated[
        Path | None, typer.Option("--http-key", metavar="PEM", help="TLS private key for --http-cert.")
    ] = None,
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
        raise typer.Exit(2) from None
    setup_logging(log_json, logging.DEBUG if verbose else logging.INFO)
    daemon = make_daemon(state_dir or default_state_dir(), config, node, restart_backoff=restart_backoff)
    daemon.web = WebOptions(http, tls)
    try:
        rc = asyncio.run(daemon.run())
    except DaemonError as e:
        print(f"paceline run: {e}", file=sys.stderr)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        rc = 0
    raise typer.Exit(rc)


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


def status(
    state_dir: StateDir = None,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh until interrupted.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
    interval: Annotated[
        float, typer.Option("--interval", help="Refresh period for --watch (seconds).")
    ] = 1.0,
) -> None:
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
resource_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Restart, clean up, ban, clear or move a resource."
)
node_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Put a node in standby, online or maintenance."
)

Rsc = Annotated[str, typer.Argument(metavar="RESOURCE", help="Resource id.")]
OnNode = Annotated[str | None, typer.Option("--node", help="The node (default: the daemon's node).")]


def _resource_cmd(op: str, doc: str) -> None:
    def cmd(resource: Rsc, state_dir: StateDir = None, node: OnNode = None) -> None:
        data = _call(state_dir, "POST", f"/resource/{resource}/{op}", {"node": node} if node else {})
        print(data.get("message", "done"))

    cmd.__doc__ = doc
    resource_app.command(op)(cmd)


for _op, _doc in (
    ("restart", "Stop the resource (and what depends on it) and start it again."),
    ("cleanup", "Forget the resource's failures and fail counts and probe it again."),
    ("ban", "Keep the resource off a node (a -INFINITY location constraint)."),
    ("clear", "Remove the bans and moves of a resource."),
    ("move", "Move the resource away from its node (with one node: stop it and say so)."),
):
    _resource_cmd(_op, _doc)


def _node_cmd(op: str, doc: str) -> None:
    def cmd(
        name: Annotated[
            str | None, typer.Argument(metavar="[NODE]", help="Default: the daemon's node.")
        ] = None,
        state_dir: StateDir = None,
    ) -> None:
        target = name or _call(state_dir, "GET", "/status")["dc"]
        print(_call(state_dir, "POST", f"/node/{target}/{op}").get("message", "done"))

    cmd.__doc__ = doc
    node_app.command(op)(cmd)


for _op, _doc in (
    ("standby", "Move every resource off the node (here: stop them)."),
    ("online", "Let the node run resources again (ends standby and maintenance)."),
    ("maintenance", "Stop managing the node's resources (they keep running, unmonitored)."),
    ("fence", "Fence the node (a cluster on etcd): the DC fences it before its resources move."),
):
    _node_cmd(_op, _doc)


# -- config commands ---------------------------------------------------------------------------------
def config_apply(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The new configuration (YAML).")],
    state_dir: StateDir = None,
) -> None:
    """Validate FILE and make it the running configuration (invalid: rejected, nothing changes)."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as e:
        print(f"paceline config apply: cannot read {file}: {e.strerror or e}", file=sys.stderr)
        raise typer.Exit(1) from None
    data = _call(state_dir, "POST", "/config/apply", {"text": text, "source": str(file)})
    print(data.get("message", "applied"))
    for w in data.get("warnings") or []:
        print(w, file=sys.stderr)
    if data.get("restarted"):
        print("restarted: " + ", ".join(data["restarted"]))
    if data.get("reloaded"):
        print("reloaded: " + ", ".join(data["reloaded"]))


def config_history(state_dir: StateDir = None) -> None:
    """List the configuration versions the daemon has run."""
    for v in _call(state_dir, "GET", "/config/history")["versions"]:
        when = datetime.fromtimestamp(v["applied_at"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{v['version']:>4}  {when} UTC  {v['source']}")


def config_diff(
    file: Annotated[
        Path | None, typer.Argument(metavar="[FILE]", help="Compare FILE with the running configuration.")
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="Compare with this version instead of FILE.")
    ] = None,
    state_dir: StateDir = None,
) -> None:
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


def make_config_show(original: Callable[..., None] | None) -> Callable[..., None]:
    def show(
        file: Annotated[
            Path | None,
            typer.Argument(metavar="[FILE]", help="A configuration file to normalise.", show_default=False),
        ] = None,
        cib: Annotated[
            Path | None, typer.Option("--cib", metavar="FILE.xml", help="Convert a Pacemaker CIB.")
        ] = None,
        state_dir: StateDir = None,
    ) -> None:
        """Print a configuration: FILE or --cib normalised, or (with neither) the daemon's running one."""
        if (file is not None or cib is not None) and original is not None:
            original(file=file, cib=cib)
            return
        cur = _call(state_dir, "GET", "/config")
        sys.stdout.write(cur.get("text", ""))

    return show


def _event_line(e: dict[str, Any]) -> str:
    when = datetime.fromtimestamp(e["time"], UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{e['seq']:>6} {when} {e['kind']:<15} {e['message']}"


# -- events ------------------------------------------------------------------------------------------
def events(
    state_dir: StateDir = None,
    since: Annotated[int, typer.Option("--since", help="Only events after this sequence number.")] = 0,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many (the newest).")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new events.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
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


# -- registration --------------------------------------------------------------------------------------
def register(app: typer.Typer, config_app: typer.Typer) -> None:
    """Mount these commands on the main app (and the daemon's subcommands on `config`)."""
    app.command("run")(run)
    app.command("status")(status)
    app.command("events")(events)
    app.add_typer(resource_app, name="resource")
    app.add_typer(node_app, name="node")
    original = None
    for info in list(config_app.registered_commands):
        if info.name == "show":
            original = info.callback
            config_app.registered_commands.remove(info)
    config_app.command("show")(make_config_show(original))
    config_app.command("apply")(config_apply)
    config_app.command("diff")(config_diff)
    config_app.command("history")(config_history)
