"""HAProxy kept in step with where a clone's copies run, through its runtime API only (no reload).

- `runtime`: a small client of HAProxy's runtime API (a Unix stats socket at `level admin`):
  one command per connection, `show stat` parsed into `ServerStat`s.
- `servers`: what to change: `plan` (pure) compares the servers a backend should have with
  HAProxy's own view; `Balancer.sync` carries it out: a new server is added (it starts in MAINT
  and inherits no default-server, so its check settings are given), its health check enabled and
  its state set ready; a server to remove is drained (`state drain`: no new connections) until its
  current sessions end or the drain timeout passes, then put in MAINT and deleted; weights are set.
  `DownTracker` turns HAProxy's health view into failure signals: a server DOWN for longer than
  a configured time.
- `follow`: `desired_servers`: the servers a clone should have, from the recorded history.
"""

from __future__ import annotations

from .follow import desired_servers
from .runtime import HaproxyRuntime, RuntimeError_, ServerStat, parse_stat
from .servers import Balancer, DownTracker, Plan, Server, plan

__all__ = [
    "Balancer",
    "DownTracker",
    "HaproxyRuntime",
    "Plan",
    "RuntimeError_",
    "Server",
    "ServerStat",
    "desired_servers",
    "parse_stat",
    "plan",
]
