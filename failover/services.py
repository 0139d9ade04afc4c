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

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    """The peers that changing ``pool`` to ``failover_peer`` would delete (last referrer).

    Compares with the stored pool: the instance may already carry the new peer (a bound
    ModelForm sets it) or be stale."""
    if pool.pk is None:
        return []
    stored = AddressPool.objects.get(pk=pool.pk)
    if stored.failover_peer_id == (failover_peer.pk if failover_peer else None):
        return []
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
            # of=("self",): PostgreSQL cannot lock the nullable side of the outer join to the peer.
            AddressPool.objects.select_for_update(of=("self",))
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
    # The stored peer, not the instance's: a stale instance must not leave an orphaned peer.
    stored = AddressPool.objects.filter(pk=pool.pk)
    return DeletePlan(pools=[pool], peers=peers_orphaned_by(stored))


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


# --- migrate a scope to the failover peer ------------------------------------------------
#
# The seed: "In order to finalize the setup of the failover relationship, the scope needs to
# be migrated to the failover peer." The partner server gets the mirrored peer declaration
# (same name, the other role, address and port swapped, no primary-only statements) if it
# lacks it, the scope with its options, and failover pools identical to this scope's. A copy
# of the scope that already exists on the partner is reconciled, never duplicated.
#
# Pools of this scope without a failover peer are not copied: both servers would hand out
# the same addresses without coordinating. The partner's copy of the scope ends up with
# exactly the mirrored failover pools; its other pools there are changed or removed, which
# the plan shows first. Creating the partner's first peer applies the first-peer rule (all
# its pools refer to it), which the plan shows too.

SCOPE_OPTION_FIELDS = ("name", *Scope.OPTION_FIELDS)
_ENDPOINT_FIELDS = ("role", "address", "port", "peer_address", "peer_port")
#: Statements the mirrored declaration copies as they are (the rest are swapped or dropped).
MIRRORED_PEER_FIELDS = tuple(
    name
    for name in FailoverPeer.STATEMENT_FIELDS
    if name not in _ENDPOINT_FIELDS and name not in FailoverPeer.PRIMARY_ONLY_FIELDS
)
PEER_CREATE_FIELDS = ("name", *FailoverPeer.STATEMENT_FIELDS, "partner_server")


@dataclass
class FieldChange:
    field: str
    label: str
    old: Any
    new: Any


@dataclass
class PoolSpec:
    first_address: str
    last_address: str
    peer_name: str

    def __str__(self) -> str:
        return f"{self.first_address}-{self.last_address}"


@dataclass
class PoolPeerChange:
    pool: AddressPool
    old_peer: str | None
    new_peer: str


@dataclass
class MigratePlan:
    """What migrating ``scope`` creates, changes and deletes on its partner server."""

    scope: Scope
    partner: DhcpServer | None = None
    peers_to_create: list[FailoverPeer] = field(default_factory=list)  # unsaved
    first_peer_pools: list[AddressPool] = field(default_factory=list)
    partner_scope: Scope | None = None  # the existing copy, reconciled
    scope_to_create: Scope | None = None  # unsaved
    scope_changes: list[FieldChange] = field(default_factory=list)
    pools_to_delete: list[AddressPool] = field(default_factory=list)
    pools_to_change: list[PoolPeerChange] = field(default_factory=list)
    pools_to_create: list[PoolSpec] = field(default_factory=list)
    pools_unchanged: list[AddressPool] = field(default_factory=list)
    pools_not_copied: list[AddressPool] = field(default_factory=list)
    peers_to_delete: list[FailoverPeer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def is_empty(self) -> bool:
        return not (
            self.peers_to_create
            or self.scope_to_create
            or self.scope_changes
            or self.pools_to_delete
            or self.pools_to_change
            or self.pools_to_create
            or self.peers_to_delete
        )


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(msgs)}" if name != "__all__" else " ".join(msgs)
            for name, msgs in error.message_dict.items()
        )
    return " ".join(error.messages)


