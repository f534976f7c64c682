"""JSON forms of what the daemon records in the store, and the store's key layout.

Keys (all under `PREFIX`)::

    config/current                  {"version", "text", "applied_at", "source"}
    config/history/<version:08d>    the same, for every version ever applied
    ops/<node>/<rsc>/<slot>         an OpRecord: slot `last` (start/stop/probe/promote/...),
                                    `monitor_<ms>` (a recurring monitor), `last_failure`
    fail/<node>/<rsc>/<op>_<ms>     a FailRecord
    nodes/<node>                    {"standby": bool, "maintenance": bool}
    constraints/<id>                {"resource", "node", "score"} (bans and moves from the CLI)
    meta/<rsc>                      {name: value} meta attribute overrides (target-role, ...)
    events/<seq:012d>               an Event (the event log)
    counters/call_id, counters/event_seq   the last call id and event sequence number given out
                                    (compare-and-swap increments: unique across nodes and restarts)
    members/<node>                  {"state": joining|online, "pid", "since", "boot"}: under the
                                    node's lease; gone = the node's lease expired or was revoked
    dc                              {"node", "since"}: under the DC's lease, created only if absent;
                                    its create_revision is the DC's epoch, the fencing token
    actions/<node>/<id>             an action the DC asks `node` to run {"kind", "resource",
                                    "interval_ms", "reason", "token"}, written only while the DC
                                    key has the DC's revision
    done/<node>/<id>                {"ok", "token"}: the node ran it (written with the action's
                                    deletion, after its result was recorded)
    fenced/<node>                   {"time", "method", "by", "detail"}: the last fencing of `node`
    attrs/<node>                    {name: value} the node's transient attributes
    revoked/<node>                  {"time", "by"}: a DC revoked the node's lease to fence it (its
                                    member key vanished before its deadline; deleted once fenced)

Outside `PREFIX`, so that no watcher of `PREFIX` wakes ten times a second::

    /heartbeat/<node>               {"seq", "t"}: rewritten every `heartbeat-interval` under the
                                    node's lease (see `model.heartbeats`)

Invariant: `decode_*(encode_*(x)) == x` for every record.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from ..model.enums import OpStatus
from ..model.state import FailRecord, OpRecord

__all__ = [
    "ACTIONS",
    "CALL_ID_COUNTER",
    "DC_KEY",
    "DONE",
    "EVENT_COUNTER",
    "FENCED",
    "HEARTBEATS",
    "MEMBERS",
    "NODES",
    "PREFIX",
    "REVOKED",
    "Event",
    "EventKind",
    "action_key",
    "attrs_key",
    "decode_event",
    "decode_fail",
    "decode_op",
    "done_key",
    "encode_event",
    "encode_fail",
    "encode_op",
    "fail_key",
    "op_key",
]

PREFIX = "/paceline/"
MEMBERS = PREFIX + "members/"
DC_KEY = PREFIX + "dc"
ACTIONS = PREFIX + "actions/"
DONE = PREFIX + "done/"
FENCED = PREFIX + "fenced/"
REVOKED = PREFIX + "revoked/"
NODES = PREFIX + "nodes/"
HEARTBEATS = "/heartbeat/"
CALL_ID_COUNTER = PREFIX + "counters/call_id"
EVENT_COUNTER = PREFIX + "counters/event_seq"


def action_key(node: str, action_id: str) -> str:
    return f"{ACTIONS}{node}/{action_id}"


def done_key(node: str, action_id: str) -> str:
    return f"{DONE}{node}/{action_id}"


def attrs_key(node: str) -> str:
    return f"{PREFIX}attrs/{node}"


def op_key(node: str, rsc: str, slot: str) -> str:
    return f"{PREFIX}ops/{node}/{rsc}/{slot}"


def fail_key(node: str, rsc: str, operation: str) -> str:
    return f"{PREFIX}fail/{node}/{rsc}/{operation}"


def encode_op(r: OpRecord) -> str:
    d = asdict(r)
    d["status"] = r.status.name
    return json.dumps({k: v for k, v in d.items() if v is not None}, sort_keys=True)


def decode_op(text: str) -> OpRecord:
    d: dict[str, Any] = json.loads(text)
    d["status"] = OpStatus[d.get("status", "DONE")]
    return OpRecord(**d)


def encode_fail(r: FailRecord) -> str:
    return json.dumps(asdict(r), sort_keys=True)


def decode_fail(text: str) -> FailRecord:
    return FailRecord(**json.loads(text))


class EventKind(StrEnum):
    """The kinds of event in the event log."""

    FAILURE = "failure"
    RECOVERY = "recovery"
    ESCALATION = "escalation"
    STOP = "stop"
    START = "start"
    OPERATION = "resource"
    NODE = "node"
    CONFIG = "config"
    DAEMON = "daemon"
    EXPIRY = "failure-expired"
    ADOPT = "adopt"
    COMMAND = "command"


@dataclass(frozen=True)
class Event:
    """One line of the event log. `rc`/`target_rc` are OCF codes."""

    seq: int
    time: float
    kind: EventKind
    node: str
    message: str
    resource: str = ""
    task: str = ""
    interval_ms: int = 0
    rc: int | None = None
    target_rc: int | None = None
    status: str = ""
    desc: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def encode_event(e: Event) -> str:
    return json.dumps(asdict(e), sort_keys=True)


def decode_event(text: str) -> Event:
    d: dict[str, Any] = json.loads(text)
    d["kind"] = EventKind(d["kind"])
    return Event(**d)
