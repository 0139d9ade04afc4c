"""Servers: create, change and delete a DHCP server (a delete takes its scopes, pools and
failover peers with it, as the delete plan shows first)."""

from __future__ import annotations

from typing import Unpack

from django.db import transaction

from ..models import AddressPool, DhcpServer
from ._base import (
    Actor,
    DeletePlan,
    ServerFields,
    _adopt_values,
    _candidate,
    _record,
    lock_servers,
    retry_on_deadlock,
)


def server_create_plan(**fields: Unpack[ServerFields]) -> DhcpServer:
    """The validated, unsaved server that :func:`server_create` would save."""
    server = DhcpServer(**fields)
    server.full_clean()
    return server


@retry_on_deadlock
def server_create(*, actor: Actor = None, **fields: Unpack[ServerFields]) -> DhcpServer:
    with transaction.atomic():
        server = server_create_plan(**fields)
        server.save()
        _record(actor, "server_create", f"Created server '{server.name}'")
    return server


def server_update_plan(*, server: DhcpServer, **fields: Unpack[ServerFields]) -> DhcpServer:
    """A validated copy of ``server`` with ``fields`` set (``server`` is not changed)."""
    return _candidate(server, fields)


@retry_on_deadlock
def server_update(
    *, server: DhcpServer, actor: Actor = None, **fields: Unpack[ServerFields]
) -> DhcpServer:
    with transaction.atomic():
        lock_servers(server.pk)
        candidate = server_update_plan(server=server, **fields)
        _adopt_values(server, candidate, fields)
        _record(actor, "server_update", f"Changed server '{server.name}'")
    return server


def server_delete_plan(*, server: DhcpServer) -> DeletePlan:
    return DeletePlan(
        scopes=list(server.scopes.all()),
        pools=list(AddressPool.objects.for_server(server).select_related("scope", "failover_peer")),
        peers=list(server.failover_peers.all()),
    )


@retry_on_deadlock
def server_delete(*, server: DhcpServer, actor: Actor = None) -> DeletePlan:
    with transaction.atomic():
        lock_servers(server)
        plan = server_delete_plan(server=server)
        _record(
            actor,
            "server_delete",
            f"Deleted server '{server.name}' with {len(plan.scopes)} scope(s), "
            f"{len(plan.pools)} pool(s) and {len(plan.peers)} failover peer(s)",
        )
        server.delete()
    return plan
