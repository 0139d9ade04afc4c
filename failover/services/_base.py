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
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypedDict, TypeVar

from django.apps import apps
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import IntegrityError, OperationalError, models, transaction
from django.db.models import Count, ProtectedError, QuerySet, RestrictedError

from ..models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope

#: Who asked for a change (``request.user``); recorded in the ChangeRecord when signed in.
Actor = AbstractBaseUser | AnonymousUser | None

M = TypeVar("M", bound=models.Model)
P = ParamSpec("P")
R = TypeVar("R")


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
    omapi_host: str
    omapi_key_name: str
    omapi_key_secret: str  # write-only: never put into a change record or a message


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


# --- concurrency: the locks that serialize the rules spanning rows, and lost races ---------
#
# Every service that adds, changes or deletes scopes, pools or failover peers first takes
# the write lock of the server row(s) they belong to (:func:`lock_servers`), then reads what
# its rules check (:func:`current`): two changes on one server run one after the other, so
# the overlap checks, the unique peer name, the first-peer and last-referrer rules and the
# re-pointing of a deleted peer's pools always see the other change's result. On PostgreSQL
# that is ``SELECT ... FOR UPDATE``; SQLite has no row locks, but every transaction takes the
# database's write lock when it begins (``"transaction_mode": "IMMEDIATE"`` in settings).
# Servers are always locked in the order of their pk, so two changes that lock two servers
# (a migration, a bulk action) cannot wait for each other in a circle.

#: What a change that lost a race raises: a lock it could not get (deadlock, timeout), a row
#: deleted meanwhile, a reference that appeared or vanished meanwhile.
LOST_RACE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    IntegrityError,
    ObjectDoesNotExist,
    RestrictedError,
    ProtectedError,
)

# PostgreSQL SQLSTATEs: deadlock, serialization failure (retried once), lock and statement
# timeouts (not retried: the other change holds the lock for long).
_RETRYABLE_STATES = {"40P01", "40001"}
_LOCK_STATES = _RETRYABLE_STATES | {"55P03", "57014"}


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    return state if isinstance(state, str) else None


def _sqlite_locked(exc: BaseException) -> bool:
    return "database is locked" in str(exc) or "database table is locked" in str(exc)


def is_deadlock(exc: BaseException) -> bool:
    """A deadlock or serialization failure (PostgreSQL), or SQLite's busy database: the
    transaction was rolled back and running it again from the start is safe."""
    return isinstance(exc, OperationalError) and (
        _sqlstate(exc) in _RETRYABLE_STATES or _sqlite_locked(exc)
    )


def retry_on_deadlock(func: Callable[P, R]) -> Callable[P, R]:
    """Run a service again, once, in a fresh transaction when it lost a deadlock.

    Only when the service owns its transaction (not inside a caller's ``atomic`` block,
    which the deadlock has doomed): then nothing of the first attempt was kept. The pks of
    model instances passed as arguments are restored first (a delete sets them to None)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        instances = [v for v in (*args, *kwargs.values()) if isinstance(v, models.Model)]
        pks = [obj.pk for obj in instances]
        try:
            return func(*args, **kwargs)
        except OperationalError as exc:
            if not is_deadlock(exc) or transaction.get_connection().in_atomic_block:
                raise
        for obj, pk in zip(instances, pks, strict=True):
            obj.pk = pk
        return func(*args, **kwargs)

    return wrapper


def _server_label(server: DhcpServer | int) -> str:
    return f"The server {server.name}" if isinstance(server, DhcpServer) else "The server"


def lock_servers(*servers: DhcpServer | int | None) -> None:
    """Take the write lock of these servers' rows (in pk order) for the rest of the
    transaction; raise DhcpServer.DoesNotExist when one was deleted meanwhile."""
    given = {s if isinstance(s, int) else s.pk: s for s in servers if s is not None}
    ids = sorted(pk for pk in given if pk is not None)
    found = set(
        DhcpServer.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for pk in ids:
        if pk not in found:
            server = given[pk]
            raise DhcpServer.DoesNotExist(
                f"{_server_label(server if server is not None else pk)} was deleted meanwhile."
            )


def current(queryset: QuerySet[M], obj: M, what: str) -> M:
    """The stored row of ``obj``, read after the lock (a caller's instance may be stale);
    DoesNotExist saying ``what`` was deleted meanwhile."""
    stored = queryset.filter(pk=obj.pk).first() if obj.pk is not None else None
    if stored is None:
        model: Any = queryset.model  # every model has its DoesNotExist (unknown to mypy)
        raise model.DoesNotExist(f"{what} was deleted meanwhile.")
    return stored


TRY_AGAIN = "Nothing was changed; what you see now is the current data: check it and try again."


def _deleted_model(exc: ObjectDoesNotExist) -> str:
    model: Any
    for model in apps.get_app_config("failover").get_models():
        if isinstance(exc, model.DoesNotExist):
            return f"The {model._meta.verbose_name}"
    return "Something it refers to"


def lost_race_message(exc: BaseException) -> str | None:
    """What changed meanwhile, in words, when ``exc`` says a change lost a race (None when it
    is another error). The one wording that dialogs, pages and the admin show."""
    if isinstance(exc, ObjectDoesNotExist):
        text = str(exc)
        if not text.endswith("was deleted meanwhile."):
            text = f"{_deleted_model(exc)} was deleted by someone else meanwhile."
    elif isinstance(exc, RestrictedError | ProtectedError):
        text = (
            "Something saved by someone else meanwhile still refers to it "
            "(an address pool now refers to this failover peer)."
        )
    elif isinstance(exc, IntegrityError):
        state, detail = _sqlstate(exc), str(exc)
        if state == "23503" or "FOREIGN KEY" in detail:
            text = "Something this change refers to was deleted by someone else meanwhile."
        elif state == "23505" or "UNIQUE" in detail:
            text = "Someone else saved the same name or network meanwhile."
        elif state == "23P01":
            text = "Someone else saved an overlapping address range meanwhile."
        else:
            text = "It conflicts with a change someone else saved meanwhile."
    elif isinstance(exc, OperationalError) and (
        _sqlstate(exc) in _LOCK_STATES or _sqlite_locked(exc)
    ):
        text = "Someone else was changing the same data at the same moment."
    else:
        return None
    return f"{text} {TRY_AGAIN}"
