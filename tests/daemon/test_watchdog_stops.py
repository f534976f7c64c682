"""The watchdog's stop chains (`node.watchdog.run_stops`): a promoted copy's demote runs before
its stop, in order, within the stop's timeout; chains of different resources run at once."""

from __future__ import annotations

import os
import time
from pathlib import Path

from paceline.node.watchdog import run_stops


def _sh(script: str) -> dict[str, object]:
    return {"argv": ["/bin/sh", "-c", script], "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}}


def test_before_commands_run_in_order_then_the_stop(tmp_path: Path) -> None:
    log = tmp_path / "log"
    stop = {**_sh(f"echo stop >> {log}"), "timeout": 5.0, "before": [_sh(f"sleep 0.2; echo demote >> {log}")]}
    other = {**_sh(f"echo other >> {log}"), "timeout": 5.0}
    assert run_stops([stop, other]) == []
    # the other resource's stop did not wait for this one's demote
    assert log.read_text().split() == ["other", "demote", "stop"]


def test_a_failed_demote_does_not_keep_the_stop_from_running(tmp_path: Path) -> None:
    log = tmp_path / "log"
    stop = {**_sh(f"echo stop >> {log}"), "timeout": 5.0, "before": [_sh("exit 1")]}
    failed = run_stops([stop])
    assert len(failed) == 1 and "rc 1" in failed[0]
    assert log.read_text().split() == ["stop"]


def test_the_timeout_covers_the_whole_chain(tmp_path: Path) -> None:
    log = tmp_path / "log"
    stop = {**_sh(f"echo stop >> {log}"), "timeout": 0.3, "before": [_sh("sleep 10")]}
    started = time.monotonic()
    failed = run_stops([stop])
    assert time.monotonic() - started < 2
    assert len(failed) == 1 and "timed out" in failed[0]
    assert not log.exists()  # time was up: the stop did not run late
