"""Scopes: create, change and delete a scope. Deleting a scope takes its pools, and the
failover peers only those pools referred to (the last-referrer rule, see ``_base``)."""

from __future__ import annotations

from typing import Unpack

from django.db import transaction

from ..models import DhcpServer, Scope
from ._base import (
    Actor,
    DeletePlan,
    ScopeFields,
    _adopt_values,
    _candidate,
    _delete_peers,
    _record,
    current,
    lock_servers,
    peers_orphaned_by,
    retry_on_deadlock,
)


def scope_create_plan(*, server: DhcpServer, **fields: Unpack[ScopeFields]) -> Scope:
    """The validated, unsaved scope that :func:`scope_create` would save."""
    scope = Scope(server=server, **fields)
    scope.full_clean()
    return scope


@retry_on_deadlock
def scope_create(
    *, server: DhcpServer, actor: Actor = None, **fields: Unpack[ScopeFields]
) -> Scope:
    with transaction.atomic():
        # The server's lock first: the overlap check sees every scope saved before this one.
        lock_servers(server)
        scope = scope_create_plan(server=server, **fields)
        scope.save()
        _record(actor, "scope_create", f"Created scope {scope.network} on {server}")
    return scope


def scope_update_plan(*, scope: Scope, **fields: Unpack[ScopeFields]) -> Scope:
    """A validated copy of ``scope`` with ``fields`` set (``scope`` is not changed)."""
    return _candidate(scope, fields)


@retry_on_deadlock
def scope_update(*, scope: Scope, actor: Actor = None, **fields: Unpack[ScopeFields]) -> Scope:
    with transaction.atomic():
        lock_servers(scope.server_id)
        current(Scope.objects.all(), scope, "The scope")
        candidate = scope_update_plan(scope=scope, **fields)
        _adopt_values(scope, candidate, fields)
        _record(actor, "scope_update", f"Changed scope {scope.network} on {scope.server}")
    return scope


def scope_delete_plan(*, scope: Scope) -> DeletePlan:
    pools = list(scope.pools.select_related("failover_peer"))
    return DeletePlan(scopes=[scope], pools=pools, peers=peers_orphaned_by(pools))


@retry_on_deadlock
def scope_delete(*, scope: Scope, actor: Actor = None) -> DeletePlan:
    """Delete a scope with its pools, and the peers only its pools referred to."""
    with transaction.atomic():
        lock_servers(scope.server_id)
        current(Scope.objects.all(), scope, f"The scope {scope}")
        plan = scope_delete_plan(scope=scope)
        _record(
            actor,
            "scope_delete",
            f"Deleted scope {scope.network} on {scope.server} with {len(plan.pools)} pool(s)",
        )
        scope.delete()
        _delete_peers(plan.peers, actor, f"its last pools went with scope {scope.network}")
    return plan
