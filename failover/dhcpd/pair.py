"""Failover relationships across servers, and the pair check.

``dhcpd -t`` sees one server; a failover relationship lives on two. This module pairs each
failover peer with its partner and checks what only both sides together can show.

A peer's **partner server** is, in this order:
1. the peer's explicit ``partner_server``;
2. the managed server that has a peer of the same name listening on this peer's
   ``peer_address`` (``address == peer_address``);
3. the managed server whose own ``address`` is this peer's ``peer_address``.

The pair check reports (``Finding.code``):
- ``not_managed``     the partner at the peer address is not a server managed here;
- ``name_mismatch``   the partner declares the mirrored peer under another name;
- ``roles``           not exactly one primary;
- ``mirror``          A's address/port are not B's peer address/peer port (or the reverse);
- ``primary_only``    mclt, split or hba on the secondary;
- ``load_balance``    different ``load balance max seconds`` on the two sides;
- ``unreferenced``    a peer no pool refers to (dhcpd refuses to start with it);
- ``not_finalized``   a scope of the relationship that is not on the partner yet;
- ``pools_differ``    the scope is on both servers but its failover pools differ.

Everything is computed from seven queries at most, whatever the number of servers, scopes and
pools; scopes and pools are read as tuples (:class:`ScopeRow`, :class:`PoolRow`), not model
instances. ``relationships(server=S)`` reads only S and its partners,
``relationships(server=S, network=N)`` only one network of them (a scope's page).
"""

from __future__ import annotations

import heapq
import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db.models import Q, Subquery
from django.db.models.functions import Lower

from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope

ERROR, WARNING = "error", "warning"


class ScopeRow(NamedTuple):
    """The columns of a scope the pair check reads (no model instance: 20,000 of them
    load several times faster as tuples)."""

    pk: int
    server_id: int
    network: str
    name: str
    first_int: int | None


class PoolRow(NamedTuple):
    """The columns of a failover pool the pair check reads."""

    scope_id: int
    first_address: str
    last_address: str
    failover_peer_id: int


ScopeLike = Scope | ScopeRow
PoolLike = AddressPool | PoolRow


@dataclass(frozen=True)
class Finding:
    severity: str
    relationship: str
    message: str
    code: str
    server_ids: tuple[int, ...] = ()
    network: str | None = None
    scope_id: int | None = None  # the scope to open or migrate, for a finding of a network

    def __str__(self) -> str:
        return f"{self.severity.upper()} {self.relationship}: {self.message}"


@dataclass
class RelationshipScope:
    """One network of a relationship, as it is on each side."""

    network: str
    primary_scope: ScopeLike | None
    secondary_scope: ScopeLike | None
    primary_ranges: frozenset[tuple[str, str]]
    secondary_ranges: frozenset[tuple[str, str]]

    @property
    def finalized(self) -> bool:
        return (
            self.primary_scope is not None
            and self.secondary_scope is not None
            and self.primary_ranges == self.secondary_ranges
        )

    @property
    def source(self) -> ScopeLike | None:
        """The scope to migrate to the partner: the primary's when both have it."""
        return self.primary_scope or self.secondary_scope

    @property
    def name(self) -> str:
        scope = self.source
        return scope.name if scope else ""


