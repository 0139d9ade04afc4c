"""Failover peers: create, change and delete, with the seed's rules.

- first peer: when a server's first failover peer is created, all other address pools on
  the server are updated to refer to it (:func:`peer_create_plan` counts them);
- deleting a peer: the last peer on the server -> references are removed; exactly one other
  peer -> references move to it; two or more others -> the user chooses the replacement
  (:func:`peer_delete` for one peer, :func:`peers_delete` for several, across servers).

Each ``*_plan`` says what its operation would do; the operation computes the same plan
inside its transaction, so a preview and the action never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Unpack

from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import AddressPool, DhcpServer, FailoverPeer
from ._base import (
    Actor,
    PeerFields,
    _adopt_values,
    _candidate,
    _record,
    current,
    lock_servers,
    retry_on_deadlock,
)

# --- create and change ---------------------------------------------------------------------


@dataclass
class PeerCreatePlan:
    """What :func:`peer_create` would do: save ``peer`` and, when it is the server's first
    peer, point ``pools_assigned`` pools at it."""

    peer: FailoverPeer  # validated, unsaved
    first: bool
    pools_assigned: int


@dataclass
class PeerCreateResult:
    peer: FailoverPeer
    pools_assigned: int


def peer_create_plan(*, server: DhcpServer, **fields: Unpack[PeerFields]) -> PeerCreatePlan:
    peer = FailoverPeer(server=server, **fields)
    peer.full_clean()
    first = not server.failover_peers.exists()
    assigned = AddressPool.objects.for_server(server).count() if first else 0
    return PeerCreatePlan(peer=peer, first=first, pools_assigned=assigned)


@retry_on_deadlock
def peer_create(
    *, server: DhcpServer, actor: Actor = None, **fields: Unpack[PeerFields]
) -> PeerCreateResult:
    """Create a failover peer. The server's first peer is assigned to all its pools."""
    with transaction.atomic():
        # The server's lock first: the unique name and the first-peer rule see every peer
        # and pool saved before this one.
        lock_servers(server)
        plan = peer_create_plan(server=server, **fields)
        peer = plan.peer
        peer.save()
        assigned = 0
        if plan.first:
            # Validated: the pools are the server's own and none has a peer yet.
            assigned = AddressPool.objects.for_server(server).update(failover_peer=peer)
        _record(
            actor,
            "peer_create",
            f"Created failover peer '{peer.name}' on {server}"
            + (f"; its first peer, so {assigned} pool(s) now refer to it" if plan.first else ""),
        )
    return PeerCreateResult(peer=peer, pools_assigned=assigned)


def _peer_update_values(peer: FailoverPeer, fields: PeerFields) -> dict[str, Any]:
    values: dict[str, Any] = dict(fields)
    if values.get("role", peer.role) == FailoverPeer.Role.SECONDARY:
        # Switching to secondary drops the primary-only statements unless given.
        for name in FailoverPeer.PRIMARY_ONLY_FIELDS:
            values.setdefault(name, "" if name == "hba" else None)
    return values


def peer_update_plan(*, peer: FailoverPeer, **fields: Unpack[PeerFields]) -> FailoverPeer:
    """A validated copy of ``peer`` with ``fields`` set (``peer`` is not changed). Switching
    to secondary drops the primary-only statements unless they are given."""
    return _candidate(peer, _peer_update_values(peer, fields))


@retry_on_deadlock
def peer_update(
    *, peer: FailoverPeer, actor: Actor = None, **fields: Unpack[PeerFields]
) -> FailoverPeer:
    with transaction.atomic():
        lock_servers(peer.server_id)
        current(FailoverPeer.objects.all(), peer, "The failover peer")
        candidate = peer_update_plan(peer=peer, **fields)
        _adopt_values(peer, candidate, _peer_update_values(peer, fields))
        _record(actor, "peer_update", f"Changed failover peer '{peer.name}' on {peer.server}")
    return peer


