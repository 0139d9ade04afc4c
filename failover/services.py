"""Domain operations: the one home of every rule that changes more than one row.

Each function is atomic, validates with ``full_clean()`` before saving, and writes a
ChangeRecord. Views, admin actions and management commands call these; nothing else
performs these writes.

Rules from Micetro's "Managing Failover Configurations for ISC DHCP":
- first peer: when a server's first failover peer is created, all other address pools on
  the server are updated to refer to it;
- deleting a peer: the last peer on the server -> references are removed; exactly one other
  peer -> references move to it; two or more others -> the user chooses the replacement;
- last referrer: when a pool that is the last one referring to a peer changes to another
  peer (or none, or is deleted), that peer is deleted too, after the user confirmed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from .models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope

Actor = AbstractBaseUser | None


class ConfirmationRequired(Exception):
    """The operation has a consequence the user must confirm first (nothing was changed)."""

    def __init__(self, message: str, *, peers_to_delete: list[FailoverPeer]):
        super().__init__(message)
        self.message = message
        self.peers_to_delete = peers_to_delete


def _record(actor: Actor, action: str, summary: str) -> None:
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    ChangeRecord.objects.create(user=user, action=action, summary=summary)


def _save_new(obj: Any) -> Any:
    obj.full_clean()
    obj.save()
    return obj


def _apply(obj: Any, fields: dict[str, Any]) -> Any:
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    return obj


# --- last-referrer rule, shared by pool changes, pool deletes and scope deletes -------------


def peers_orphaned_by(pools: Iterable[AddressPool]) -> list[FailoverPeer]:
    """Peers that no pool would refer to any more once ``pools`` stop referring to them."""
    pools = list(pools)
    leaving: dict[int, set[int]] = {}
    for pool in pools:
        if pool.failover_peer_id:
            leaving.setdefault(pool.failover_peer_id, set()).add(pool.pk)
    if not leaving:
        return []
    counts = dict(
        FailoverPeer.objects.filter(pk__in=leaving)
        .annotate(n=Count("pools"))
        .values_list("pk", "n")
    )
    orphaned = [pk for pk, pool_ids in leaving.items() if counts.get(pk, 0) <= len(pool_ids)]
    return list(FailoverPeer.objects.filter(pk__in=orphaned).order_by("name"))


def _orphan_message(peers: list[FailoverPeer]) -> str:
    names = ", ".join(f"'{p.name}'" for p in peers)
    if len(peers) == 1:
        return (
            f"No other address pool refers to the failover peer {names}: "
            "this change will delete that failover peer."
        )
    return f"No other address pool refers to the failover peers {names}: this deletes them."


def _check_orphans(pools: list[AddressPool], confirm: bool) -> list[FailoverPeer]:
    orphaned = peers_orphaned_by(pools)
    if orphaned and not confirm:
        raise ConfirmationRequired(_orphan_message(orphaned), peers_to_delete=orphaned)
    return orphaned


def _delete_peers(peers: list[FailoverPeer], actor: Actor, reason: str) -> None:
    for peer in peers:
        if peer.pools.exists():  # guarded by the callers; never delete a referenced peer
            raise ValidationError(f"Failover peer '{peer.name}' is still referred to.")
        _record(
            actor, "peer_delete", f"Deleted failover peer '{peer.name}' on {peer.server}: {reason}"
        )
        peer.delete()


# --- servers -----------------------------------------------------------------------------


def server_create(*, actor: Actor = None, **fields: Any) -> DhcpServer:
    with transaction.atomic():
        server = _save_new(DhcpServer(**fields))
        _record(actor, "server_create", f"Created server '{server.name}'")
    return server


def server_update(*, server: DhcpServer, actor: Actor = None, **fields: Any) -> DhcpServer:
    with transaction.atomic():
        _apply(server, fields)
        _record(actor, "server_update", f"Changed server '{server.name}'")
    return server


@dataclass
class DeletePlan:
    """What goes with a delete: shown in the confirmation, then done by the same code."""

    scopes: list[Scope] = field(default_factory=list)
    pools: list[AddressPool] = field(default_factory=list)
    peers: list[FailoverPeer] = field(default_factory=list)


def server_delete_plan(*, server: DhcpServer) -> DeletePlan:
    return DeletePlan(
        scopes=list(server.scopes.all()),
        pools=list(AddressPool.objects.for_server(server).select_related("scope", "failover_peer")),
        peers=list(server.failover_peers.all()),
    )


def server_delete(*, server: DhcpServer, actor: Actor = None) -> DeletePlan:
    with transaction.atomic():
        plan = server_delete_plan(server=server)
        _record(
            actor,
            "server_delete",
            f"Deleted server '{server.name}' with {len(plan.scopes)} scope(s), "
            f"{len(plan.pools)} pool(s) and {len(plan.peers)} failover peer(s)",
        )
        server.delete()
    return plan


# --- scopes ------------------------------------------------------------------------------


def scope_create(*, server: DhcpServer, actor: Actor = None, **fields: Any) -> Scope:
    with transaction.atomic():
        scope = _save_new(Scope(server=server, **fields))
        _record(actor, "scope_create", f"Created scope {scope.network} on {server}")
    return scope


def scope_update(*, scope: Scope, actor: Actor = None, **fields: Any) -> Scope:
    with transaction.atomic():
        _apply(scope, fields)
        _record(actor, "scope_update", f"Changed scope {scope.network} on {scope.server}")
    return scope


def scope_delete_plan(*, scope: Scope) -> DeletePlan:
    pools = list(scope.pools.select_related("failover_peer"))
    return DeletePlan(scopes=[scope], pools=pools, peers=peers_orphaned_by(pools))


def scope_delete(*, scope: Scope, actor: Actor = None) -> DeletePlan:
    """Delete a scope with its pools, and the peers only its pools referred to."""
    with transaction.atomic():
        plan = scope_delete_plan(scope=scope)
        _record(
            actor,
            "scope_delete",
            f"Deleted scope {scope.network} on {scope.server} with {len(plan.pools)} pool(s)",
        )
        scope.delete()
        _delete_peers(plan.peers, actor, f"its last pools went with scope {scope.network}")
    return plan


# --- address pools -----------------------------------------------------------------------


def pool_create(
    *,
    scope: Scope,
    first_address: str,
    last_address: str,
    failover_peer: FailoverPeer | None = None,
    actor: Actor = None,
) -> AddressPool:
    with transaction.atomic():
        pool = _save_new(
            AddressPool(
                scope=scope,
                first_address=str(first_address),
                last_address=str(last_address),
                failover_peer=failover_peer,
            )
        )
        _record(
            actor,
            "pool_create",
            f"Created pool {pool} in {scope.network} on {scope.server}"
            + (f" with failover peer '{failover_peer.name}'" if failover_peer else ""),
        )
    return pool


def pool_update_effect(
    *, pool: AddressPool, failover_peer: FailoverPeer | None
) -> list[FailoverPeer]:
    """The peers that changing ``pool`` to ``failover_peer`` would delete (last referrer)."""
    if pool.pk is None or pool.failover_peer_id == (failover_peer.pk if failover_peer else None):
        return []
    stored = AddressPool.objects.get(pk=pool.pk)
    return peers_orphaned_by([stored])


@dataclass
class PeerChangeResult:
    changed: int
    deleted_peers: list[FailoverPeer]


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
        stored = AddressPool.objects.select_for_update().get(pk=pool.pk)
        peer_changes = stored.failover_peer_id != (failover_peer.pk if failover_peer else None)
        orphaned = _check_orphans([stored], confirm_peer_deletion) if peer_changes else []
        _apply(
            pool,
            {
                "first_address": str(first_address),
                "last_address": str(last_address),
                "failover_peer": failover_peer,
            },
        )
        _record(actor, "pool_update", f"Changed pool {pool} in {pool.scope.network}")
        _delete_peers(orphaned, actor, f"pool {pool} was its last referrer")
    return PeerChangeResult(changed=1, deleted_peers=orphaned)


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
    with transaction.atomic():
        pk_list = [p.pk for p in pools]
        locked = list(
            AddressPool.objects.select_for_update()
            .filter(pk__in=pk_list)
            .select_related("scope", "scope__server", "failover_peer")
        )
        new_pk = failover_peer.pk if failover_peer else None
        changing = [p for p in locked if p.failover_peer_id != new_pk]
        errors = []
        for pool in changing:
            if failover_peer is not None and failover_peer.server_id != pool.scope.server_id:
                errors.append(
                    f"Pool {pool} is on {pool.scope.server}; '{failover_peer.name}' is a peer of "
                    f"{failover_peer.server}."
                )
        if errors:
            raise ValidationError(errors)
        orphaned = _check_orphans(changing, confirm_peer_deletion)
        for pool in changing:
            _apply(pool, {"failover_peer": failover_peer})
        target = f"failover peer '{failover_peer.name}'" if failover_peer else "no failover peer"
        _record(actor, "pools_set_peer", f"Set {len(changing)} pool(s) to {target}")
        _delete_peers(orphaned, actor, "its last pools were pointed elsewhere")
    return PeerChangeResult(changed=len(changing), deleted_peers=orphaned)


def pool_delete_plan(*, pool: AddressPool) -> DeletePlan:
    return DeletePlan(pools=[pool], peers=peers_orphaned_by([pool]))


def pool_delete(*, pool: AddressPool, actor: Actor = None) -> DeletePlan:
    """Delete a pool, and its peer if no other pool refers to it (shown in the confirmation)."""
    with transaction.atomic():
        plan = pool_delete_plan(pool=pool)
        _record(actor, "pool_delete", f"Deleted pool {pool} in {pool.scope.network}")
        pool.delete()
        _delete_peers(plan.peers, actor, f"pool {pool} was its last referrer")
    return plan


# --- failover peers ----------------------------------------------------------------------


@dataclass
class PeerCreateResult:
    peer: FailoverPeer
    pools_assigned: int


def peer_create(*, server: DhcpServer, actor: Actor = None, **fields: Any) -> PeerCreateResult:
    """Create a failover peer. The server's first peer is assigned to all its pools."""
    with transaction.atomic():
        DhcpServer.objects.select_for_update().filter(pk=server.pk).exists()
        first = not server.failover_peers.exists()
        peer = _save_new(FailoverPeer(server=server, **fields))
        assigned = 0
        if first:
            # Validated above: the pools are the server's own and none has a peer yet.
            assigned = AddressPool.objects.for_server(server).update(failover_peer=peer)
        _record(
            actor,
            "peer_create",
            f"Created failover peer '{peer.name}' on {server}"
            + (f"; its first peer, so {assigned} pool(s) now refer to it" if first else ""),
        )
    return PeerCreateResult(peer=peer, pools_assigned=assigned)