class Relationship:
    """One failover relationship: its two sides (fixed when it is made), the findings of
    the relationship itself, and the comparison of its scopes.

    The scopes are compared in bulk (sets of networks): the numbers
    (:attr:`scope_count`, :attr:`not_finalized_count`, :attr:`scope_finding_count`) and the
    first findings of single scopes (:attr:`first_scope_findings`) cost no object per scope;
    :attr:`scopes` and :attr:`findings` make one object per scope and per finding when first
    read."""

    FIRST = 5  # findings of single scopes that the pages name; the rest are counted

    def __init__(
        self,
        name: str,
        primary_server: DhcpServer | None,
        primary_peer: FailoverPeer | None,
        secondary_server: DhcpServer | None,
        secondary_peer: FailoverPeer | None,
    ) -> None:
        self.name = name
        self.primary_server = primary_server
        self.primary_peer = primary_peer
        self.secondary_server = secondary_server
        self.secondary_peer = secondary_peer
        self.server_ids: tuple[int, ...] = tuple(s.pk for s in self.servers)
        #: The findings of the relationship itself (roles, addresses, statements, a peer
        #: no pool refers to), in the order the check makes them.
        self.other_findings: list[Finding] = []
        self._table: _ScopeTable | None = None
        self._scopes: list[RelationshipScope] | None = None
        self._scope_findings: list[Finding] | None = None
        self._first: list[Finding] | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Relationship):
            return NotImplemented
        return (
            self.name == other.name
            and self.primary_server == other.primary_server
            and self.primary_peer == other.primary_peer
            and self.secondary_server == other.secondary_server
            and self.secondary_peer == other.secondary_peer
            and self.scopes == other.scopes
            and self.findings == other.findings
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Relationship({self.name!r}, primary={self.primary_server}, "
            f"secondary={self.secondary_server}, scopes={self.scope_count}, "
            f"findings={self.finding_count})"
        )

    @property
    def servers(self) -> list[DhcpServer]:
        return [s for s in (self.primary_server, self.secondary_server) if s is not None]

    @property
    def managed(self) -> bool:
        """Both servers are in dhcpadmin (only then are the scopes compared)."""
        return self.primary_server is not None and self.secondary_server is not None

    # --- the numbers and the first findings (no object per scope) ---

    @property
    def scope_count(self) -> int:
        return len(self._table.networks) if self._table else 0

    @property
    def not_finalized_count(self) -> int:
        return len(self._table.flagged) if self._table else 0

    @property
    def scope_finding_count(self) -> int:
        """How many findings of single networks (not finalized, pools differ)."""
        return self.not_finalized_count if self.managed else 0

    @property
    def finding_count(self) -> int:
        return len(self.other_findings) + self.scope_finding_count

    @property
    def ok(self) -> bool:
        return not self.finding_count

    @property
    def first_scope_findings(self) -> list[Finding]:
        """The first :attr:`FIRST` findings of single networks, in numeric order."""
        if self._scope_findings is not None:
            return self._scope_findings[: self.FIRST]
        if self._first is None:
            self._first = (
                self._table.findings(self, self._table.first_flagged(self.FIRST))
                if self._table is not None and self.managed
                else []
            )
        return self._first

    @property
    def more_scope_findings(self) -> int:
        return self.scope_finding_count - len(self.first_scope_findings)

    # --- every scope and finding (one object each, made when first read) ---

    @property
    def scopes(self) -> list[RelationshipScope]:
        if self._scopes is None:
            self._scopes = self._table.scopes() if self._table else []
        return self._scopes

    @property
    def scope_findings(self) -> list[Finding]:
        """The findings of single networks (not finalized, pools differ), in numeric order."""
        if self._scope_findings is None:
            if self._table is None or not self.managed:
                self._scope_findings = []
            else:
                self._scope_findings = self._table.findings(self, self._table.ordered_flagged())
        return self._scope_findings

    @property
    def findings(self) -> list[Finding]:
        return [*self.other_findings, *self.scope_findings]

    @property
    def not_finalized(self) -> list[RelationshipScope]:
        return [rs for rs in self.scopes if not rs.finalized]

    def involves(self, server: DhcpServer) -> bool:
        return server.pk in self.server_ids


# --- partner resolution ------------------------------------------------------------------


class PartnerIndex:
    """Resolves partner servers from already loaded servers and peers (no queries)."""

    def __init__(self, servers: Iterable[DhcpServer], peers: Iterable[FailoverPeer]):
        self.servers = {s.pk: s for s in servers}
        self.by_address: dict[str, list[DhcpServer]] = defaultdict(list)
        for server in sorted(self.servers.values(), key=lambda s: s.name):
            self.by_address[server.address.lower()].append(server)
        self.peers_by_name_address: dict[tuple[str, str], list[FailoverPeer]] = defaultdict(list)
        for peer in peers:
            self.peers_by_name_address[(peer.name, peer.address.lower())].append(peer)

    def partner_of(self, peer: FailoverPeer) -> DhcpServer | None:
        if peer.partner_server_id:
            return self.servers.get(peer.partner_server_id)
        key = (peer.name, peer.peer_address.lower())
        candidates = [
            self.servers[p.server_id]
            for p in self.peers_by_name_address.get(key, [])
            if p.server_id != peer.server_id and p.server_id in self.servers
        ]
        candidates += [
            s for s in self.by_address.get(peer.peer_address.lower(), []) if s.pk != peer.server_id
        ]
        return min(candidates, key=lambda s: s.name) if candidates else None


def partner_of(peer: FailoverPeer) -> DhcpServer | None:
    """The partner server of one peer (two small queries)."""
    if peer.partner_server_id:
        return DhcpServer.objects.filter(pk=peer.partner_server_id).first()
    address = peer.peer_address
    peers = FailoverPeer.objects.filter(name=peer.name, address__iexact=address).exclude(
        server_id=peer.server_id
    )
    servers = DhcpServer.objects.filter(
        pk__in=[p.server_id for p in peers]
    ) | DhcpServer.objects.filter(address__iexact=address)
    return PartnerIndex(servers.exclude(pk=peer.server_id).distinct(), peers).partner_of(peer)


# --- the relationships and their check ---------------------------------------------------


def pool_rows(*conditions: Q, **filters: Any) -> list[PoolRow]:
    """The failover pools that match, as :class:`PoolRow` (one query)."""
    rows = AddressPool.objects.filter(*conditions, failover_peer__isnull=False, **filters)
    rows = rows.order_by()
    return [
        PoolRow._make(row)
        for row in rows.values_list("scope_id", "first_address", "last_address", "failover_peer_id")
    ]


def scope_rows(*conditions: Q, **filters: Any) -> list[ScopeRow]:
    """The scopes that match, as :class:`ScopeRow` (one query)."""
    rows = Scope.objects.filter(*conditions, **filters).order_by()
    return [
        ScopeRow._make(row)
        for row in rows.values_list("id", "server_id", "network", "name", "first_int")
    ]


def relationships(
    *, server: DhcpServer | None = None, network: str | None = None
) -> list[Relationship]:
    """The failover relationships of the managed servers, each with its pair check.

    With ``server``: only the relationships of that server, computed from that server and
    its partners only (the servers its peers name, and the peers and pools of those). With
    ``network`` as well: only that network's scopes and pools (a scope's page), so the cost
    is one scope's worth of rows; findings that need the whole relationship (an
    unreferenced peer) are then not meaningful. Seven queries at most.
    """
    if server is None:
        servers = list(DhcpServer.objects.all())
        peers = list(FailoverPeer.objects.order_by("server__name", "name"))
        return build(servers, peers, pool_rows(), scope_rows())
    servers = _with_partners(server)
    ids = [s.pk for s in servers]
    peers = list(FailoverPeer.objects.filter(server_id__in=ids).order_by("server__name", "name"))
    peer_ids = [p.pk for p in peers]
    if network is None:
        pools = pool_rows(failover_peer_id__in=peer_ids)
        scopes = scope_rows(server_id__in=ids)
    else:
        pools = pool_rows(failover_peer_id__in=peer_ids, scope__network=network)
        scopes = scope_rows(server_id__in=ids, network=network)
    return for_server(build(servers, peers, pools, scopes), server)


def _with_partners(server: DhcpServer) -> list[DhcpServer]:
    """``server`` and every server that can be in a relationship with it by the rules of
    :class:`PartnerIndex`: the partners its own peers can name, the servers whose peers can
    name it, and the partners those peers can name (so that each peer is paired as the
    whole computation pairs it). Three queries."""
    own = list(server.failover_peers.values_list("name", "address", "peer_address"))
    own_names = {name for name, _, _ in own}
    own_addresses = {address.lower() for _, address, _ in own}
    incoming = (
        FailoverPeer.objects.annotate(lower_peer_address=Lower("peer_address"))
        .filter(
            Q(partner_server=server)
            | Q(lower_peer_address=server.address.lower())
            | Q(name__in=own_names, lower_peer_address__in=own_addresses)
        )
        .exclude(server=server)
    )
    # Every peer that may pair with one of this server's: the candidates of all of them.
    refs: list[tuple[str, str, int | None]] = [(n, address, None) for n, _, address in own]
    refs += incoming.values_list("name", "peer_address", "partner_server_id")
    incoming_servers = incoming.values("server_id")
    if not refs:
        return [server]
    names = {name for name, _, _ in refs}
    addresses = {address.lower() for _, address, _ in refs}
    explicit = {partner for _, _, partner in refs if partner}
    named_there = (
        FailoverPeer.objects.annotate(lower_address=Lower("address"))
        .filter(name__in=names, lower_address__in=addresses)
        .values("server_id")
    )
    partners = (
        DhcpServer.objects.annotate(lower_address=Lower("address"))
        .filter(
            Q(pk__in=explicit)
            | Q(lower_address__in=addresses)
            | Q(pk__in=Subquery(named_there))
            | Q(pk__in=Subquery(incoming_servers))
        )
        .exclude(pk=server.pk)
    )
    return [server, *partners]


class Rows:
    """Scopes and failover pools indexed as the pair check reads them.

    Read-only once made, so one kept under the data version (the stored side of an
    import's partners) serves every request: :meth:`side` remembers what it computed per
    peer, and :meth:`plus` adds a few planned rows without indexing the kept ones again."""

    def __init__(self, pools: Iterable[PoolLike] = (), scopes: Iterable[ScopeLike] = ()):
        self.scope_by_id: dict[int, ScopeLike] = {}
        self.networks_of: dict[int, dict[str, ScopeLike]] = {}  # server -> network -> scope
        self.pools_of: dict[int, list[PoolLike]] = {}  # failover peer -> its pools
        self._sides: dict[tuple[int, int | None], tuple[dict[str, int], dict[str, str]]] = {}
        # Made by plus(): the rows it extends, and the peers and servers it added rows of.
        self._parent: Rows | None = None
        self._changed: tuple[set[int], set[int]] = (set(), set())
        self._add(pools, scopes)

    def _add(self, pools: Iterable[PoolLike], scopes: Iterable[ScopeLike]) -> set[int]:
        for scope in scopes:
            self.scope_by_id[scope.pk] = scope
            self.networks_of.setdefault(scope.server_id, {})[scope.network] = scope
        peers: set[int] = set()
        for pool in pools:
            if pool.failover_peer_id is not None:  # the loaders read failover pools only
                self.pools_of.setdefault(pool.failover_peer_id, []).append(pool)
                peers.add(pool.failover_peer_id)
        return peers

    def plus(self, pools: Sequence[PoolLike], scopes: Sequence[ScopeLike]) -> Rows:
        """These rows and ``pools`` and ``scopes`` (of other servers, or new ones); this
        object is not changed, and what it remembers of the peers ``pools`` leave alone
        is reused."""
        out = Rows()
        out.scope_by_id = dict(self.scope_by_id)
        touched = {s.server_id for s in scopes}
        out.networks_of = {
            server: dict(nets) if server in touched else nets
            for server, nets in self.networks_of.items()
        }
        peers = {p.failover_peer_id for p in pools if p.failover_peer_id is not None}
        out.pools_of = {
            peer: list(found) if peer in peers else found for peer, found in self.pools_of.items()
        }
        out._add(pools, scopes)
        out._parent, out._changed = self, (peers, touched)
        return out

    def side(self, peer_id: int, server_id: int | None) -> tuple[dict[str, int], dict[str, str]]:
        """For the pools of one peer: the networks of their scopes (with the number that
        orders them), and the ranges (one text, see :func:`_by_scope`) of those scopes that
        are on ``server_id``, by network."""
        key = (peer_id, server_id)
        found = self._sides.get(key)
        parent, (peers, servers) = self._parent, self._changed
        if found is None and parent is not None and peer_id not in peers:
            if server_id not in servers:  # the same as the parent's: remembered there
                found = self._sides[key] = parent.side(peer_id, server_id)
        if found is None:
            networks: dict[str, int] = {}
            ranges: dict[str, str] = {}
            scope_by_id = self.scope_by_id
            for scope_id, text in _by_scope(self.pools_of.get(peer_id, [])).items():
                scope = scope_by_id.get(scope_id)
                if scope is None:
                    continue
                networks[scope.network] = _network_key(scope.network, scope.first_int)
                if scope.server_id == server_id:
                    ranges[scope.network] = text
            found = self._sides[key] = (networks, ranges)
        return found


def build(
    servers: list[DhcpServer],
    peers: list[FailoverPeer],
    pools: Sequence[PoolLike] = (),
    scopes: Sequence[ScopeLike] = (),
    *,
    rows: Rows | None = None,
) -> list[Relationship]:
    """Pair the peers and check each pair, from loaded objects (testable without the DB):
    ``pools`` and ``scopes``, or ``rows`` already indexed."""
    index = PartnerIndex(servers, peers)
    server_by_id = index.servers
    for peer in peers:  # attach the loaded servers: no query per peer
        if peer.server_id in server_by_id:
            peer.server = server_by_id[peer.server_id]
    if rows is None:
        rows = Rows(pools, scopes)
    peer_by_key = {(p.server_id, p.name): p for p in peers}

    taken: set[int] = set()
    result: list[Relationship] = []
    for peer in peers:
        if peer.pk in taken:
            continue
        taken.add(peer.pk)
        partner = index.partner_of(peer)
        other: FailoverPeer | None = None
        renamed = False
        if partner is not None:
            other = peer_by_key.get((partner.pk, peer.name))
            if other is None:
                other = _mirrored_under_other_name(peer, partner, peers, taken)
                renamed = other is not None
            if other is not None and other.pk in taken:
                other = None
            if other is not None:
                taken.add(other.pk)
        rel = _orient(peer, partner, other)
        rel.other_findings = _check(rel, peer, partner, other, renamed, index)
        rel._table = _ScopeTable(rel, rows)
        rel.other_findings += _unreferenced(rel, rel._table)
        result.append(rel)
    result.sort(key=lambda r: (r.name, r.primary_server.name if r.primary_server else ""))
    return result


def _mirrored_under_other_name(
    peer: FailoverPeer, partner: DhcpServer, peers: list[FailoverPeer], taken: set[int]
) -> FailoverPeer | None:
    for candidate in peers:
        if (
            candidate.server_id == partner.pk
            and candidate.pk not in taken
            and candidate.address.lower() == peer.peer_address.lower()
            and candidate.peer_address.lower() == peer.address.lower()
        ):
            return candidate
    return None


def _orient(
    peer: FailoverPeer, partner: DhcpServer | None, other: FailoverPeer | None
) -> Relationship:
    mine = (peer.server, peer)
    theirs = (partner, other)
    if other is not None:
        first_is_primary = peer.is_primary or not other.is_primary
    else:
        first_is_primary = peer.is_primary
    primary, secondary = (mine, theirs) if first_is_primary else (theirs, mine)
    name = primary[1].name if primary[1] is not None else peer.name
    return Relationship(
        name=name,
        primary_server=primary[0],
        primary_peer=primary[1],
        secondary_server=secondary[0],
        secondary_peer=secondary[1],
    )


def _check(
    rel: Relationship,
    peer: FailoverPeer,
    partner: DhcpServer | None,
    other: FailoverPeer | None,
    renamed: bool,
    index: PartnerIndex,
) -> list[Finding]:
    found: list[Finding] = []

    def add(severity: str, code: str, message: str) -> None:
        found.append(Finding(severity, rel.name, message, code, rel.server_ids))

    if partner is None:
        add(
            ERROR,
            "not_managed",
            f"The partner of '{peer.name}' on {peer.server} (peer address {peer.peer_address}) "
            "is not a server managed here; add it, or set the peer's Partner Server.",
        )
    if other is not None:
        found += check_peers(rel.name, peer, other, renamed=renamed)
    return found


def check_peers(
    relationship: str, a: FailoverPeer, b: FailoverPeer, *, renamed: bool = False
) -> list[Finding]:
    """The checks between the two declarations of one relationship."""
    found: list[Finding] = []
    ids = tuple(sorted({a.server_id, b.server_id}))

    def add(severity: str, code: str, message: str) -> None:
        found.append(Finding(severity, relationship, message, code, ids))

    if renamed or a.name != b.name:
        add(
            ERROR,
            "name_mismatch",
            f"{a.server} calls the failover peer '{a.name}', {b.server} calls it '{b.name}': "
            "both sides must use the same name.",
        )
    if a.role == b.role:
        add(
            ERROR,
            "roles",
            f"Both {a.server} and {b.server} are {a.get_role_display().lower()}: "
            "a relationship needs exactly one primary and one secondary.",
        )
    for x, y in ((a, b), (b, a)):
        if x.address.lower() != y.peer_address.lower() or x.port != y.peer_port:
            add(
                ERROR,
                "mirror",
                f"{x.server} listens on {x.address} port {x.port}, but {y.server} connects to "
                f"{y.peer_address} port {y.peer_port}.",
            )
    for x in (a, b):
        if not x.is_primary:
            extra = [
                str(FailoverPeer._meta.get_field(f).verbose_name)  # type: ignore[union-attr]
                for f in FailoverPeer.PRIMARY_ONLY_FIELDS
                if getattr(x, f) not in (None, "")
            ]
            if extra:
                add(
                    ERROR,
                    "primary_only",
                    f"The secondary on {x.server} sets {', '.join(extra)}: only the primary may.",
                )
    if a.load_balance_max_seconds != b.load_balance_max_seconds:
        add(
            WARNING,
            "load_balance",
            f"Load Balance Max Seconds is {a.load_balance_max_seconds} on {a.server} but "
            f"{b.load_balance_max_seconds} on {b.server}; set the same value on both.",
        )
    return found


def _by_scope(pools: list[PoolLike]) -> dict[int, str]:
    """Scope id -> its failover ranges as one text ("FIRST LAST" lines, sorted): equal
    texts are equal sets of ranges, and a text is no object for Python's cycle collector
    to walk (10,000 frozensets of tuples were)."""
    grouped: dict[int, str] = {}
    several: dict[int, set[str]] = {}
    for pool in pools:
        text = f"{pool.first_address} {pool.last_address}"
        before = grouped.setdefault(pool.scope_id, text)
        if before is not text:
            several.setdefault(pool.scope_id, {before}).add(text)
    for scope_id, texts in several.items():
        grouped[scope_id] = "\n".join(sorted(texts))
    return grouped


_NONE: frozenset[tuple[str, str]] = frozenset()


def _ranges(text: str | None) -> frozenset[tuple[str, str]]:
    if not text:
        return _NONE
    return frozenset((line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in text.split("\n"))


class _ScopeTable:
    """The scopes of one relationship compared as sets of networks.

    The networks of the relationship are those of the scopes that hold a failover pool of
    either peer. A network is finalized when both servers have a scope of it and the
    failover pools (of each side's peer) of the two are the same ranges. The flagged
    networks (not finalized) are found with set operations; objects per network
    (:class:`RelationshipScope`, :class:`Finding`) are made only for those asked for."""

    def __init__(self, rel: Relationship, rows: Rows) -> None:
        empty: dict[str, ScopeLike] = {}
        p_id = rel.primary_server.pk if rel.primary_server else None
        s_id = rel.secondary_server.pk if rel.secondary_server else None
        self.p_scopes = rows.networks_of.get(p_id, empty) if p_id is not None else empty
        self.s_scopes = rows.networks_of.get(s_id, empty) if s_id is not None else empty
        # network -> its number (the order); network -> the failover ranges of each
        # side's scope of that network (read-only: they may be kept by ``rows``)
        networks: dict[str, int] = {}
        self.p_ranges: dict[str, str] = {}
        self.s_ranges: dict[str, str] = {}
        if rel.primary_peer is not None:
            p_networks, self.p_ranges = rows.side(rel.primary_peer.pk, p_id)
            networks.update(p_networks)
        if rel.secondary_peer is not None:
            s_networks, self.s_ranges = rows.side(rel.secondary_peer.pk, s_id)
            networks.update(s_networks)
        self.networks = networks
        names = networks.keys()
        missing = (names - self.p_scopes.keys()) | (names - self.s_scopes.keys())
        both = names - missing
        p_ranges, s_ranges = self.p_ranges, self.s_ranges
        differ = {n for n in both if p_ranges.get(n) != s_ranges.get(n)}
        self.flagged: set[str] = missing | differ

    def _key(self, network: str) -> tuple[int, str]:
        return (self.networks[network], network)

    def ordered(self) -> list[str]:
        return sorted(self.networks, key=self._key)

    def ordered_flagged(self) -> list[str]:
        return sorted(self.flagged, key=self._key)

    def first_flagged(self, n: int) -> list[str]:
        """The first ``n`` flagged networks in numeric order, without a key object per
        network: the n-th smallest number bounds the few that are sorted."""
        if n <= 0 or not self.flagged:
            return []
        key = self.networks
        numbers = [key[network] for network in self.flagged]
        bound = heapq.nsmallest(n, numbers)[-1]
        return sorted((x for x in self.flagged if key[x] <= bound), key=self._key)[:n]

    def scope(self, network: str) -> RelationshipScope:
        p_scope, s_scope = self.p_scopes.get(network), self.s_scopes.get(network)
        return RelationshipScope(
            network=network,
            primary_scope=p_scope,
            secondary_scope=s_scope,
            primary_ranges=_ranges(self.p_ranges.get(network)) if p_scope else _NONE,
            secondary_ranges=_ranges(self.s_ranges.get(network)) if s_scope else _NONE,
        )

    def scopes(self) -> list[RelationshipScope]:
        return [self.scope(network) for network in self.ordered()]

    def findings(self, rel: Relationship, networks: Iterable[str]) -> list[Finding]:
        """The findings of the flagged ``networks`` (both servers managed)."""
        found = []
        for network in networks:
            rs = self.scope(network)
            missing_on = (
                rel.secondary_server
                if rs.secondary_scope is None
                else rel.primary_server
                if rs.primary_scope is None
                else None
            )
            source = rs.source
            if missing_on is not None:
                found.append(
                    Finding(
                        WARNING,
                        rel.name,
                        f"Scope {network} is not on {missing_on} yet (not finalized): "
                        "migrate the scope to the failover peer.",
                        "not_finalized",
                        rel.server_ids,
                        network,
                        source.pk if source else None,
                    )
                )
            else:
                found.append(
                    Finding(
                        ERROR,
                        rel.name,
                        f"The failover pools of {network} differ: only on "
                        f"{rel.primary_server}: "
                        f"{_fmt(rs.primary_ranges - rs.secondary_ranges)}; only on "
                        f"{rel.secondary_server}: "
                        f"{_fmt(rs.secondary_ranges - rs.primary_ranges)}. "
                        "Migrate the scope to the failover peer to make them identical.",
                        "pools_differ",
                        rel.server_ids,
                        network,
                        source.pk if source else None,
                    )
                )
        return found


def _network_key(network: str, first_int: int | None) -> int:
    if first_int is not None:
        return first_int
    return int(ipaddress.IPv4Network(network, strict=False).network_address)


def _fmt(ranges: Iterable[tuple[str, str]]) -> str:
    ordered = sorted(ranges, key=lambda r: int(ipaddress.IPv4Address(r[0])))
    return ", ".join(f"{a}-{b}" for a, b in ordered) or "none"


def _unreferenced(rel: Relationship, table: _ScopeTable) -> list[Finding]:
    """A peer of the relationship that no pool of its server refers to."""
    found = []
    for peer, server, ranges in (
        (rel.primary_peer, rel.primary_server, table.p_ranges),
        (rel.secondary_peer, rel.secondary_server, table.s_ranges),
    ):
        if peer is not None and not any(ranges.values()):
            found.append(
                Finding(
                    ERROR,
                    rel.name,
                    f"No address pool on {server} refers to the failover peer '{peer.name}'; "
                    "dhcpd refuses to start with it (it is left out of the rendered file).",
                    "unreferenced",
                    rel.server_ids,
                )
            )
    return found


# --- helpers for pages and commands ------------------------------------------------------


def all_findings(rels: Iterable[Relationship]) -> list[Finding]:
    return [finding for rel in rels for finding in rel.findings]


def for_server(rels: Iterable[Relationship], server: DhcpServer) -> list[Relationship]:
    return [rel for rel in rels if rel.involves(server)]


def not_finalized_scopes(rels: Iterable[Relationship]) -> dict[int, Relationship]:
    """Scope id -> its relationship, for every scope that is not finalized on its partner
    (the scope that exists, i.e. the one to migrate from)."""
    out: dict[int, Relationship] = {}
    for rel in rels:
        if rel.primary_server is None or rel.secondary_server is None:
            continue
        for rs in rel.not_finalized:
            for scope in (rs.primary_scope, rs.secondary_scope):
                if scope is not None:
                    out.setdefault(scope.pk, rel)
    return out