# --- delete one peer -------------------------------------------------------------------------

REMOVE, REPOINT, CHOOSE = "remove", "repoint", "choose"


def _case(others: list[FailoverPeer]) -> str:
    if not others:
        return REMOVE
    return REPOINT if len(others) == 1 else CHOOSE


@dataclass
class PeerDeletePlan:
    peer: FailoverPeer
    pools: list[AddressPool]
    others: list[FailoverPeer]

    REMOVE: ClassVar[str] = REMOVE
    REPOINT: ClassVar[str] = REPOINT
    CHOOSE: ClassVar[str] = CHOOSE

    @property
    def case(self) -> str:
        return _case(self.others)

    @property
    def replacement(self) -> FailoverPeer | None:
        return self.others[0] if self.case == self.REPOINT else None


def peer_delete_plan(*, peer: FailoverPeer) -> PeerDeletePlan:
    return PeerDeletePlan(
        peer=peer,
        pools=list(peer.pools.select_related("scope")),
        others=list(peer.server.failover_peers.exclude(pk=peer.pk).order_by("name")),
    )


def _delete_peer(peer: FailoverPeer, target: FailoverPeer | None, actor: Actor) -> int:
    """Point the pools of ``peer`` at ``target`` (or none), record, delete the peer."""
    moved = peer.pools.update(failover_peer=target)
    _record(
        actor,
        "peer_delete",
        f"Deleted failover peer '{peer.name}' on {peer.server}; {moved} pool(s) "
        + (f"now refer to '{target.name}'" if target else "no longer refer to a peer"),
    )
    peer.delete()
    return moved


@retry_on_deadlock
def peer_delete(
    *, peer: FailoverPeer, replacement: FailoverPeer | None = None, actor: Actor = None
) -> PeerDeletePlan:
    """Delete a peer the way the seed says (see the module docstring).

    With two or more other peers the caller must pass ``replacement``, one of them.
    """
    with transaction.atomic():
        # The server's lock first: no pool of the server can be pointed at this peer, or
        # the replacement deleted, while its pools move.
        lock_servers(peer.server_id)
        peer = current(
            FailoverPeer.objects.select_related("server"),
            peer,
            f"The failover peer {peer.name}",
        )
        if replacement is not None:
            replacement = current(
                FailoverPeer.objects.all(),
                replacement,
                f"The failover peer {replacement.name} (the replacement)",
            )
        plan = peer_delete_plan(peer=peer)
        target: FailoverPeer | None
        if plan.case == plan.REMOVE:
            target = None
        elif plan.case == plan.REPOINT:
            target = plan.others[0]
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
        _delete_peer(peer, target, actor)
    return plan


# --- delete several peers, across servers ----------------------------------------------------

CHOICE_NEEDED = "Choose which failover peer the address pools should refer to."


@dataclass
class ServerPeersDeletion:
    """Deleting ``peers`` of one server: where that server's pools go.

    ``case``: REMOVE (no peer is left: the pools refer to none), REPOINT (one is left: the
    pools refer to it), CHOOSE (two or more are left: ``target`` is the replacement the
    user chose, or None when the choice is still needed)."""

    server: DhcpServer
    peers: list[FailoverPeer]
    remaining: list[FailoverPeer]
    pools: dict[int, list[AddressPool]]  # peer pk -> its pools
    target: FailoverPeer | None

    @property
    def case(self) -> str:
        return _case(self.remaining)

    @property
    def needs_choice(self) -> bool:
        return self.case == CHOOSE and self.target is None

    def fate(self) -> str:
        """What happens to the pools of these peers, in words."""
        if self.needs_choice:
            return "will refer to the failover peer you choose"
        if self.target is None:
            return "will no longer refer to a failover peer"
        return f"will refer to '{self.target.name}'"


