"""Address pools: create, change, delete, and point many pools at one failover peer.

Changing a pool's peer, removing it, or deleting the pool applies the last-referrer rule
(see ``_base``): a peer no other pool refers to any more is deleted too, after the user
confirmed it (:class:`ConfirmationRequired` until then). Each ``*_plan`` says what its
operation would do; the operation computes the same plan inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import AddressPool, FailoverPeer, Scope
from ._base import (
    Actor,
    DeletePlan,
    PeerChangeResult,
    _adopt_values,
    _candidate,
    _check_orphans,
    _delete_peers,
    _record,
    current,
    lock_servers,
    peers_orphaned_by,
    retry_on_deadlock,
)

_POOL_FIELDS = ("first_address", "last_address", "failover_peer")


def pool_create_plan(
    *,
    scope: Scope,
    first_address: str,
    last_address: str,
    failover_peer: FailoverPeer | None = None,
) -> AddressPool:
    """The validated, unsaved pool that :func:`pool_create` would save."""
    pool = AddressPool(
        scope=scope,
        first_address=str(first_address),
        last_address=str(last_address),
        failover_peer=failover_peer,
    )
    pool.full_clean()
    return pool


def _current_peer(failover_peer: FailoverPeer | None) -> FailoverPeer | None:
    if failover_peer is None:
        return None
    what = f"The failover peer {failover_peer.name}"
    return current(FailoverPeer.objects.all(), failover_peer, what)


@retry_on_deadlock
def pool_create(
    *,
    scope: Scope,
    first_address: str,
    last_address: str,
    failover_peer: FailoverPeer | None = None,
    actor: Actor = None,
) -> AddressPool:
    with transaction.atomic():
        # The server's lock first: the overlap check sees every pool saved before this one.
        lock_servers(scope.server_id)
        scope = current(Scope.objects.select_related("server"), scope, f"The scope {scope}")
        failover_peer = _current_peer(failover_peer)
        pool = pool_create_plan(
            scope=scope,
            first_address=first_address,
            last_address=last_address,
            failover_peer=failover_peer,
        )
        pool.save()
        _record(
            actor,
            "pool_create",
            f"Created pool {pool} in {scope.network} on {scope.server}"
            + (f" with failover peer '{failover_peer.name}'" if failover_peer else ""),
        )
    return pool


@dataclass
class PoolUpdatePlan:
    """What :func:`pool_update` would save, and the peers the last-referrer rule deletes."""

    pool: AddressPool  # a validated copy with the new values
    peers_to_delete: list[FailoverPeer]


def _orphaned_by_peer_change(
    pool: AddressPool, failover_peer: FailoverPeer | None
) -> list[FailoverPeer]:
    # The stored pool, not the instance: the instance may already carry the new peer (a
    # bound ModelForm sets it) or be stale.
    if pool.pk is None:
        return []
    stored = AddressPool.objects.get(pk=pool.pk)
    if stored.failover_peer_id == (failover_peer.pk if failover_peer else None):
        return []
    return peers_orphaned_by([stored])


def pool_update_plan(
    *,
    pool: AddressPool,
    first_address: str,
    last_address: str,
    failover_peer: FailoverPeer | None,
) -> PoolUpdatePlan:
    """Validate the change of ``pool`` (``pool`` is not changed) and find the peers it
    would delete: its old peer, if the peer changes and no other pool refers to it.
    Raises ValidationError when the new values are invalid."""
    peers = _orphaned_by_peer_change(pool, failover_peer)
    values = {
        "first_address": str(first_address),
        "last_address": str(last_address),
        "failover_peer": failover_peer,
    }
    return PoolUpdatePlan(pool=_candidate(pool, values), peers_to_delete=peers)


@retry_on_deadlock
def pool_update(
    *,
    pool: AddressPool,
    first_address: str,
    last_address: str,
    failover_peer: FailoverPeer | None,
    confirm_peer_deletion: bool = False,
    actor: Actor = None,
) -> PeerChangeResult:
    """Change a pool. If it is the last pool referring to its old peer and the peer changes,
    raise ConfirmationRequired unless confirmed; on confirmation the old peer is deleted in
    the same transaction."""
    with transaction.atomic():
        lock_servers(pool.scope.server_id)
        stored = current(AddressPool.objects.select_related("scope"), pool, "The address pool")
        pool.scope = stored.scope  # as it is now (its network may have changed)
        failover_peer = _current_peer(failover_peer)
        plan = pool_update_plan(
            pool=pool,
            first_address=first_address,
            last_address=last_address,
            failover_peer=failover_peer,
        )
        orphaned = _check_orphans(plan.peers_to_delete, confirm_peer_deletion)
        _adopt_values(pool, plan.pool, _POOL_FIELDS)
        _record(actor, "pool_update", f"Changed pool {pool} in {pool.scope.network}")
        _delete_peers(orphaned, actor, f"pool {pool} was its last referrer")
    return PeerChangeResult(changed=1, deleted_peers=orphaned)


@dataclass
class PoolsPeerPlan:
    """What :func:`pools_set_failover_peer` would do."""

    failover_peer: FailoverPeer | None
    pools: list[AddressPool]  # the selected pools (stored values)
    changing: list[AddressPool]  # those whose peer changes
    peers_to_delete: list[FailoverPeer]


def pools_set_failover_peer_plan(
    *, pools: Iterable[AddressPool], failover_peer: FailoverPeer | None
) -> PoolsPeerPlan:
    """Which of ``pools`` change, and which peers they leave behind (last-referrer rule).
    Raises ValidationError when ``failover_peer`` is not a peer of a pool's server."""
    stored = list(
        AddressPool.objects.filter(pk__in=[p.pk for p in pools])
        .select_related("scope", "scope__server", "failover_peer")
        .order_by("pk")
    )
    new_pk = failover_peer.pk if failover_peer else None
    changing = [p for p in stored if p.failover_peer_id != new_pk]
    errors = []
    for pool in changing:
        if failover_peer is not None and failover_peer.server_id != pool.scope.server_id:
            errors.append(
                f"Pool {pool} is on {pool.scope.server}; '{failover_peer.name}' is a peer of "
                f"{failover_peer.server}."
            )
    if errors:
        raise ValidationError(errors)
    return PoolsPeerPlan(
        failover_peer=failover_peer,
        pools=stored,
        changing=changing,
        peers_to_delete=peers_orphaned_by(changing),
    )


