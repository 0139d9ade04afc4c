"""Shared reads of the live failover state for the pages (issue 10).

The pages show, per failover relationship, both sides' latest reading (``PeerState``, written
by the polling worker), the facts derived from it that operators get wrong, the active
alerts, and the history of changes (``StateChange``). Every read costs what the page shows:

- which peers form a relationship comes from the servers and peer declarations only (no
  scopes, no pools: :func:`failover.dhcpd.pair.build` with none), kept per data version;
- the readings and alerts are read per request, for the relationships of the page only;
- the history is read a page at a time (``LIMIT`` + 1 row, no ``COUNT``), newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from failover.dhcpd import pair
from failover.dhcpd.omapi import state_name
from failover.models import DhcpServer, FailoverPeer
from failover.versioning import cached

from .models import Alert, PeerState, StateChange, Status
from .services import pollable

RELATIONSHIPS_PER_PAGE = 50
HISTORY_PER_PAGE = 20
MAX_PAGE = 10_000  # a page number beyond is read as this one (no huge OFFSET)

#: Clock skew (seconds) that the pages warn about; dhcpd refuses a peer beyond the limit.
SKEW_WARNING = 30
SKEW_LIMIT = 60

NORMAL = 2
COMMUNICATIONS_INTERRUPTED = 3
PARTNER_DOWN = 4
POTENTIAL_CONFLICT = 5
RECOVER = 6
RECOVER_WAIT = 254

#: Bootstrap's badge classes of the colours (PeerState.colour; "grey": nothing read yet).
BADGE = {
    "green": "text-bg-success",
    "amber": "text-bg-warning",
    "red": "text-bg-danger",
    "grey": "text-bg-secondary",
}
_WORST = ("red", "amber", "grey", "green")
_RED = {PARTNER_DOWN, POTENTIAL_CONFLICT}


def state_colour(status: str | None, state: int | None) -> str:
    """The colour of one server's state (issue 10): green normal; amber
    communications-interrupted, recover* and the other passing states; red partner-down,
    potential-conflict and no answer."""
    if status is None:
        return "grey"
    if status != Status.OK:
        return "red"
    if state == NORMAL:
        return "green"
    if state in _RED:
        return "red"
    return "amber"


def page_number(value: object) -> int:
    """A page number from the query string: 1 for anything that is not a positive integer."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def when(seconds: int | None) -> datetime | None:
    """A dhcpd time (unix seconds, as OMAPI gives ``local-stos``) as an aware datetime."""
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def shown(moment: datetime | None) -> str:
    """A time as the pages write it (the configured time zone)."""
    if moment is None:
        return "unknown"
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S %Z")


