"""Lease timing: when a node must have fenced itself, and when others may recover its resources.

This is the one definition of the self-fencing arithmetic; the node (its keep-alive loop and its
watchdog) and the DC (its fencer) both use it. Pure: every time is passed in.

The argument, for a node N holding a lease of `ttl` seconds:
1. N sends a keep-alive at its monotonic time `s`. etcd refreshes the lease when it *receives* it,
   at some time >= s, so the lease cannot expire on the server before `s + ttl`. (A new etcd
   leader renews every lease to its full TTL: expiry only gets later.)
2. N's own deadline is `s + ttl - margin` for the last keep-alive `s` that etcd acknowledged. At
   that deadline N stops everything it runs (service process groups SIGKILLed, OCF stops with a
   short timeout). Its watchdog, a separate process, is armed with the same deadline after every
   acknowledged keep-alive, so if N itself hangs (SIGSTOP, deadlock) the watchdog SIGKILLs N's
   resources at that deadline, and runs the stops of those that are not processes (an address)
   with `margin` as their timeout: nobody has to wait for a hung process.
3. The DC learns that N's lease expired when N's member key is deleted, at `lost >= s + ttl`.
   So when the DC sees the deletion, N's deadline passed at least `margin` ago. The DC still waits
   `reaction` seconds after `lost` (the time a watchdog needs to notice its deadline and for a
   SIGKILL to land) before it counts N as fenced: that is `safe_after`.
So `safe_after(lost) = lost + reaction` (when the lease expired; one a DC revoked needs `+ ttl`,
see `safe_after`), and by then N's resources were killed at
`s + ttl - margin <= lost - margin`. This mirrors Pacemaker's rule that stonith-watchdog-timeout
must exceed SBD_WATCHDOG_TIMEOUT (by default twice it): the watchdog fires before the cluster
assumes the node is gone, with slack for the firing itself. Clock *rates* must agree (monotonic
clocks on every machine advance at the same speed to well within `margin / ttl`); clock offsets
do not matter, as each side compares only its own times.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LeaseTiming"]


@dataclass(frozen=True)
class LeaseTiming:
    """The timing of one node's lease (`ttl` whole seconds, as etcd grants them)."""

    ttl: float = 2.0
    margin_fraction: float = 0.25
    """The node's deadline comes this fraction of the TTL (at least `min_margin`) before the
    earliest possible expiry of its lease on the server."""
    min_margin: float = 0.2
    reaction: float = 0.15
    """What the DC adds after seeing a lease expire: a watchdog's wake-up plus a SIGKILL's delivery."""

    @property
    def margin(self) -> float:
        return max(self.min_margin, self.ttl * self.margin_fraction)

    @property
    def keepalive_interval(self) -> float:
        """How often the node refreshes its lease: several tries fit before its deadline."""
        return max(0.05, (self.ttl - self.margin) / 4)

    def self_deadline(self, sent_at: float) -> float:
        """The node's own deadline after etcd acknowledged a keep-alive it sent at `sent_at`
        (its monotonic clock): past it, the node must run nothing."""
        return sent_at + self.ttl - self.margin

    def safe_after(self, lost_at: float, revoked: bool = False) -> float:
        """When the DC, having seen the node's lease gone at `lost_at` (its own monotonic clock),
        may recover the node's resources elsewhere without a fence device.

        A lease that a DC *revoked* (to fence a live node) vanishes before it would have expired:
        its node's deadline may still be up to `ttl - margin` after the revocation (its last
        acknowledged keep-alive came before it), so then the whole `ttl` is waited."""
        return lost_at + (self.ttl if revoked else 0.0) + self.reaction
