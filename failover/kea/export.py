"""A failover relationship as a Kea High Availability pair: per server a ``kea-dhcp4`` and a
``kea-ctrl-agent`` configuration, built as data structures (dicts and lists) and serialised
with :func:`json.dumps`, never from text templates; and the report of everything that does
not translate, each item with its object (nothing is dropped silently).

The mapping (see /work/shared/KEA_HA.md and the notes of issue 12):

- **mode** from the primary's ``split`` (or the number of buckets its ``hba`` gives the
  primary, 0-256): 128 is ``load-balancing`` (roles primary/secondary); 256 is
  ``hot-standby`` with the dhcpd primary as Kea's primary, 0 is ``hot-standby`` with the
  dhcpd *secondary* as Kea's primary (it is the one serving every client); any other value
  takes the nearest of these with a warning.
- **pools**: every failover pool of the relationship is written on both servers. In
  load-balancing each pool is split in two halves by address: the lower half (the extra
  address of an odd size too) is ``client-class`` ``HA_<primary>``, the upper half
  ``HA_<secondary>``, so each server hands out its half to the clients Kea's
  load-balancing hash gives it, and a server in ``partner-down`` serves the partner's
  clients from the partner's half. A one-address pool goes whole to the primary. In
  hot-standby the pools are written as they are (no class).
- **timing**: ``max-response-delay`` (s → ms); ``heartbeat-delay`` is half of it, at most
  10 s (Kea's default); ``max-ack-delay`` Kea's default 10 s; ``auto-partner-down`` set on
  either side → peers' ``auto-failover`` true and ``max-unacked-clients`` 0, else
  ``auto-failover`` false (partner-down then needs an operator, as in dhcpd).
- **peers**: named after the servers, URL ``http://<control agent address>:<port>/``.
- **subnets**: every network of the relationship, ``id`` = its place in numeric order (the
  same on both servers), options from the fields, lifetimes with dhcpd's defaults (43200 s
  and 86400 s) where none is set, translatable verbatim statements (``option``, ``host``
  with a fixed address, ``next-server``, ``filename``, ``server-name``) translated.
- **shared networks and groups**: a ``shared-network`` becomes a Kea shared network (its
  translatable options its ``option-data``); a ``group``'s translatable options go into the
  subnets inside it (or the shared network inside it) where not set nearer, as dhcpd's
  scoping does. Everything else is reported.
"""

from __future__ import annotations

import io
import ipaddress
import json
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

from failover.dhcpd.ast import Host, Node, OptionSetting, Statement
from failover.dhcpd.parser import ParseError, parse_text
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope, ScopeGroup, ipv4_int

from .checks import Problem, check_ha
from .models import KeaSettings

ERROR, WARNING, INFO = "error", "warning", "info"

LOAD_BALANCING, HOT_STANDBY = "load-balancing", "hot-standby"

#: dhcpd's lease times when none is set (dhcpd.conf(5)); Kea's own default is 7200 s.
DHCPD_DEFAULT_LEASE_TIME, DHCPD_MAX_LEASE_TIME = 43200, 86400
KEA_DEFAULT_HEARTBEAT_MS, KEA_DEFAULT_MAX_ACK_MS, KEA_DEFAULT_MAX_UNACKED = 10000, 10000, 10

#: dhcpd options written as Kea ``option-data`` with the same name: how the value is read.
#: "ips": IPv4 addresses, "ip": one address, "string": one quoted string, "strings": quoted
#: strings (domain names), "int": one number.
OPTION_KINDS = {
    "routers": "ips",
    "domain-name-servers": "ips",
    "ntp-servers": "ips",
    "time-servers": "ips",
    "log-servers": "ips",
    "netbios-name-servers": "ips",
    "smtp-server": "ips",
    "pop-server": "ips",
    "www-server": "ips",
    "broadcast-address": "ip",
    "subnet-mask": "ip",
    "domain-name": "string",
    "tftp-server-name": "string",
    "bootfile-name": "string",
    "netbios-scope": "string",
    "domain-search": "strings",
    "interface-mtu": "int",
    "time-offset": "int",
    "netbios-node-type": "int",
}

#: Scope fields → option names (``Scope.OPTION_FIELDS`` minus the lease times).
FIELD_OPTIONS = (
    ("routers", "routers"),
    ("domain_name_servers", "domain-name-servers"),
    ("domain_name", "domain-name"),
)