def mirror_peer(*, peer: FailoverPeer, partner: DhcpServer) -> FailoverPeer:
    """The partner's declaration of ``peer`` (unsaved): same name, the other role, address
    and port swapped; primary-only statements only if the mirror is the primary."""
    mirrored = FailoverPeer(
        server=partner,
        name=peer.name,
        address=peer.peer_address,
        port=peer.peer_port,
        peer_address=peer.address,
        peer_port=peer.port,
        partner_server=peer.server,
        **{name: getattr(peer, name) for name in MIRRORED_PEER_FIELDS},
    )
    if peer.is_primary:
        mirrored.role = FailoverPeer.Role.SECONDARY
        mirrored.mclt, mirrored.split, mirrored.hba = None, None, ""
    else:
        # The secondary carries no mclt/split: the new primary gets the form's defaults.
        mirrored.role = FailoverPeer.Role.PRIMARY
        mirrored.mclt = FailoverPeer._meta.get_field("mclt").get_default()
        mirrored.split = FailoverPeer._meta.get_field("split").get_default()
        mirrored.hba = ""
    return mirrored


def _ip_key(pool: AddressPool | PoolSpec) -> tuple[int, ...]:
    return tuple(int(octet) for octet in pool.first_address.split("."))


def scope_migrate_plan(*, scope: Scope) -> MigratePlan:
    """Compute, without changing anything, what ``scope_migrate_to_partner`` would do."""
    from .dhcpd.pair import partner_of

    plan = MigratePlan(scope=scope)
    pools = sorted(scope.pools.select_related("failover_peer"), key=_ip_key)
    failover_pools = [p for p in pools if p.failover_peer_id]
    plan.pools_not_copied = [p for p in pools if not p.failover_peer_id]
    if not failover_pools:
        plan.errors.append(
            f"No address pool of {scope.network} refers to a failover peer: there is nothing "
            "to migrate."
        )
        return plan
    peers = sorted(
        {p.failover_peer.pk: p.failover_peer for p in failover_pools}.values(), key=lambda p: p.name
    )
    partners = {peer.pk: partner_of(peer) for peer in peers}
    for peer in peers:
        if partners[peer.pk] is None:
            plan.errors.append(
                f"The partner server of failover peer '{peer.name}' is not managed here: add "
                f"the server at {peer.peer_address}, or set the peer's Partner Server."
            )
    if plan.errors:
        return plan
    partner_ids = {server.pk for server in partners.values()}
    if len(partner_ids) > 1:
        names = ", ".join(sorted(server.name for server in partners.values()))
        plan.errors.append(
            f"The pools of {scope.network} refer to failover peers of different partner servers "
            f"({names}); give them one partner first."
        )
        return plan
    partner = next(iter(partners.values()))
    plan.partner = partner

    existing = {p.name: p for p in partner.failover_peers.all()}
    for peer in peers:
        if peer.name in existing:
            continue
        mirrored = mirror_peer(peer=peer, partner=partner)
        try:
            mirrored.full_clean()
        except ValidationError as exc:
            plan.errors.append(
                f"The failover peer '{peer.name}' cannot be created on {partner}: {_messages(exc)}"
            )
        plan.peers_to_create.append(mirrored)
        if not peer.is_primary:
            plan.notes.append(
                f"'{peer.name}' on {partner} becomes the primary, with Max Client Lead Time "
                f"{mirrored.mclt} and Split Index {mirrored.split}."
            )
    first_peer = plan.peers_to_create[0].name if plan.peers_to_create and not existing else None
    if first_peer:
        # The seed's first-peer rule: all other pools of the partner will refer to it.
        plan.first_peer_pools = sorted(
            AddressPool.objects.for_server(partner).select_related("scope"),
            key=lambda p: (p.scope.ip_network.network_address, _ip_key(p)),
        )

    plan.partner_scope = partner.scopes.filter(network=scope.network).first()
    options = {name: getattr(scope, name) for name in SCOPE_OPTION_FIELDS}
    if plan.partner_scope is None:
        plan.scope_to_create = Scope(server=partner, network=scope.network, **options)
        candidate, partner_pools = plan.scope_to_create, []
    else:
        for name, value in options.items():
            old = getattr(plan.partner_scope, name)
            if old != value:
                label = str(Scope._meta.get_field(name).verbose_name)
                plan.scope_changes.append(FieldChange(name, label, old, value))
        candidate = Scope.objects.get(pk=plan.partner_scope.pk)  # validated, not saved
        for name, value in options.items():
            setattr(candidate, name, value)
        partner_pools = sorted(
            plan.partner_scope.pools.select_related("failover_peer"), key=_ip_key
        )
    try:
        candidate.full_clean()
    except ValidationError as exc:
        plan.errors.append(f"Scope {scope.network} on {partner}: {_messages(exc)}")

    wanted = {(p.first_address, p.last_address): p.failover_peer.name for p in failover_pools}
    matched = set()
    leaving = []  # partner pools that stop referring to their (existing) peer
    for pool in partner_pools:
        key = (pool.first_address, pool.last_address)
        current = pool.failover_peer.name if pool.failover_peer_id else None
        effective = first_peer or current
        if key in wanted:
            matched.add(key)
            if effective == wanted[key]:
                plan.pools_unchanged.append(pool)
            else:
                plan.pools_to_change.append(PoolPeerChange(pool, current, wanted[key]))
                leaving.append(pool)
        else:
            plan.pools_to_delete.append(pool)
            leaving.append(pool)
    plan.pools_to_create = [
        PoolSpec(first, last, peer_name)
        for (first, last), peer_name in wanted.items()
        if (first, last) not in matched
    ]
    plan.pools_to_create.sort(key=_ip_key)
    plan.peers_to_delete = [
        peer for peer in peers_orphaned_by(leaving) if peer.name not in set(wanted.values())
    ]
    return plan


