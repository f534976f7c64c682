"""What a node refuses before it joins anything (no etcd needed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from paceline.model.leases import LeaseTiming


def _run(tmp_path: Path, text: str, *args: str) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "paceline.cli.main",
            "run",
            str(cfg),
            "--state-dir",
            str(tmp_path / "s"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_embedded_store_refuses_a_configuration_naming_other_nodes(tmp_path: Path) -> None:
    out = _run(tmp_path, "nodes: [n1, n2]\nresources: []\n", "--node", "n1")
    assert out.returncode == 1
    assert "other nodes need cluster.store: etcd://" in out.stderr
    assert out.stderr.count("\n") <= 2


def test_a_cluster_node_must_be_one_of_the_configured_nodes(tmp_path: Path) -> None:
    text = "cluster: {store: 'etcd://127.0.0.1:1'}\nnodes: [n1, n2]\nresources: []\n"
    out = _run(tmp_path, text, "--node", "n9")
    assert out.returncode == 1 and "node 'n9' is not one of the configured nodes (n1, n2)" in out.stderr


def test_lease_ttl_must_be_whole_seconds(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("cluster:\n  options: {lease-ttl: 1500ms}\n")
    out = subprocess.run(
        [sys.executable, "-m", "paceline.cli.main", "config", "validate", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode != 0
    assert (
        f"{cfg}:2: cluster.options.lease-ttl: lease-ttl must be a whole number of seconds"
        in out.stdout + out.stderr
    )


def test_the_self_fence_deadline_comes_before_the_server_can_expire_the_lease() -> None:
    for ttl in (1.0, 2.0, 5.0):
        t = LeaseTiming(ttl=ttl)
        sent = 100.0
        earliest_server_expiry = sent + ttl  # etcd refreshes on receipt, after `sent`
        assert t.self_deadline(sent) <= earliest_server_expiry - t.margin
        assert t.margin >= t.reaction  # the watchdog fired before the DC stops waiting
        # several keep-alives fit between an acknowledgement and the deadline
        assert t.self_deadline(sent) - sent >= 3 * t.keepalive_interval
        assert t.safe_after(200.0) > 200.0
        # a revoked lease vanishes early: the node's deadline is at most ttl - margin after it
        revoked_at = 300.0
        last_ack_sent = revoked_at - 0.001
        assert t.safe_after(revoked_at, revoked=True) > t.self_deadline(last_ack_sent)
