"""`balancer.plan` and `DownTracker` without HAProxy."""

from __future__ import annotations

from paceline.balancer import DownTracker, Server, ServerStat, parse_stat, plan


def st(name: str, status: str = "UP", weight: int = 1, addr: str = "", scur: int = 0) -> ServerStat:
    return ServerStat("be", name, status, weight, scur, addr, "")


def test_plan_adds_removes_reweights_and_leaves_static_servers_alone() -> None:
    desired = {
        "pl-n1": Server("10.0.0.1:80"),
        "pl-n2": Server("10.0.0.2:80", 5),
        "pl-n4": Server("10.0.0.4:80"),
    }
    current = {
        "pl-n1": st("pl-n1", addr="10.0.0.1:80"),
        "pl-n2": st("pl-n2", addr="10.0.0.2:80"),
        "pl-n3": st("pl-n3", addr="10.0.0.3:80"),
        "static": st("static", addr="10.0.0.9:80"),
    }
    p = plan(desired, current, lambda n: n.startswith("pl-"))
    assert p.add == ("pl-n4",)
    assert p.remove == ("pl-n3",)
    assert p.reweight == (("pl-n2", 5),)
    assert p.ready == () and p.readdress == ()
    assert plan({}, {"static": st("static")}, lambda n: n.startswith("pl-")).empty


def test_plan_readies_a_server_left_in_maint_and_moves_a_changed_address() -> None:
    current = {"a": st("a", "MAINT", addr="1.1.1.1:80"), "b": st("b", addr="1.1.1.2:80")}
    p = plan({"a": Server("1.1.1.1:80"), "b": Server("1.1.1.3:80")}, current, lambda n: True)
    assert p.ready == ("a",) and p.readdress == ("b",) and p.add == () and p.remove == ()


def test_down_tracker_reports_each_outage_once_after_its_time() -> None:
    t = DownTracker(after_s=0.5)
    assert t.feed(0.0, {"a": st("a", "DOWN")}) == []
    assert t.feed(0.4, {"a": st("a", "DOWN")}) == []
    got = t.feed(0.6, {"a": st("a", "DOWN"), "b": st("b")})
    assert [n for n, _ in got] == ["a"] and "DOWN for 0.60 s" in got[0][1]
    assert t.feed(0.9, {"a": st("a", "DOWN")}) == []  # once per outage
    assert t.feed(1.0, {"a": st("a", "UP")}) == []
    assert t.feed(1.1, {"a": st("a", "DOWN 1/2")}) == []  # a new outage starts over
    assert [n for n, _ in t.feed(1.7, {"a": st("a", "DOWN")})] == ["a"]


def test_parse_stat_keeps_server_rows() -> None:
    text = (
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,"
        "status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,"
        "type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,addr\n"
        "fe,FRONTEND,,,0,1,,,,,,,,,,,,OPEN,,,,,,,,,1,1,0,,,,0,0,0,1,,,,,\n"
        "be,s1,0,0,2,3,,9,,,,,,0,0,0,0,UP,7,1,0,0,0,5,0,,1,2,1,,9,,2,0,,1,L7OK,200,1,,127.0.0.1:8001\n"
        "be,BACKEND,0,0,2,3,,9,,,,,,0,0,0,0,UP,7,1,0,,0,5,0,,1,2,0,,9,,1,0,,1,,,,,\n"
    )
    got = parse_stat(text)
    assert list(got) == [("be", "s1")]
    s = got[("be", "s1")]
    assert (s.status, s.weight, s.scur, s.address, s.check_status) == ("UP", 7, 2, "127.0.0.1:8001", "L7OK")


def test_desired_servers_are_the_nodes_whose_history_says_the_copy_runs_healthy() -> None:
    from paceline.balancer import desired_servers
    from paceline.model.state import OpRecord

    history = (
        OpRecord("web", "n1", "start", call_id=1),
        OpRecord("web", "n2", "start", call_id=2),
        OpRecord("web", "n2", "stop", call_id=5),  # stopped: out
        OpRecord("web", "n3", "start", call_id=3),
        OpRecord("web", "n3", "monitor", interval_ms=1000, rc=7, call_id=6, expected_rc=0),  # failed
        OpRecord("web", "n4", "start", call_id=4),  # no address: out
        OpRecord("other", "n5", "start", call_id=7),
        OpRecord("db:1", "n5", "promote", rc=0, call_id=8),
    )
    addrs = {"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3", "n5": "10.0.0.5"}
    nodes = ("n1", "n2", "n3", "n4", "n5")
    assert desired_servers(nodes, history, "web", addrs.get, 8080) == {"n1": Server("10.0.0.1:8080")}
    assert desired_servers(nodes, history, "db", addrs.get, 5432, 2) == {"n5": Server("10.0.0.5:5432", 2)}
