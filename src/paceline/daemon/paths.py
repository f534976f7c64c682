"""Where the daemon keeps its state and its API socket (light: the CLI imports it on every call)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_STATE_DIR", "default_state_dir", "socket_path"]

DEFAULT_STATE_DIR = "/var/lib/paceline"


def default_state_dir() -> Path:
    return Path(os.environ.get("PACELINE_STATE_DIR") or DEFAULT_STATE_DIR)


def socket_path(state_dir: Path) -> Path:
    return state_dir / "paceline.sock"
