"""Start-up: what a command imports is what it needs. `paceline status` loads the daemon client
and nothing of the model, the scheduler, the agents or the other commands; `simulate --cib`
loads the model's CIB path and the scheduler, not the YAML reader or the daemon. (Times are
measured by bench/cli_bench.py, not here.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import paceline

SRC = str(Path(paceline.__file__).resolve().parents[1])


def _modules(argv: list[str], tmp_path: Path) -> set[str]:
    code = (
        "import sys\nfrom paceline.cli.main import app\n"
        f"try:\n    app({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": SRC, "PACELINE_STATE_DIR": str(tmp_path / "state")}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return set(res.stderr.strip().splitlines()[-1].split())


def _under(modules: set[str], *prefixes: str) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)}


def test_status_imports_the_daemon_client_only(tmp_path: Path) -> None:
    mods = _modules(["status"], tmp_path)
    assert "paceline.cli.daemon_cmds" in mods
    assert not _under(
        mods,
        "paceline.model",
        "paceline.scheduler",
        "paceline.agents",
        "paceline.cli.simulate_cmd",
        "paceline.cli.agent_cmd",
        "typer",
        "pydantic",
        "yaml",
        "lxml",
        "httpx",
        "rich",
        "asyncio",
    )


def test_simulate_cib_imports_neither_yaml_nor_the_daemon(tmp_path: Path) -> None:
    from paceline.model import ClusterState, Configuration, Node
    from paceline.model.cib_writer import write_cib

    cib = tmp_path / "cib.xml"
    cib.write_bytes(write_cib(Configuration(nodes=(Node("n1"),)), ClusterState()))
    mods = _modules(["simulate", "--cib", str(cib)], tmp_path)
    assert "paceline.scheduler" in mods and "paceline.model.cib" in mods
    assert not _under(
        mods, "yaml", "paceline.daemon", "paceline.agents", "paceline.simulate", "typer", "pydantic", "rich"
    )
