"""The local node attribute store: a JSON file in the node's state directory that the shims
(crm_attribute, attrd_updater, crm_master, crm_node, crm_resource) write and the node daemon reads.

File format (``version`` 1)::

    {"version": 1, "revision": N,
     "attributes": {"reboot": {NODE: {NAME: {"value": V, "dampen_ms": D, "updated": T}}},
                    "forever": {NODE: {...}}},
     "config": {NAME: V},                       # crm_attribute -t crm_config
     "utilization": {RESOURCE: {NAME: V}},      # crm_resource -z
     "node_utilization": {NODE: {NAME: V}},     # crm_attribute -z -t nodes
     "membership": {"nodes": [{"id": 1, "name": "n1", "state": "member"}], "quorate": true},
     "locations": {RESOURCE: {"nodes": [NODE], "promoted": [NODE]}}}

Invariants:
- Every write holds an exclusive ``flock`` on ``PATH.lock`` for its read-modify-write and replaces
  the file atomically (write temporary + rename), so readers never see a torn file, with or
  without the (shared) lock. ``revision`` increases by one on every write that changes something.
- ``reboot`` attributes are transient (Pacemaker's status section: cleared when the node leaves);
  ``forever`` are permanent node attributes. Promotion scores are reboot attributes named
  ``master-<resource>`` (Pacemaker's name), the resource id without a clone instance suffix.
- Standard library only: the shims import this module and must start fast.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

__all__ = ["ATTR_STORE_ENV", "AttributeStore", "Lifetime", "promotion_attribute"]

ATTR_STORE_ENV = "PACELINE_ATTR_STORE"


class Lifetime(Enum):
    REBOOT = "reboot"  # transient (status section)
    FOREVER = "forever"  # permanent node attribute (nodes section)

    @classmethod
    def parse(cls, text: str) -> Lifetime:
        t = text.strip().lower()
        if t in {"reboot", "status", "transient"}:
            return cls.REBOOT
        if t in {"forever", "nodes", "permanent"}:
            return cls.FOREVER
        raise ValueError(f"unknown lifetime {text!r} (use reboot or forever)")


def promotion_attribute(resource: str) -> str:
    """Pacemaker's promotion-score attribute for a resource (clone suffix ``:N`` removed)."""
    return "master-" + resource.split(":", 1)[0]


def _empty() -> dict[str, Any]:
    return {
        "version": 1,
        "revision": 0,
        "attributes": {"reboot": {}, "forever": {}},
        "config": {},
        "utilization": {},
        "node_utilization": {},
        "membership": {},
        "locations": {},
    }


