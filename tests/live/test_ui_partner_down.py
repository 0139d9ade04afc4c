"""Partner-down, guarded (issue 10, section 4), without daemons: the OMAPI client and the TCP
probes are replaced by fakes (the servers' documentation addresses are never contacted; a
guard makes any real connection fail the test), except the probe's own test on loopback."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from failover.live import omapi, partner_down
from failover.live.models import Status
from failover.live.omapi import Reading
from failover.models import ChangeRecord
from tests.live.ui_helpers import (
    SECRET,
    make_relationship,
    operator,
    plain_editor,
    reading,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


class Fakes:
    """What dhcpd and the network answer, per server name."""

    def __init__(self) -> None:
        now = int(timezone.now().timestamp())
        self.readings: dict[str, Reading] = {}
        self.reachable: dict[str, bool] = {}  # probe "what" -> reachable
        self.after_set = Reading(
            Status.OK, "", {"local-state": 4, "partner-state": 3, "local-stos": now, "mclt": 3600}
        )
        self.sets: list[tuple[str, str, int]] = []

    def read_peer(self, server, peer_name, *, timeout=None):
        return self.readings.get(server.name, Reading(Status.UNREACHABLE, "refused"))

    def set_local_state(self, server, peer_name, state, *, timeout=None):
        self.sets.append((server.name, peer_name, state))
        return self.after_set

    def tcp_probe(self, what, host, port, timeout=None):
        ok = self.reachable.get(what, False)
        return partner_down.Probe(what, host, port, ok, "accepts" if ok else "connection refused")


@pytest.fixture
def fakes(monkeypatch):
    fake = Fakes()
    monkeypatch.setattr(omapi, "read_peer", fake.read_peer)
    monkeypatch.setattr(omapi, "set_local_state", fake.set_local_state)
    monkeypatch.setattr(partner_down, "tcp_probe", fake.tcp_probe)

    def no_network(*args, **kwargs):
        raise AssertionError(f"a test tried to connect to {args[:1]}")

    monkeypatch.setattr(socket, "create_connection", no_network)
    return fake


@pytest.fixture
def pair(db):
    return make_relationship(1)


def interrupted(fakes: Fakes) -> None:
    """The primary p1 reads communications-interrupted; the secondary s1 is gone."""
    fakes.readings["p1"] = Reading(
        Status.OK, "", {"local-state": 3, "partner-state": 2, "mclt": 3600, "local-stos": 1}
    )


def records():
    return list(ChangeRecord.objects.filter(action=partner_down.ACTION))


def post(client, peer, **data):
    headers = data.pop("headers", {})
    url = reverse("failover:live_partner_down", args=[peer.pk])
    return client.post(url, data, **headers)


# --- permission ----------------------------------------------------------------------------------


def test_plain_editors_and_viewers_get_403(client, viewer, pair, fakes):
    pa, _ = pair
    url = reverse("failover:live_partner_down", args=[pa.pk])
    for user in (plain_editor(), viewer):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.get(url, **HTMX).status_code == 403
        assert client.post(url, {"confirm_name": pa.name}).status_code == 403
    assert fakes.sets == [] and records() == []


def test_anonymous_is_sent_to_login(client, pair, fakes):
    response = client.get(reverse("failover:live_partner_down", args=[pair[0].pk]))
    assert response.status_code == 302 and "login" in response["Location"]


# --- the dialog: evidence ----------------------------------------------------------------------


def test_dialog_shows_the_evidence_and_the_default_last_alive(client, pair, fakes):
    pa, pb = pair
    interrupted(fakes)
    normal_at = timezone.now() - timedelta(minutes=30)
    alive_at = (timezone.now() - timedelta(minutes=20)).replace(microsecond=0)
    reading(pa, 3, None, last_normal_at=normal_at)
    state_b = reading(pb, 2, 2, last_normal_at=normal_at)
    state_b.read_at = alive_at  # the partner's OMAPI answered then
    state_b.save()
    client.force_login(operator())
    html = client.get(reverse("failover:live_partner_down", args=[pa.pk]), **HTMX).content.decode()

    assert 'data-testid="partner-silent"' in html
    assert "communications-interrupted" in html  # the survivor's state now
    assert "connection refused" in html  # both probes
    assert "192.0.2.4:7911" in html  # the partner's OMAPI address and port
    assert "192.0.2.4:647" in html  # its failover port
    assert normal_at.strftime("%Y-%m-%d %H:%M:%S") in html  # last seen normal
    # default "last known alive": the last time dhcpadmin saw the partner
    assert f'value="{alive_at.strftime("%Y-%m-%dT%H:%M:%S")}"' in html
    usable = alive_at + timedelta(seconds=3600)
    assert usable.strftime("%Y-%m-%d %H:%M:%S") in html
    assert 'id="modal-ok"' in html and 'name="override_reason"' not in html


def test_plain_page_dialog_works_without_htmx(client, pair, fakes):
    interrupted(fakes)
    client.force_login(operator())
    response = client.get(reverse("failover:live_partner_down", args=[pair[0].pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and 'id="page-dialog"' in html


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    ["omapi-port", "failover-port", "omapi-read", "normal"],
)
def test_refused_when_the_partner_answers(client, pair, fakes, answer):
    pa, _ = pair
    interrupted(fakes)
    if answer == "omapi-port":
        fakes.reachable["OMAPI"] = True
    elif answer == "failover-port":
        fakes.reachable["failover port"] = True
    elif answer == "omapi-read":
        fakes.readings["s1"] = Reading(Status.AUTH_FAILED, "dhcpd refused the key")
    else:  # the survivor itself is normal: it talks to its partner
        fakes.readings["p1"] = Reading(Status.OK, "", {"local-state": 2, "partner-state": 2})
    client.force_login(operator())
    url = reverse("failover:live_partner_down", args=[pa.pk])
    assert 'data-testid="partner-answers"' in client.get(url).content.decode()

    response = client.post(url, {"confirm_name": pa.name, "last_alive": "2026-01-01T00:00:00"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Refused: the partner answers" in html
    assert fakes.sets == [] and records() == []


def test_override_with_a_reason(client, pair, fakes):
    pa, _ = pair
    interrupted(fakes)
    fakes.reachable["OMAPI"] = True
    client.force_login(operator())
    response = post(
        client,
        pa,
        confirm_name=pa.name,
        last_alive="2026-01-01T00:00:00",
        override_reason="s1 is powered off; its OMAPI is a leftover NAT rule",
    )
    assert response.status_code == 200
    assert fakes.sets == [("p1", "fo-1", 4)]
    [record] = records()
    assert "OVERRIDE" in record.summary and "leftover NAT rule" in record.summary
    assert "its OMAPI port 192.0.2.4:7911 accepts connections" in record.summary


def test_the_peer_name_must_be_typed(client, pair, fakes):
    pa, _ = pair
    interrupted(fakes)
    client.force_login(operator())
    for typed in ("", "FO-1", "fo-2", " fo-1x"):
        response = post(client, pa, confirm_name=typed, last_alive="2026-01-01T00:00:00")
        html = response.content.decode()
        assert response.status_code == 200
        expected = "This field is required." if not typed else "fo-1, to confirm."
        assert expected in html, typed
        # shown again with the time typed, and when the leases become usable from it
        assert 'value="2026-01-01T00:00:00"' in html
        assert "2026-01-01 01:00:00" in html  # + MCLT 3600 s
    assert fakes.sets == [] and records() == []


def test_last_alive_is_required_and_not_in_the_future(client, pair, fakes):
    pa, _ = pair
    interrupted(fakes)
    client.force_login(operator())
    future = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    for value, message in (
        ("", "last known to be alive"),
        (future, "in the future"),
        ("9999-12-31T23:59:59", "in the future"),  # + MCLT would overflow: no 500
        ("0001-01-01T00:00:00", "fo-1, to confirm."),  # sent with a wrong name below
        ("yesterday", "Enter a valid date/time"),
    ):
        name = "wrong" if value.startswith("0001") else pa.name
        response = post(client, pa, confirm_name=name, last_alive=value)
        assert response.status_code == 200, value
        assert message in response.content.decode(), value
    assert fakes.sets == [] and records() == []


def test_blocked_without_omapi_or_when_already_partner_down(client, db, fakes):
    pa, _ = make_relationship(1, omapi=False)
    client.force_login(operator())
    url = reverse("failover:live_partner_down", args=[pa.pk])
    html = client.get(url).content.decode()
    assert 'data-testid="partner-down-blocked"' in html and "no OMAPI port and key" in html
    assert 'id="modal-ok"' not in html
    html = post(client, pa, confirm_name=pa.name, last_alive="2026-01-01T00:00").content.decode()
    assert "no OMAPI port and key" in html

    qa, _ = make_relationship(2)
    fakes.readings["p2"] = Reading(Status.OK, "", {"local-state": 4, "partner-state": 3})
    html = post(client, qa, confirm_name=qa.name, last_alive="2026-01-01T00:00").content.decode()
    assert "already in partner-down" in html

    ra, _ = make_relationship(3)  # the survivor does not answer either
    html = post(client, ra, confirm_name=ra.name, last_alive="2026-01-01T00:00").content.decode()
    assert "does not answer over OMAPI" in html
    assert fakes.sets == [] and records() == []


# --- applying -------------------------------------------------------------------------------------


def test_partner_down_sets_reads_back_and_records(client, pair, fakes):
    pa, _ = pair
    interrupted(fakes)
    user = operator()
    client.force_login(user)
    response = post(client, pa, confirm_name="fo-1", last_alive="2026-01-01T10:00:00", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert fakes.sets == [("p1", "fo-1", 4)]
    assert 'data-testid="partner-down-done"' in html and ">partner-down<" in html
    assert "2026-01-01 11:00:00" in html  # last alive + MCLT (3600 s)
    assert "data-refresh-on-close" in html  # closing the dialog reloads the page
    [record] = records()
    assert record.user == user
    assert "p1: failover peer fo-1 put into partner-down; read back: partner-down" in record.summary
    assert "evidence gathered" in record.summary and "connection refused" in record.summary
    assert "2026-01-01 10:00:00" in record.summary
    assert SECRET not in record.summary


def test_nothing_is_written_when_the_read_back_does_not_confirm(client, pair, fakes):
    pa, _ = pair
    interrupted(fakes)
    fakes.after_set = Reading(Status.OK, "", {"local-state": 3, "partner-state": 2})
    client.force_login(operator())
    response = post(client, pa, confirm_name="fo-1", last_alive="2026-01-01T10:00:00")
    html = response.content.decode()
    assert response.status_code == 502
    assert 'data-testid="partner-down-failed"' in html and "communications-interrupted" in html
    assert records() == []
    fakes.after_set = Reading(Status.TIMEOUT, "no complete answer from 192.0.2.3:7911 in 5 s")
    response = post(client, pa, confirm_name="fo-1", last_alive="2026-01-01T10:00:00", headers=HTMX)
    assert response.status_code == 200  # htmx swaps only 2xx into the dialog
    assert "timeout" in response.content.decode()
    assert records() == []


def test_service_refuses_the_same_way(pair, fakes, django_user_model):
    pa, _ = pair
    interrupted(fakes)
    fakes.reachable["failover port"] = True
    with pytest.raises(partner_down.ValidationError) as exc:
        partner_down.partner_down(
            pa, actor=None, confirm_name="fo-1", last_alive=timezone.now(), override_reason=" "
        )
    assert "override_reason" in exc.value.message_dict
    assert fakes.sets == [] and records() == []


# --- the probe itself (loopback only) ----------------------------------------------------------


def test_tcp_probe_on_loopback():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        probe = partner_down.tcp_probe("OMAPI", "127.0.0.1", port, timeout=2)
        assert probe.reachable is True and probe.target == f"127.0.0.1:{port}"
    closed = partner_down.tcp_probe("OMAPI", "127.0.0.1", port, timeout=2)
    assert closed.reachable is False and closed.detail == "connection refused"
    assert partner_down.tcp_probe("OMAPI", "", None).reachable is None
    assert partner_down.tcp_probe("OMAPI", "127.0.0.1", None).detail == "not configured"
