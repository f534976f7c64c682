"""The controller: the level-triggered reconcile loop (snapshot -> schedule -> run the ready actions
-> record results -> again) over the records the daemon keeps in a Store.

- `statedb.StateDB`: operation history, fail counts, node flags, CLI constraints, configuration
  versions and the event log, in the Store (key layout in `records`).
- `view`: from those records and the configuration to the scheduler's inputs.
- `ordering`: the ordering edges a transition's actions must respect.
- `loop.Controller`: the loop itself, driving an `Executor` (the node side).
"""

from .loop import Controller, Executor
from .records import Event, EventKind
from .statedb import ConfigVersion, DynamicLocation, Snapshot, StateDB

__all__ = [
    "ConfigVersion",
    "Controller",
    "DynamicLocation",
    "Event",
    "EventKind",
    "Executor",
    "Snapshot",
    "StateDB",
]
