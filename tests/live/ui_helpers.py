"""Helpers of the live-state page tests: relationships made through the services, readings
(PeerState), history (StateChange) and alerts made in the test. No daemon, no network: the
pages only read the database (the servers use documentation addresses that are never
contacted)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import Group, Permission, User
from django.utils import timezone

from failover import services
from failover.access import OPERATORS_GROUP, ensure_operators_group
from failover.live.models import Alert, PeerState, StateChange, Status
from failover.models import DhcpServer, FailoverPeer
from tests.conftest import PASSWORD, PRIMARY, SECONDARY

SECRET = "c2VjcmV0LXNlY3JldC0xMjM0NQ=="  # base64; never used to connect here


def make_relationship(
    i: int, *, name: str | None = None, omapi: bool = True
) -> tuple[FailoverPeer, FailoverPeer]:
    """Relationship ``i``: servers ``p<i>`` (primary) and ``s<i>`` (secondary) with mirrored
    peers named ``fo-<i>``, on documentation addresses."""
    a_address, b_address = f"192.0.2.{2 * i + 1}", f"192.0.2.{2 * i + 2}"
    extra = (
        dict(omapi_port=7911, omapi_key_name="omapi-key", omapi_key_secret=SECRET) if omapi else {}
    )
    a = services.server_create(name=f"p{i}", address=a_address)
    b = services.server_create(name=f"s{i}", address=b_address)
    if extra:
        services.server_update(server=a, **extra)  # type: ignore[arg-type]
        services.server_update(server=b, **extra)  # type: ignore[arg-type]
    peer_name = name or f"fo-{i}"
    pa = services.peer_create(
        server=a, name=peer_name, **dict(PRIMARY, address=a_address, peer_address=b_address)
    ).peer
    pb = services.peer_create(
        server=b, name=peer_name, **dict(SECONDARY, address=b_address, peer_address=a_address)
    ).peer
    return pa, pb


def reading(
    peer: FailoverPeer,
    local: int | None = 2,
    partner: int | None = 2,
    *,
    status: str = Status.OK,
    since: datetime | None = None,
    stos: int | None = None,
    mclt: int | None = 3600,
    skew: int | None = 0,
    detail: str = "",
    last_normal_at: datetime | None = None,
) -> PeerState:
    now = timezone.now()
    return PeerState.objects.update_or_create(
        peer=peer,
        defaults=dict(
            status=status,
            detail=detail,
            local_state=local if status == Status.OK else None,
            partner_state=partner if status == Status.OK else None,
            local_stos=stos,
            mclt=mclt,
            skew=skew,
            checked_at=now,
            read_at=now if status == Status.OK else None,
            since=since or now - timedelta(minutes=5),
            last_normal_at=last_normal_at,
        ),
    )[0]


def history(peer: FailoverPeer, n: int, *, start: datetime | None = None) -> list[StateChange]:
    """``n`` changes, alternating normal / communications-interrupted, one a minute."""
    start = start or timezone.now() - timedelta(minutes=n + 1)
    rows = []
    previous = None
    for k in range(n):
        local = 2 if k % 2 == 0 else 3
        rows.append(
            StateChange(
                peer=peer,
                at=start + timedelta(minutes=k),
                status=Status.OK,
                local_state=local,
                partner_state=2 if local == 2 else None,
                previous_status=Status.OK if previous is not None else None,
                previous_local_state=previous,
                previous_partner_state=2 if previous == 2 else None,
            )
        )
        previous = local
    return StateChange.objects.bulk_create(rows)


def alert(peer: FailoverPeer, kind: str = Alert.Kind.UNREACHABLE, *, cleared: bool = False):
    return Alert.objects.create(
        peer=peer,
        kind=kind,
        message=f"{kind} on {peer.server.name}",
        cleared_at=timezone.now() if cleared else None,
    )


def operator(username: str = "operator") -> User:
    """A user who may read everything and is in the Operators group (partner-down), but may
    not change the model."""
    user = User.objects.create_user(username, password=PASSWORD)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover", codename__startswith="view_")
    )
    ensure_operators_group()
    user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
    return user


def server_named(name: str) -> DhcpServer:
    return DhcpServer.objects.get(name=name)


def plain_editor(username: str = "plain-editor") -> User:
    """A user who may change every model but is not an operator (tests/conftest.py's
    ``editor`` has every failover permission, the operator ones too)."""
    user = User.objects.create_user(username, password=PASSWORD)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover").exclude(
            codename__in=("operate_failover", "deploy_server")
        )
    )
    return user
