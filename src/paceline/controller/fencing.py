"""`Fencer`: how the DC makes sure a node runs nothing before its resources are recovered.

Two ways, chosen per victim:
- Fence devices (`model.fencing.fencing_plan`): the victim's fencing levels in index order, a
  level fencing only when every one of its devices succeeds; without levels, each device whose
  `pcmk_host_list` names the victim (or that has none) on its own, `priority` meta first. They
  are run by the DC (never by the victim) with `stonith-action` and `plug=<victim>`. When all
  fail, the victim is NOT counted as fenced: its resources stay where they are (stopped, as far
  as anyone else is concerned), a `node` event says why, and the controller retries.
- No device for the victim: the lease watchdog (`model.leases.LeaseTiming`). A victim whose lease
  is gone is fenced once `safe_after(lost_at)` has passed, `lost_at` being when this DC first
  saw it gone (a new DC counts from its own election: later, hence safe). A victim that still
  holds a lease (a failed stop on a live node) has its lease revoked: it self-fences at once, and
  at the latest its watchdog fires `ttl` after the revocation; it is fenced then.
A successful fencing writes `fenced/<victim>` and deletes the victim's operation history in one
transaction conditioned on this DC's token (a deposed DC fences nothing): what ran there is known
to be stopped, and the victim probes everything again when it rejoins.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable

from ..agents import AgentRunner, AgentSpec, OpRequest
from ..model.config import Configuration, Primitive
from ..model.durations import parse_duration_ms
from ..model.fencing import FencingStep, fencing_plan
from ..model.leases import LeaseTiming
from ..store import Clock, Compare, Delete, LeaseExpired, Put, Store, StoreError
from .records import DC_KEY, FENCED, PREFIX, REVOKED, EventKind
from .statedb import Snapshot, StateDB

__all__ = ["Fencer"]

log = logging.getLogger("paceline.controller")


def _fence_timeout_ms(dev: Primitive, action: str) -> int:
    """Pacemaker's `pcmk_<action>_timeout` device parameter, else `pcmk_timeout`... else 60 s."""
    for name in (f"pcmk_{action}_timeout", "stonith-timeout"):
        text = dev.params.get(name) or dev.meta.get(name)
        if text:
            with contextlib.suppress(ValueError):
                ms = parse_duration_ms(text if not text.isdigit() else text + "s")
                if ms > 0:
                    return ms
    return 60_000


