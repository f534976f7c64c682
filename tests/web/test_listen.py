"""The web listener's address: `--http` and the cluster option `http-listen`."""

from __future__ import annotations

import pytest

from paceline.daemon.configsrc import InvalidConfig, check_text
from paceline.model.listen import parse_listen


def test_addresses() -> None:
    assert parse_listen("127.0.0.1:7445") == ("127.0.0.1", 7445)
    assert parse_listen("0.0.0.0:0") == ("0.0.0.0", 0)
    assert parse_listen("[::1]:8443") == ("::1", 8443)
    assert parse_listen("off") is None
    for bad in ("7445", "host:", "::1:80", "h:99999", ":80"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_the_cluster_option_is_checked_with_the_configuration() -> None:
    text = "cluster: {name: t, options: {http-listen: '%s'}}\nresources: []\n"
    assert check_text(text % "0.0.0.0:7445", "c.yaml").config.options.raw["http-listen"] == "0.0.0.0:7445"
    with pytest.raises(InvalidConfig) as e:
        check_text(text % "everywhere", "c.yaml")
    assert any("http-listen" in err and "ADDR:PORT" in err for err in e.value.errors)
