"""Controller + node agent behaviour on the fast tier (memory store, fake agents, virtual clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from paceline.agents import OcfRc
from paceline.controller.records import EventKind
from paceline.model.scores import INFINITY
from paceline.model.yaml_loader import load_config_text

from .fasttier import WEB, Harness


def run(body: Callable[[Harness], Awaitable[None]], h: Harness | None = None) -> Harness:
    harness = h or Harness()

    async def go() -> None:
        await harness.start()
        try:
            await body(harness)
        finally:
            await harness.stop()

    asyncio.run(go())
    return harness


def test_probes_then_starts_in_dependency_order_and_monitors() -> None:
    async def body(h: Harness) -> None:
        assert h.fake.running == {"web", "worker", "other"}
        starts = [r for r, a in h.actions("web", "worker", "other") if a == "start"]
        assert starts.index("web") < starts.index("worker")
        probes = [c for c in h.fake.calls if c.action == "monitor" and c.interval_ms == 0]
        assert {c.resource_id for c in probes} == {"web", "worker", "other"}
        assert sorted(h.agent.monitors.active) == [("web", 5000), ("worker", 10000)]
        await h.advance(10)
        web_monitors = [c for c in h.fake.calls if c.resource_id == "web" and c.interval_ms == 5000]
        assert len(web_monitors) >= 3  # immediate, +5 s, +10 s

    run(body)


def test_independent_resources_start_in_parallel_dependants_wait() -> None:
    h = Harness()
    h.fake.delay_s = 0.05

    async def body(h: Harness) -> None:
        starts = [c.resource_id for c in h.fake.calls if c.action == "start"]
        # web and other are launched together; worker only after web completed
        assert starts[:2] in (["web", "other"], ["other", "web"])
        assert starts[2] == "worker"

    run(body, h)


def test_running_resources_are_adopted_not_started_again() -> None:
    h = Harness()
    h.fake.running.update({"web", "worker"})

    async def body(h: Harness) -> None:
        assert h.actions("web", "worker") == []
        assert h.kinds("web") == [EventKind.ADOPT]
        assert h.actions("other") == [("other", "start")]

    run(body, h)


def test_monitor_failure_recovers_in_place_and_restarts_dependants_in_order() -> None:
    async def body(h: Harness) -> None:
        h.fake.calls.clear()
        h.fake.kill("web")
        await h.advance(5)
        assert h.fake.running == {"web", "worker", "other"}
        assert await h.failcount("web") == 1
        assert h.actions("web", "worker") == [
            ("worker", "stop"),
            ("web", "stop"),
            ("web", "start"),
            ("worker", "start"),
        ]
        assert EventKind.FAILURE in h.kinds("web") and EventKind.RECOVERY in h.kinds("web")
        assert h.actions("other") == []

    run(body)


def test_migration_threshold_gives_up_stops_dependants_and_reports() -> None:
    async def body(h: Harness) -> None:
        for _ in range(3):
            h.fake.kill("web")
            await h.advance(5)
        assert await h.failcount("web") == 3
        assert h.fake.running == {"other"}
        stops = [r for r, a in h.actions("web", "worker") if a == "stop"]
        assert stops[-2:] == ["worker", "web"]
        esc = [e for e in h.events if e.kind is EventKind.ESCALATION]
        assert len(esc) == 1 and esc[0].resource == "web"
        assert "migration-threshold 3" in esc[0].message and "worker" in esc[0].message
        # and it stays stopped: no further actions while the fail count stands
        n = len(h.fake.calls)
        await h.advance(20, step=5)
        assert h.actions("web")[-1] == ("web", "stop")
        assert all(c.action == "monitor" for c in h.fake.calls[n:])

    run(body)


def test_failure_timeout_expiry_clears_the_fail_count_and_restarts() -> None:
    async def body(h: Harness) -> None:
        for _ in range(3):
            h.fake.kill("web")
            await h.advance(5)
        assert "web" not in h.fake.running
        await h.advance(30, step=10)
        assert await h.failcount("web") == 3  # not yet: the last failure was < 60 s ago
        await h.advance(40, step=10)
        assert await h.failcount("web") == 0
        assert EventKind.EXPIRY in h.kinds("web")
        assert h.fake.running == {"web", "worker", "other"}

    run(body)


def test_failed_start_is_fatal_on_this_node() -> None:
    h = Harness()
    h.fake.fail("web", "start", OcfRc.ERR_GENERIC, "no port")

    async def body(h: Harness) -> None:
        assert await h.failcount("web") == INFINITY
        assert "web" not in h.fake.running and "worker" not in h.fake.running
        assert ("worker", "start") not in h.actions("worker")
        assert any(e.kind is EventKind.FAILURE and "no port" in e.message for e in h.events)

    run(body, h)


def test_stop_everything_stops_in_reverse_order() -> None:
    async def body(h: Harness) -> None:
        h.fake.calls.clear()
        assert await h.ctl.stop_everything()
        assert h.fake.running == set()
        stops = [r for r, a in h.actions("web", "worker") if a == "stop"]
        assert stops == ["worker", "web"]

    run(body)


def test_changed_parameters_restart_only_the_affected_resources() -> None:
    async def body(h: Harness) -> None:
        h.fake.calls.clear()
        new = load_config_text(
            WEB.replace(
                "  - id: other\n    agent: ocf:heartbeat:Dummy\n",
                "  - id: other\n    agent: ocf:heartbeat:Dummy\n    params: {fake: x}\n",
            )
        )
        assert await h.ctl.restart({"other"}, new)
        await h.settle()
        assert h.actions("other") == [("other", "stop"), ("other", "start")]
        assert h.actions("web", "worker") == []
        assert h.fake.calls_for("other", "start")[-1].params == {"fake": "x"}

    run(body)


def test_standby_and_ban_stop_resources_and_online_or_clear_bring_them_back() -> None:
    async def body(h: Harness) -> None:
        from paceline.controller.statedb import DynamicLocation

        await h.db.set_node_flags("n1", standby=True)
        h.ctl.wake()
        await h.settle()
        assert h.fake.running == set()
        await h.db.set_node_flags("n1", standby=False)
        h.ctl.wake()
        await h.settle()
        assert h.fake.running == {"web", "worker", "other"}
        await h.db.add_location(DynamicLocation("cli-ban-other-on-n1", "other", "n1", -INFINITY))
        h.ctl.wake()
        await h.settle()
        assert h.fake.running == {"web", "worker"}
        await h.db.clear_locations("other")
        h.ctl.wake()
        await h.settle()
        assert "other" in h.fake.running

    run(body)


def test_a_wake_up_mid_transition_lets_the_running_action_finish_then_replans() -> None:
    h = Harness()

    async def body(h: Harness) -> None:
        h.fake.delay_s = 0.05
        h.fake.calls.clear()
        h.fake.kill("web")
        h.clock.advance(5)
        for _ in range(200):
            if h.agent.busy:
                break
            await asyncio.sleep(0.005)
        in_flight = set(h.agent.busy)
        assert in_flight, "no action started"
        h.ctl.wake()  # e.g. a configuration change arrives now
        await asyncio.sleep(0.2)
        await h.settle()
        for rsc in in_flight:  # the action that was running completed and was recorded
            assert any(e.kind is EventKind.STOP and e.resource == rsc for e in h.events)
        assert h.fake.running == {"web", "worker", "other"}
        assert h.actions("web", "worker") == [
            ("worker", "stop"),
            ("web", "stop"),
            ("web", "start"),
            ("worker", "start"),
        ]

    run(body, h)


def test_reload_with_new_parameters_and_a_failed_reload_becomes_a_restart() -> None:
    async def body(h: Harness) -> None:
        h.fake.calls.clear()
        new = load_config_text(
            WEB.replace(
                "  - id: other\n    agent: ocf:heartbeat:Dummy\n",
                "  - id: other\n    agent: ocf:heartbeat:Dummy\n    params: {fake: y}\n",
            )
        )
        assert await h.ctl.restart(set(), new, {"other": "reload"})
        await h.settle()
        assert h.actions("other") == [("other", "reload")]
        assert h.fake.calls_for("other", "reload")[-1].params == {"fake": "y"}
        h.fake.fail("other", "reload")
        newer = load_config_text(WEB.replace("  - id: other\n", "  - id: other\n    params: {fake: z}\n"))
        assert await h.ctl.restart(set(), newer, {"other": "reload"})
        await h.settle()
        assert h.actions("other")[1:] == [("other", "reload"), ("other", "stop"), ("other", "start")]
        assert h.fake.calls_for("other", "start")[-1].params == {"fake": "z"}

    run(body)


def test_a_failure_recorded_in_the_store_wakes_the_controller_by_itself() -> None:
    async def body(h: Harness) -> None:
        h.agent.on_change = lambda: None  # only the store watch is left to wake the loop
        h.fake.kill("web")
        await h.advance(5)
        assert await h.failcount("web") == 1
        assert h.fake.running == {"web", "worker", "other"}

    run(body)


def test_stop_everything_is_not_blocked_by_a_pending_wake_up() -> None:
    async def body(h: Harness) -> None:
        h.ctl.stop()
        assert h.task is not None
        await asyncio.wait_for(h.task, 5)
        h.ctl.wake()  # e.g. a failure recorded just before SIGTERM, never answered by the loop
        assert await asyncio.wait_for(h.ctl.stop_everything(), 5)
        assert h.fake.running == set()

    run(body)


def test_a_crash_loop_is_slowed_down_not_hidden() -> None:
    h = Harness(WEB.replace("migration-threshold: 3, ", ""))

    async def body(h: Harness) -> None:
        for _ in range(3):
            h.fake.kill("web")
            await h.advance(5)
        assert h.agent.flap_delay_s("web") == 0.0  # three failures in 30 s are free
        h.fake.kill("web")
        await h.advance(5)
        assert h.agent.flap_delay_s("web") == 0.5
        h.fake.kill("web")
        await h.advance(5)
        assert h.agent.flap_delay_s("web") == 1.0
        assert h.fake.running == {"web", "worker", "other"}  # still recovered every time
        assert await h.failcount("web") == 5
        await h.advance(31, step=5)
        assert h.agent.flap_delay_s("web") == 0.0

    run(body, h)


def test_a_resource_added_while_running_is_probed_and_adopted_not_started_twice() -> None:
    extra = "  - {id: extra, agent: ocf:heartbeat:Dummy}\n"
    fresh = "  - {id: fresh, agent: ocf:heartbeat:Dummy}\n"

    async def body(h: Harness) -> None:
        h.fake.running.add("extra")  # started by hand before it was configured
        h.fake.calls.clear()
        await h.ctl.restart(set(), load_config_text(WEB.replace("constraints:", extra + "constraints:")))
        await h.settle()
        assert [(c.action, c.interval_ms) for c in h.fake.calls_for("extra")][:1] == [("monitor", 0)]
        assert h.actions("extra") == []
        assert EventKind.ADOPT in h.kinds("extra")
        await h.ctl.restart(
            set(), load_config_text(WEB.replace("constraints:", extra + fresh + "constraints:"))
        )
        await h.settle()
        assert h.actions("fresh") == [("fresh", "start")]

    run(body)


def test_start_up_probes_keep_a_history_they_agree_with() -> None:
    async def go() -> None:
        h = Harness()
        await h.start()
        h.fake.kill("web")
        await h.advance(5)  # a failure and its recovery are in the history now
        await h.stop()
        before = (await h.db.snapshot()).history
        h.fake.kill("other")  # ... and "other" died while the daemon was down
        await h.agent.probe(history=before)
        after = (await h.db.snapshot()).history
        changed = {r.resource for r in after} ^ {r.resource for r in before} | {
            r.resource for r in after if r not in before
        }
        assert changed == {"other"}
        assert next(r for r in after if r.resource == "other" and r.task == "monitor").rc == 7

    asyncio.run(go())


def test_history_records_which_agent_ran_each_operation() -> None:
    """So that a resource later removed from the configuration is known by its agent."""

    async def body(h: Harness) -> None:
        snap = await h.db.snapshot()
        web = [r for r in snap.history if r.resource == "web"]
        assert web and {r.agent for r in web} == {"ocf:heartbeat:Dummy"}

    run(body)


FENCED = (
    WEB.replace("stonith-enabled: false", "stonith-enabled: true")
    + "nodes: [n1]\nfencing: {devices: [{id: f, agent: fence_dummy, hosts: [n1]}]}\n"
)


def test_a_fence_no_device_can_carry_out_is_reported_once_not_replanned_in_a_loop() -> None:
    h = Harness(FENCED)

    async def body(h: Harness) -> None:
        h.fake.fail("web", "stop")
        h.fake.kill("web")
        before = h.ctl.passes
        await h.advance(6)  # settles: the loop goes idle (it used to plan the fence 21 times, then 1/s)
        assert h.ctl.passes - before <= 4
        assert any(a.kind.value == "fence" for a in h.ctl.last_transition.actions)
        needs = [e.message for e in h.events if "needs fencing" in e.message]
        assert needs == [
            "n1 needs fencing (web failed there); no fence device can fence n1 (the single-node daemon "
            "does not fence): resolve it by hand (make sure what failed is stopped, then paceline "
            "resource cleanup)"
        ]
        assert h.ctl.blocked_fences() == {
            "n1": "needs fencing (web failed there); no fence device can fence n1 (the single-node "
            "daemon does not fence)"
        }
        before = h.ctl.passes
        await h.advance(120, step=10)  # the recheck interval re-plans, but reports nothing new
        assert h.ctl.passes - before <= 6
        assert len([e for e in h.events if "needs fencing" in e.message]) == 1
        # a stop signal ends it: nothing can be done, so shutdown does not loop either
        assert await asyncio.wait_for(h.ctl.stop_everything(), 5) is True

    run(body, h)


def test_fail_counts_of_infinity_read_infinity_in_events() -> None:
    async def body(h: Harness) -> None:
        h.fake.fail("web", "start")
        h.fake.kill("web")
        await h.advance(5)
        assert await h.failcount("web") >= INFINITY
        h.fake.script("web", "start", [OcfRc.OK])
        await h.advance(70, step=10)  # failure-timeout 60s
        expired = [e.message for e in h.events if e.kind is EventKind.EXPIRY]
        assert expired and all("1000000" not in m for m in expired), expired
        assert any("(INFINITY x start_0)" in m for m in expired), expired

    run(body)


def test_a_requested_restart_is_a_stop_and_a_start_not_a_recovery() -> None:
    async def body(h: Harness) -> None:
        h.fake.kill("web")
        await h.advance(5)
        assert [e.kind for e in h.events if e.resource == "web"].count(EventKind.RECOVERY) == 1
        h.events.clear()
        await h.ctl.restart({"web"}, why="resource restart requested")
        await h.settle()
        assert h.fake.running == {"web", "worker", "other"}
        web = [(e.kind, e.message) for e in h.events if e.resource == "web"]
        assert (EventKind.STOP, "stop web on n1: ok (resource restart requested)") in web, web
        assert EventKind.START in [k for k, _ in web] and EventKind.RECOVERY not in [k for k, _ in web]
        assert await h.failcount("web") == 1  # the earlier failure still counts, but nothing recovers

    run(body)


def test_a_start_after_the_node_agent_restarted_is_not_a_recovery() -> None:
    """A new daemon (a new NodeAgent) starting a resource that has an old fail count starts it."""

    async def body(h: Harness) -> None:
        h.fake.kill("web")
        await h.advance(5)
        await h.ctl.stop_everything()
        assert h.fake.running == set()
        h.events.clear()
        from paceline.node.agent import NodeAgent

        h.ctl.stop()
        agent = NodeAgent(h.fake, h.db, h.node, h.clock, h._wake)
        h.agent, h.ctl.executor = agent, agent
        h.ctl._stop_all = False
        await h.ctl.converge()
        assert h.fake.running == {"web", "worker", "other"}
        assert EventKind.RECOVERY not in h.kinds("web") and EventKind.START in h.kinds("web")

    run(body)
