"""With the real daemons: the live state of a keyed pair through its whole life.

- the real worker processes (``run_scheduler`` + ``db_worker``, PostgreSQL) record `normal`
  on both sides, then `communications-interrupted` on the primary once the secondary stops;
- in the test process (Django's mail outbox is per process): stopping the secondary makes
  the primary report `communications-interrupted` and raises alerts with one mail each;
  partner-down is set over OMAPI (read back) and alerted; the secondary started again goes
  through recover to `normal`, the history shows it, and the alerts clear with one mail each.
"""

from __future__ import annotations

import time

import pytest
from django.core import mail

from failover.live.models import (
    COMMUNICATIONS_INTERRUPTED,
    NORMAL,
    PARTNER_DOWN,
    Alert,
    PeerState,
    StateChange,
    Status,
)
from failover.live.omapi import set_local_state
from failover.live.services import poll_server
from tests.live.conftest import STATE_WAIT, state_is

pytestmark = [pytest.mark.dhcpd, pytest.mark.netns]


def _wait(condition, timeout: float = STATE_WAIT, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return condition()


def _states(server) -> tuple[str, int | None, int | None] | None:
    state = PeerState.objects.filter(peer__server=server).first()
    return (state.status, state.local_state, state.partner_state) if state else None


def test_the_worker_records_normal_then_communications_interrupted(running_pair, background):
    pair = running_pair
    assert pair.wait_for("a", state_is("normal")).ok, pair.log("a")
    assert pair.wait_for("b", state_is("normal")).ok, pair.log("b")
    background.scheduler()
    background.worker()
    both_normal = (Status.OK, NORMAL, NORMAL)
    assert _wait(lambda: _states(pair.a) == both_normal and _states(pair.b) == both_normal), (
        _states(pair.a),
        _states(pair.b),
        background.log("worker"),
    )
    first = StateChange.objects.filter(peer__server=pair.a).order_by("at").first()
    assert first is not None and first.local_state == NORMAL and first.previous_status is None
    stopped = time.monotonic()
    pair.stop("b")
    # dhcpd keeps the partner's last state it was told (normal) as partner-state.
    interrupted = (Status.OK, COMMUNICATIONS_INTERRUPTED)
    assert _wait(lambda: _states(pair.a)[:2] == interrupted), (_states(pair.a), pair.log("a"))
    seen = time.monotonic() - stopped
    assert _wait(lambda: _states(pair.b) == (Status.UNREACHABLE, None, None))
    print(f"\nMEASURED (worker, poll every 1 s) stop -> recorded interrupted: {seen:.2f} s")
    change = StateChange.objects.filter(peer__server=pair.a).order_by("-at").first()
    assert change is not None
    assert (change.previous_local_state, change.local_state) == (
        NORMAL,
        COMMUNICATIONS_INTERRUPTED,
    )
    # While nothing changes, the history does not grow (only the last read time moves).
    count = StateChange.objects.count()
    read_at = PeerState.objects.get(peer__server=pair.a).read_at
    assert _wait(lambda: PeerState.objects.get(peer__server=pair.a).read_at != read_at)
    assert StateChange.objects.count() == count


def test_stop_alert_partner_down_recover_normal(running_pair, settings):
    pair = running_pair
    settings.DHCPADMIN_ALERT_EMAILS = ["noc@example.test"]
    settings.DHCPADMIN_ALERT_NOT_NORMAL_SECONDS = 2
    settings.DHCPADMIN_OMAPI_TIMEOUT = 2
    assert pair.wait_for("a", state_is("normal")).ok
    assert pair.wait_for("b", state_is("normal")).ok
    poll_server(pair.a)
    poll_server(pair.b)
    assert _states(pair.a) == _states(pair.b) == (Status.OK, NORMAL, NORMAL)
    assert mail.outbox == []
    started = time.perf_counter()
    for _ in range(20):
        poll_server(pair.a)
    cost = (time.perf_counter() - started) / 20
    print(
        f"\nMEASURED poll cost per server (1 peer, OMAPI with key, no change): {cost * 1000:.1f} ms"
    )

    stopped = time.monotonic()
    pair.stop("b")

    def primary_interrupted():
        poll_server(pair.a)
        poll_server(pair.b)
        return _states(pair.a)[:2] == (Status.OK, COMMUNICATIONS_INTERRUPTED)

    assert _wait(primary_interrupted), (_states(pair.a), pair.log("a"))
    seen = time.monotonic() - stopped
    assert _states(pair.b) == (Status.UNREACHABLE, None, None)

    def alerted():
        poll_server(pair.a)
        return Alert.objects.filter(peer__server=pair.a, kind=Alert.Kind.NOT_NORMAL).exists()

    assert _wait(alerted, timeout=30)
    alerted_after = time.monotonic() - stopped
    subjects = [m.subject for m in mail.outbox]
    assert any("ALERT: not normal on dhcp-a" in s for s in subjects), subjects
    assert any("ALERT: unreachable on dhcp-b" in s for s in subjects), subjects
    assert all(m.to == ["noc@example.test"] for m in mail.outbox)
    sent = len(mail.outbox)
    poll_server(pair.a)
    poll_server(pair.b)
    assert len(mail.outbox) == sent, "once per episode"
    for message in mail.outbox:
        assert pair.a.omapi_key_secret not in message.body
        assert pair.b.omapi_key_secret not in message.body
    print(f"\nMEASURED stopped partner -> primary shows communications-interrupted: {seen:.2f} s")
    print(f"MEASURED stopped partner -> not-normal alert (threshold 2 s): {alerted_after:.2f} s")

    # Partner-down over OMAPI (what liveui's dialog does), read back.
    reading = set_local_state(pair.a, pair.peer_name, PARTNER_DOWN)
    assert reading.ok and reading.values["local-state"] == PARTNER_DOWN, reading
    poll_server(pair.a)
    assert Alert.objects.filter(
        peer__server=pair.a, kind=Alert.Kind.PARTNER_DOWN, cleared_at=None
    ).exists()
    assert any("ALERT: partner-down on dhcp-a" in m.subject for m in mail.outbox)

    # The secondary comes back: recover, then normal on both (mclt 10 s).
    pair.start("b")

    def both_normal():
        poll_server(pair.a)
        poll_server(pair.b)
        return _states(pair.a) == _states(pair.b) == (Status.OK, NORMAL, NORMAL)

    assert _wait(both_normal, timeout=120, step=0.3), (
        _states(pair.a),
        _states(pair.b),
        pair.log("b"),
    )
    history_b = [
        c.local_state_name for c in StateChange.objects.filter(peer__server=pair.b).order_by("at")
    ]
    history_a = [
        c.local_state_name for c in StateChange.objects.filter(peer__server=pair.a).order_by("at")
    ]
    print("HISTORY a", history_a, "\nHISTORY b", history_b)
    assert "recover" in history_b or "recover-wait" in history_b, history_b
    assert history_b[-1] == "normal"
    assert history_a[-1] == "normal" and "partner-down" in history_a
    assert not Alert.objects.filter(cleared_at=None).exists(), list(
        Alert.objects.filter(cleared_at=None)
    )
    cleared = [m.subject for m in mail.outbox if m.subject.startswith("[dhcpadmin] cleared")]
    assert len(cleared) == Alert.objects.count(), (cleared, subjects)
