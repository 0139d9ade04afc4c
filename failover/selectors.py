"""Shared reads: what the pages and commands show, in one place.

Views call these and pass the results to their templates in the context; templates do no
queries of their own. Every read costs what the page shows, not what the database holds:

- lists are paginated in SQL, in numeric order (the integer columns of scopes and pools);
- the failover relationships of a server are computed from that server and its partners
  only (:func:`failover.dhcpd.pair.relationships` with ``server=``), and kept under the data
  version (:mod:`failover.versioning`), so the pages pay for the pair check once per change;
- a scope's failover state is computed from that one network on both servers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from .dhcpd import pair
from .models import AddressPool, DhcpServer, FailoverPeer, Scope, ipv4_int
from .validators import is_ipv4
from .versioning import cached

SCOPES_PER_PAGE = 50


# --- servers -------------------------------------------------------------------------------


def count_of(model: type[Model], **filters: object) -> Coalesce:
    """A correlated COUNT(*) subquery per row: several counts do not multiply each other's
    rows, and a page of rows costs its rows, not the table (a ``Count()`` join would GROUP BY
    the whole table before the LIMIT). Sortable."""
    rows = (
        model._default_manager.filter(**filters)
        .order_by()
        .values(*filters.keys())
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def servers_with_counts() -> QuerySet[DhcpServer]:
    """Every server with its numbers of scopes, pools and failover peers, by name."""
    return DhcpServer.objects.annotate(
        scope_count=count_of(Scope, server=OuterRef("pk")),
        pool_count=count_of(AddressPool, scope__server=OuterRef("pk")),
        peer_count=count_of(FailoverPeer, server=OuterRef("pk")),
    ).order_by("name")


@dataclass(frozen=True)
class ServerCounts:
    scopes: int
    pools: int
    peers: int


def server_counts(server: DhcpServer) -> ServerCounts:
    """The exact numbers of a server's scopes, pools and peers (one query counting the
    server's rows, kept per data version)."""

    def compute() -> ServerCounts:
        rows = servers_with_counts().filter(pk=server.pk)
        return ServerCounts(
            *rows.values_list(
                "scope_count",
                "pool_count",
                "peer_count",  # type: ignore[misc]  # annotations django-stubs does not follow
            )[0]
        )

    return cached(f"server-counts:{server.pk}", compute)


def server_peers(server: DhcpServer) -> list[FailoverPeer]:
    """A server's failover peers by name, each with ``pool_count`` (kept per data version:
    counting a peer's pools reads all of them; the list is shared, read-only)."""
    return cached(
        f"server-peers:{server.pk}",
        lambda: list(server.failover_peers.with_pool_counts().order_by("name")),
    )


# --- failover relationships ------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeFailover:
    """A scope's place in a relationship, for its page."""

    relationship: pair.Relationship
    scope: pair.RelationshipScope

    @property
    def partner_managed(self) -> bool:
        rel = self.relationship
        return rel.primary_server is not None and rel.secondary_server is not None

    @property
    def finalized(self) -> bool:
        return self.partner_managed and self.scope.finalized


@dataclass(frozen=True)
class RelationshipView:
    """What the pages show of a relationship: its two sides, the findings of the relationship
    itself, the first few findings of single scopes, and its numbers.

    This, not the pair check's :class:`~failover.dhcpd.pair.Relationship` (one object per
    scope and per finding), is what is kept per data version: a handful of objects, so
    Python's cycle collector has nothing large to walk on every full collection (with
    20,000 kept scopes it paused requests for up to 200 ms)."""

    FIRST = 5  # findings of single scopes named on the pages; the rest are counted

    name: str
    primary_server: DhcpServer | None
    primary_peer: FailoverPeer | None
    secondary_server: DhcpServer | None
    secondary_peer: FailoverPeer | None
    scope_count: int
    not_finalized_count: int
    other_findings: tuple[pair.Finding, ...]
    first_scope_findings: tuple[pair.Finding, ...]
    scope_finding_count: int

    @classmethod
    def of(cls, rel: pair.Relationship) -> RelationshipView:
        scope_findings = rel.scope_findings
        managed = rel.primary_server is not None and rel.secondary_server is not None
        return cls(
            name=rel.name,
            primary_server=rel.primary_server,
            primary_peer=rel.primary_peer,
            secondary_server=rel.secondary_server,
            secondary_peer=rel.secondary_peer,
            scope_count=len(rel.scopes),
            not_finalized_count=len(rel.not_finalized) if managed else 0,
            other_findings=tuple(rel.other_findings),
            first_scope_findings=tuple(scope_findings[: cls.FIRST]),
            scope_finding_count=len(scope_findings),
        )

    @property
    def finding_count(self) -> int:
        return self.scope_finding_count + len(self.other_findings)

    @property
    def ok(self) -> bool:
        return not self.finding_count

    @property
    def more_scope_findings(self) -> int:
        return self.scope_finding_count - len(self.first_scope_findings)

    @property
    def first_severity(self) -> str:
        """The severity of the first finding (the badge's colour), or "" when none."""
        first = (*self.other_findings, *self.first_scope_findings)[:1]
        return first[0].severity if first else ""

    @property
    def servers(self) -> list[DhcpServer]:
        return [s for s in (self.primary_server, self.secondary_server) if s is not None]

    @property
    def managed(self) -> bool:
        """Both servers are in dhcpadmin."""
        return self.primary_server is not None and self.secondary_server is not None

    @property
    def page_peer(self) -> FailoverPeer | None:
        """The peer declaration whose pk names the relationship's page (the primary's when
        both exist)."""
        return self.primary_peer or self.secondary_peer


