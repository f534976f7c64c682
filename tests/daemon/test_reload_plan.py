"""Which changed resources are reloaded in place and which restart (agent meta-data from the fake)."""

from __future__ import annotations

import asyncio
import textwrap

from paceline.agents import AgentSpec
from paceline.agents.fake import FakeAgentRunner
from paceline.agents.metadata import ActionInfo, AgentMetadata, ParameterInfo
from paceline.daemon.reload import plan_reloads
from paceline.model.yaml_loader import load_config_text


def config(fake: str, start_params: str = "") -> str:
    start = f"start: {{params: {{{start_params}}}}}" if start_params else "start: {timeout: 20s}"
    return textwrap.dedent(
        f"""\
        nodes: [n1]
        resources:
          - id: a
            agent: ocf:pacemaker:Dummy
            params: {{fake: {fake}}}
            ops: {{{start}}}
        """
    )


def plan(old: str, new: str) -> tuple[dict[str, str], set[str]]:
    runner = FakeAgentRunner()
    spec = AgentSpec.parse("ocf:pacemaker:Dummy")
    fake = ParameterInfo("fake", "string", None, False, False, "", reloadable=True)
    runner.metadata_by_spec[spec] = AgentMetadata(
        "Dummy", "1.1", "", "", (fake,), (ActionInfo("reload-agent", 20000, None),)
    )
    return asyncio.run(plan_reloads(runner, load_config_text(old), load_config_text(new), {"a"}))


def test_a_reloadable_parameter_is_reloaded() -> None:
    assert plan(config("x"), config("y")) == ({"a": "reload-agent"}, set())


def test_an_operation_s_own_parameters_restart_even_if_the_rest_could_reload() -> None:
    assert plan(config("x"), config("y", "trace_ra: '1'")) == ({}, {"a"})
    assert plan(config("x", "trace_ra: '1'"), config("x", "trace_ra: '0'")) == ({}, {"a"})