class AttributeStore:
    """File-backed attribute store at ``path`` (created on first write)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)  # public: the node daemon watches its mtime
        self._file = os.fspath(path)
        self._lock_path = self._file + ".lock"

    @classmethod
    def from_env(cls) -> AttributeStore:
        p = os.environ.get(ATTR_STORE_ENV)
        if not p:
            raise RuntimeError(f"{ATTR_STORE_ENV} is not set: not running under Paceline")
        return cls(p)

    # -- low level -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, exclusive: bool) -> Iterator[None]:
        os.makedirs(os.path.dirname(self._file) or ".", exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def _load(self) -> dict[str, Any]:
        try:
            with open(self._file) as f:
                data = json.load(f)
        except FileNotFoundError:
            return _empty()
        except (OSError, ValueError):
            return _empty()
        base = _empty()
        if isinstance(data, dict):
            base.update(data)
        return base

    def _save(self, data: dict[str, Any]) -> None:
        tmp = f"{self._file}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w") as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, self._file)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def read(self) -> dict[str, Any]:
        """A snapshot of the whole file."""
        with self._locked(False):
            return self._load()

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, Any]]:
        with self._locked(True):
            data = self._load()
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                data["revision"] = int(data.get("revision", 0)) + 1
                self._save(data)

    @property
    def revision(self) -> int:
        return int(self.read().get("revision", 0))

    # -- node attributes -------------------------------------------------------------------
    def get(self, node: str, name: str, lifetime: Lifetime = Lifetime.REBOOT) -> str | None:
        entry = self.read()["attributes"].get(lifetime.value, {}).get(node, {}).get(name)
        return None if entry is None else str(entry["value"])

    def set(
        self, node: str, name: str, value: str, lifetime: Lifetime = Lifetime.REBOOT, dampen_ms: int = 0
    ) -> None:
        with self._update() as data:
            nodes = data["attributes"].setdefault(lifetime.value, {})
            cur = nodes.setdefault(node, {}).get(name)
            if cur is not None and cur.get("value") == value and cur.get("dampen_ms", 0) == dampen_ms:
                return
            nodes[node][name] = {"value": value, "dampen_ms": dampen_ms, "updated": time.time()}

    def delete(self, node: str, name: str, lifetime: Lifetime = Lifetime.REBOOT) -> bool:
        """Remove an attribute; True if it existed."""
        with self._update() as data:
            attrs = data["attributes"].get(lifetime.value, {}).get(node, {})
            return attrs.pop(name, None) is not None

    def attributes(self, node: str, lifetime: Lifetime = Lifetime.REBOOT) -> dict[str, str]:
        nodes = self.read()["attributes"].get(lifetime.value, {})
        return {k: str(v["value"]) for k, v in nodes.get(node, {}).items()}

    def all_attributes(self, lifetime: Lifetime = Lifetime.REBOOT) -> dict[str, dict[str, str]]:
        nodes = self.read()["attributes"].get(lifetime.value, {})
        return {n: {k: str(v["value"]) for k, v in a.items()} for n, a in nodes.items()}

    def clear_transient(self, node: str) -> None:
        """Forget every reboot-lifetime attribute of ``node`` (node left or restarted)."""
        with self._update() as data:
            data["attributes"].get("reboot", {}).pop(node, None)

    def promotion_score(self, resource: str, node: str) -> int | None:
        v = self.get(node, promotion_attribute(resource))
        if v is None:
            return None
        t = v.strip().upper()
        if t in {"INFINITY", "+INFINITY"}:
            return 1000000
        if t == "-INFINITY":
            return -1000000
        try:
            return int(v)
        except ValueError:
            return None

    # -- cluster options, utilization -----------------------------------------------------
    def get_config(self, name: str) -> str | None:
        v = self.read()["config"].get(name)
        return None if v is None else str(v)

    def set_config(self, name: str, value: str | None) -> None:
        with self._update() as data:
            if value is None:
                data["config"].pop(name, None)
            else:
                data["config"][name] = value

    def get_utilization(self, resource: str, name: str) -> str | None:
        v = self.read()["utilization"].get(resource, {}).get(name)
        return None if v is None else str(v)

    def set_utilization(self, resource: str, name: str, value: str | None) -> None:
        with self._update() as data:
            if value is None:
                data["utilization"].get(resource, {}).pop(name, None)
            else:
                data["utilization"].setdefault(resource, {})[name] = value

    def get_node_utilization(self, node: str, name: str) -> str | None:
        v = self.read()["node_utilization"].get(node, {}).get(name)
        return None if v is None else str(v)

    def set_node_utilization(self, node: str, name: str, value: str | None) -> None:
        """Capacity of a node (crm_attribute -z -t nodes), e.g. cpu, hv_memory."""
        with self._update() as data:
            if value is None:
                data["node_utilization"].get(node, {}).pop(name, None)
            else:
                data["node_utilization"].setdefault(node, {})[name] = value

    # -- membership and locations (written by the node daemon) ---------------------------
    def set_membership(self, nodes: list[tuple[int, str, str]], quorate: bool) -> None:
        """``nodes``: (id, name, state) with state ``member`` or ``lost``."""
        with self._update() as data:
            data["membership"] = {
                "nodes": [{"id": i, "name": n, "state": s} for i, n, s in nodes],
                "quorate": quorate,
            }

    def membership(self) -> dict[str, Any]:
        m = self.read().get("membership") or {}
        return dict(m)

    def set_location(self, resource: str, nodes: list[str], promoted: list[str] | None = None) -> None:
        with self._update() as data:
            data["locations"][resource] = {"nodes": list(nodes), "promoted": list(promoted or [])}

    def location(self, resource: str) -> dict[str, list[str]] | None:
        loc = self.read()["locations"].get(resource.split(":", 1)[0])
        return (
            None
            if loc is None
            else {"nodes": list(loc.get("nodes", [])), "promoted": list(loc.get("promoted", []))}
        )
