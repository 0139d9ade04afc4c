"""Against the real dhcpd: a wrong secret, an unknown key name, no key at all, a closed port
and a peer name the daemon does not know each give their clear status (never an exception,
never a hang), through ``read_peer`` and through ``poll_server`` (which stores it)."""

from __future__ import annotations

import copy

import pytest

from failover.live.models import PeerState, Status
from failover.live.omapi import read_peer
from failover.live.services import poll_server
from tests.live.conftest import new_secret

pytestmark = [pytest.mark.dhcpd, pytest.mark.netns]


def variant(server, **fields):
    other = copy.copy(server)
    for name, value in fields.items():
        setattr(other, name, value)
    return other


def test_each_fault_has_its_clear_status(running_pair):
    a = running_pair.a
    assert read_peer(a, running_pair.peer_name, timeout=3).status == Status.OK

    wrong_secret = read_peer(variant(a, omapi_key_secret=new_secret()), "fo-pair", timeout=3)
    assert wrong_secret.status == Status.AUTH_FAILED, wrong_secret

    wrong_name = read_peer(variant(a, omapi_key_name="nobody"), "fo-pair", timeout=3)
    assert wrong_name.status == Status.AUTH_FAILED, wrong_name

    no_key = read_peer(variant(a, omapi_key_name="", omapi_key_secret=""), "fo-pair", timeout=3)
    assert no_key.status == Status.AUTH_FAILED, no_key

    unknown = read_peer(a, "no-such-peer", timeout=3)
    assert unknown.status == Status.UNKNOWN_PEER, unknown

    closed = read_peer(variant(a, omapi_port=7999), "fo-pair", timeout=3)
    assert closed.status == Status.UNREACHABLE, closed
    for reading in (wrong_secret, wrong_name, no_key, unknown, closed):
        assert a.omapi_key_secret not in reading.detail and reading.detail


def test_poll_server_stores_the_fault(running_pair, settings):
    a = running_pair.a
    a.omapi_key_secret = new_secret()
    a.save(update_fields=["omapi_key_secret"])
    [state] = poll_server(a)
    assert state.status == Status.AUTH_FAILED
    assert PeerState.objects.get(peer__server=a).status == Status.AUTH_FAILED