def scope_migrate_to_partner(*, scope: Scope, actor: Actor = None) -> MigratePlan:
    """Apply :func:`scope_migrate_plan` in one transaction. Running it twice changes nothing
    the second time (the plan is empty)."""
    with transaction.atomic():
        Scope.objects.select_for_update().filter(pk=scope.pk).exists()
        plan = scope_migrate_plan(scope=scope)
        if plan.errors:
            raise ValidationError(plan.errors)
        if plan.is_empty:
            return plan
        partner = plan.partner
        DhcpServer.objects.select_for_update().filter(pk=partner.pk).exists()
        for mirrored in plan.peers_to_create:
            fields = {name: getattr(mirrored, name) for name in PEER_CREATE_FIELDS}
            peer_create(server=partner, actor=actor, **fields)
        peers = {p.name: p for p in partner.failover_peers.all()}
        if plan.scope_to_create is not None:
            options = {name: getattr(scope, name) for name in SCOPE_OPTION_FIELDS}
            target = scope_create(server=partner, actor=actor, network=scope.network, **options)
        else:
            target = plan.partner_scope
            if plan.scope_changes:
                scope_update(
                    scope=target, actor=actor, **{c.field: c.new for c in plan.scope_changes}
                )
        # Delete first (a new pool may overlap a removed one), then change, then create.
        AddressPool.objects.filter(pk__in=[p.pk for p in plan.pools_to_delete]).delete()
        for change in plan.pools_to_change:
            pool = AddressPool.objects.select_related("scope").get(pk=change.pool.pk)
            _apply(pool, {"failover_peer": peers[change.new_peer]})
        for spec in plan.pools_to_create:
            _save_new(
                AddressPool(
                    scope=target,
                    first_address=spec.first_address,
                    last_address=spec.last_address,
                    failover_peer=peers[spec.peer_name],
                )
            )
        scope_part = (
            "scope created"
            if plan.scope_to_create
            else f"{len(plan.scope_changes)} scope option(s) changed"
        )
        _record(
            actor,
            "scope_migrate",
            f"Migrated scope {scope.network} from {scope.server} to {partner}: "
            f"{len(plan.peers_to_create)} failover peer(s) created, {scope_part}, "
            f"{len(plan.pools_to_create)} pool(s) created, {len(plan.pools_to_change)} changed, "
            f"{len(plan.pools_to_delete)} removed",
        )
        _delete_peers(
            [FailoverPeer.objects.get(pk=p.pk) for p in plan.peers_to_delete],
            actor,
            f"its last pools changed when scope {scope.network} was migrated",
        )
    return plan