#: Peer statements without a Kea equivalent, and why.
NO_EQUIVALENT = {
    "mclt": "Kea HA has no maximum client lead time (a server waits for its partner's "
    "acknowledgement before it answers; no lazy updates).",
    "max_unacked_updates": "Kea HA has no lazy updates: each lease update is acknowledged "
    "before the client is answered.",
    "load_balance_max_seconds": "Kea has no equivalent (max-ack-delay reads the same "
    "client field for another purpose).",
    "max_lease_misbalance": "Kea does not rebalance free leases: each half of a pool "
    "belongs to one server.",
    "max_lease_ownership": "Kea does not rebalance free leases: each half of a pool "
    "belongs to one server.",
    "min_balance": "Kea does not rebalance free leases.",
    "max_balance": "Kea does not rebalance free leases.",
}


@dataclass(frozen=True)
class ReportItem:
    """One thing that is translated with a change, or not carried over."""

    severity: str  # error | warning | info
    object: str  # e.g. "scope 10.0.0.0/24 on dhcp-a"
    message: str

    def __str__(self) -> str:
        return f"{self.severity.upper()} {self.object}: {self.message}"


@dataclass
class ServerExport:
    """The two configurations of one server of the pair."""

    server: DhcpServer
    settings: KeaSettings
    dhcp4: dict[str, Any]
    ctrl_agent: dict[str, Any]

    @property
    def dhcp4_name(self) -> str:
        return f"{self.server.name}-kea-dhcp4.json"

    @property
    def ctrl_agent_name(self) -> str:
        return f"{self.server.name}-kea-ctrl-agent.json"


