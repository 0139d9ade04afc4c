"""What every area of the services shares: the actor, the confirmation a rule can ask for,
the change record, validated save helpers, the typed field sets, and the last-referrer rule.

The last-referrer rule (Micetro's "Managing Failover Configurations for ISC DHCP"): when a
pool that is the last one referring to a peer changes to another peer (or none, or is
deleted, or goes with its scope), that peer is deleted too, after the user confirmed it.
:func:`peers_orphaned_by` finds those peers and :func:`orphan_message` is the one wording of
the rule that pages and admin show.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict, TypeVar

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Count

from ..models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope

#: Who asked for a change (``request.user``); recorded in the ChangeRecord when signed in.
Actor = AbstractBaseUser | AnonymousUser | None

M = TypeVar("M", bound=models.Model)


class ConfirmationRequired(Exception):
    """The operation has a consequence the user must confirm first (nothing was changed)."""

    def __init__(self, message: str, *, peers_to_delete: list[FailoverPeer]):
        super().__init__(message)
        self.message = message
        self.peers_to_delete = peers_to_delete


# --- the typed field sets of the create/update functions --------------------------------
#
# The keys of ScopeOptions and PeerStatements are Scope.OPTION_FIELDS and
# FailoverPeer.STATEMENT_FIELDS (tests/test_services_plans.py keeps them equal).


class ServerFields(TypedDict, total=False):
    name: str
    address: str
    description: str
    omapi_port: int | None


class ScopeOptions(TypedDict, total=False):
    """The options of a scope (``Scope.OPTION_FIELDS``)."""

    routers: str
    domain_name_servers: str
    domain_name: str
    default_lease_time: int | None
    max_lease_time: int | None


class ScopeFields(ScopeOptions, total=False):
    network: str
    name: str


class PeerStatements(TypedDict, total=False):
    """The statements of a ``failover peer`` declaration (``FailoverPeer.STATEMENT_FIELDS``)."""

    role: str
    address: str
    port: int
    peer_address: str
    peer_port: int
    max_response_delay: int
    max_unacked_updates: int
    mclt: int | None
    split: int | None
    hba: str
    load_balance_max_seconds: int | None
    auto_partner_down: int | None
    max_lease_misbalance: int | None
    max_lease_ownership: int | None
    min_balance: int | None
    max_balance: int | None


class PeerFields(PeerStatements, total=False):
    name: str
    partner_server: DhcpServer | None


# --- recording and saving ----------------------------------------------------------------


def _record(actor: Actor, action: str, summary: str) -> None:
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    ChangeRecord.objects.create(user=user, action=action, summary=summary)


def _save_new(obj: M) -> M:
    obj.full_clean()
    obj.save()
    return obj


def _apply(obj: M, fields: Mapping[str, object]) -> M:
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    return obj


def _candidate(obj: M, fields: Mapping[str, object]) -> M:
    """A validated copy of ``obj`` with ``fields`` set: what an update would save.

    The caller's instance is not touched; :func:`_adopt_values` copies the values onto it."""
    candidate = copy.copy(obj)
    for name, value in fields.items():
        setattr(candidate, name, value)
    candidate.full_clean()
    return candidate


def _adopt_values(obj: M, candidate: M, names: Iterable[str]) -> M:
    """Give ``obj`` the validated values of ``candidate`` and save it."""
    for name in names:
        setattr(obj, name, getattr(candidate, name))
    obj.save()
    return obj


def _messages(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {' '.join(msgs)}" if name != "__all__" else " ".join(msgs)
            for name, msgs in error.message_dict.items()
        )
    return " ".join(error.messages)


@dataclass
class DeletePlan:
    """What goes with a delete: shown in the confirmation, then done by the same code."""

    scopes: list[Scope] = field(default_factory=list)
    pools: list[AddressPool] = field(default_factory=list)
    peers: list[FailoverPeer] = field(default_factory=list)


@dataclass
class PeerChangeResult:
    changed: int
    deleted_peers: list[FailoverPeer]


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


def orphan_message(peers: list[FailoverPeer]) -> str:
    """The last-referrer rule in words: the one wording pages and admin show."""
    names = ", ".join(f"'{p.name}'" for p in peers)
    if len(peers) == 1:
        return (
            f"No other address pool refers to the failover peer {names}: "
            "this change will delete that failover peer."
        )
    return f"No other address pool refers to the failover peers {names}: this deletes them."


def _check_orphans(orphaned: list[FailoverPeer], confirm: bool) -> list[FailoverPeer]:
    if orphaned and not confirm:
        raise ConfirmationRequired(orphan_message(orphaned), peers_to_delete=orphaned)
    return orphaned


def _delete_peers(peers: list[FailoverPeer], actor: Actor, reason: str) -> None:
    for peer in peers:
        if peer.pools.exists():  # guarded by the callers; never delete a referenced peer
            raise ValidationError(f"Failover peer '{peer.name}' is still referred to.")
        _record(
            actor, "peer_delete", f"Deleted failover peer '{peer.name}' on {peer.server}: {reason}"
        )
        peer.delete()