# --- derived facts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    """A fact derived from a reading, shown beside the state. ``level`` is a Bootstrap
    alert colour: info, warning or danger."""

    level: str
    text: str
    code: str


def derived_facts(state: PeerState | None, now: datetime | None = None) -> list[Fact]:
    """What a reading means for the operator (issue 10, section 2):

    - recover / recover-wait: the server does not serve until MCLT has passed since it
      entered recover (dhcpd keeps ``local-stos`` through recover-wait and moves on at
      ``local-stos + mclt``);
    - communications-interrupted: each side gives out only its own free leases;
    - partner-down: the partner's free leases are used from ``local-stos + mclt``;
    - clock skew above 30 s (dhcpd refuses a peer more than 60 s apart).
    """
    if state is None or state.status != Status.OK:
        return []
    now = now or timezone.now()
    facts: list[Fact] = []
    local = state.local_state
    start = when(state.local_stos)
    mclt = state.mclt
    ready = start + timedelta(seconds=mclt) if start is not None and mclt is not None else None
    if local in (RECOVER, RECOVER_WAIT):
        name = state_name(local)
        if ready is None:
            facts.append(
                Fact(
                    "warning",
                    f"In {name}: the server does not serve clients until MCLT has passed "
                    "since it entered recover (dhcpd did not say when that was).",
                    "recover",
                )
            )
        elif ready > now:
            facts.append(
                Fact(
                    "warning",
                    f"In {name}: the server can serve clients from {shown(ready)} at the "
                    f"earliest (entered {shown(start)} + MCLT {mclt} s), once its partner "
                    "has sent all its updates.",
                    "recover",
                )
            )
        else:
            facts.append(
                Fact(
                    "info",
                    f"In {name}: MCLT ({mclt} s) has passed since {shown(start)}; the server "
                    "serves as soon as its partner has sent all its updates.",
                    "recover",
                )
            )
    elif local == COMMUNICATIONS_INTERRUPTED:
        facts.append(
            Fact(
                "warning",
                "Communications interrupted: each server gives out only its own free "
                "leases (its share of each pool), never its partner's, and extends leases "
                "by at most MCLT. If the partner is really down, partner-down lets this "
                "server use the partner's free leases too.",
                "communications-interrupted",
            )
        )
    elif local == PARTNER_DOWN:
        if ready is not None and ready > now:
            text = (
                f"Partner-down since {shown(start)}: this server uses the partner's free "
                f"leases from {shown(ready)} (+ MCLT {mclt} s); the partner must stay down "
                "until it is started again and recovers."
            )
        elif ready is not None:
            text = (
                f"Partner-down since {shown(start)}: MCLT has passed, this server uses the "
                "partner's free leases too; the partner must stay down until it is started "
                "again and recovers."
            )
        else:
            text = "Partner-down: this server serves the whole pool once MCLT has passed."
        facts.append(Fact("danger", text, "partner-down"))
    skew = state.skew
    if skew is not None and abs(skew) > SKEW_WARNING:
        beyond = abs(skew) > SKEW_LIMIT
        facts.append(
            Fact(
                "danger" if beyond else "warning",
                f"The clocks of the two servers are {abs(skew)} s apart: dhcpd refuses a "
                f"peer whose clock is more than {SKEW_LIMIT} s off"
                + (" (it does now)." if beyond else ".")
                + " Check NTP on both.",
                "clock-skew",
            )
        )
    return facts


# --- one side of a relationship ------------------------------------------------------------


@dataclass
class LiveSide:
    """One server of a relationship with its latest reading."""

    role: str  # "primary" / "secondary"
    server: DhcpServer | None
    peer: FailoverPeer | None
    state: PeerState | None
    alerts: list[Alert] = field(default_factory=list)
    now: datetime = field(default_factory=timezone.now)

    @property
    def managed(self) -> bool:
        return self.server is not None and self.peer is not None

    @property
    def monitored(self) -> bool:
        """The server has what the worker needs: an OMAPI port and key."""
        return self.server is not None and pollable(self.server)

    @property
    def colour(self) -> str:
        """The colour of this server's own state (its badge shows that state)."""
        if self.state is None:
            return "grey"
        return state_colour(self.state.status, self.state.local_state)

    @property
    def partner_colour(self) -> str | None:
        """The colour of the partner's state as this server sees it (None: not read)."""
        if not self.ok or self.state is None or self.state.partner_state is None:
            return None
        return state_colour(Status.OK, self.state.partner_state)

    @property
    def badge(self) -> str:
        return BADGE.get(self.colour, BADGE["grey"])

    @property
    def ok(self) -> bool:
        return self.state is not None and self.state.status == Status.OK

    @property
    def label(self) -> str:
        """What the badge says: the local state, or why there is none."""
        if not self.managed:
            return "not managed here"
        if self.state is None:
            return "not polled yet" if self.monitored else "not monitored"
        if self.state.status != Status.OK:
            return self.state.status
        return self.state.local_state_name

    @property
    def hint(self) -> str:
        """Why a side has no reading, for the page."""
        if not self.managed:
            return "This server is not managed in dhcpadmin."
        if self.state is None and not self.monitored:
            return "Set the server's OMAPI port and key to see its live state."
        if self.state is None:
            return "The worker has not read this server yet."
        return ""

    @property
    def since(self) -> datetime | None:
        return self.state.since if self.state is not None else None

    @property
    def facts(self) -> list[Fact]:
        return derived_facts(self.state, self.now)


@dataclass
class LiveRelationship:
    name: str
    primary: LiveSide
    secondary: LiveSide

    @property
    def sides(self) -> tuple[LiveSide, LiveSide]:
        return (self.primary, self.secondary)

    @property
    def page_peer_id(self) -> int:
        """The peer declaration whose pk names the relationship's page (the primary's)."""
        peer = self.primary.peer or self.secondary.peer
        assert peer is not None  # a relationship has at least one declaration
        return peer.pk

    @property
    def colour(self) -> str:
        """The worst colour of the two sides and of the partner states they see (a side
        not managed here does not count)."""
        colours = {side.colour for side in self.sides if side.managed}
        colours |= {c for side in self.sides if (c := side.partner_colour) and c != "green"}
        return next((c for c in _WORST if c in colours), "grey")

    @property
    def badge(self) -> str:
        return BADGE.get(self.colour, BADGE["grey"])

    @property
    def alerts(self) -> list[Alert]:
        return [*self.primary.alerts, *self.secondary.alerts]

    @property
    def peer_ids(self) -> list[int]:
        return [side.peer.pk for side in self.sides if side.peer is not None]

    def side_of(self, server: DhcpServer) -> LiveSide | None:
        for side in self.sides:
            if side.server is not None and side.server.pk == server.pk:
                return side
        return None

    def other_side(self, side: LiveSide) -> LiveSide:
        return self.secondary if side is self.primary else self.primary


@dataclass(frozen=True)
class Pair:
    """Which peer declarations form one relationship (kept per data version)."""

    name: str
    primary_server: DhcpServer | None
    primary_peer: FailoverPeer | None
    secondary_server: DhcpServer | None
    secondary_peer: FailoverPeer | None

    @property
    def peer_ids(self) -> tuple[int, ...]:
        return tuple(p.pk for p in (self.primary_peer, self.secondary_peer) if p is not None)

    @property
    def server_ids(self) -> tuple[int, ...]:
        return tuple(s.pk for s in (self.primary_server, self.secondary_server) if s is not None)


