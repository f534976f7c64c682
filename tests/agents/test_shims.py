"""The shims agents call back into (crm_attribute, crm_master, attrd_updater, crm_node,
crm_resource), directly and through real agents (ping, HealthCPU)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

import pytest

from paceline.agents import AgentSpec, AttributeStore, Lifetime, LocalAgentRunner, OcfRc, OpRequest

from .conftest import arun

Make = Callable[..., LocalAgentRunner]


def sh(r: LocalAgentRunner, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = r.agent_env()
    e.update(env)
    return subprocess.run(list(argv), env=e, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.slow
def test_crm_attribute(make_runner: Make) -> None:
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    assert (
        sh(r, "crm_attribute", "-N", "n2", "-l", "reboot", "-n", "g-last-committed", "-v", "42").returncode
        == 0
    )
    assert store.get("n2", "g-last-committed") == "42"
    q = sh(r, "crm_attribute", "-N", "n2", "-l", "reboot", "--name", "g-last-committed", "--quiet")
    assert (q.returncode, q.stdout) == (0, "42\n")
    q = sh(r, "crm_attribute", "-N", "n2", "-l", "reboot", "-n", "g-last-committed", "-G")
    assert q.stdout == "scope=status  name=g-last-committed value=42\n"
    assert sh(r, "crm_attribute", "-N", "n2", "-l", "reboot", "-n", "g-last-committed", "-D").returncode == 0
    q = sh(r, "crm_attribute", "-N", "n2", "-l", "reboot", "-n", "g-last-committed", "-G", "-q")
    assert q.returncode == 105 and q.stdout == ""
    q = sh(r, "crm_attribute", "-N", "n2", "-l", "reboot", "-n", "x", "-G", "-q", "-d", "dflt")
    assert q.stdout == "dflt\n"
    # permanent node attribute, and the local node by default
    assert sh(r, "crm_attribute", "-l", "forever", "-n", "rack", "-v", "a").returncode == 0
    assert store.get("n1", "rack", Lifetime.FOREVER) == "a"
    # cluster option
    assert sh(r, "crm_attribute", "-t", "crm_config", "-n", "stonith-enabled", "-v", "false").returncode == 0
    assert store.get_config("stonith-enabled") == "false"


@pytest.mark.slow
def test_promotion_and_crm_master(make_runner: Make) -> None:
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    assert sh(r, "crm_attribute", "--promotion", "-v", "7", OCF_RESOURCE_INSTANCE="db:1").returncode == 0
    assert store.get("n1", "master-db") == "7"
    assert sh(r, "crm_master", "-l", "reboot", "-v", "100", OCF_RESOURCE_INSTANCE="db:0").returncode == 0
    assert store.promotion_score("db", "n1") == 100
    q = sh(r, "crm_master", "-G", "-q", OCF_RESOURCE_INSTANCE="db")
    assert q.stdout == "100\n"
    assert sh(r, "crm_attribute", "-p", "-D", OCF_RESOURCE_INSTANCE="db").returncode == 0
    assert store.promotion_score("db", "n1") is None


@pytest.mark.slow
def test_attrd_updater(make_runner: Make) -> None:
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    assert sh(r, "attrd_updater", "-n", "#health-cpu", "-U", "red", "-d", "30s").returncode == 0
    entry = store.read()["attributes"]["reboot"]["n1"]["#health-cpu"]
    assert entry["value"] == "red" and entry["dampen_ms"] == 30000
    assert sh(r, "attrd_updater", "-n", "pingd", "-B", "1000", "-d", "5s").returncode == 0
    q = sh(r, "attrd_updater", "-n", "pingd", "-Q")
    assert q.stdout == 'name="pingd" host="n1" value="1000"\n'
    assert sh(r, "attrd_updater", "-n", "pingd", "-v", "2000", "-d", "5s").returncode == 0
    assert store.get("n1", "pingd") == "2000"
    assert sh(r, "attrd_updater", "-D", "-n", "pingd", "-d", "5s").returncode == 0
    assert sh(r, "attrd_updater", "-n", "pingd", "-Q").returncode == 105


@pytest.mark.slow
def test_crm_node_and_crm_resource(make_runner: Make) -> None:
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    assert sh(r, "crm_node", "-n").stdout == "n1\n"
    assert sh(r, "crm_node", "-p").stdout == "n1\n"
    assert sh(r, "crm_node", "-q").stdout == "1\n"
    store.set_membership([(1, "n1", "member"), (2, "n2", "member"), (3, "n3", "lost")], quorate=True)
    assert sh(r, "crm_node", "-l").stdout == "1 n1 member\n2 n2 member\n3 n3 lost\n"
    assert sh(r, "crm_node", "-p").stdout == "n1 n2\n"
    assert sh(r, "crm_node", "-N", "2").stdout == "n2\n"
    store.set_membership([(1, "n1", "member")], quorate=False)
    q = sh(r, "crm_node", "-q")
    assert (q.stdout, q.returncode) == ("0\n", 3)
    store.set_location("db", ["n2"], promoted=["n2"])
    assert sh(r, "crm_resource", "--locate", "-r", "db").stdout == "resource db is running on: n2 Promoted\n"
    assert sh(r, "crm_resource", "-r", "db", "-z", "-p", "cpu", "-v", "2").returncode == 0
    assert sh(r, "crm_resource", "-Q", "-r", "db", "-z", "-g", "cpu").stdout == "2\n"
    assert sh(r, "crm_resource", "-r", "db", "--cleanup").returncode == 3
    # ocf-shellfuncs' ocf_local_nodename goes through our pacemakerd stub to crm_node -n
    q = sh(
        r,
        "sh",
        "-c",
        ". /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs; ocf_local_nodename",
        OCF_ROOT="/usr/lib/ocf",
    )
    assert q.stdout.strip() == "n1"


@pytest.mark.slow
def test_real_health_and_ping_agents_write_attributes(make_runner: Make) -> None:
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    health = AgentSpec.parse("ocf:pacemaker:HealthCPU")
    ping = AgentSpec.parse("ocf:pacemaker:ping")
    pp = {"host_list": "127.0.0.1", "multiplier": "1000", "dampen": "1s", "timeout": "1", "attempts": "1"}

    async def go() -> None:
        assert (await r.run(OpRequest("hc", health, "start"))).rc is OcfRc.OK
        assert (await r.run(OpRequest("hc", health, "monitor", interval_ms=10000))).rc is OcfRc.OK
        assert store.get("n1", "#health-cpu") in {"green", "yellow", "red"}
        assert (await r.run(OpRequest("p", ping, "start", pp))).rc is OcfRc.OK
        assert store.get("n1", "pingd") == "1000"
        assert (await r.run(OpRequest("p", ping, "stop", pp))).rc is OcfRc.OK
        assert store.get("n1", "pingd") is None
        assert (await r.run(OpRequest("hc", health, "stop"))).rc is OcfRc.OK
        await r.close()

    arun(go())


@pytest.mark.slow
def test_crm_mon_as_galera_reads_it(make_runner: Make) -> None:
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    store.set_membership([(1, "n1", "member"), (2, "n2", "member")], quorate=True)
    store.set_location("galera", ["n1", "n2"], promoted=["n1"])
    funcs = ". /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs; "
    # galera's two_node_mode check and clean-member count (crm_mon_no_validation -1X | xmllint)
    q = sh(
        r,
        "bash",
        "-c",
        funcs + "crm_mon_no_validation -1X | xmllint --xpath "
        '\'count(//nodes/node[@type="member" and @unclean="false"])\' -',
        OCF_ROOT="/usr/lib/ocf",
    )
    assert q.stdout.strip() == "2", q.stderr
    # galera's "is there a promoted instance" grep
    grep = (
        'crm_mon_no_validation -1 --output-as=xml | grep -q -i -E "resource.*id=\\"galera\\".*'
        'role=\\"(Promoted|Master)\\".*active=\\"true\\".*orphaned=\\"false\\".*failed=\\"false\\""'
    )
    assert sh(r, "bash", "-c", funcs + grep, OCF_ROOT="/usr/lib/ocf").returncode == 0
    store.set_location("galera", ["n1", "n2"], promoted=[])
    assert sh(r, "bash", "-c", funcs + grep, OCF_ROOT="/usr/lib/ocf").returncode == 1
    assert "Online: [ n1 n2 ]" in sh(r, "crm_mon", "-1").stdout
    assert sh(r, "cibadmin", "--replace", "-X", "<cib/>").returncode == 3


@pytest.mark.slow
@pytest.mark.parametrize("value", ["with space", 'quo"te', "ünï", "-starts-with-dash", ""])
def test_values_round_trip_through_the_shims(make_runner: Make, value: str) -> None:
    r = make_runner()
    assert sh(r, "crm_attribute", "-N", "n1", "-l", "reboot", "-n", "v", f"--update={value}").returncode == 0
    assert sh(r, "crm_attribute", "-N", "n1", "-l", "reboot", "-n", "v", "-G", "-q").stdout == value + "\n"


@pytest.mark.slow
def test_parallel_writers_lose_nothing(make_runner: Make) -> None:
    r = make_runner()
    env = r.agent_env()
    procs = [subprocess.Popen(["attrd_updater", "-n", f"a{i}", "-U", str(i)], env=env) for i in range(16)]
    try:
        assert [p.wait(timeout=30) for p in procs] == [0] * 16
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    attrs = AttributeStore(r.ctx.attr_store).attributes("n1")
    assert attrs == {f"a{i}": str(i) for i in range(16)}
    assert AttributeStore(r.ctx.attr_store).revision == 16


@pytest.mark.slow
def test_options_other_agents_use(make_runner: Make) -> None:
    """SysInfo / machine-info: attrd_updater -S status; NodeUtilization: crm_attribute -z -t nodes."""
    r = make_runner()
    store = AttributeStore(r.ctx.attr_store)
    assert sh(r, "attrd_updater", "-d", "0", "-S", "status", "-n", "machines", "-v", "3").returncode == 0
    assert store.get("n1", "machines") == "3"
    assert sh(r, "attrd_updater", "-d", "0", "-D", "-S", "state", "-n", "machines").returncode == 0
    assert store.get("n1", "machines") is None
    assert sh(r, "crm_attribute", "-t", "nodes", "--node", "n2", "-z", "-n", "cpu", "-v", "8").returncode == 0
    assert store.get_node_utilization("n2", "cpu") == "8"
    assert store.get("n2", "cpu", Lifetime.FOREVER) is None  # utilization is not a node attribute
    q = sh(r, "crm_attribute", "--quiet", "-t", "nodes", "--node", "n2", "-z", "-n", "cpu")
    assert q.stdout == "8\n"
    assert sh(r, "attrd_updater", "-p", "-n", "g-gtid", "-U", "abc").returncode == 0
    assert (
        sh(r, "attrd_updater", "-p", "-N", "n1", "-n", "g-gtid", "-Q").stdout
        == 'name="g-gtid" host="n1" value="abc"\n'
    )