@dataclass
class ServerFailover:
    """The relationships of one server with their pair check, and, in numeric order, which
    of its scopes are not finalized on the partner, which have failover pools, and which
    are in each relationship (by the name of this server's failover peer)."""

    relationships: list[RelationshipView]
    not_finalized: dict[int, str] = field(default_factory=dict)  # scope pk -> relationship
    not_finalized_ids: list[int] = field(default_factory=list)
    failover_ids: list[int] = field(default_factory=list)
    relationship_ids: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def compute(cls, server: DhcpServer) -> ServerFailover:
        rels = pair.relationships(server=server)
        flagged = pair.not_finalized_scopes(rels)
        keys: dict[int, tuple[int, str]] = {}  # scope pk -> numeric order
        by_peer: dict[str, set[int]] = {}  # the server's peer name -> its scopes in the rel.
        with_pools: set[int] = set()  # scopes with failover pools on this server
        for rel in rels:
            mine = rel.primary_server is not None and rel.primary_server.pk == server.pk
            peer = rel.primary_peer if mine else rel.secondary_peer
            for rs in rel.scopes:
                scope, ranges = (
                    (rs.primary_scope, rs.primary_ranges)
                    if mine
                    else (rs.secondary_scope, rs.secondary_ranges)
                )
                if scope is None:
                    continue
                keys[scope.pk] = (scope.first_int or 0, scope.network)
                if peer is not None:
                    by_peer.setdefault(peer.name, set()).add(scope.pk)
                if ranges:
                    with_pools.add(scope.pk)

        def ordered(ids: Iterable[int]) -> list[int]:
            return sorted(ids, key=lambda pk: keys[pk])

        flagged_here = ordered(pk for pk in flagged if pk in keys)
        return cls(
            [RelationshipView.of(rel) for rel in rels],
            {pk: flagged[pk].name for pk in flagged_here},
            flagged_here,
            ordered(with_pools),
            {name: ordered(ids) for name, ids in by_peer.items()},
        )


def server_failover(server: DhcpServer) -> ServerFailover:
    """The relationships of ``server`` (from it and its partners only), kept per data
    version: one cheap query when nothing changed since the last request."""
    return cached(f"server-failover:{server.pk}", lambda: ServerFailover.compute(server))


def relationship_of_peer(peer: FailoverPeer) -> RelationshipView | None:
    """The relationship ``peer`` declares (either side), from its server's kept
    relationships, or None when the pair check does not pair it."""
    for rel in server_failover(peer.server).relationships:
        if peer.pk in {p.pk for p in (rel.primary_peer, rel.secondary_peer) if p is not None}:
            return rel
    return None


def scope_failover(scope: Scope) -> ScopeFailover | None:
    """The relationship ``scope`` belongs to through its failover pools, computed from that
    one network on its server and the partners (a scope's worth of rows), or None."""
    for rel in pair.relationships(server=scope.server, network=scope.network):
        for rs in rel.scopes:
            if scope.pk in {s.pk for s in (rs.primary_scope, rs.secondary_scope) if s}:
                return ScopeFailover(rel, rs)
    return None


# --- a server's scopes: search, filters, pages ---------------------------------------------

SHOW_CHOICES = (
    ("", "All scopes"),
    ("failover", "With failover"),
    ("no-failover", "Without failover"),
    ("not-finalized", "Not finalized"),
)


