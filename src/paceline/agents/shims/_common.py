"""What every shim needs: the local node's name and id, the attribute store, exit codes.

Exit codes follow Pacemaker's crm_exit_t where agents look at them: 0 ok, 1 error, 64 usage,
105 no such attribute (CRM_EX_NOSUCH)."""

from __future__ import annotations

import os
import socket
import sys

from paceline.agents.attrstore import AttributeStore

EX_OK = 0
EX_ERROR = 1
EX_USAGE = 64
EX_NOSUCH = 105

NODE_NAME_ENV = "PACELINE_NODE_NAME"
NODE_ID_ENV = "PACELINE_NODE_ID"


def local_node() -> str:
    on_node = os.environ.get("OCF_RESKEY_CRM_meta_on_node")  # noqa: SIM112 (Pacemaker's spelling)
    return os.environ.get(NODE_NAME_ENV) or on_node or socket.gethostname()


def local_node_id() -> int:
    try:
        return int(os.environ.get(NODE_ID_ENV, "1"))
    except ValueError:
        return 1


def store() -> AttributeStore:
    return AttributeStore.from_env()


def fail(prog: str, message: str, code: int = EX_ERROR) -> int:
    print(f"{prog}: {message}", file=sys.stderr)
    return code


def delay_ms(text: str | None) -> int:
    """Dampening as attrd_updater takes it: seconds, or with a unit (5s, 500ms, 1min)."""
    if not text:
        return 0
    t = text.strip().lower()
    for unit, mult in (("ms", 1), ("min", 60000), ("s", 1000), ("m", 60000), ("h", 3600000)):
        if t.endswith(unit):
            try:
                return int(float(t[: -len(unit)]) * mult)
            except ValueError:
                return 0
    try:
        return int(float(t) * 1000)
    except ValueError:
        return 0
