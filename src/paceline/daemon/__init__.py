"""`paceline run`: the node daemon on the embedded store, its local API and status."""

from .app import DEFAULT_STATE_DIR, Daemon, DaemonError, default_state_dir, socket_path

__all__ = ["DEFAULT_STATE_DIR", "Daemon", "DaemonError", "default_state_dir", "socket_path"]