@dataclass
class PeersDeletePlan:
    servers: list[ServerPeersDeletion] = field(default_factory=list)

    @property
    def peers(self) -> list[FailoverPeer]:
        return [peer for group in self.servers for peer in group.peers]

    @property
    def pool_count(self) -> int:
        return sum(len(p) for group in self.servers for p in group.pools.values())

    @property
    def needs_choice(self) -> list[ServerPeersDeletion]:
        return [group for group in self.servers if group.needs_choice]

    def preview(self) -> list[Any]:
        """The lines of a delete confirmation (nested lists: each peer, then its pools)."""
        lines: list[Any] = []
        for group in self.servers:
            fate = group.fate()
            for peer in group.peers:
                lines.append(f"Failover peer: {peer.name} on {group.server}")
                sub = [
                    f"Address pool {pool} in {pool.scope.network}: {fate}"
                    for pool in group.pools.get(peer.pk, [])
                ]
                if sub:
                    lines.append(sub)
        return lines


def peers_delete_plan(
    *, peers: Iterable[FailoverPeer], replacement: FailoverPeer | None = None
) -> PeersDeletePlan:
    """Where the pools go when ``peers`` are deleted, per server (the seed's three cases).

    ``replacement`` is the user's choice for the server it belongs to, when two or more of
    that server's peers are left; a server that needs a choice without one is listed in
    ``needs_choice``."""
    selected = sorted(
        FailoverPeer.objects.filter(pk__in=[p.pk for p in peers]).select_related("server"),
        key=lambda p: (p.server.name, p.server_id, p.name),
    )
    by_server: dict[int, list[FailoverPeer]] = {}
    for peer in selected:
        by_server.setdefault(peer.server_id, []).append(peer)
    remaining: dict[int, list[FailoverPeer]] = {sid: [] for sid in by_server}
    for other in (
        FailoverPeer.objects.filter(server_id__in=by_server)
        .exclude(pk__in=[p.pk for p in selected])
        .order_by("name")
    ):
        remaining[other.server_id].append(other)
    pools: dict[int, list[AddressPool]] = {}
    for pool in (
        AddressPool.objects.filter(failover_peer__in=selected)
        .select_related("scope")
        .order_by("scope__network", "first_address")
    ):
        assert pool.failover_peer_id is not None
        pools.setdefault(pool.failover_peer_id, []).append(pool)
    plan = PeersDeletePlan()
    for server_id, group in by_server.items():
        left = remaining[server_id]
        target: FailoverPeer | None = None
        if len(left) == 1:
            target = left[0]
        elif len(left) > 1 and replacement is not None:
            target = next((p for p in left if p.pk == replacement.pk), None)
        plan.servers.append(
            ServerPeersDeletion(
                server=group[0].server,
                peers=group,
                remaining=left,
                pools={p.pk: pools.get(p.pk, []) for p in group},
                target=target,
            )
        )
    return plan


@retry_on_deadlock
def peers_delete(
    *,
    peers: Iterable[FailoverPeer],
    replacement: FailoverPeer | None = None,
    actor: Actor = None,
) -> PeersDeletePlan:
    """Delete ``peers`` (of one or more servers) in one transaction, as
    :func:`peers_delete_plan` says. Refuses with ValidationError, changing nothing, when a
    server needs the user's choice of a replacement."""
    peers = list(peers)
    with transaction.atomic():
        server_ids = {p.server_id for p in peers}
        lock_servers(*server_ids, replacement.server_id if replacement else None)
        if replacement is not None:
            replacement = current(
                FailoverPeer.objects.all(),
                replacement,
                f"The failover peer {replacement.name} (the replacement)",
            )
        plan = peers_delete_plan(peers=peers, replacement=replacement)
        if plan.needs_choice:
            raise ValidationError(
                [
                    f"{CHOICE_NEEDED} Two or more other failover peers are left on "
                    f"{group.server}: {', '.join(p.name for p in group.remaining)}."
                    for group in plan.needs_choice
                ]
            )
        for group in plan.servers:
            for peer in group.peers:
                _delete_peer(peer, group.target, actor)
    return plan
