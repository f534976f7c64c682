"""The `paceline` command (console script `paceline = paceline.cli.main:app`).

Exit codes are shared by all commands: 0 done, 1 an input file has problems, 2 a bad command line
(see `paceline.cli.simulate_cmd`).

Start-up time: the command modules import only click (`paceline.cli.base`) and the standard
library at the top, and are themselves imported only when one of their commands runs; each
command imports the model, scheduler, agents or daemon it needs when it runs (`paceline --help`
and `paceline status` must not pay for the model, the scheduler or the agents).
`bench/cli_bench.py` measures it.
"""

from __future__ import annotations

from .base import Group
from .completion import completion_options

__all__ = ["app"]

# Each command's module is imported when the command runs (or `--help` lists it): `paceline
# status` loads the daemon client, not the simulator, the agents or the demo.
app = Group(
    "paceline",
    help="Paceline: a high-availability cluster manager.",
    params=completion_options(),
    lazy={
        "simulate": "simulate_cmd:simulate",
        "run": "daemon_cmds:run",
        "status": "daemon_cmds:status",
        "events": "daemon_cmds:events",
        "config": "config_cmd:config_app",
        "agent": "agent_cmd:agent_app",
        "demo": "demo_cmd:demo_app",
        "token": "token_cmd:token_app",
        "resource": "daemon_cmds:resource_app",
        "node": "daemon_cmds:node_app",
    },
)

if __name__ == "__main__":
    app()