# --- import a dhcpd.conf ------------------------------------------------------------------
#
# The import reproduces the FILE (failover.dhcpd.importer explains how each part is held):
# it is its own domain operation, so the first-peer and last-referrer rules of the pages do
# not apply. The plan is a diff against what is stored (created / changed / deleted / kept
# verbatim); applying it makes the stored model equal to the file, in one transaction, with
# bulk writes (a 10,000-subnet file is a few hundred queries, not tens of thousands).
# Everything is validated before the first write; a parse or validation error saves nothing
# and says where (file, line, column) and why.


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a file is parsed and imported.

    A 10,000-subnet file is a few hundred thousand objects that live until the import ends;
    every new object makes the collector walk them again (about a fifth of the time).
    Reference counting still frees what is dropped; collection resumes afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class StaleImportPlan(Exception):
    """The stored data (or the text) changed since the preview: preview again."""

    def __init__(self, plan: Any) -> None:
        super().__init__("The stored data changed since the preview; check the new preview.")
        self.plan = plan


IMPORT_BATCH = 500


def config_import_plan(
    *,
    server: DhcpServer,
    text: str | None = None,
    tree: Any = None,
    filename: str = "<text>",
    include_root: str | None = None,
    max_bytes: int | None = None,
    created: bool = False,
) -> Any:
    """What importing ``text`` (or an already parsed ``tree``) into ``server`` would do:
    a :class:`failover.dhcpd.importer.ImportPlan`. Changes nothing. ``server`` may be
    unsaved (everything is then created). Raises ``ParseError`` (a ``ConfigImportError``
    when the file parses but the model cannot hold it) with file, line and column.

    Includes are refused unless ``include_root`` is given."""
    from .dhcpd.importer import plan_import
    from .dhcpd.parser import DEFAULT_MAX_BYTES, parse_text

    with without_cycle_collection():
        if tree is None:
            if text is None:
                raise TypeError("config_import_plan needs text or tree")
            tree = parse_text(
                text,
                filename=filename,
                include_root=include_root,
                max_bytes=max_bytes or DEFAULT_MAX_BYTES,
            )
        return plan_import(server=server, config=tree, filename=filename, created=created)


def config_import(
    *,
    server: DhcpServer,
    text: str | None = None,
    tree: Any = None,
    filename: str = "<text>",
    include_root: str | None = None,
    max_bytes: int | None = None,
    expected_fingerprint: str | None = None,
    actor: Actor = None,
) -> Any:
    """Import a dhcpd.conf into ``server`` (created first if unsaved), in one transaction.

    With ``expected_fingerprint`` (the previewed plan's), the plan is computed again inside
    the transaction, with the server locked, and :class:`StaleImportPlan` is raised (nothing
    changed) if it differs from what was previewed."""
    original = server
    with without_cycle_collection(), transaction.atomic():
        created = server.pk is None
        if created:
            fields = {"name": server.name, "address": server.address}
            if server.description:
                fields["description"] = server.description
            server = server_create(actor=actor, **fields)
        DhcpServer.objects.select_for_update().filter(pk=server.pk).exists()
        plan = config_import_plan(
            server=server,
            text=text,
            tree=tree,
            filename=filename,
            include_root=include_root,
            max_bytes=max_bytes,
            created=created,
        )
        if expected_fingerprint is not None and plan.fingerprint != expected_fingerprint:
            raise StaleImportPlan(plan)
        _import_apply(plan)
        # The plan worked on its own copy of the server: bring the caller's up to date.
        for name in ("pk", "name", "address", "description", "omapi_port", "statements"):
            setattr(original, name, getattr(plan.server, name))
        original._state.adding, original._state.db = False, plan.server._state.db
        counts = plan.counts()
        _record(
            actor,
            "config_import",
            f"Imported {plan.filename} into {server}: {counts['created']} created, "
            f"{counts['changed']} changed, {counts['deleted']} deleted, "
            f"{counts['kept']} statement(s) kept verbatim",
        )
    return plan


_PEER_WRITE_FIELDS = (*FailoverPeer.STATEMENT_FIELDS, "statements")
_GROUP_WRITE_FIELDS = ("parent", "kind", "name", "quoted", "position", "statements")
_SCOPE_WRITE_FIELDS = (
    "group",
    "position",
    "routers",
    "domain_name_servers",
    "domain_name",
    "default_lease_time",
    "max_lease_time",
    "statements",
)
_POOL_WRITE_FIELDS = (
    "scope",
    "failover_peer",
    "group",
    "position",
    "bare",
    "dynamic_bootp",
    "peer_statement",
    "statements",
)