@dataclass
class KeaExport:
    relationship: str
    mode: str
    servers: list[ServerExport]
    report: list[ReportItem] = field(default_factory=list)

    _files: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)
    #: What the export page shows of each file (name, first lines, line count), kept by it.
    page_heads: list[tuple[str, str, int]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def files(self) -> dict[str, str]:
        """File name → JSON text, for each server its kea-dhcp4 then its control agent
        (serialised once: an export is kept per data version and read-only)."""
        if self._files is None:
            out: dict[str, str] = {}
            for side in self.servers:
                out[side.dhcp4_name] = dumps(side.dhcp4)
                out[side.ctrl_agent_name] = dumps(side.ctrl_agent)
            self._files = out
        return dict(self._files)

    @cached_property
    def problems(self) -> list[Problem]:
        """dhcpadmin's own check of the HA part of the files (once per export)."""
        return check_ha(self.files())

    def archive(self) -> bytes:
        """The four files and REPORT.txt in one ZIP archive (fixed dates: the same data,
        the same bytes)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in self.files().items():
                info = zipfile.ZipInfo(f"{self.relationship}-kea/{name}", (2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, text)
            info = zipfile.ZipInfo(f"{self.relationship}-kea/REPORT.txt", (2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, self.report_text())
        return buffer.getvalue()

    def report_text(self) -> str:
        lines = [f"Kea HA export of relationship {self.relationship}: {self.mode}", ""]
        lines += [str(item) for item in self.report]
        return "\n".join(lines) + "\n"

    @property
    def errors(self) -> list[ReportItem]:
        return [item for item in self.report if item.severity == ERROR]


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


class ExportError(Exception):
    """The relationship cannot be exported at all (e.g. a partner not managed here)."""


# --- mode ------------------------------------------------------------------------------


def primary_share(peer: FailoverPeer) -> int:
    """How many of the 256 hash buckets dhcpd's primary serves: the split, or the bits set
    in the hba."""
    if peer.hba:
        return sum(bin(int(byte, 16)).count("1") for byte in peer.hba.split(":"))
    return peer.split if peer.split is not None else 128


@dataclass(frozen=True)
class Mode:
    mode: str
    primary_is_dhcpd_primary: bool  # False: hot-standby served by dhcpd's secondary
    notes: tuple[tuple[str, str], ...]  # (severity, message)


def mode_of(peer: FailoverPeer) -> Mode:
    share = primary_share(peer)
    what = f"hba giving {share} of 256 buckets to the primary" if peer.hba else f"split {share}"
    notes: list[tuple[str, str]] = []
    if share == 128:
        if peer.hba and peer.hba.lower() != ":".join(["ff"] * 16 + ["00"] * 16):
            notes.append(
                (
                    WARNING,
                    f"The {what} is even but not buckets 0-127: Kea's load-balancing gives the "
                    "primary the first half of the buckets, so some clients change server.",
                )
            )
        return Mode(LOAD_BALANCING, True, tuple(notes))
    if share in (0, 256):
        serving = "primary" if share == 256 else "secondary"
        notes.append(
            (
                INFO,
                f"The {what} gives every client to dhcpd's {serving}: hot-standby with it as "
                "Kea's primary (the serving server), the other as standby.",
            )
        )
        return Mode(HOT_STANDBY, share == 256, tuple(notes))
    if abs(share - 128) <= min(share, 256 - share):
        notes.append(
            (
                WARNING,
                f"Uneven {what}: Kea's load-balancing is 50/50 only; exported as "
                "load-balancing (the nearest mode).",
            )
        )
        return Mode(LOAD_BALANCING, True, tuple(notes))
    to_primary = share > 128
    notes.append(
        (
            WARNING,
            f"Uneven {what}: Kea cannot express it; exported as hot-standby (the nearest mode) "
            f"served by dhcpd's {'primary' if to_primary else 'secondary'}.",
        )
    )
    return Mode(HOT_STANDBY, to_primary, tuple(notes))


# --- values --------------------------------------------------------------------------------


def _ip_list(value: str) -> str:
    return ", ".join(part.strip() for part in value.split(",") if part.strip())


def option_data(name: str, tokens: list[Any]) -> str | None:
    """The Kea ``data`` of a dhcpd option value (tokens), or None when it is not one this
    export translates."""
    kind = OPTION_KINDS.get(name)
    if kind is None:
        return None
    values = [t for t in tokens if not (t.kind == "punct" and t.value == ",")]
    if len(values) * 2 - 1 != len(tokens) or not values:
        return None
    if kind in ("ips", "ip"):
        if any(t.kind != "word" or not _is_ipv4(t.value) for t in values):
            return None
        if kind == "ip" and len(values) != 1:
            return None
        return ", ".join(t.value for t in values)
    if kind in ("string", "strings"):
        if any(t.kind != "string" for t in values) or (kind == "string" and len(values) != 1):
            return None
        texts = [_unquote(t.value) for t in values]
        if any(not text or "," in text or "\\" in text or '"' in text for text in texts):
            return None
        return ", ".join(texts)
    if len(values) != 1 or values[0].kind != "word":
        return None
    try:
        number = int(values[0].value)
    except ValueError:
        return None
    return str(number)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def _is_ipv4(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _parsed(text: str) -> list[Node] | None:
    try:
        return list(parse_text(text, filename="statement").statements)
    except ParseError:
        return None


# --- the exporter ----------------------------------------------------------------------


class ScopeRow(NamedTuple):
    """The columns of a scope the export reads."""

    pk: int
    network: str
    first_int: int
    last_int: int
    group_id: int | None
    routers: str
    domain_name_servers: str
    domain_name: str
    default_lease_time: int | None
    max_lease_time: int | None
    statements: list[Any]


class PoolRow(NamedTuple):
    """The columns of an address pool the export reads."""

    scope_id: int
    first_int: int
    last_int: int
    first_address: str
    last_address: str
    failover_peer_id: int | None
    statements: list[Any]


@dataclass
class _Side:
    server: DhcpServer
    peer: FailoverPeer
    settings: KeaSettings
    scopes: dict[str, ScopeRow] = field(default_factory=dict)  # network -> scope
    groups: dict[int, ScopeGroup] = field(default_factory=dict)


def settings_for(server: DhcpServer) -> KeaSettings:
    """The server's Kea settings, or the defaults (unsaved) when it has none."""
    found = KeaSettings.objects.filter(server=server).first()
    if found is None:
        found = KeaSettings(server=server)
    found.server = server
    return found


class Exporter:
    """Builds a :class:`KeaExport` for one relationship (two managed servers)."""

    def __init__(
        self,
        name: str,
        primary: tuple[DhcpServer, FailoverPeer],
        secondary: tuple[DhcpServer, FailoverPeer],
    ):
        self.name = name
        self.report: list[ReportItem] = []
        self._group_cache: dict[str, list[dict[str, Any]]] = {}
        self.sides = [
            _Side(server, peer, settings_for(server)) for server, peer in (primary, secondary)
        ]

    def add(self, severity: str, obj: str, message: str) -> None:
        self.report.append(ReportItem(severity, obj, message))

    # -- loading --

    def _load(self) -> dict[int, list[PoolRow]]:
        """Every scope of both servers with its pools, as tuples (three queries per
        server: 20,000 model instances would cost more than the whole export)."""
        pools_of: dict[int, list[PoolRow]] = defaultdict(list)
        for side in self.sides:
            side.groups = {g.pk: g for g in ScopeGroup.objects.filter(server=side.server)}
            scopes = (
                Scope.objects.filter(server=side.server)
                .order_by("first_int", "-last_int")
                .values_list(*ScopeRow._fields)
            )
            pools = (
                AddressPool.objects.filter(scope__server=side.server)
                .order_by("scope_id", "first_int")
                .values_list(*PoolRow._fields)
            )
            for row in pools:
                pool = PoolRow._make(row)
                pools_of[pool.scope_id].append(pool)
            for row in scopes:
                scope = ScopeRow._make(row)
                own = pools_of[scope.pk]
                if any(p.failover_peer_id == side.peer.pk for p in own):
                    side.scopes[scope.network] = scope
                    continue
                where = f"scope {scope.network} on {side.server}"
                if any(p.failover_peer_id is not None for p in own):
                    self.add(
                        WARNING,
                        where,
                        "Not exported: its failover pools belong to another relationship "
                        "(one relationship per Kea instance in Kea 2.2).",
                    )
                else:
                    self.add(
                        WARNING,
                        where,
                        "Not exported: the scope has no failover pool (a Kea HA pair serves "
                        "the same subnets on both servers).",
                    )
        return pools_of

    # -- the whole export --

    def build(self) -> KeaExport:
        primary, secondary = self.sides
        mode = mode_of(primary.peer)
        relationship = f"relationship {self.name}"
        for severity, message in mode.notes:
            self.add(severity, relationship, message)
        self._peer_report()
        self._other_relationships()
        pools_of = self._load()
        networks = sorted(
            set(primary.scopes) | set(secondary.scopes),
            key=lambda n: ipv4_int(n.split("/")[0]),
        )
        for network in networks:
            for side in self.sides:
                if network not in side.scopes:
                    self.add(
                        ERROR,
                        f"scope {network}",
                        f"Not on {side.server} (not finalized): the two Kea configurations "
                        "would differ; migrate the scope to the failover peer first.",
                    )
        kea_primary, kea_other = (
            (primary, secondary) if mode.primary_is_dhcpd_primary else (secondary, primary)
        )
        other_role = "secondary" if mode.mode == LOAD_BALANCING else "standby"
        roles = {kea_primary.server.pk: "primary", kea_other.server.pk: other_role}
        auto = any(s.peer.auto_partner_down for s in self.sides)
        peers = [
            {
                "name": side.server.name,
                "url": f"http://{side.settings.url_address}:{side.settings.control_agent_port}/",
                "role": roles[side.server.pk],
                "auto-failover": auto,
            }
            for side in (kea_primary, kea_other)
        ]
        for side in self.sides:
            if not _is_ipv4(side.settings.url_address):
                self.add(
                    ERROR,
                    f"server {side.server}",
                    f"The control agent address '{side.settings.url_address}' is not an IPv4 "
                    "address: set it in the server's Kea settings (Kea's peer URLs name an "
                    "address).",
                )
        globals_ = [self._server_globals(side) for side in self.sides]
        hosts = [self._server_hosts(side) for side in self.sides]
        classes = (f"HA_{kea_primary.server.name}", f"HA_{kea_other.server.name}")
        halves_reported: set[str] = set()
        exports = []
        for index, side in enumerate(self.sides):
            subnets: list[dict[str, Any]] = []
            shared_networks: dict[int, dict[str, Any]] = {}  # group pk -> Kea shared network
            for number, network in enumerate(networks, start=1):
                scope = side.scopes.get(network)
                if scope is None:
                    continue
                shared: list[Any] = [None, []]
                subnet = self._subnet(
                    side,
                    scope,
                    number,
                    pools_of[scope.pk],
                    mode.mode,
                    classes,
                    hosts[index].pop(network, []),
                    globals_[index],
                    halves_reported,
                    shared,
                )
                group, shared_options = shared
                if group is None:
                    subnets.append(subnet)
                    continue
                if group.pk not in shared_networks:
                    entry: dict[str, Any] = {"name": group.name}
                    if shared_options:
                        entry["option-data"] = shared_options
                    entry["subnet4"] = []
                    shared_networks[group.pk] = entry
                shared_networks[group.pk]["subnet4"].append(subnet)
            for network, entries in hosts[index].items():
                for host_name, _ in entries:
                    self.add(
                        WARNING,
                        f"host {host_name} on {side.server}",
                        f"Dropped: its fixed address is in no exported subnet ({network}).",
                    )
            exports.append(
                self._server(
                    side, mode.mode, peers, globals_[index], subnets, list(shared_networks.values())
                )
            )
        self._timing_report(mode.mode, auto)
        return KeaExport(self.name, mode.mode, exports, self.report)

    # -- the report of the peer statements --

    def _peer_report(self) -> None:
        for side in self.sides:
            peer = side.peer
            where = f"failover peer {peer.name} on {side.server}"
            for name, why in NO_EQUIVALENT.items():
                value = getattr(peer, name)
                if value is None or value == "":
                    continue
                label = str(FailoverPeer._meta.get_field(name).verbose_name)  # type: ignore[union-attr]
                self.add(WARNING, where, f"{label} {value}: not carried over. {why}")
            self.add(
                INFO,
                where,
                f"Address {peer.address} port {peer.port} and peer address "
                f"{peer.peer_address} port {peer.peer_port}: not used; Kea's HA traffic goes "
                "to the control agents' URLs.",
            )
            for _, text in peer.statements:
                if isinstance(text, str):
                    self.add(WARNING, where, f"'{_short(text)}': dropped (no Kea equivalent).")
        a, b = self.sides[0].peer, self.sides[1].peer
        if a.max_response_delay != b.max_response_delay:
            self.add(
                WARNING,
                f"relationship {self.name}",
                f"Max Response Delay differs ({a.max_response_delay} s on {a.server}, "
                f"{b.max_response_delay} s on {b.server}): the larger is used.",
            )

    def _other_relationships(self) -> None:
        for side in self.sides:
            others = FailoverPeer.objects.filter(server=side.server).exclude(pk=side.peer.pk)
            for other in others.order_by("name"):
                self.add(
                    WARNING,
                    f"failover peer {other.name} on {side.server}",
                    "Not exported: a Kea 2.2 instance serves one HA relationship (several "
                    "only from Kea 2.6's hub-and-spoke); export that relationship on its own.",
                )

    def _timing_report(self, mode: str, auto: bool) -> None:
        where = f"relationship {self.name}"
        mrd = max(s.peer.max_response_delay for s in self.sides)
        self.add(
            INFO,
            where,
            f"Max Response Delay {mrd} s → max-response-delay {mrd * 1000} ms, heartbeat-delay "
            f"{_heartbeat_ms(mrd * 1000)} ms, max-ack-delay {KEA_DEFAULT_MAX_ACK_MS} ms "
            "(Kea's default).",
        )
        if auto:
            values = ", ".join(
                f"{s.peer.auto_partner_down} s on {s.server}"
                for s in self.sides
                if s.peer.auto_partner_down
            )
            self.add(
                WARNING,
                where,
                f"Auto Partner Down ({values}) → auto-failover true, max-unacked-clients 0: "
                "Kea goes to partner-down and serves the partner's clients once "
                "max-response-delay passes without an answer; the waiting time itself is not "
                "carried over.",
            )
        else:
            self.add(
                WARNING,
                where,
                "No Auto Partner Down → auto-failover false, max-unacked-clients "
                f"{KEA_DEFAULT_MAX_UNACKED}: when the partner fails, the survivor does not take "
                "over the partner's clients by itself (in load-balancing it keeps serving its "
                "own in communication-recovery; partner-down comes once "
                f"{KEA_DEFAULT_MAX_UNACKED} clients went unanswered by the partner); an operator "
                "gives it the partner's clients (ha-scopes), as dhcpd waits for an operator's "
                "partner-down.",
            )

    # -- server level --

    def _server_globals(self, side: _Side) -> dict[str, Any]:
        """The top level of the server's dhcpd.conf as Kea globals (translated or reported)."""
        out: dict[str, Any] = {
            "valid-lifetime": DHCPD_DEFAULT_LEASE_TIME,
            "max-valid-lifetime": DHCPD_MAX_LEASE_TIME,
            "option-data": [],
            "authoritative": True,
        }
        where = f"server {side.server}"
        if side.server.omapi_port:
            self.add(
                WARNING,
                where,
                f"OMAPI port {side.server.omapi_port}: not carried over (Kea has no OMAPI; "
                "its control agent's REST API takes its place).",
            )
        if side.server.statements is None:
            # Made here: its dhcpd.conf says 'authoritative;' and 'ddns-update-style none;'.
            self.add(INFO, where, "'authoritative;' → authoritative true.")
            self.add(INFO, where, _NO_DDNS)
            return out
        out["authoritative"] = False
        for _, text in side.server.statements:
            if not isinstance(text, str):
                continue
            nodes = _parsed(text)
            if not nodes:
                self.add(WARNING, where, f"'{_short(text)}': dropped (not understood).")
                continue
            for node in nodes:
                self._global_statement(side, node, text, out, where)
        return out

    def _global_statement(
        self, side: _Side, node: Node, text: str, out: dict[str, Any], where: str
    ) -> None:
        if isinstance(node, Host):
            return  # placed into its subnet by _server_hosts
        if isinstance(node, OptionSetting):
            data = option_data(node.name, node.value)
            if data is None:
                self.add(WARNING, where, f"'{_short(text)}': dropped (not translated).")
            else:
                out["option-data"].append({"name": node.name, "data": data})
                self.add(INFO, where, f"'{_short(text)}' → global option-data {node.name}.")
            return
        if isinstance(node, Statement):
            words = [t.value.lower() for t in node.tokens]
            if words == ["authoritative"]:
                out["authoritative"] = True
                self.add(INFO, where, "'authoritative;' → authoritative true.")
                return
            if words in (["ddns-update-style", "none"], ["ddns-updates", "off"]):
                self.add(INFO, where, f"'{_short(text)}': {_NO_DDNS_WHY}")
                return
            if len(words) == 2 and words[0] in ("default-lease-time", "max-lease-time"):
                if words[1].isdigit():
                    key = (
                        "valid-lifetime"
                        if words[0] == "default-lease-time"
                        else ("max-valid-lifetime")
                    )
                    out[key] = int(words[1])
                    self.add(INFO, where, f"'{_short(text)}' → global {key}.")
                    return
        self.add(WARNING, where, f"'{_short(text)}': dropped (no Kea equivalent here).")

    def _server_hosts(self, side: _Side) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """Top-level ``host`` declarations with a fixed address, by the network (of the
        server's exported scopes) that holds the address."""
        out: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        if not side.server.statements:
            return out
        spans: list[tuple[tuple[int, int], str]] | None = None
        for _, text in side.server.statements:
            if not isinstance(text, str) or not text.lstrip().lower().startswith("host"):
                continue
            for node in _parsed(text) or []:
                if not isinstance(node, Host):
                    continue
                reservation = self._reservation(side, node, f"server {side.server}")
                if reservation is None:
                    continue
                address = ipv4_int(reservation["ip-address"])
                if spans is None:  # only for a server with top-level hosts
                    spans = [
                        ((scope.first_int, scope.last_int), network)
                        for network, scope in side.scopes.items()
                    ]
                network = next(
                    (n for (low, high), n in spans if low <= address <= high),
                    reservation["ip-address"],
                )
                out[network].append((node.name, reservation))
        return out

    def _reservation(self, side: _Side, host: Host, where: str) -> dict[str, Any] | None:
        """A ``host`` as a Kea reservation, or None (reported) when it has no hardware
        address and fixed address Kea can use."""
        obj = f"host {host.name} on {side.server}"
        mac = address = hostname = None
        for node in host.statements:
            words = [t.value for t in node.tokens] if isinstance(node, Statement) else []
            if (
                len(words) == 3
                and words[0].lower() == "hardware"
                and words[1].lower() == ("ethernet")
            ):
                mac = words[2].lower()
            elif len(words) == 2 and words[0].lower() == "fixed-address" and _is_ipv4(words[1]):
                address = words[1]
            elif isinstance(node, OptionSetting) and node.name == "host-name":
                hostname = option_data("domain-name", node.value)
                if hostname is None:
                    self.add(WARNING, obj, f"'{_short(node.text)}': dropped (not translated).")
            else:
                self.add(WARNING, obj, f"'{_short(node.text)}': dropped from the reservation.")
        if mac is None or address is None:
            self.add(
                WARNING,
                obj,
                "Dropped: Kea reservations here need 'hardware ethernet' and one IPv4 "
                "'fixed-address'.",
            )
            return None
        reservation: dict[str, Any] = {"hw-address": mac, "ip-address": address}
        if hostname:
            reservation["hostname"] = hostname
        self.add(INFO, obj, f"→ reservation {mac} {address} ({where}).")
        return reservation

    # -- subnets --

    def _subnet(
        self,
        side: _Side,
        scope: ScopeRow,
        number: int,
        pools: list[PoolRow],
        mode: str,
        classes: tuple[str, str],
        global_hosts: list[tuple[str, dict[str, Any]]],
        globals_: dict[str, Any],
        halves_reported: set[str],
        subnet_shared: list[Any],
    ) -> dict[str, Any]:
        """The Kea subnet of ``scope``; ``subnet_shared`` is set to its shared network and
        that network's options when it is in one."""
        where = f"scope {scope.network} on {side.server}"
        subnet: dict[str, Any] = {"id": number, "subnet": scope.network}
        options = [
            {"name": option, "data": _ip_list(value) if option != "domain-name" else value}
            for name, option in FIELD_OPTIONS
            if (value := getattr(scope, name))
        ]
        reservations = [reservation for _, reservation in global_hosts]
        # Lease times: the scope's, else the server's (dhcpd's defaults when none).
        if scope.default_lease_time is not None or scope.max_lease_time is not None:
            valid = scope.default_lease_time or globals_["valid-lifetime"]
            longest = scope.max_lease_time or globals_["max-valid-lifetime"]
            if valid > longest:
                self.add(
                    INFO,
                    where,
                    f"Default lease time {valid} s is above the max lease time {longest} s: "
                    "written as the max (dhcpd does the same).",
                )
                valid = longest
            subnet["valid-lifetime"] = valid
            subnet["max-valid-lifetime"] = longest
        for _, text in scope.statements:
            if isinstance(text, str):
                self._scope_statement(side, scope, text, subnet, options, reservations)
        # Enclosing groups: the first shared-network becomes a Kea shared network; the
        # options of groups inside it go into the subnet, of groups around it into the
        # shared network (where not set nearer, as dhcpd's scoping does).
        names = {option["name"] for option in options}
        shared: ScopeGroup | None = None
        shared_options: list[dict[str, Any]] = []
        group = side.groups.get(scope.group_id) if scope.group_id else None
        for _ in range(100):  # nested groups, never a cycle
            if group is None:
                break
            own = self._group_options(side, group)
            if group.kind == ScopeGroup.Kind.SHARED_NETWORK and shared is None:
                shared = group
                shared_options = list(own)
            elif shared is None:
                options.extend(o for o in own if o["name"] not in names)
                names.update(o["name"] for o in own)
            else:
                known = {o["name"] for o in shared_options}
                shared_options.extend(o for o in own if o["name"] not in known)
            group = side.groups.get(group.parent_id) if group.parent_id else None
        if shared is not None:
            subnet_shared[0] = shared
            subnet_shared[1] = shared_options
        pool_list: list[dict[str, Any]] = []
        for pool in pools:
            label = f"pool {pool.first_address}-{pool.last_address} on {side.server}"
            if pool.failover_peer_id != side.peer.pk:
                if pool.failover_peer_id is None:
                    self.add(
                        WARNING,
                        label,
                        "Not exported: a pool without failover peer is served by this server "
                        "alone; a Kea HA pair has no pools of one server.",
                    )
                continue
            for _, text in pool.statements:
                if isinstance(text, str):
                    self.add(WARNING, label, f"'{_short(text)}': dropped (not translated).")
            pool_list.extend(self._pool(side, pool, mode, classes, halves_reported))
        if options:
            subnet["option-data"] = options
        subnet["pools"] = pool_list
        if reservations:
            subnet["reservations"] = reservations
        return subnet

    def _pool(
        self,
        side: _Side,
        pool: PoolRow,
        mode: str,
        classes: tuple[str, str],
        halves_reported: set[str],
    ) -> list[dict[str, Any]]:
        first, last = pool.first_int, pool.last_int
        if mode != LOAD_BALANCING:
            return [{"pool": f"{pool.first_address}-{pool.last_address}"}]
        size = last - first + 1
        if size < 2:
            key = f"{pool.first_address}-{pool.last_address}"
            if key not in halves_reported:
                halves_reported.add(key)
                self.add(
                    WARNING,
                    f"pool {key}",
                    f"One address cannot be split: it goes to {classes[0][3:]} alone.",
                )
            return [self._class_pool(side, first, last, classes[0])]
        middle = first + (size + 1) // 2 - 1
        return [
            self._class_pool(side, first, middle, classes[0]),
            self._class_pool(side, middle + 1, last, classes[1]),
        ]

    def _class_pool(self, side: _Side, first: int, last: int, cls: str) -> dict[str, Any]:
        text = f"{_dotted(first)}-{_dotted(last)}"
        if side.settings.client_classes_list:
            return {"pool": text, "client-classes": [cls]}
        return {"pool": text, "client-class": cls}

    def _scope_statement(
        self,
        side: _Side,
        scope: ScopeRow,
        text: str,
        subnet: dict[str, Any],
        options: list[dict[str, Any]],
        reservations: list[dict[str, Any]],
    ) -> None:
        where = f"scope {scope.network} on {side.server}"
        nodes = _parsed(text)
        if not nodes:
            self.add(WARNING, where, f"'{_short(text)}': dropped (not understood).")
            return
        for node in nodes:
            if isinstance(node, Host):
                reservation = self._reservation(side, node, f"subnet {scope.network}")
                if reservation is not None:
                    reservations.append(reservation)
                continue
            if isinstance(node, OptionSetting):
                data = option_data(node.name, node.value)
                if data is None:
                    self.add(WARNING, where, f"'{_short(node.text)}': dropped (not translated).")
                else:
                    options.append({"name": node.name, "data": data})
                    self.add(INFO, where, f"'{_short(node.text)}' → option-data {node.name}.")
                continue
            if isinstance(node, Statement) and len(node.tokens) == 2:
                keyword, value = node.tokens[0].value.lower(), node.tokens[1]
                key = {
                    "next-server": "next-server",
                    "filename": "boot-file-name",
                    "server-name": "server-hostname",
                }.get(keyword)
                plain = _unquote(value.value)
                if (
                    key == "next-server"
                    and _is_ipv4(plain)
                    or (key in ("boot-file-name", "server-hostname") and value.kind == "string")
                ):
                    subnet[key] = plain
                    self.add(INFO, where, f"'{_short(node.text)}' → {key}.")
                    continue
            self.add(WARNING, where, f"'{_short(node.text)}': dropped (no Kea equivalent here).")

    def _group_options(self, side: _Side, group: ScopeGroup) -> list[dict[str, Any]]:
        """The translatable options of a shared-network or group (reported once)."""
        key = f"group:{group.pk}"
        if key in self._group_cache:
            return self._group_cache[key]
        where = f"{group.header} on {side.server}"
        options: list[dict[str, Any]] = []
        if group.kind == ScopeGroup.Kind.SHARED_NETWORK:
            self.add(INFO, where, f"→ Kea shared network '{group.name}'.")
        for _, text in group.statements:
            if not isinstance(text, str):
                continue
            nodes = _parsed(text) or []
            if len(nodes) == 1 and isinstance(nodes[0], OptionSetting):
                data = option_data(nodes[0].name, nodes[0].value)
                if data is not None:
                    options.append({"name": nodes[0].name, "data": data})
                    target = (
                        "the shared network's option-data"
                        if group.kind == ScopeGroup.Kind.SHARED_NETWORK
                        else "the option-data of its subnets"
                    )
                    self.add(INFO, where, f"'{_short(text)}' → {target}.")
                    continue
            self.add(WARNING, where, f"'{_short(text)}': dropped (not translated).")
        self._group_cache[key] = options
        return options

    # -- the two files of a server --

    def _server(
        self,
        side: _Side,
        mode: str,
        peers: list[dict[str, Any]],
        globals_: dict[str, Any],
        subnets: list[dict[str, Any]],
        shared_networks: list[dict[str, Any]],
    ) -> ServerExport:
        s = side.settings
        mrd_ms = max(x.peer.max_response_delay for x in self.sides) * 1000
        auto = any(x.peer.auto_partner_down for x in self.sides)
        ha = {
            "this-server-name": side.server.name,
            "mode": mode,
            "heartbeat-delay": _heartbeat_ms(mrd_ms),
            "max-response-delay": mrd_ms,
            "max-ack-delay": KEA_DEFAULT_MAX_ACK_MS,
            "max-unacked-clients": 0 if auto else KEA_DEFAULT_MAX_UNACKED,
            "peers": [dict(peer) for peer in peers],
        }
        hooks = s.hooks_dir.rstrip("/")
        output_key = "output-options" if s.client_classes_list else "output_options"
        dhcp4: dict[str, Any] = {
            "interfaces-config": {"interfaces": s.interface_list},
            "control-socket": {"socket-type": "unix", "socket-name": s.control_socket},
            "lease-database": {
                "type": "memfile",
                "persist": True,
                "name": s.lease_file,
                "lfc-interval": 3600,
            },
            "multi-threading": {"enable-multi-threading": False},
            "authoritative": globals_["authoritative"],
            "valid-lifetime": min(globals_["valid-lifetime"], globals_["max-valid-lifetime"]),
            "max-valid-lifetime": globals_["max-valid-lifetime"],
        }
        if globals_["option-data"]:
            dhcp4["option-data"] = globals_["option-data"]
        dhcp4["hooks-libraries"] = [
            {"library": f"{hooks}/libdhcp_lease_cmds.so"},
            {"library": f"{hooks}/libdhcp_ha.so", "parameters": {"high-availability": [ha]}},
        ]
        if shared_networks:
            dhcp4["shared-networks"] = shared_networks
        dhcp4["subnet4"] = subnets
        dhcp4["loggers"] = [
            {"name": "kea-dhcp4", "severity": "INFO", output_key: [{"output": "stdout"}]}
        ]
        ctrl_agent = {
            "Control-agent": {
                "http-host": s.listen_address,
                "http-port": s.control_agent_port,
                "control-sockets": {
                    "dhcp4": {"socket-type": "unix", "socket-name": s.control_socket}
                },
                "loggers": [
                    {
                        "name": "kea-ctrl-agent",
                        "severity": "INFO",
                        output_key: [{"output": "stdout"}],
                    }
                ],
            }
        }
        return ServerExport(side.server, s, {"Dhcp4": dhcp4}, ctrl_agent)


_NO_DDNS_WHY = "nothing to write (Kea makes no DNS updates unless kea-dhcp-ddns is set up)."
_NO_DDNS = f"'ddns-update-style none;': {_NO_DDNS_WHY}"


def _dotted(number: int) -> str:
    return f"{number >> 24}.{(number >> 16) & 255}.{(number >> 8) & 255}.{number & 255}"


def _heartbeat_ms(max_response_delay_ms: int) -> int:
    return max(100, min(KEA_DEFAULT_HEARTBEAT_MS, max_response_delay_ms // 2))


_SECRET = re.compile(r"(\bsecret\s+)(\"(?:[^\"\\]|\\.)*\"|[^\s;]+)", re.IGNORECASE)


def _short(text: str, limit: int = 120) -> str:
    """One line of at most ``limit`` characters, a key's secret never shown."""
    one_line = " ".join(_SECRET.sub(r"\1…", text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def export_pair(
    name: str,
    primary: tuple[DhcpServer, FailoverPeer],
    secondary: tuple[DhcpServer, FailoverPeer],
) -> KeaExport:
    return Exporter(name, primary, secondary).build()
