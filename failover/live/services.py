"""Polling a server's failover state and keeping it: the latest reading per peer
(``PeerState``), a history row only when something changed (``StateChange``), alerts
(``Alert``) with one mail when an episode starts and one when it ends.

Polling is an observation, not a change of the managed data: it writes no ChangeRecord (so it
does not invalidate the kept results of the pages, see failover/versioning.py).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from failover.dhcpd.omapi import state_name
from failover.live.models import NORMAL, PARTNER_DOWN, Alert, PeerState, StateChange, Status
from failover.live.omapi import Reading, read_peer
from failover.models import DhcpServer, FailoverPeer

logger = logging.getLogger(__name__)

#: Clock skew (seconds) above which an alert is raised; dhcpd refuses a peer beyond 60 s.
SKEW_LIMIT = 30


def pollable(server: DhcpServer) -> bool:
    """Only servers with an OMAPI port AND a key are ever contacted (the demo has none)."""
    return bool(server.omapi_port and server.omapi_key_name and server.omapi_key_secret)


def poll_server(server: DhcpServer, *, now: datetime | None = None) -> list[PeerState]:
    """Read every failover peer of ``server`` over OMAPI and keep the result (see module)."""
    peers = list(FailoverPeer.objects.filter(server=server).order_by("name"))
    readings: list[tuple[FailoverPeer, Reading]] = []
    for peer in peers:
        if not server.omapi_port:
            reading = Reading(Status.NO_KEY, "the server has no OMAPI port")
        elif not pollable(server):
            reading = Reading(
                Status.NO_KEY, "the server has no OMAPI key: dhcpadmin does not connect to it"
            )
        else:
            reading = read_peer(server, peer.name)
        readings.append((peer, reading))
    when = now or timezone.now()
    states = [record_reading(server, peer, reading, now=when) for peer, reading in readings]
    send_pending_alerts(peer.pk for peer in peers)
    return states


def _signed(value: object) -> int | None:
    """dhcpd sends 32-bit integers; skew may be negative (two's complement)."""
    if not isinstance(value, int):
        return None
    return value - (1 << 32) if value >= (1 << 31) else value


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def record_reading(
    server: DhcpServer, peer: FailoverPeer, reading: Reading, *, now: datetime
) -> PeerState:
    """Store one reading of ``peer``: update its PeerState, add a StateChange when the status
    or a state changed, open or clear its alerts. One transaction, the peer's state row
    locked (two pollers of one peer keep one history)."""
    ok = reading.status == Status.OK
    values = reading.values if ok else {}
    local, partner = _int(values.get("local-state")), _int(values.get("partner-state"))
    with transaction.atomic():
        state, created = PeerState.objects.select_for_update().get_or_create(
            peer=peer,
            defaults={"status": reading.status, "since": now, "checked_at": now},
        )
        changed = created or (state.status, state.local_state, state.partner_state) != (
            reading.status,
            local,
            partner,
        )
        if changed:
            StateChange.objects.create(
                peer=peer,
                at=now,
                status=reading.status,
                local_state=local,
                partner_state=partner,
                previous_status=None if created else state.status,
                previous_local_state=None if created else state.local_state,
                previous_partner_state=None if created else state.partner_state,
                local_stos=_int(values.get("local-stos")),
                partner_stos=_int(values.get("partner-stos")),
                mclt=_int(values.get("mclt")),
                skew=_signed(values.get("skew")),
            )
            state.since = now
            logger.info(
                "live state of %s/%s: %s %s/%s",
                server.name,
                peer.name,
                reading.status,
                state_name(local),
                state_name(partner),
            )
        state.status = reading.status
        state.detail = reading.detail
        state.checked_at = now
        state.local_state, state.partner_state = local, partner
        if ok:
            state.local_stos = _int(values.get("local-stos"))
            state.partner_stos = _int(values.get("partner-stos"))
            state.mclt = _int(values.get("mclt"))
            state.skew = _signed(values.get("skew"))
            state.hierarchy = _int(values.get("hierarchy"))
            state.read_at = now
            if local == NORMAL and partner == NORMAL:
                state.last_normal_at = now
        state.save()
        _update_alerts(server, peer, state, now)
    return state


# --- alerts -------------------------------------------------------------------------------


def _not_normal_threshold() -> timedelta:
    return timedelta(seconds=getattr(settings, "DHCPADMIN_ALERT_NOT_NORMAL_SECONDS", 300))


def _conditions(server: DhcpServer, peer: FailoverPeer, state: PeerState, now: datetime):
    """{kind: message or None (condition false)}; kinds not in the dict are left as they are
    (while the server cannot be read, what its states are is unknown)."""
    where = f"{server.name} / {peer.name}"
    if state.status == Status.NO_KEY:
        return {}
    if state.status != Status.OK:
        return {
            Alert.Kind.UNREACHABLE: f"{where}: OMAPI {state.status}: {state.detail}",
        }
    out: dict[str, str | None] = {Alert.Kind.UNREACHABLE: None}
    normal = state.local_state == NORMAL and state.partner_state == NORMAL
    left_normal = state.last_normal_at or state.since
    if not normal and now - left_normal >= _not_normal_threshold():
        minutes = int((now - left_normal).total_seconds() // 60)
        out[Alert.Kind.NOT_NORMAL] = (
            f"{where}: {state.local_state_name} (partner {state.partner_state_name}) "
            f"for {minutes} min"
        )
    elif normal:
        out[Alert.Kind.NOT_NORMAL] = None
    out[Alert.Kind.PARTNER_DOWN] = (
        f"{where}: {server.name} is in partner-down" if state.local_state == PARTNER_DOWN else None
    )
    skew = state.skew
    out[Alert.Kind.CLOCK_SKEW] = (
        f"{where}: clock skew {skew} s (dhcpd refuses a partner more than 60 s apart)"
        if skew is not None and abs(skew) > SKEW_LIMIT
        else None
    )
    return out


def _update_alerts(server: DhcpServer, peer: FailoverPeer, state: PeerState, now: datetime) -> None:
    conditions = _conditions(server, peer, state, now)
    if not conditions:
        return
    active = {a.kind: a for a in Alert.objects.filter(peer=peer, cleared_at__isnull=True)}
    for kind, message in conditions.items():
        alert = active.get(kind)
        if message is not None and alert is None:
            try:
                with transaction.atomic():  # the partial unique index: one active per kind
                    Alert.objects.create(peer=peer, kind=kind, message=message, started_at=now)
            except IntegrityError:
                pass  # another poller opened it meanwhile
        elif message is None and alert is not None:
            Alert.objects.filter(pk=alert.pk, cleared_at__isnull=True).update(cleared_at=now)


def _recipients() -> list[str]:
    return list(getattr(settings, "DHCPADMIN_ALERT_EMAILS", []))


def send_pending_alerts(peer_ids=None) -> int:
    """Mail every alert not mailed yet: once when it starts, once when it clears. Each mail
    is claimed first (a conditional update), so two pollers never send it twice; a failed
    send is released and tried again at the next poll. Returns the number of mails sent."""
    recipients = _recipients()
    alerts = Alert.objects.select_related("peer__server")
    if peer_ids is not None:
        alerts = alerts.filter(peer_id__in=list(peer_ids))
    sent = 0
    for alert in alerts.filter(notified_at__isnull=True):
        sent += _mail(alert, "notified_at", recipients, cleared=False)
    for alert in alerts.filter(cleared_at__isnull=False, clear_notified_at__isnull=True):
        sent += _mail(alert, "clear_notified_at", recipients, cleared=True)
    return sent


def _mail(alert: Alert, field: str, recipients: list[str], *, cleared: bool) -> int:
    now = timezone.now()
    if not Alert.objects.filter(pk=alert.pk, **{f"{field}__isnull": True}).update(**{field: now}):
        return 0  # claimed by another poller
    if not recipients:
        return 0  # nobody to tell: the alert is still shown on the pages
    peer = alert.peer
    if cleared:
        subject = f"[dhcpadmin] cleared: {alert.kind} on {peer.server.name} / {peer.name}"
        body = (
            f"The alert '{alert.kind}' that started at {alert.started_at:%Y-%m-%d %H:%M:%S %Z} "
            f"cleared at {alert.cleared_at:%Y-%m-%d %H:%M:%S %Z}.\n\n{alert.message}\n"
        )
    else:
        subject = f"[dhcpadmin] ALERT: {alert.kind} on {peer.server.name} / {peer.name}"
        body = f"{alert.message}\n\nSince {alert.started_at:%Y-%m-%d %H:%M:%S %Z}.\n"
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except Exception:  # noqa: BLE001 - any mail fault: release the claim, retry next poll
        logger.exception("could not send the alert mail '%s'", subject)
        Alert.objects.filter(pk=alert.pk).update(**{field: None})
        return 0
    return 1
