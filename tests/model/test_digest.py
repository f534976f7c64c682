"""Operation digests match the ones Pacemaker recorded in its own suite's CIBs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from paceline.model.digest import op_digest


def test_no_parameters_digest_is_pacemakers() -> None:
    # The op-digest every parameterless Dummy start carries in Pacemaker's scheduler suite.
    assert op_digest({}) == "f2317cad3d54cec5d7d7aa7d0bf35cf8"


def test_fence_device_public_digest_is_pacemakers() -> None:
    # on-fail-ignore.xml, fence_db1: op-secure-digest over the parameters without secrets and pcmk_*.
    public = {
        "delay": "4",
        "ipaddr": "192.168.103.3",
        "lanplus": "1",
        "login": "root",
        "method": "onoff",
        "power_wait": "4",
    }
    assert op_digest(public) == "d7ead554cd349871ab13dad142fdd3f9"


def test_parameter_order_does_not_matter_but_values_do() -> None:
    a = op_digest({"ip": "10.0.0.1", "cidr_netmask": "24"})
    assert a == op_digest({"cidr_netmask": "24", "ip": "10.0.0.1"})
    assert a != op_digest({"ip": "10.0.0.2", "cidr_netmask": "24"})


def test_recurring_operations_include_their_timeout() -> None:
    assert op_digest({}, 10_000, 20_000) != op_digest({})
    assert op_digest({}, 10_000, 20_000) != op_digest({}, 10_000, 30_000)


# Recorded with Pacemaker 2.1.5: `CIB_file=cib.xml crm_resource --digests -r r -N n1` for a Dummy with
# these two parameters (the XML of the CIB escapes them; the values are the parsed ones).
QUOTED = {"policy": '{"a": "b", \'c\': 1} <x> & \u00e9', "tabs": "a\tb\nc"}
QUOTED_DIGEST = "20200056aa36bb7f723b79dee2b31906"
CR = {"policy": QUOTED["policy"], "tabs": "a\rb"}
CR_DIGEST = "65ee625c084b67191dd42a42ffc65c2e"


def test_quotes_and_whitespace_are_written_as_pacemaker_writes_them() -> None:
    """`"` is `&quot;` (not a single-quoted value), `'` is `&apos;`, tab/newline/CR as Pacemaker's
    escape writes them, UTF-8 as is: a JSON policy parameter must not look like a definition change."""
    assert op_digest(QUOTED) == QUOTED_DIGEST
    assert op_digest(CR) == CR_DIGEST


def _cib(params: dict[str, str]) -> str:
    from xml.sax.saxutils import quoteattr

    ws = {"\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
    pairs = "".join(f'<nvpair id="r-{k}" name="{k}" value={quoteattr(v, ws)}/>' for k, v in params.items())
    return (
        '<cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="1" num_updates="0" '
        'admin_epoch="0">'
        '<configuration><crm_config/><nodes><node id="1" uname="n1"/></nodes><resources>'
        '<primitive id="r" class="ocf" provider="heartbeat" type="Dummy">'
        f'<instance_attributes id="r-ia">{pairs}</instance_attributes></primitive>'
        "</resources><constraints/></configuration><status/></cib>"
    )


@pytest.mark.slow
@pytest.mark.parametrize("params", [QUOTED, CR, {"a": 'it\'s "quoted" & <tagged>'}, {"json": '{"k": ["v"]}'}])
def test_digest_agrees_with_crm_resource(params: dict[str, str], tmp_path: Path) -> None:
    """The oracle itself, where Pacemaker's tools are installed."""
    tool = shutil.which("crm_resource") or (
        "/usr/sbin/crm_resource" if Path("/usr/sbin/crm_resource").exists() else None
    )
    if tool is None:
        pytest.skip("crm_resource (pacemaker-cli-utils) is not installed")
    cib = tmp_path / "cib.xml"
    cib.write_text(_cib(params))
    out = subprocess.run(
        [tool, "--digests", "-r", "r", "-N", "n1", "--output-as=xml"],
        env={**os.environ, "CIB_file": str(cib)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    m = re.search(r'<digest type="all" hash="([0-9a-f]{32})"', out)
    assert m, out
    assert op_digest(params) == m.group(1)
