"""The web API on TCP: the same routes as the Unix-socket API (the same `Api` object), tokens and
roles, events with a cursor, explain, config validate/diff/history, TLS, server-sent events."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx

from paceline.daemon.http import Request
from paceline.web.listen import WebOptions, tls_context
from paceline.web.tokens import Role, create_token, revoke_token, tokens_path

from .webtier import ALL, WEB, Running, running_daemon, until

# (kind, target, op, --node): each through the CLI on one daemon and through the web API on another
STEPS: list[tuple[str, str, str, str | None]] = [
    ("resource", "other", "move", None),
    ("resource", "other", "restart", None),  # error: not running
    ("resource", "other", "clear", None),
    ("resource", "web", "ban", None),
    ("resource", "web", "clear", None),
    ("resource", "web", "restart", None),
    ("resource", "other", "cleanup", None),
    ("resource", "nosuch", "ban", None),  # error: no such resource
    ("resource", "web", "ban", "n9"),  # error: no such node
    ("node", "n9", "standby", None),  # error: no such node
    ("node", "n1", "standby", None),
    ("node", "n1", "online", None),
    ("node", "n1", "maintenance", None),
    ("node", "n1", "online", None),
]


def _facts(r: Running, status: dict[str, Any], events: list[dict[str, Any]]) -> Any:
    return (
        sorted(r.fake.running),
        status,
        [(e["kind"], e["message"]) for e in events if e["kind"] != "daemon"],
    )


async def _trace(tmp: Path, via_web: bool) -> list[Any]:
    out: list[Any] = []
    async with running_daemon(tmp, "web" if via_web else "cli") as r:
        token = create_token(tokens_path(r.state_dir), Role.ADMIN, "ops")
        async with httpx.AsyncClient(base_url=r.url, headers={"Authorization": f"Bearer {token}"}) as c:
            for kind, target, op, node in STEPS:
                if via_web:
                    path = f"/api/v1/{kind}s/{target}/{op}"
                    resp = await c.post(path, json={"node": node} if node else {}, timeout=60)
                    data = resp.json()
                    result = (
                        (0, data["message"] + "\n", "")
                        if resp.status_code == 200
                        else (1, "", f"paceline: {data['error']}\n")
                    )
                else:
                    args = [kind, op, target] + (["--node", node] if node else [])
                    result = await r.cli(*args)
                status = (await c.get("/api/v1/status")).json()
                events = (await c.get("/api/v1/events", params={"limit": 1000})).json()["events"]
                out.append((kind, target, op, result, _facts(r, status, events)))
    return out


def test_every_action_has_the_same_effect_and_errors_through_the_web_api_as_through_the_cli(
    tmp_path: Path,
) -> None:
    async def go() -> None:
        cli = await _trace(tmp_path, via_web=False)
        web = await _trace(tmp_path, via_web=True)
        for a, b in zip(cli, web, strict=True):
            assert a == b
        codes = [step[3][0] for step in cli]
        assert codes == [0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0]
        assert "not running" in cli[1][3][2] and "no resource 'nosuch'" in cli[7][3][2]
        assert cli[0][4][0] == ["web", "worker"] and cli[-1][4][0] == sorted(ALL)

    asyncio.run(go())


def test_config_apply_validate_diff_and_history_match_the_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(WEB.replace("ocf:heartbeat:Dummy\n    ops: {monitor: {interval: 10s}}", "nosuch:x"))
    new = tmp_path / "new.yaml"
    new.write_text(
        WEB.replace("  - id: other\n    agent: ocf:heartbeat:Dummy\n", "").replace(
            "  - location: {resource: other, node: n1, score: 50}\n", ""
        )
    )

    async def go() -> None:
        async with running_daemon(tmp_path) as r:
            token = create_token(tokens_path(r.state_dir), Role.ADMIN, "ops")
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=r.url, headers=auth, timeout=60) as c:
                # validate: no token needed; the same verdict and errors as `config validate`
                code, out, err = await r.cli("config", "validate", str(new), state=False)
                v = await c.post(
                    "/api/v1/config/validate", json={"text": new.read_text(), "source": str(new)}
                )
                assert (code, v.status_code) == (0, 200) and out.strip() == v.json()["message"]
                code, out, err = await r.cli("config", "validate", str(bad), state=False)
                v = await c.post(
                    "/api/v1/config/validate", json={"text": bad.read_text(), "source": str(bad)}
                )
                assert code == 1 and v.status_code == 422
                assert v.json()["errors"] and all(e in err for e in v.json()["errors"])
                # apply: invalid is refused with the CLI's errors, nothing changes
                code, _, err = await r.cli("config", "apply", str(bad))
                a = await c.post("/api/v1/config/apply", json={"text": bad.read_text(), "source": str(bad)})
                assert code == 1 and a.status_code == 422
                assert err == "paceline: invalid configuration\n" + "".join(
                    f"  {e}\n" for e in a.json()["errors"]
                )
                assert r.fake.running == ALL
                a = await c.post("/api/v1/config/apply", json={"text": new.read_text(), "source": str(new)})
                assert a.status_code == 200 and a.json()["applied"] and a.json()["version"] == 2
                await until(lambda: r.fake.running == {"web", "worker"})
                code, out, _ = await r.cli("config", "history")
                hist = (await c.get("/api/v1/config/history")).json()["versions"]
                assert [v["version"] for v in hist] == [1, 2] and out.count("\n") == 2
                code, out, _ = await r.cli("config", "diff")
                d = (await c.get("/api/v1/config/diff")).json()
                assert d["diff"] == out and "-  - id: other" in out
                d2 = (await c.get("/api/v1/config/diff", params={"from": 1, "to": 2})).json()
                assert d2["diff"] == out
                assert (await c.get("/api/v1/config/diff", params={"from": 7})).status_code == 404
                one = (await c.get("/api/v1/config/1")).json()
                assert one["text"] == WEB

    asyncio.run(go())


def test_tokens_and_roles(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_daemon(tmp_path) as r:
            path = tokens_path(r.state_dir)
            admin = create_token(path, Role.ADMIN, "ops")
            read = create_token(path, Role.READ, "grafana")
            assert oct(path.stat().st_mode & 0o777) == "0o600"
            assert admin not in path.read_text() and read not in path.read_text()
            async with httpx.AsyncClient(base_url=r.url, timeout=60) as c:

                async def events() -> int:
                    return len((await c.get("/api/v1/events", params={"limit": 0})).json()["events"])

                before = await events()
                # reading needs no token
                assert (await c.get("/api/v1/status")).status_code == 200
                assert (await c.get("/api/v1/whoami")).json() == {"role": None}
                # an action without a token: 401; with a read token: 403; with a wrong one: 401
                for headers, code in (
                    ({}, 401),
                    ({"Authorization": f"Bearer {read}"}, 403),
                    ({"Authorization": "Bearer plt_wrong"}, 401),
                    ({"Authorization": f"Basic {admin}"}, 401),
                ):
                    resp = await c.post("/api/v1/nodes/n1/standby", headers=headers, json={})
                    assert resp.status_code == code, (headers, resp.text)
                    assert "admin token" in resp.json()["error"] or resp.json()["error"] == "invalid token"
                    resp = await c.post("/api/v1/resources/web/ban", headers=headers, json={})
                    assert resp.status_code == code
                assert r.fake.running == ALL and await events() == before  # nothing happened
                # a wrong token is refused even for reading
                assert (
                    await c.get("/api/v1/status", headers={"Authorization": "Bearer x"})
                ).status_code == 401
                hr = {"Authorization": f"Bearer {read}"}
                assert (await c.get("/api/v1/whoami", headers=hr)).json() == {"role": "read"}
                # the admin token acts
                ha = {"Authorization": f"Bearer {admin}"}
                resp = await c.post("/api/v1/resources/other/ban", headers=ha, json={})
                assert resp.status_code == 200 and "other banned from n1" in resp.json()["message"]
                await until(lambda: r.fake.running == {"web", "worker"})
                # revoked: 401 from now on (the file is re-read when it changes)
                assert revoke_token(path, "ops")
                resp = await c.post("/api/v1/resources/other/clear", headers=ha, json={})
                assert resp.status_code == 401 and r.fake.running == {"web", "worker"}
                # a token file others may read is not used at all
                path.chmod(0o644)
                assert (await c.get("/api/v1/whoami", headers=hr)).status_code == 401
                path.chmod(0o600)
                assert (await c.get("/api/v1/whoami", headers=hr)).status_code == 200
                # unknown routes and methods
                assert (await c.get("/api/v1/nosuch")).status_code == 404
                assert (await c.delete("/api/v1/status")).status_code == 405

    asyncio.run(go())


def test_token_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_daemon(tmp_path) as r:
            code, out, err = await r.cli("token", "create", "--role", "admin")
            assert code == 0 and out.startswith("plt_") and "admin-1" in err
            token = out.strip()
            code, out, _ = await r.cli("token", "list")
            assert out == "admin-1  admin\n"
            assert (await r.cli("token", "create", "--role", "root"))[0] == 2
            async with httpx.AsyncClient(base_url=r.url, timeout=60) as c:
                resp = await c.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
                assert resp.json() == {"role": "admin"}
                assert (await r.cli("token", "revoke", "admin-1"))[0] == 0
                resp = await c.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
                assert resp.status_code == 401

    asyncio.run(go())


def test_events_cursor_explain_and_the_same_answer_on_both_listeners(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_daemon(tmp_path) as r, httpx.AsyncClient(base_url=r.url, timeout=60) as c:
            # explain: the score terms in words, the same through the socket's Api
            ex = (await c.get("/api/v1/explain/other")).json()
            lines = ex["targets"][0]["lines"]
            assert ex["resource"] == "other" and lines[0].startswith("n1: +50 from location"), lines
            assert ex == await r.daemon_api_handle(Request("GET", "/explain/other"))
            assert (await c.get("/api/v1/explain/nosuch")).status_code == 404
            # events: the newest N, then only what is new after the cursor
            first = (await c.get("/api/v1/events", params={"limit": 3})).json()
            assert len(first["events"]) == 3 and first["cursor"] == first["events"][-1]["seq"]
            none = (await c.get("/api/v1/events", params={"since": first["cursor"]})).json()
            assert none == {"events": [], "cursor": first["cursor"]}
            await r.daemon_api_handle(Request("POST", "/resource/other/ban", body={}))
            later = (await c.get("/api/v1/events", params={"since": first["cursor"]})).json()
            assert later["events"] and all(e["seq"] > first["cursor"] for e in later["events"])
            assert later["cursor"] == later["events"][-1]["seq"]
            ex = (await c.get("/api/v1/explain/other")).json()
            assert "-INFINITY" in ex["targets"][0]["lines"][0]
            st = (await c.get("/api/v1/status")).json()
            assert st == await r.daemon_api_handle(Request("GET", "/status"))

    asyncio.run(go())


def test_tls_from_a_cert_and_key(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )

    async def go() -> None:
        web = WebOptions("127.0.0.1:0", tls_context(cert, key))
        async with running_daemon(tmp_path, web=web) as r:
            assert r.url.startswith("https://127.0.0.1:")
            ctx = ssl.create_default_context(cafile=str(cert))
            async with httpx.AsyncClient(base_url=r.url, verify=ctx, timeout=60) as c:
                assert (await c.get("/api/v1/status")).json()["cluster"] == "t"
            async with httpx.AsyncClient(base_url=r.url.replace("https", "http"), timeout=5) as c:
                try:
                    await c.get("/api/v1/status")
                    raise AssertionError("plain HTTP answered on a TLS port")
                except httpx.HTTPError:
                    pass

    asyncio.run(go())


def test_server_sent_events_bring_status_and_new_events(tmp_path: Path) -> None:
    async def go() -> None:
        async with running_daemon(tmp_path) as r:
            seen: list[tuple[str, Any]] = []
            async with (
                httpx.AsyncClient(base_url=r.url, timeout=60) as c,
                c.stream("GET", "/api/v1/stream") as resp,
            ):
                assert resp.headers["content-type"] == "text/event-stream"
                event = ""
                async for line in resp.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        seen.append((event, json.loads(line[6:])))
                        if len(seen) == 2:  # the first status and events: now change something
                            await r.daemon_api_handle(Request("POST", "/resource/other/ban", body={}))
                        if any(
                            e == "status"
                            and [x["role"] for x in d["resources"] if x["id"] == "other"] == ["Stopped"]
                            for e, d in seen[2:]
                        ) and any(e == "events" for e, _ in seen[2:]):
                            break
            assert seen[0][0] == "status" and seen[1][0] == "events"
            msgs = [e["message"] for k, d in seen[2:] if k == "events" for e in d["events"]]
            assert any("command: resource ban other" in m for m in msgs)

    asyncio.run(go())
