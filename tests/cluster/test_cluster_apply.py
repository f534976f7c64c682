"""Configuration changes and restarts across a real cluster: `config apply` on one node changes
every node's configuration, the DC restarts what it redefines (the /proc observer still sees
one copy at a time), a refused change changes nothing, `resource restart` works from any node,
and a node started with a stale file runs the cluster's version."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from daemon.realdaemon import wait_for

from .test_cluster_real import cluster

pytestmark = pytest.mark.slow


def test_config_apply_and_resource_restart_are_cluster_wide(tmp_path: Path) -> None:
    with cluster(tmp_path, ttl="2s") as c:
        first = c.running_on()
        pid = next(iter(c.observer.last))
        applier = c.others(first)[0]
        text = c.config.read_text()

        # refused: a running cluster cannot change its store; nothing changes
        bad = tmp_path / "bad.yaml"
        bad.write_text(text.replace("store: ", "store: etcd://127.0.0.1:1,"))
        out = c.nodes[applier].daemon.cli("config", "apply", str(bad))
        assert out.returncode != 0 and "cannot change in a running cluster" in (out.stdout + out.stderr)
        # invalid: a typo in the service block, named with its line
        typo = tmp_path / "typo.yaml"
        typo.write_text(text.replace("stop_grace: 1s", "stop_grace: 1s\n      stop_grase: 2s"))
        out = c.nodes[applier].daemon.cli("config", "apply", str(typo))
        assert out.returncode != 0 and "stop_grase" in (out.stdout + out.stderr), out
        time.sleep(1)
        assert c.observer.last == {pid: first}

        # accepted: the singleton's definition changes -> the DC restarts it, once, one copy
        good = tmp_path / "good.yaml"
        good.write_text(text.replace("stop_grace: 1s", "stop_grace: 2s"))
        out = c.nodes[applier].daemon.cli("config", "apply", str(good))
        assert out.returncode == 0, out.stderr
        assert "restarted: single" in out.stdout
        assert c.observer.wait_on(lambda ns: len(ns) == 1, 20)
        assert wait_for(lambda: len(c.observer.last) == 1 and pid not in c.observer.last, 20), c.observer.last
        got = c.nodes[first].daemon.client.request("GET", "/config")[1]
        assert "stop_grace: 2s" in got["text"] and got["version"] == 2, got
        for name in c.nodes:  # every node runs the new version
            assert wait_for(lambda n=name: c.status(n)["config_version"] == 2, 10), c.status(name)

        # resource restart from a node that does not run it and may not be the DC
        pid2 = next(iter(c.observer.last))
        where = c.observer.last[pid2]
        other = c.others(where)[-1]
        out = c.nodes[other].daemon.cli("resource", "restart", "single")
        assert out.returncode == 0, out.stderr
        assert wait_for(lambda: len(c.observer.last) == 1 and pid2 not in c.observer.last, 20)

        # a node restarted with its (stale) file runs the cluster's version, and nothing restarts
        pid3 = next(iter(c.observer.last))
        stale = c.others(c.observer.last[pid3])[0]
        assert c.nodes[stale].daemon.terminate(30) == 0  # a clean shutdown: it leaves the cluster
        c.nodes[stale].start()
        assert wait_for(lambda: c.status(stale)["config_version"] == 2, 20)
        log = (tmp_path / f"{stale}-daemon.log").read_text()
        assert "differs from the cluster's configuration version 2" in log
        time.sleep(2)
        assert pid3 in c.observer.last