@dataclass
class ScopeListing:
    """One page of a server's scopes, with what was asked for."""

    page: Page[Any]
    scopes: list[Scope]
    query: str
    show: str
    relationship: str
    failover: ServerFailover

    @cached_property
    def filtered(self) -> bool:
        return bool(self.query or self.show or self.relationship)

    @property
    def matching(self) -> int:
        return self.page.paginator.count

    def not_finalized_in(self, scope: Scope) -> str | None:
        """The name of the relationship in which ``scope`` is not finalized, or None."""
        return self.failover.not_finalized.get(scope.pk)


def _search(server: DhcpServer, scopes: QuerySet[Scope], query: str) -> QuerySet[Scope]:
    """A network (its text, or an address inside it), a name, or a failover peer's name."""
    query = query.strip()
    if not query:
        return scopes
    match = Q(network__startswith=query) | Q(name__icontains=query)
    # The server's peers of that name first (a few rows), then their pools' scopes: no
    # subquery per scope when the search is not a peer's name.
    peer_ids = list(server.failover_peers.filter(name__iexact=query).values_list("pk", flat=True))
    if peer_ids:
        with_peer = AddressPool.objects.filter(failover_peer_id__in=peer_ids).values("scope_id")
        match |= Q(pk__in=Subquery(with_peer))
    address = query.split("/", 1)[0]
    if is_ipv4(address):
        number = ipv4_int(address)
        match |= Q(first_int__lte=number, last_int__gte=number)
    return scopes.filter(match)


def server_scopes(
    server: DhcpServer,
    *,
    query: str = "",
    show: str = "",
    relationship: str = "",
    page: int | str = 1,
    per_page: int = SCOPES_PER_PAGE,
) -> ScopeListing:
    """One page of ``server``'s scopes in numeric order, with their pools and peers.

    ``query`` searches networks, names and failover peer names; ``show`` is one of
    :data:`SHOW_CHOICES`; ``relationship`` keeps the scopes whose pools refer to that
    failover peer. Unknown values show everything rather than fail."""
    failover = server_failover(server)
    if show not in {value for value, _ in SHOW_CHOICES}:
        show = ""
    scopes = _search(server, Scope.objects.filter(server=server), query)
    pools = Prefetch(
        "pools",
        queryset=AddressPool.objects.select_related("failover_peer").order_by("first_int"),
    )
    if relationship or show in ("failover", "not-finalized"):
        # Which scopes have failover pools, of which peer, and which are not finalized is
        # known from the pair check (kept per data version), already in numeric order: the
        # page takes its slice of those ids; SQL narrows them only for a search.
        with_pools = set(failover.failover_ids)
        if relationship:
            ids = failover.relationship_ids.get(relationship, [])
        elif show == "not-finalized":
            ids = failover.not_finalized_ids
        else:
            ids = failover.failover_ids
        if show == "failover":
            ids = [pk for pk in ids if pk in with_pools]
        elif show == "no-failover":
            ids = [pk for pk in ids if pk not in with_pools]
        elif show == "not-finalized":
            flagged = set(failover.not_finalized_ids)
            ids = [pk for pk in ids if pk in flagged]
        if query:
            wanted = set(scopes.values_list("pk", flat=True))
            ids = [pk for pk in ids if pk in wanted]
        id_page = Paginator(ids, per_page).get_page(page)
        by_pk = Scope.objects.filter(pk__in=list(id_page.object_list)).prefetch_related(pools)
        found = {scope.pk: scope for scope in by_pk}
        listed = [found[pk] for pk in id_page.object_list if pk in found]
        current: Page[Any] = id_page
    else:
        if show == "no-failover":
            failover_pools = AddressPool.objects.filter(
                scope=OuterRef("pk"), failover_peer__isnull=False
            )
            scopes = scopes.exclude(Exists(failover_pools))
        ordered = scopes.order_by("first_int", "-last_int", "pk").prefetch_related(pools)
        current = Paginator(ordered, per_page).get_page(page)
        listed = list(current.object_list)
    return ScopeListing(current, listed, query.strip(), show, relationship, failover)


# --- the Failover Relationships page -------------------------------------------------------


def relationship_summaries() -> list[RelationshipView]:
    """Every relationship with its numbers of scopes and findings (per data version)."""
    return cached(
        "relationship-summaries", lambda: [RelationshipView.of(r) for r in pair.relationships()]
    )