@retry_on_deadlock
def pools_set_failover_peer(
    *,
    pools: Iterable[AddressPool],
    failover_peer: FailoverPeer | None,
    confirm_peer_deletion: bool = False,
    actor: Actor = None,
) -> PeerChangeResult:
    """Point many pools at one peer (or none): the admin's bulk actions.

    Every pool is validated (the peer must be a peer of the pool's own server); the
    last-referrer rule applies to every peer the pools leave behind.
    """
    pools = list(pools)
    with transaction.atomic():
        servers = AddressPool.objects.filter(pk__in=[p.pk for p in pools]).values_list(
            "scope__server_id", flat=True
        )
        lock_servers(*set(servers), failover_peer.server_id if failover_peer else None)
        failover_peer = _current_peer(failover_peer)
        plan = pools_set_failover_peer_plan(pools=pools, failover_peer=failover_peer)
        orphaned = _check_orphans(plan.peers_to_delete, confirm_peer_deletion)
        for pool in plan.changing:
            pool.failover_peer = failover_peer
            pool.full_clean()
            pool.save()
        target = f"failover peer '{failover_peer.name}'" if failover_peer else "no failover peer"
        _record(actor, "pools_set_peer", f"Set {len(plan.changing)} pool(s) to {target}")
        _delete_peers(orphaned, actor, "its last pools were pointed elsewhere")
    return PeerChangeResult(changed=len(plan.changing), deleted_peers=orphaned)


def pool_delete_plan(*, pool: AddressPool) -> DeletePlan:
    # The stored peer, not the instance's: a stale instance must not leave an orphaned peer.
    stored = AddressPool.objects.filter(pk=pool.pk)
    return DeletePlan(pools=[pool], peers=peers_orphaned_by(stored))


@retry_on_deadlock
def pool_delete(*, pool: AddressPool, actor: Actor = None) -> DeletePlan:
    """Delete a pool, and its peer if no other pool refers to it (shown in the confirmation)."""
    with transaction.atomic():
        lock_servers(pool.scope.server_id)
        current(AddressPool.objects.all(), pool, f"The address pool {pool}")
        plan = pool_delete_plan(pool=pool)
        _record(actor, "pool_delete", f"Deleted pool {pool} in {pool.scope.network}")
        pool.delete()
        _delete_peers(plan.peers, actor, f"pool {pool} was its last referrer")
    return plan
