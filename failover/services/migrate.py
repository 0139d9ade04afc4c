"""Migrate a scope to the failover peer: the partner server gets the mirrored peer
declaration, the scope with its options and the same failover pools.

:func:`scope_migrate_plan` says what would be created, changed and deleted on the partner
(including the first-peer rule there and the peers the last-referrer rule deletes);
:func:`scope_migrate_to_partner` computes the same plan inside its transaction and applies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import AddressPool, DhcpServer, FailoverPeer, Scope
from ._base import (
    Actor,
    PeerFields,
    ScopeFields,
    _apply,
    _delete_peers,
    _messages,
    _record,
    _save_new,
    current,
    lock_servers,
    peers_orphaned_by,
    retry_on_deadlock,
)
from .peers import peer_create
from .scopes import scope_create, scope_update

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
    from ..dhcpd.pair import partner_of

    plan = MigratePlan(scope=scope)
    pools = sorted(scope.pools.select_related("failover_peer"), key=_ip_key)
    failover_pools = [p for p in pools if p.failover_peer_id]
    pool_peers = {p.pk: cast(FailoverPeer, p.failover_peer) for p in failover_pools}
    plan.pools_not_copied = [p for p in pools if not p.failover_peer_id]
    if not failover_pools:
        plan.errors.append(
            f"No address pool of {scope.network} refers to a failover peer: there is nothing "
            "to migrate."
        )
        return plan
    peers = sorted({p.pk: p for p in pool_peers.values()}.values(), key=lambda p: p.name)
    found = {peer.pk: partner_of(peer) for peer in peers}
    partners: dict[int, DhcpServer] = {}
    for peer in peers:
        server = found[peer.pk]
        if server is None:
            plan.errors.append(
                f"The partner server of failover peer '{peer.name}' is not managed here: add "
                f"the server at {peer.peer_address}, or set the peer's Partner Server."
            )
        else:
            partners[peer.pk] = server
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
                label = str(getattr(Scope._meta.get_field(name), "verbose_name", name))
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

    wanted = {(p.first_address, p.last_address): pool_peers[p.pk].name for p in failover_pools}
    matched = set()
    leaving = []  # partner pools that stop referring to their (existing) peer
    for pool in partner_pools:
        key = (pool.first_address, pool.last_address)
        current = pool.failover_peer.name if pool.failover_peer is not None else None
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


@retry_on_deadlock
def scope_migrate_to_partner(*, scope: Scope, actor: Actor = None) -> MigratePlan:
    """Apply :func:`scope_migrate_plan` in one transaction. Running it twice changes nothing
    the second time (the plan is empty)."""
    with transaction.atomic():
        lock_servers(scope.server_id)
        current(Scope.objects.all(), scope, f"The scope {scope}")
        plan = scope_migrate_plan(scope=scope)
        if plan.errors:
            raise ValidationError(plan.errors)
        if plan.is_empty:
            return plan
        partner = plan.partner
        assert partner is not None  # a plan without errors has a partner
        # The partner is known only from the plan: locked second (a deadlock with a migration
        # the other way round is retried by retry_on_deadlock).
        lock_servers(partner)
        for mirrored in plan.peers_to_create:
            peer_fields = {name: getattr(mirrored, name) for name in PEER_CREATE_FIELDS}
            peer_create(server=partner, actor=actor, **cast(PeerFields, peer_fields))
        peers = {p.name: p for p in partner.failover_peers.all()}
        if plan.scope_to_create is not None:
            options = {name: getattr(scope, name) for name in SCOPE_OPTION_FIELDS}
            scope_fields = cast(ScopeFields, {"network": scope.network, **options})
            target = scope_create(server=partner, actor=actor, **scope_fields)
        else:
            assert plan.partner_scope is not None  # reconciled when not created
            target = plan.partner_scope
            if plan.scope_changes:
                changes = {c.field: c.new for c in plan.scope_changes}
                scope_update(scope=target, actor=actor, **cast(ScopeFields, changes))
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
