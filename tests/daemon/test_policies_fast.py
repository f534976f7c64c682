"""Recovery policies the scheduler decides, run end to end on the fast tier: on-fail, node health
attributes (as health agents set them through the shims), maintenance."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from paceline.controller.records import EventKind

from .fasttier import Harness

ONE = """
cluster: {{name: t, options: {{stonith-enabled: false{options}}}}}
resources:
  - id: app
    agent: ocf:heartbeat:Dummy
    ops: {{monitor: {{interval: 5s{onfail}}}}}
"""


def run(h: Harness, body: Callable[[Harness], Awaitable[None]]) -> None:
    async def go() -> None:
        await h.start()
        try:
            await body(h)
        finally:
            await h.stop()

    asyncio.run(go())


def test_on_fail_ignore_keeps_it_as_it_is() -> None:
    h = Harness(ONE.format(options="", onfail=", on-fail: ignore"))

    async def body(h: Harness) -> None:
        h.fake.kill("app")
        await h.advance(5)
        assert h.actions("app") == [("app", "start")]
        assert EventKind.FAILURE in h.kinds("app")

    run(h, body)


def test_on_fail_stop_stops_and_does_not_restart() -> None:
    h = Harness(ONE.format(options="", onfail=", on-fail: stop"))

    async def body(h: Harness) -> None:
        h.fake.kill("app")
        await h.advance(5)
        await h.advance(10, step=5)
        assert h.actions("app") == [("app", "start"), ("app", "stop")]
        assert await h.failcount("app") == 1

    run(h, body)


def test_red_health_attribute_moves_resources_off_the_node() -> None:
    h = Harness(ONE.format(options=", node-health-strategy: migrate-on-red", onfail=""))
    attrs: dict[str, str] = {}
    h.agent._attributes = lambda: attrs

    async def body(h: Harness) -> None:
        assert "app" in h.fake.running
        attrs["#health-cpu"] = "red"
        h.ctl.wake()
        await h.settle()
        assert "app" not in h.fake.running
        assert h.ctl.last_state.nodes[0].attributes == {"#health-cpu": "red"}
        attrs["#health-cpu"] = "green"
        h.ctl.wake()
        await h.settle()
        assert "app" in h.fake.running

    run(h, body)


def test_maintenance_node_stops_monitoring_and_leaves_resources_alone() -> None:
    h = Harness(ONE.format(options="", onfail=""))

    async def body(h: Harness) -> None:
        await h.db.set_node_flags("n1", maintenance=True)
        h.ctl.wake()
        await h.settle()
        assert h.agent.monitors.active == []
        h.fake.calls.clear()
        h.fake.kill("app")
        await h.advance(15, step=5)
        assert h.fake.calls == []  # not even monitored
        await h.db.set_node_flags("n1", maintenance=False)
        h.ctl.wake()
        await h.settle()
        await h.advance(5)
        assert "app" in h.fake.running

    run(h, body)


def test_anonymous_clone_instances_run_and_are_recorded_under_the_primitive_id() -> None:
    from paceline.daemon.status import build_status

    h = Harness(
        "cluster: {name: t, options: {stonith-enabled: false}}\nresources:\n  - clone: pingc\n"
        "    resource: {id: ping, agent: ocf:heartbeat:Dummy, ops: {monitor: {interval: 5s}}}\n"
    )

    async def body(h: Harness) -> None:
        assert h.fake.running == {"ping"}
        assert h.agent.monitors.active == [("ping", 5000)]
        h.fake.kill("ping")
        await h.advance(5)
        assert h.fake.running == {"ping"} and await h.failcount("ping") == 1
        assert h.ctl.last_transition.actions == ()
        status = build_status(h.ctl.effective, await h.db.snapshot(), "n1", {})
        assert [(r["id"], r["role"], r["failcount"]) for r in status["resources"]] == [("ping", "Started", 1)]

    run(h, body)


def test_a_promoted_instance_is_demoted_then_stopped_at_shutdown() -> None:
    h = Harness(
        "cluster: {name: t, options: {stonith-enabled: false}}\nresources:\n  - promotable: dbc\n"
        "    resource:\n      id: db\n      agent: ocf:pacemaker:Stateful\n"
        "      ops: {monitor: [{interval: 5s, role: Promoted}, {interval: 6s, role: Unpromoted}]}\n"
    )
    h.agent._attributes = lambda: {"master-db": "10"}

    async def body(h: Harness) -> None:
        assert h.fake.promoted == {"db"}
        assert h.agent.monitors.active == [("db", 5000)]
        from paceline.daemon.status import build_status

        status = build_status(h.ctl.effective, await h.db.snapshot(), "n1", {})
        assert [(r["id"], r["role"]) for r in status["resources"]] == [("db", "Promoted")]
        h.fake.promoted.discard("db")  # as if demoted behind our back: the Promoted monitor fails
        await h.advance(5)
        assert h.fake.promoted == {"db"}  # recovered and promoted again
        h.fake.calls.clear()
        assert await h.ctl.stop_everything()
        assert h.actions("db") == [("db", "demote"), ("db", "stop")]
        assert h.fake.running == set()

    run(h, body)


def test_a_failed_stop_with_fencing_enabled_but_no_way_to_fence_leaves_everything_alone() -> None:
    """One machine on the embedded store has no watchdog and here no fence device: as Pacemaker
    with stonith-enabled and nothing to fence with, every resource is left alone (unmanaged), and
    nothing spins."""
    from paceline.controller.statedb import DynamicLocation
    from paceline.model.scores import INFINITY

    from .fasttier import WEB

    h = Harness(WEB.replace("options: {stonith-enabled: false}", "options: {}"))

    async def body(h: Harness) -> None:
        h.fake.fail("other", "stop")
        await h.db.add_location(DynamicLocation("cli-ban-other-on-n1", "other", "n1", -INFINITY))
        h.ctl.wake()
        await asyncio.sleep(0.5)
        assert not any(e.kind is EventKind.NODE and "fence" in e.message for e in h.events)
        assert not any(c.action == "start" for c in h.fake.calls)  # unmanaged: not even started
        passes = h.ctl.passes
        await asyncio.sleep(0.5)
        assert h.ctl.passes - passes <= 2  # slowed down to about one pass a second

    run(h, body)


def test_a_promotable_instance_without_a_promotion_score_is_reported_unpromoted() -> None:
    from paceline.daemon.status import build_status

    h = Harness(
        "cluster: {name: t, options: {stonith-enabled: false}}\nresources:\n  - promotable: dbc\n"
        "    resource:\n      id: db\n      agent: ocf:pacemaker:Stateful\n"
        "      ops: {monitor: [{interval: 5s, role: Promoted}, {interval: 6s, role: Unpromoted}]}\n"
    )

    async def body(h: Harness) -> None:
        assert h.fake.running == {"db"} and h.fake.promoted == set()
        assert h.agent.monitors.active == [("db", 6000)]
        status = build_status(h.ctl.effective, await h.db.snapshot(), "n1", {})
        assert [(r["id"], r["role"]) for r in status["resources"]] == [("db", "Unpromoted")]

    run(h, body)