def _chunks(items: list, size: int = IMPORT_BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


# Columns whose validated Python values (str, int, bool, None) the database drivers take as
# they are: get_db_prep_save would only convert them to the type they already have.
_PLAIN_COLUMNS = frozenset(
    {
        "CharField",
        "TextField",
        "IntegerField",
        "SmallIntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "PositiveBigIntegerField",
        "BooleanField",
    }
)


def _insert(model: Any, objects: list, batch: int = 2000) -> None:
    """INSERT validated new rows in batches (a prepared statement run per row on SQLite,
    COPY on PostgreSQL).

    What bulk_create does, without its per-value SQL compilation, which is most of its
    time for 10,000 rows of a dozen columns. Values go through each field's
    ``get_db_prep_save``, so every database gets what the ORM would send; a foreign key
    takes the primary key of the object it was given (saved before). The caller sets the
    primary keys it needs afterwards."""
    if not objects:
        return
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    # SQLite runs a prepared statement per row fastest; PostgreSQL takes rows fastest by
    # COPY (psycopg 3 adapts the same values, JSON included).
    copy_sql = None
    if connection.vendor == "postgresql":
        copy_sql = "COPY {} ({}) FROM STDIN".format(
            quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
        )
    columns = []
    for f in fields:
        if f.is_relation:
            columns.append((f.attname, f.name, None))
        elif f.get_internal_type() in _PLAIN_COLUMNS:
            columns.append((f.attname, None, None))  # validated str/int/bool: sent as is
        else:
            columns.append((f.attname, None, f.get_db_prep_save))
    with connection.cursor() as cursor:
        for chunk in _chunks(objects, batch):
            rows = []
            for obj in chunk:
                values = obj.__dict__
                row = []
                for attname, relation, prep in columns:
                    if relation is not None:
                        related = obj._state.fields_cache.get(relation)
                        if related is not None:
                            if related.pk is None:
                                raise ValueError(f"{relation} of {obj!r} is not saved")
                            values[attname] = related.pk
                        row.append(values.get(attname))
                    elif prep is None:
                        row.append(values.get(attname))
                    else:
                        row.append(prep(values.get(attname), connection))
                rows.append(row)
            if copy_sql is not None:
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(sql, rows)


def _import_apply(plan: Any) -> None:
    """Write a validated plan. Order: what others refer to is created first and deleted
    last (peers and groups around scopes, scopes around pools); new scopes are created
    before old ones go, so a range can move to a new scope."""
    from .models import ScopeGroup

    server = plan.server
    if plan.server_fields:
        server.save(update_fields=plan.server_fields)
    for peer in plan.peers_create:
        peer.server = server
    FailoverPeer.objects.bulk_create(plan.peers_create, batch_size=IMPORT_BATCH)
    if plan.peers_update:
        FailoverPeer.objects.bulk_update(
            plan.peers_update, _PEER_WRITE_FIELDS, batch_size=IMPORT_BATCH
        )
    for level in plan.groups_create:
        for group in level:
            group.server = server
        ScopeGroup.objects.bulk_create(level, batch_size=IMPORT_BATCH)
    if plan.groups_update:
        ScopeGroup.objects.bulk_update(
            plan.groups_update, _GROUP_WRITE_FIELDS, batch_size=IMPORT_BATCH
        )
    for scope in plan.scopes_create:
        scope.server = server
    _insert(Scope, plan.scopes_create)
    if plan.scopes_create:  # their ids, for the pools (one query; RETURNING is not portable)
        ids = dict(Scope.objects.filter(server=server).values_list("network", "pk"))
        for scope in plan.scopes_create:
            scope.pk = ids[scope.network]
            scope._state.adding = False
            scope._state.db = "default"
    if plan.scopes_update:
        Scope.objects.bulk_update(plan.scopes_update, _SCOPE_WRITE_FIELDS, batch_size=IMPORT_BATCH)
    _insert(AddressPool, plan.pools_create)
    if plan.pools_update:
        AddressPool.objects.bulk_update(
            plan.pools_update, _POOL_WRITE_FIELDS, batch_size=IMPORT_BATCH
        )
    for model, objects in (
        (AddressPool, plan.pools_delete),
        (Scope, plan.scopes_delete),
        (FailoverPeer, plan.peers_delete),
        (ScopeGroup, plan.groups_delete),
    ):
        for chunk in _chunks([obj.pk for obj in objects]):
            model.objects.filter(pk__in=chunk).delete()
