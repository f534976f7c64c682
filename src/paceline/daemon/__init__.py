"""`paceline run`: the node daemon on the embedded store, its local API and status.

The names below are imported on first use (PEP 562), so that `paceline.daemon.paths` and the
other light modules of this package can be imported without the daemon itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Daemon, DaemonError
    from .paths import DEFAULT_STATE_DIR, default_state_dir, socket_path

__all__ = ["DEFAULT_STATE_DIR", "Daemon", "DaemonError", "default_state_dir", "socket_path"]


def __getattr__(name: str) -> Any:
    if name in ("DEFAULT_STATE_DIR", "default_state_dir", "socket_path"):
        from . import paths

        return getattr(paths, name)
    if name in ("Daemon", "DaemonError"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
