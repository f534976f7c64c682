"""The `service:` block is checked like the rest of the file (unknown keys, types, durations,
ranges; all at once, with file, line and key path), by the one schema the agent uses too, and
what this machine lacks (commands, agents, users) is a warning, not an error."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from paceline.agents import ServiceDefinition, ServiceDefinitionError
from paceline.agents.installed import missing_here
from paceline.cli.main import app
from paceline.daemon.configsrc import InvalidConfig, check_text
from paceline.model.service_schema import check_service
from paceline.model.yaml_loader import ConfigError, load_config_text

BAD = textwrap.dedent(
    """\
    resources:
      - id: web
        service:
          command: [python3, -m, http.server, "8080"]
          failur_threshold: 3
          stop_grace: -5
          log_backups: many
          probe:
            htp: "http://127.0.0.1:8080/"
            interval: fast
            timeout: 0s
            failure_threshold: 0
            expect_status: 700
    """
)

EXPECTED = [
    "c.yaml:5: resources[0].service.failur_threshold: unknown key (did you mean 'probe.failure_threshold'?)",
    "c.yaml:6: resources[0].service.stop_grace: expected a duration",
    "c.yaml:7: resources[0].service.log_backups: expected an integer, got 'many'",
    "c.yaml:9: resources[0].service.probe.htp: unknown key (did you mean 'http'?)",
    "c.yaml:9: resources[0].service.probe: give exactly one of http, tcp, exec",
    "c.yaml:10: resources[0].service.probe.interval: expected a duration",
    "c.yaml:11: resources[0].service.probe.timeout: must be longer than 0",
    "c.yaml:12: resources[0].service.probe.failure_threshold: expected an integer >= 1, got 0",
    "c.yaml:13: resources[0].service.probe.expect_status: expected an integer from 100 to 599, got 700",
]


def test_every_service_problem_is_reported_at_once_with_line_and_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config_text(BAD, "c.yaml")
    got = [str(e) for e in info.value.errors]
    assert len(got) == len(EXPECTED), got
    for line, want in zip(sorted(got), sorted(EXPECTED), strict=True):
        assert line.startswith(want), (line, want)


def test_run_and_apply_reject_what_validate_rejects() -> None:
    with pytest.raises(InvalidConfig) as info:
        check_text(BAD, "c.yaml")
    assert len(info.value.errors) == len(EXPECTED)


def test_validate_command_reports_them_and_exits_1(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(BAD)
    res = CliRunner().invoke(app, ["config", "validate", str(f)])
    assert res.exit_code == 1
    assert "service.probe.htp: unknown key (did you mean 'http'?)" in res.output
    assert "service.stop_grace" in res.output


@pytest.mark.parametrize(
    ("service", "path", "message"),
    [
        (
            {"command": "a", "probe": {"tcp": "127.0.0.1:80", "failur_threshold": 2}},
            "probe.failur_threshold",
            "unknown key",
        ),
        ({"command": "a", "stop_grace": "-5"}, "stop_grace", "expected a duration"),
        (
            {"command": "a", "probe": {"exec": ["true"], "interval": "fast"}},
            "probe.interval",
            "expected a duration",
        ),
        ({"command": "a 'unclosed"}, "command", "cannot split"),
        ({"command": [["nested"]]}, "command[0]", "expected a string"),
        ({"command": "a", "env": {"A=B": "v"}}, "env.A=B", "not a variable name"),
        ({"command": "a", "cwd": "relative/dir"}, "cwd", "expected an absolute path"),
        ({"command": "a", "log_max_bytes": 10}, "log_max_bytes", "expected an integer >= 1024"),
        ({"command": "a", "probe": {"tcp": "nohost"}}, "probe.tcp", "expected host:port"),
        (
            {"command": "a", "probe": {"tcp": "h:1", "expect_status": 200}},
            "probe.expect_status",
            "http probe only",
        ),
    ],
)
def test_the_agent_refuses_what_the_loader_refuses(
    service: dict[str, object], path: str, message: str
) -> None:
    """One schema: ServiceDefinition (what the agent starts) raises for every problem the
    configuration loader reports (e.g. a mistyped key inside `probe:` was ignored before)."""
    issues = check_service(service)
    assert any(str(i).startswith(f"{path}: ") and message in i.message for i in issues), issues
    with pytest.raises(ServiceDefinitionError) as info:
        ServiceDefinition.from_mapping(service)
    assert f"service.{path}: " in str(info.value)


def test_a_valid_definition_survives_the_agent_s_round_trip() -> None:
    service = {
        "command": ["python3", "-m", "http.server", "8080"],
        "env": {"A": "1"},
        "cwd": "/srv",
        "stop_grace": "2s",
        "probe": {"http": "http://127.0.0.1:8080/", "interval": "500ms", "expect_status": 200},
    }
    assert check_service(service) == []
    d = ServiceDefinition.from_mapping(service)
    assert ServiceDefinition.from_params(d.to_params()) == d
    assert d.probe is not None and d.probe.interval_s == 0.5 and d.stop_grace_s == 2.0


def _executable(p: Path) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("#!/bin/sh\nexit 0\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR)


MISSING = textwrap.dedent(
    """\
    resources:
      - id: web
        service: {command: [nosuch-command-xyz, --port, "80"], user: nosuch-user-xyz}
      - id: here
        service: {command: [sh, -c, "sleep 1"]}
      - id: d
        agent: ocf:heartbeat:NoSuchAgent
      - id: e
        agent: ocf:heartbeat:Present
    """
)


def test_what_this_machine_lacks_is_listed(tmp_path: Path) -> None:
    _executable(tmp_path / "resource.d" / "heartbeat" / "Present")
    config = load_config_text(MISSING, "c.yaml")
    got = [str(m) for m in missing_here(config, ocf_root=tmp_path)]
    assert got == [
        "web: user 'nosuch-user-xyz' does not exist here",
        "web: command 'nosuch-command-xyz' not found on PATH "
        "(/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)",
        f"d: agent ocf:heartbeat:NoSuchAgent is not installed here "
        f"({tmp_path}/resource.d/heartbeat/NoSuchAgent not found)",
    ]


def test_a_service_s_own_path_is_searched(tmp_path: Path) -> None:
    _executable(tmp_path / "bin" / "mytool")
    text = f"resources: [{{id: a, service: {{command: mytool, env: {{PATH: {tmp_path}/bin}}}}}}]"
    assert missing_here(load_config_text(text)) == []
    assert len(missing_here(load_config_text("resources: [{id: a, service: {command: mytool}}]"))) == 1


def test_validate_warns_about_what_is_missing_here_but_accepts_the_file(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(MISSING)
    res = CliRunner().invoke(app, ["config", "validate", str(f)])
    assert res.exit_code == 0, res.output
    assert f"{f}: resource web: warning: command 'nosuch-command-xyz' not found on PATH" in res.output
    assert f"{f}: valid (4 resources, 0 constraints)" in res.output
    assert os.environ.get("PATH")  # the check used the service's PATH, not this one


def test_a_variable_name_execve_cannot_pass_is_refused_before_start() -> None:
    with pytest.raises(ServiceDefinitionError, match=r"service\.env\.=: '=' is not a variable name"):
        ServiceDefinition.from_mapping({"command": ["true"], "env": {"=": ""}})
    assert check_service({"command": ["true"], "env": {"0": "", "a.b": "1"}}) == []
