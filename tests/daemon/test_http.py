"""The local API's tiny HTTP server: owner-only socket, JSON answers, errors, slow clients."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

from paceline.daemon.http import HttpError, Request, UnixHttpServer


async def _ask(path: Path, raw: bytes) -> tuple[int, Any]:
    r, w = await asyncio.open_unix_connection(str(path))
    w.write(raw)
    await w.drain()
    data = await r.read()
    w.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_routes_errors_and_a_client_that_never_finishes(tmp_path: Path) -> None:
    async def handler(req: Request) -> Any:
        if req.path == "/boom":
            raise RuntimeError("bug")
        if req.path == "/missing":
            raise HttpError(404, "no such thing")
        return {"method": req.method, "parts": req.parts, "query": req.query, "body": req.body}

    async def go() -> None:
        sock = tmp_path / "api.sock"
        srv = UnixHttpServer(sock, handler)
        srv.read_timeout_s = 0.3
        await srv.start()
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        body = b'{"node": "n1"}'
        code, data = await _ask(
            sock,
            b"POST /resource/web%3A0/ban?x=1 HTTP/1.1\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body,
        )
        assert code == 200
        assert data == {
            "method": "POST",
            "parts": ["resource", "web:0", "ban"],
            "query": {"x": "1"},
            "body": {"node": "n1"},
        }
        assert await _ask(sock, b"GET /missing HTTP/1.1\r\n\r\n") == (404, {"error": "no such thing"})
        code, data = await _ask(sock, b"GET /boom HTTP/1.1\r\n\r\n")
        assert code == 500 and "bug" in data["error"]
        assert (await _ask(sock, b"nonsense\r\n\r\n"))[0] == 400
        assert (await _ask(sock, b"GET /slow HTTP/1.1\r\n"))[0] == 408
        await srv.close()
        assert not sock.exists()

    asyncio.run(go())
