"""poll_server's bookkeeping with scripted readings (the real daemons are in
test_live_pair.py): history only on change, alerts once per episode with one mail when they
start and one when they clear, the thresholds, nothing contacted without a key."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from failover import services
from failover.live import services as live
from failover.live.models import Alert, PeerState, StateChange, Status
from failover.live.omapi import Reading
from tests.conftest import PRIMARY

SECRET = base64.b64encode(b"poll-services-test-key").decode()


@pytest.fixture
def keyed(db):
    server = services.server_create(
        name="dhcp-a",
        address="192.0.2.1",
        omapi_port=7911,
        omapi_host="127.0.0.1",
        omapi_key_name="k",
        omapi_key_secret=SECRET,
    )
    scope = services.scope_create(server=server, network="10.0.0.0/24", name="n")
    services.pool_create(scope=scope, first_address="10.0.0.10", last_address="10.0.0.20")
    services.peer_create(server=server, name="fo-pair", **PRIMARY)
    return server


@pytest.fixture
def script(monkeypatch):
    """Readings handed out in order by a fake read_peer (records the calls)."""
    readings: list[Reading] = []
    calls: list[str] = []

    def fake(server, name, *, timeout=None):
        calls.append(name)
        return readings.pop(0) if len(readings) > 1 else readings[0]

    monkeypatch.setattr(live, "read_peer", fake)
    return readings, calls


def ok(local=2, partner=2, skew=0, **extra):
    return Reading(
        Status.OK,
        "",
        {"local-state": local, "partner-state": partner, "skew": skew, "mclt": 60, **extra},
    )


@pytest.fixture
def mails(settings):
    settings.DHCPADMIN_ALERT_EMAILS = ["noc@example.test"]
    settings.DHCPADMIN_ALERT_NOT_NORMAL_SECONDS = 300
    return mail.outbox


def test_a_server_without_a_key_is_never_contacted(db, script, keyed):
    readings, calls = script
    readings.append(ok())
    keyed.omapi_key_secret = ""
    keyed.save()
    [state] = live.poll_server(keyed)
    assert state.status == Status.NO_KEY and calls == []
    assert not Alert.objects.exists()


def test_history_only_on_change(script, keyed, mails):
    readings, _ = script
    t0 = timezone.now()
    readings.extend([ok(), ok(), ok(local=3, partner=2), ok(local=3, partner=2)])
    for i in range(4):
        live.poll_server(keyed, now=t0 + timedelta(seconds=15 * i))
    history = list(StateChange.objects.order_by("at"))
    assert [(c.previous_local_state, c.local_state) for c in history] == [(None, 2), (2, 3)]
    state = PeerState.objects.get()
    assert state.read_at == t0 + timedelta(seconds=45)
    assert state.since == t0 + timedelta(seconds=30)
    assert state.last_normal_at == t0 + timedelta(seconds=15)
    assert state.colour == "amber" and mails == []


def test_not_normal_alerts_after_the_threshold_once_and_clears_once(script, keyed, mails):
    readings, _ = script
    t0 = timezone.now()
    readings.extend([ok(), ok(local=3), ok(local=3), ok(local=3), ok(local=3), ok()])
    times = [0, 15, 200, 316, 400, 420]
    for seconds in times:
        live.poll_server(keyed, now=t0 + timedelta(seconds=seconds))
        if seconds == 200:
            assert not Alert.objects.exists()
        if seconds == 400:
            assert len(mails) == 1
    [alert] = Alert.objects.all()
    assert alert.kind == Alert.Kind.NOT_NORMAL and alert.cleared_at == t0 + timedelta(seconds=420)
    assert "communications-interrupted" in alert.message
    assert [m.subject for m in mails] == [
        "[dhcpadmin] ALERT: not normal on dhcp-a / fo-pair",
        "[dhcpadmin] cleared: not normal on dhcp-a / fo-pair",
    ]


def test_unreachable_partner_down_and_skew_alert(script, keyed, mails):
    readings, _ = script
    readings.extend(
        [
            Reading(Status.UNREACHABLE, "127.0.0.1:7911 refused the connection"),
            ok(local=4, partner=3, skew=(1 << 32) - 45),  # skew -45 s
        ]
    )
    live.poll_server(keyed)
    assert PeerState.objects.get().colour == "red"
    live.poll_server(keyed)
    kinds = {a.kind: a for a in Alert.objects.all()}
    assert kinds[Alert.Kind.UNREACHABLE].cleared_at is not None
    assert kinds[Alert.Kind.PARTNER_DOWN].cleared_at is None
    assert kinds[Alert.Kind.CLOCK_SKEW].cleared_at is None
    assert "-45 s" in kinds[Alert.Kind.CLOCK_SKEW].message
    assert PeerState.objects.get().skew == -45
    assert len(mails) == 4  # unreachable, its clearing, partner-down, skew
    assert all(SECRET not in m.body + m.subject for m in mails)


def test_a_failed_mail_is_sent_at_the_next_poll(script, keyed, mails, monkeypatch):
    readings, _ = script
    readings.append(Reading(Status.TIMEOUT, "no answer"))

    def broken(*args, **kwargs):
        raise OSError("smtp down")

    monkeypatch.setattr(live, "send_mail", broken)
    live.poll_server(keyed)
    assert Alert.objects.get().notified_at is None
    monkeypatch.undo()
    monkeypatch.setattr(live, "read_peer", lambda *a, **k: Reading(Status.TIMEOUT, "no answer"))
    live.poll_server(keyed)
    live.poll_server(keyed)
    assert len(mails) == 1 and Alert.objects.get().notified_at is not None


def test_without_recipients_nothing_is_mailed(script, keyed, settings):
    settings.DHCPADMIN_ALERT_EMAILS = []
    readings, _ = script
    readings.append(Reading(Status.TIMEOUT, "no answer"))
    live.poll_server(keyed)
    assert Alert.objects.filter(cleared_at=None).count() == 1 and mail.outbox == []
