"""Operation digests match the ones Pacemaker recorded in its own suite's CIBs."""

from __future__ import annotations

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


@pytest.mark.parametrize("value", ["a", 'a"b', "a'b", "a\"b'c", "<&>", "x\ny\tz\r", "", "&quot;"])
def test_attribute_quoting_is_xml_sax_s(value: str) -> None:
    from xml.sax.saxutils import quoteattr

    from paceline.model.digest import _quoteattr

    assert _quoteattr(value) == quoteattr(value)
