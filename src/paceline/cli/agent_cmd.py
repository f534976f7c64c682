"""``paceline agent``: run one agent operation by hand, list installed agents, show an agent's
parameters. Mounted by ``paceline.cli.main`` as ``app.add_command(agent_app)``.

Contract: ``run`` prints the result name (or, with ``--json``, exactly
``{"rc", "rc_name", "duration_ms", "exit_reason", "stdout", "stderr"}``) and exits with the
agent's exit code (OCF numbering; 1 for timeouts and execution errors). Every error (bad spec,
unknown agent or class, malformed option) is one line on stderr and a non-zero exit, never a
traceback. State (HA_RSCTMP, attribute store, service records) lives in ``--state-dir``
(default ``$PACELINE_STATE_DIR`` or ``/var/lib/paceline``), shared with the node daemon.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import TYPE_CHECKING, NoReturn

from .base import Exit, Group, argument, flag, option

if TYPE_CHECKING:  # the agents are imported by the commands that run them (start-up time)
    from paceline.agents import AgentMetadata, AgentSpec, LocalAgentRunner, OpResult

__all__ = ["agent_app"]

agent_app = Group("agent", help="Run resource and fence agents by hand; list them; show their parameters.")

state_dir_option = option(
    "--state-dir", help="Node state directory [default: $PACELINE_STATE_DIR or /var/lib/paceline]"
)
node_option = option("--node", help="This node's name [default: host name]")


def _die(msg: str, code: int = 2) -> NoReturn:
    print(f"paceline agent: {msg}", file=sys.stderr)
    raise Exit(code)


def _state_dir(opt: str | None) -> str:
    return opt or os.environ.get("PACELINE_STATE_DIR") or "/var/lib/paceline"


def _runner(state_dir: str | None, node: str | None) -> LocalAgentRunner:
    from paceline.agents import LocalAgentRunner

    try:
        return LocalAgentRunner(_state_dir(state_dir), node or socket.gethostname().split(".")[0])
    except OSError as e:
        _die(f"cannot use state directory {_state_dir(state_dir)}: {e.strerror or e}")


def _spec(text: str) -> AgentSpec:
    from paceline.agents import AgentSpec, AgentSpecError

    try:
        return AgentSpec.parse(text)
    except AgentSpecError as e:
        _die(str(e))


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _die(f"{what} must be key=value, got {item!r}")
        out[key] = value
    return out


def _result_json(res: OpResult) -> str:
    return json.dumps(
        {
            "rc": int(res.rc),
            "rc_name": res.rc.name,
            "duration_ms": round(res.duration_ms, 3),
            "exit_reason": res.exit_reason,
            "stdout": res.stdout,
            "stderr": res.stderr,
        }
    )


@agent_app.command("run")
@argument("spec", help="Agent, e.g. ocf:heartbeat:Dummy, lsb:NAME, stonith:fence_dummy")
@argument("action", help="start, stop, monitor, meta-data, off, status, ...")
@option("-p", "--param", multiple=True, help="Instance parameter key=value")
@option("--meta", multiple=True, help="Meta attribute key=value")
@option("--timeout", help="Operation timeout (20s, 500ms, 2min)")
@option("--interval", default="0", help="Monitor interval (0 = probe)")
@option("--resource", "-r", help="Resource id [default: agent type]")
@flag("--json", "as_json", help="Print the result as JSON")
@flag("--verbose", "-v", help="Also print the agent's output")
@state_dir_option
@node_option
def run_cmd(
    spec: str,
    action: str,
    param: list[str],
    meta: list[str],
    timeout: str | None,
    interval: str,
    resource: str | None,
    as_json: bool,
    verbose: bool,
    state_dir: str | None,
    node: str | None,
) -> None:
    """Run one operation of an agent and exit with its exit code."""
    import asyncio

    from paceline.agents import DurationError, OpRequest, parse_duration_ms

    agent = _spec(spec)
    params, metas = _pairs(param, "-p"), _pairs(meta, "--meta")
    try:
        timeout_ms = parse_duration_ms(timeout) if timeout is not None else None
        interval_ms = parse_duration_ms(interval)
    except DurationError as e:
        _die(str(e))
    if timeout_ms is not None and timeout_ms <= 0:
        _die("--timeout must be > 0")
    runner = _runner(state_dir, node)
    req = OpRequest(resource or agent.type, agent, action, params, metas, interval_ms, timeout_ms)

    async def go() -> OpResult:
        try:
            return await runner.run(req)
        finally:
            await runner.close()

    res = asyncio.run(go())
    if as_json:
        print(_result_json(res))
    else:
        if action in ("meta-data", "metadata", "list", "list-status") and res.stdout:
            sys.stdout.write(res.stdout if res.stdout.endswith("\n") else res.stdout + "\n")
        elif verbose:
            sys.stdout.write(res.stdout)
            sys.stderr.write(res.stderr)
        print(f"{res.describe()} ({res.duration_ms:.1f} ms)")
    raise Exit(int(res.rc))


@agent_app.command("list")
@argument("standard", required=False, help="ocf, lsb, systemd, service or stonith")
@state_dir_option
@node_option
def list_cmd(standard: str | None, state_dir: str | None, node: str | None) -> None:
    """List the agents installed on this node."""
    from paceline.agents import Standard, list_agents

    std: Standard | None = None
    if standard is not None:
        try:
            std = Standard(standard)
        except ValueError:
            _die(f"unknown agent class {standard!r} (known: {', '.join(s.value for s in Standard)})")
    for name in list_agents(_runner(state_dir, node).ctx, std):
        print(name)


def _print_info(spec: AgentSpec, md: AgentMetadata) -> None:
    """The agent's parameters and actions as tables. The agent's own texts are shown as they are:
    no Rich markup, emoji codes (`ocf:heartbeat:Dummy` holds `:heartbeat:`) or highlighting."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(markup=False, emoji=False, highlight=False)
    console.print(Text.assemble((str(spec), "bold"), f"  {md.shortdesc}"))
    if md.longdesc and md.longdesc != md.shortdesc:
        console.print(md.longdesc)
    table = Table("parameter", "type", "default", "required", "unique", "description")
    for p in md.parameters:
        table.add_row(
            p.name,
            p.type + (f" ({'|'.join(p.options)})" if p.options else ""),
            p.default or "",
            "yes" if p.required else "",
            "yes" if p.unique else "",
            p.shortdesc,
        )
    console.print(table)
    acts = Table("action", "timeout", "interval")
    for a in md.actions:
        acts.add_row(
            a.name,
            f"{a.timeout_ms / 1000:g}s" if a.timeout_ms is not None else "",
            f"{a.interval_ms / 1000:g}s" if a.interval_ms else "",
        )
    console.print(acts)