def peer_update(*, peer: FailoverPeer, actor: Actor = None, **fields: Any) -> FailoverPeer:
    with transaction.atomic():
        if fields.get("role", peer.role) == FailoverPeer.Role.SECONDARY:
            # Switching to secondary drops the primary-only statements unless given.
            for name in FailoverPeer.PRIMARY_ONLY_FIELDS:
                fields.setdefault(name, "" if name == "hba" else None)
        _apply(peer, fields)
        _record(actor, "peer_update", f"Changed failover peer '{peer.name}' on {peer.server}")
    return peer


@dataclass
class PeerDeletePlan:
    peer: FailoverPeer
    pools: list[AddressPool]
    others: list[FailoverPeer]

    REMOVE, REPOINT, CHOOSE = "remove", "repoint", "choose"

    @property
    def case(self) -> str:
        if not self.others:
            return self.REMOVE
        if len(self.others) == 1:
            return self.REPOINT
        return self.CHOOSE

    @property
    def replacement(self) -> FailoverPeer | None:
        return self.others[0] if self.case == self.REPOINT else None


def peer_delete_plan(*, peer: FailoverPeer) -> PeerDeletePlan:
    return PeerDeletePlan(
        peer=peer,
        pools=list(peer.pools.select_related("scope")),
        others=list(peer.server.failover_peers.exclude(pk=peer.pk).order_by("name")),
    )


def peer_delete(
    *, peer: FailoverPeer, replacement: FailoverPeer | None = None, actor: Actor = None
) -> PeerDeletePlan:
    """Delete a peer the way the seed says (see the module docstring).

    With two or more other peers the caller must pass ``replacement``, one of them.
    """
    with transaction.atomic():
        plan = peer_delete_plan(peer=peer)
        if plan.case == plan.REMOVE:
            target = None
        elif plan.case == plan.REPOINT:
            target = plan.replacement
            if replacement is not None and replacement.pk != target.pk:
                raise ValidationError(f"The pools can only move to '{target.name}'.")
        else:
            if replacement is None:
                raise ValidationError(
                    "Choose which failover peer the pools should refer to instead."
                )
            if replacement.pk not in {p.pk for p in plan.others}:
                raise ValidationError(
                    "The replacement must be another failover peer of the same server."
                )
            target = replacement
        moved = peer.pools.update(failover_peer=target)
        _record(
            actor,
            "peer_delete",
            f"Deleted failover peer '{peer.name}' on {peer.server}; {moved} pool(s) "
            + (f"now refer to '{target.name}'" if target else "no longer refer to a peer"),
        )
        peer.delete()
    return plan