class Fencer:
    def __init__(
        self,
        db: StateDB,
        clock: Clock,
        runner: AgentRunner,
        me: str,
        token: int,
        timing: LeaseTiming,
        config: Callable[[], Configuration],
    ) -> None:
        self.db = db
        self.store: Store = db.store
        self.clock = clock
        self.runner = runner
        self.me = me
        self.token = token
        self.timing = timing
        self.config = config
        self.lost_at: dict[str, float] = {}
        self._reported: dict[str, str] = {}

    def seen_lost(self, node: str) -> None:
        """The DC saw `node` without a lease (the first sighting counts)."""
        self.lost_at.setdefault(node, self.clock.monotonic())

    def seen_back(self, node: str) -> None:
        self.lost_at.pop(node, None)

    async def fence(self, node: str, reason: str) -> bool:
        config = self.config()
        plan = fencing_plan(config, node) if config.options.stonith_enabled else []
        if node == self.me:
            # the DC cannot fence itself: it gives up its lease (it self-fences at once, its watchdog
            # at the latest), and the next DC completes the fencing
            me = (await self.db.snapshot()).members.get(node)
            if me is not None and me.lease is not None:
                why = f"{node} (the DC) must be fenced: it gives up its lease and fences itself"
                await self._report(node, why)
                await self._revoke(node, me.lease)
            return False
        if plan:
            action = config.options.stonith_action.replace("poweroff", "off")
            lease = self._lease_of(await self.db.snapshot(), node)
            errors = []
            for step in plan:
                failed = await self._run_step(step, node, action)
                if failed is None:
                    done = await self._fenced(node, f"{step.label} ({action})", reason, lease)
                    if done and lease is not None:
                        # it is off: its keys go now, not when its lease would have run out
                        await self._revoke_fenced(lease)
                    return done
                errors.append(failed)
            await self._report(
                node,
                f"fencing {node} failed ({'; '.join(errors)}): its resources stay stopped; retrying",
            )
            return False
        members = (await self.db.snapshot()).members
        if node in members:
            lease = members[node].lease
            if lease is not None:
                await self._revoke(node, lease)
                log.warning("revoked the lease of %s so that it fences itself (%s)", node, reason)
        self.seen_lost(node)
        revoked = await self.store.get(REVOKED + node) is not None
        wait = self.timing.safe_after(self.lost_at[node], revoked) - self.clock.monotonic()
        if wait > 0:
            await self.clock.sleep(wait)
        return await self._fenced(node, "watchdog (its lease expired)", reason)

    async def _run_step(self, step: FencingStep, node: str, action: str) -> str | None:
        """Run every device of `step` against `node`, in order; None when all succeeded, else
        what failed (the rest of the step is not tried: a level fences only as a whole)."""
        for dev in step.devices:
            params = {k: v for k, v in dev.params.items() if not k.startswith("pcmk_")}
            params.setdefault("plug", node)
            timeout = _fence_timeout_ms(dev, action)
            req = OpRequest(dev.id, AgentSpec.parse(str(dev.agent)), action, params, {}, 0, timeout)
            res = await self.runner.run(req)
            if not res.ok:
                return f"{step.label}: {dev.id}: {res.describe()}"
        return None

    async def _revoke_fenced(self, lease: int) -> None:
        """Revoke a fenced node's lease, retrying while the store is unsettled (the fenced node's
        etcd member may have been the leader): until it is revoked, its member key (and, for a
        fenced DC, the DC key) waits for the lease to run out, and no new DC can be elected."""
        end = self.clock.monotonic() + self.timing.ttl
        while True:
            try:
                await self.store.revoke_lease(lease)
                return
            except LeaseExpired:
                return
            except StoreError as e:
                if self.clock.monotonic() >= end:
                    log.warning("could not revoke the fenced node's lease (it runs out anyway): %s", e)
                    return
                await self.clock.sleep(0.05)

    async def _revoke(self, node: str, lease: int) -> None:
        """Revoke `node`'s lease, first leaving a mark: its member key then vanishes before its
        own deadline, so whoever sees it gone must wait the whole lease (`safe_after(revoked)`)."""
        await self.store.put(REVOKED + node, json.dumps({"time": self.clock.time(), "by": self.me}))
        await self.store.revoke_lease(lease)

    @staticmethod
    def _lease_of(snap: Snapshot, node: str) -> int | None:
        member = snap.members.get(node)
        return member.lease if member is not None else None

    async def _fenced(self, node: str, method: str, reason: str, lease: int | None = None) -> bool:
        """Record the fencing; `lease` is the victim's lease when it was fenced, if it still held
        one: until that lease is gone its member key stays, and `fenced/<node>` with the same lease
        says the member is not there (see `controller.view`)."""
        body: dict[str, object] = {
            "time": self.clock.time(),
            "method": method,
            "by": self.me,
            "detail": reason,
        }
        if lease is not None:
            body["lease"] = lease
        flags_key = f"{PREFIX}nodes/{node}"
        while True:
            flags_kv = await self.store.get(flags_key)
            flags = json.loads(flags_kv.value) if flags_kv else {}
            ops: list[Put | Delete] = [
                Put(FENCED + node, json.dumps(body, sort_keys=True)),
                Delete(f"{PREFIX}ops/{node}/", prefix=True),
                Delete(REVOKED + node),
            ]
            if "fence_requested" in flags or "fence_reason" in flags:
                flags.pop("fence_requested", None)
                flags.pop("fence_reason", None)
                ops.append(Put(flags_key, json.dumps(flags, sort_keys=True)))
            compares = [
                Compare(DC_KEY, self.token),
                Compare(flags_key, flags_kv.mod_revision if flags_kv else 0),
            ]
            res = await self.store.txn(compares, ops)
            if res.succeeded:
                break
            dc = await self.store.get(DC_KEY)
            if dc is None or dc.mod_revision != self.token:
                return False  # deposed: a DC that is not the DC fences nothing
        self.lost_at.pop(node, None)
        self._reported.pop(node, None)
        await self.db.log_event(
            EventKind.NODE, self.me, f"node {node} fenced by {method} ({reason})", desc="fenced"
        )
        return True

    async def _report(self, node: str, message: str) -> None:
        if self._reported.get(node) == message:
            return  # once, not on every retry
        self._reported[node] = message
        await self.db.log_event(EventKind.NODE, self.me, message, desc="fence failed")
