"""The OMAPI client's decoding and its errors (the live answer is proven in test_pair_netns)."""

from __future__ import annotations

import json
import socket
import struct

import pytest

from failover.dhcpd import omapi


def test_decode_turns_raw_attributes_into_named_states():
    raw = {
        b"name": b"fo-pair",
        b"local-state": struct.pack("!I", 2),
        b"partner-state": struct.pack("!I", 254),
        b"mclt": struct.pack("!I", 60),
        b"hierarchy": struct.pack("!I", 0),
        b"local-address": bytes([10, 99, 0, 1]),
        b"unknown-blob": b"\x00\x01",
    }
    state = omapi.decode(raw)
    assert state["name"] == "fo-pair"
    assert (state["local-state"], state["local-state-name"]) == (2, "normal")
    assert state["partner-state-name"] == "recover-wait"
    assert state["mclt"] == 60 and state["role"] == "primary"
    assert state["local-address"] == "10.99.0.1"
    assert "unknown-blob" not in state


@pytest.mark.parametrize(
    "number, name",
    [(1, "startup"), (3, "communications-interrupted"), (4, "partner-down"), (99, "state 99")],
)
def test_state_names_follow_dhcpd_4_4(number, name):
    assert omapi.state_name(number) == name


def test_an_unreachable_server_is_reported():
    with socket.socket() as sock:  # a free port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(omapi.OmapiUnavailable, match="cannot reach OMAPI"):
        omapi.failover_state("127.0.0.1", port, "fo-pair", timeout=2)
    assert omapi.main(["127.0.0.1", str(port), "fo-pair"]) == 1


def test_the_script_prints_json(capsys, monkeypatch):
    monkeypatch.setattr(omapi, "failover_state", lambda host, port, name: {"local-state": 2})
    assert omapi.main(["127.0.0.1", "7911", "fo-pair"]) == 0
    assert json.loads(capsys.readouterr().out) == {"local-state": 2}
    assert omapi.main(["too", "few"]) == 2