def pairs() -> list[Pair]:
    """Every relationship's two declarations, paired as the pair check pairs them, from the
    servers and peers only (two queries when the data changed, none otherwise)."""

    def compute() -> list[Pair]:
        servers = list(DhcpServer.objects.all())
        peers = list(FailoverPeer.objects.order_by("server__name", "name"))
        return [
            Pair(r.name, r.primary_server, r.primary_peer, r.secondary_server, r.secondary_peer)
            for r in pair.build(servers, peers, [], [])
        ]

    return cached("live-pairs", compute)


def _live(chosen: list[Pair]) -> list[LiveRelationship]:
    """The relationships ``chosen`` with their readings and active alerts (two queries)."""
    ids = [pk for p in chosen for pk in p.peer_ids]
    states = {s.peer_id: s for s in PeerState.objects.filter(peer_id__in=ids)} if ids else {}
    alerts: dict[int, list[Alert]] = {}
    if ids:
        for alert in Alert.objects.filter(peer_id__in=ids, cleared_at__isnull=True).order_by(
            "-started_at", "-id"
        ):
            alerts.setdefault(alert.peer_id, []).append(alert)
    now = timezone.now()

    def side(role: str, server: DhcpServer | None, peer: FailoverPeer | None) -> LiveSide:
        pk = peer.pk if peer is not None else None
        return LiveSide(
            role,
            server,
            peer,
            states.get(pk) if pk is not None else None,
            alerts.get(pk, []) if pk is not None else [],
            now,
        )

    return [
        LiveRelationship(
            p.name,
            side("primary", p.primary_server, p.primary_peer),
            side("secondary", p.secondary_server, p.secondary_peer),
        )
        for p in chosen
    ]


# --- the pages ---------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """One page of every relationship's live state (the home page)."""

    relationships: list[LiveRelationship]
    number: int
    count: int
    per_page: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.per_page < self.count

    @property
    def colours(self) -> dict[str, int]:
        """How many relationships of the page are of each colour."""
        out: dict[str, int] = {}
        for rel in self.relationships:
            out[rel.colour] = out.get(rel.colour, 0) + 1
        return out


def dashboard(page: object = 1, *, per_page: int | None = None) -> Dashboard:
    """A page of relationships (in the pair check's order: by name) with their live state."""
    per_page = per_page or RELATIONSHIPS_PER_PAGE
    every = pairs()
    number = page_number(page)
    last = max(1, -(-len(every) // per_page))
    number = min(number, last)
    chosen = every[(number - 1) * per_page : number * per_page]
    return Dashboard(_live(chosen), number, len(every), per_page)


def relationship_of(peer_id: int) -> LiveRelationship | None:
    """The relationship one peer declaration belongs to, with its live state, or None."""
    for p in pairs():
        if peer_id in p.peer_ids:
            return _live([p])[0]
    return None


def server_relationships(server: DhcpServer) -> list[LiveRelationship]:
    """The relationships of one server, with their live state."""
    return _live([p for p in pairs() if server.pk in p.server_ids])


# --- history -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineRow:
    change: StateChange
    server_name: str
    peer_name: str

    @staticmethod
    def _describe(status: str | None, local: int | None, partner: int | None) -> str:
        if status is None:
            return "—"
        if status != Status.OK:
            return status
        return f"{state_name(local)} (partner {state_name(partner)})"

    @property
    def before(self) -> str:
        c = self.change
        if c.previous_status is None and c.previous_local_state is None:
            return "—"
        return self._describe(
            c.previous_status or Status.OK, c.previous_local_state, c.previous_partner_state
        )

    @property
    def after(self) -> str:
        c = self.change
        return self._describe(c.status, c.local_state, c.partner_state)

    @property
    def colour(self) -> str:
        return state_colour(self.change.status, self.change.local_state)

    @property
    def badge(self) -> str:
        return BADGE.get(self.colour, BADGE["grey"])


@dataclass
class Timeline:
    rows: list[TimelineRow]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def timeline(peer_ids: list[int], page: object = 1, *, per_page: int | None = None) -> Timeline:
    """A page of the changes of these peers, newest first (one query: the page's rows and
    one more to know whether there is a next page)."""
    per_page = per_page or HISTORY_PER_PAGE
    number = page_number(page)
    if not peer_ids:
        return Timeline([], 1, False)
    start = (number - 1) * per_page
    rows = list(
        StateChange.objects.filter(Q(peer_id__in=peer_ids))
        .select_related("peer__server")
        .order_by("-at", "-id")[start : start + per_page + 1]
    )
    has_next = len(rows) > per_page
    return Timeline(
        [TimelineRow(c, c.peer.server.name, c.peer.name) for c in rows[:per_page]],
        number,
        has_next,
    )
