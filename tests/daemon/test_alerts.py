"""The alerts section (parsed beside the model's loader) and alert delivery (env, webhook, timeout)."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from paceline.alerts import AlertDefinition, AlertDispatcher, AlertError, alert_env, split_alerts
from paceline.controller.records import Event, EventKind
from paceline.daemon.configsrc import InvalidConfig, check_text

BASE = """cluster: {name: a}
alerts:
  - id: file
    path: /bin/true
    recipients: [/tmp/x.log]
    kinds: [failure, escalation]
  - id: hook
    webhook: http://127.0.0.1:9/x
    timeout: 250ms
resources:
  - {id: r, agent: ocf:heartbeat:Dummy}
"""


def test_alerts_are_taken_out_and_line_numbers_kept() -> None:
    rest, alerts = split_alerts(BASE, "c.yaml")
    assert [a.id for a in alerts] == ["file", "hook"]
    assert alerts[0].kinds == frozenset({EventKind.FAILURE, EventKind.ESCALATION})
    assert alerts[0].recipients == ("/tmp/x.log",) and alerts[1].timeout_s == 0.25
    assert len(rest.splitlines()) == len(BASE.splitlines())
    assert "alerts" not in rest and rest.splitlines()[9] == BASE.splitlines()[9]
    loaded = check_text(BASE, "c.yaml")
    assert loaded.alerts == alerts and [p.id for p in loaded.config.primitives()] == ["r"]


def test_an_error_after_the_alerts_keeps_its_line() -> None:
    bad = BASE.replace("agent: ocf:heartbeat:Dummy", "agnet: ocf:heartbeat:Dummy")
    with pytest.raises(InvalidConfig) as e:
        check_text(bad, "c.yaml")
    assert any(err.startswith("c.yaml:11: resources[0].agnet") for err in e.value.errors), e.value.errors


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("alerts: {a: 1}", "expected a list"),
        ("alerts:\n  - {id: x}", "exactly one of path"),
        ("alerts:\n  - {id: x, webhook: ftp://h/}", "http:// or https://"),
        ("alerts:\n  - {id: x, path: /bin/true, kinds: [nope]}", "known:"),
        ("alerts:\n  - {id: x, path: /bin/true, colour: red}", "unknown key 'colour'"),
    ],
)
def test_bad_alert_sections_are_rejected_with_the_reason(section: str, message: str) -> None:
    with pytest.raises(AlertError, match=message):
        split_alerts(f"cluster: {{name: a}}\n{section}\n", "c.yaml")


def _event(kind: EventKind = EventKind.FAILURE) -> Event:
    return Event(
        7,
        1_763_770_000.25,
        kind,
        "n1",
        "web monitor failed",
        resource="web",
        task="monitor",
        interval_ms=10000,
        rc=7,
        target_rc=0,
        status="DONE",
        desc="not running",
    )


def test_alert_environment_is_pacemakers() -> None:
    env = alert_env(_event(), "/var/log/a.log", 3)
    assert env["CRM_alert_kind"] == "resource"
    assert (env["CRM_alert_node"], env["CRM_alert_rsc"], env["CRM_alert_task"]) == ("n1", "web", "monitor")
    assert (env["CRM_alert_rc"], env["CRM_alert_target_rc"], env["CRM_alert_status"]) == ("7", "0", "0")
    assert env["CRM_alert_interval"] == "10000" and env["CRM_alert_desc"] == "not running"
    assert env["CRM_alert_recipient"] == "/var/log/a.log" and env["CRM_alert_node_sequence"] == "3"
    assert env["CRM_alert_timestamp_epoch"] == "1763770000" and env["CRM_alert_timestamp_usec"] == "250000"
    assert env["CRM_alert_version"] and env["CRM_alert_timestamp"].count(":") == 2


def test_agent_runs_once_per_recipient_and_a_slow_one_is_killed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = tmp_path / "a.sh"
    script.write_text(f'#!/bin/sh\necho "$CRM_alert_recipient $CRM_alert_rsc" >> {out}\n')
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    for p in (script, slow):
        p.chmod(p.stat().st_mode | stat.S_IXUSR)

    async def go() -> AlertDispatcher:
        d = AlertDispatcher(
            (
                AlertDefinition("a", path=str(script), recipients=("r1", "r2")),
                AlertDefinition("slow", path=str(slow), timeout_s=0.2),
                AlertDefinition("filtered", path=str(script), kinds=frozenset({EventKind.STOP})),
            )
        )
        d.submit(_event())
        await d.drain(5)
        await d.close()
        return d

    d = asyncio.run(go())
    assert out.read_text().splitlines() == ["r1 web", "r2 web"]
    assert (d.delivered, d.failed) == (1, 1)


def test_webhook_failure_is_counted_not_raised() -> None:
    async def go() -> AlertDispatcher:
        d = AlertDispatcher((AlertDefinition("h", webhook="http://127.0.0.1:9/none", timeout_s=0.5),))
        d.submit(_event())
        await d.drain(5)
        await d.close()
        return d

    d = asyncio.run(go())
    assert (d.delivered, d.failed) == (0, 1)


def test_pacemakers_own_alert_file_sample_works_unchanged(tmp_path: Path) -> None:
    sample = Path("/usr/share/pacemaker/alerts/alert_file.sh.sample")
    if not sample.exists():
        pytest.skip("pacemaker's sample alert agents are not installed")
    out = tmp_path / "alerts.log"

    async def go() -> None:
        d = AlertDispatcher((AlertDefinition("file", path=str(sample), recipients=(str(out),)),))
        d.submit(_event())
        await d.drain(10)
        await d.close()

    asyncio.run(go())
    assert (
        out.read_text()
        .strip()
        .endswith("Resource operation 'monitor (10000)' for 'web' on 'n1': not running")
    )