@agent_app.command("info")
@argument("spec", help="Agent, e.g. ocf:heartbeat:IPaddr2")
@flag("--json", "as_json", help="Print as JSON")
@state_dir_option
@node_option
def info_cmd(spec: str, as_json: bool, state_dir: str | None, node: str | None) -> None:
    """Show an agent's parameters and actions (from its meta-data)."""
    import asyncio

    from paceline.agents import Standard
    from paceline.agents.systemd import NOT_RUNNING_REASON

    agent = _spec(spec)
    runner = _runner(state_dir, node)
    if not runner.exists(agent):
        if agent.std is Standard.SYSTEMD:
            _die(NOT_RUNNING_REASON, 5)
        _die(f"agent {agent} is not installed on this node", 5)

    async def go() -> AgentMetadata:
        try:
            return await runner.metadata(agent)
        finally:
            await runner.close()

    try:
        md = asyncio.run(go())
    except (OSError, RuntimeError) as e:
        _die(str(e), 1)
    if as_json:
        print(
            json.dumps(
                {
                    "agent": str(agent),
                    "shortdesc": md.shortdesc,
                    "parameters": [
                        {
                            "name": p.name,
                            "type": p.type,
                            "default": p.default,
                            "required": p.required,
                            "unique": p.unique,
                            "shortdesc": p.shortdesc,
                        }
                        for p in md.parameters
                    ],
                    "actions": [
                        {"name": a.name, "timeout_ms": a.timeout_ms, "interval_ms": a.interval_ms}
                        for a in md.actions
                    ],
                }
            )
        )
    else:
        _print_info(agent, md)
