"""`paceline status` as people read it: fail counts of INFINITY, unclean nodes and why."""

from __future__ import annotations

from paceline.cli.daemon_cmds import _status_text


def test_status_text_prints_infinity_and_an_unclean_node_s_reason() -> None:
    data = {
        "cluster": "c",
        "dc": "n1",
        "nodes": [{"name": "n1", "state": "unclean", "attributes": {}, "reason": "needs fencing (x)"}],
        "resources": [
            {
                "id": "web",
                "agent": "service:service",
                "role": "Stopped",
                "node": None,
                "failcount": 1_000_000,
                "last_failure": None,
                "reason": "cannot run on n1",
            }
        ],
    }
    text = _status_text(data)
    assert "failcount=INFINITY" in text and "1000000" not in text
    assert "  n1: UNCLEAN   needs fencing (x)" in text
