"""Health probes of built-in services, like Kubernetes' liveness probes: exec, TCP connect and
HTTP GET. ``run_probe`` never raises (except CancelledError): every failure is a ``ProbeResult``
with ``ok=False`` and a one-line ``detail``. HTTP probes ignore proxy settings in the environment."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import httpx

from .process import run_process
from .reaper import Reaper
from .service_def import ProbeKind, ProbeSpec

__all__ = ["ProbeResult", "run_probe"]


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str


async def run_probe(spec: ProbeSpec, reaper: Reaper, env: dict[str, str], cwd: str = "/") -> ProbeResult:
    if spec.kind is ProbeKind.EXEC:
        out = await run_process(spec.argv, env=env, timeout_s=spec.timeout_s, reaper=reaper, cwd=cwd)
        if out.spawn_error:
            return ProbeResult(False, out.spawn_error)
        if out.timed_out:
            return ProbeResult(False, f"exec probe timed out after {spec.timeout_s:g}s")
        if out.exit_code == 0:
            return ProbeResult(True, "exec probe exited 0")
        last = (out.stderr or out.stdout).strip().splitlines()
        tail = f": {last[-1][:200]}" if last else ""
        return ProbeResult(
            False, f"exec probe exited {out.exit_code if out.signal is None else -out.signal}{tail}"
        )
    if spec.kind is ProbeKind.TCP:
        host, port = spec.host_port
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), spec.timeout_s)
        except TimeoutError:
            return ProbeResult(False, f"tcp connect to {spec.target} timed out")
        except OSError as e:
            return ProbeResult(False, f"tcp connect to {spec.target}: {e.strerror or e}")
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return ProbeResult(True, f"tcp connect to {spec.target} ok")
    try:
        async with httpx.AsyncClient(
            timeout=spec.timeout_s, trust_env=False, follow_redirects=False
        ) as client:
            resp = await client.get(spec.target)
    except httpx.TimeoutException:
        return ProbeResult(False, f"GET {spec.target} timed out")
    except httpx.HTTPError as e:
        return ProbeResult(False, f"GET {spec.target}: {type(e).__name__}: {e}")
    ok = resp.status_code == spec.expect_status if spec.expect_status else 200 <= resp.status_code < 400
    return ProbeResult(ok, f"GET {spec.target} -> {resp.status_code}")
