"""The renderer as it was before issue 7 (model instances, ``ipaddress`` for every value),
kept unchanged as a test oracle: tests/dhcpd/test_render_same.py checks that the faster
renderer (failover.dhcpd.render) writes byte-identical text for the same data. When the
rendered output is meant to change, change both (or retire this oracle).

"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError

from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope, ScopeGroup
from failover.validators import SAFE_NAME_RE, split_list, validate_hba, validate_host

#: dhcpd's tokenizer holds a string in a 1,500-byte buffer; stay well below it.
MAX_STRING_BYTES = 1024

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SAFE_NAME = re.compile(SAFE_NAME_RE)
INDENT = "  "


def quote(value: str) -> str:
    """A dhcpd string literal for ``value``: ``\\`` and ``"`` escaped, control chars refused."""
    value = str(value)
    if _CONTROL_RE.search(value):
        raise ValueError(f"control characters cannot be written into dhcpd.conf: {value!r}")
    if len(value.encode("utf-8")) > MAX_STRING_BYTES:
        raise ValueError(f"a string longer than {MAX_STRING_BYTES} bytes: {value[:40]!r}…")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def comment(text: str) -> str:
    """One comment line; whatever is not printable is shown as an escape, never written raw."""
    safe = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in str(text))
    return f"# {safe}".rstrip()


def name(value: str) -> str:
    """A peer name as a quoted string, after checking the safe character set again."""
    if not _SAFE_NAME.fullmatch(value or ""):
        raise ValueError(f"not a safe name for dhcpd.conf: {value!r}")
    return quote(value)


def host(value: str) -> str:
    """An IPv4 address or DNS name, written bare (as dhcpd expects for ``address``)."""
    try:
        validate_host(value)
    except ValidationError:
        raise ValueError(f"not an IPv4 address or DNS name: {value!r}") from None
    return value


def ipv4(value: str) -> str:
    return str(ipaddress.IPv4Address(str(value).strip()))


def ipv4_list(value: str) -> str:
    return ", ".join(ipv4(item) for item in split_list(value))


def number(value: int) -> str:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"not a non-negative integer: {value!r}")
    return str(int(value))


# --- blocks ------------------------------------------------------------------------------


def _peer_lines(peer: FailoverPeer) -> list[str]:
    if peer.role not in FailoverPeer.Role.values:
        raise ValueError(f"failover peer {peer.name!r} has no valid role: {peer.role!r}")
    body = [
        f"{peer.role};",
        f"address {host(peer.address)};",
        f"port {number(peer.port)};",
        f"peer address {host(peer.peer_address)};",
        f"peer port {number(peer.peer_port)};",
        f"max-response-delay {number(peer.max_response_delay)};",
        f"max-unacked-updates {number(peer.max_unacked_updates)};",
    ]
    if peer.is_primary:  # primary-only statements are never written on a secondary
        if peer.mclt is not None:
            body.append(f"mclt {number(peer.mclt)};")
        if peer.split is not None:
            body.append(f"split {number(peer.split)};")
        if peer.hba:
            try:
                validate_hba(peer.hba)
            except ValidationError:
                raise ValueError(f"not a valid hba: {peer.hba!r}") from None
            body.append(f"hba {peer.hba.lower()};")
    optional = (
        ("load balance max seconds", peer.load_balance_max_seconds),
        ("auto-partner-down", peer.auto_partner_down),
        ("max-lease-misbalance", peer.max_lease_misbalance),
        ("max-lease-ownership", peer.max_lease_ownership),
        ("min-balance", peer.min_balance),
        ("max-balance", peer.max_balance),
    )
    body += [f"{keyword} {number(value)};" for keyword, value in optional if value is not None]
    body += _kept(peer.statements)
    return [f"failover peer {name(peer.name)} {{", *(INDENT + line for line in body), "}"]


# --- imported layout: verbatim statements and positions ------------------------------------

#: What a server made in dhcpadmin gets at the top level (see the module docstring).
DEFAULT_TOP = [
    [0, "authoritative;"],
    [1, "ddns-update-style none;"],
    [2, {"field": "omapi_port"}],
    [3, {"peers": True}],
]


def _kept(entries: list) -> list[str]:
    """The verbatim statements of ``entries`` (the place holders left out), as lines."""
    lines: list[str] = []
    for entry in _entries(entries):
        if isinstance(entry[1], str):
            lines += _verbatim(entry[1])
    return lines


def _entries(entries) -> list[list]:
    """Well-formed ``[position, payload]`` entries, in order (see failover.models)."""
    if not isinstance(entries, list):
        return []
    good = [
        e
        for e in entries
        if isinstance(e, list)
        and len(e) == 2
        and isinstance(e[0], int)
        and isinstance(e[1], str | dict)
    ]
    return sorted(good, key=lambda e: e[0])


def _verbatim(text: str) -> list[str]:
    """A statement kept verbatim: the parser's canonical text, written back line by line."""
    if "\x00" in text:
        raise ValueError("a kept statement contains a NUL character")
    return text.split("\n")


class _Inherited:
    """The failover peer a shared-network gives the pools declared after this point (dhcpd
    reads ``failover peer "NAME";`` in a shared-network that way)."""

    __slots__ = ("peer",)

    def __init__(self) -> None:
        self.peer: str | None = None


class _Layout:
    """Everything of one server, loaded, and how to write each part."""

    def __init__(self, server, peers, scopes, groups) -> None:
        self.server = server
        self.peers = sorted(peers, key=lambda p: p.name)
        self.scopes = scopes
        self.groups = list(groups)
        self.pools_of = {scope.pk: list(scope.pools.all()) for scope in scopes}
        self.referenced = {
            pool.failover_peer_id
            for pools in self.pools_of.values()
            for pool in pools
            if pool.failover_peer_id
        }
        self.declared = {p.name for p in self.peers if p.pk in self.referenced}
        group_ids = {g.pk for g in self.groups}
        self.scopes_in: dict[int | None, list[Scope]] = {}
        for scope in scopes:
            key = scope.group_id if scope.group_id in group_ids else None
            self.scopes_in.setdefault(key, []).append(scope)
        self.groups_in: dict[int | None, list[ScopeGroup]] = {}
        for group in self.groups:
            key = group.parent_id if group.parent_id in group_ids else None
            self.groups_in.setdefault(key, []).append(group)
        # Pool blocks declared in a shared network (not in their subnet).
        self.blocks_in: dict[int, list[AddressPool]] = {}
        for pools in self.pools_of.values():
            for pool in pools:
                if pool.group_id in group_ids:
                    self.blocks_in.setdefault(pool.group_id, []).append(pool)
        self.has_scopes: dict[int, bool] = {}

    # -- the top level

    def top(self) -> list[str]:
        server = self.server
        entries = _entries(server.statements) if server.imported else DEFAULT_TOP
        out: list[str] = []
        slots = set()
        for _, payload in entries:
            if isinstance(payload, dict):
                slots.add("peers" if payload.get("peers") else payload.get("field"))
        if "omapi_port" not in slots and server.omapi_port:
            out.append(f"omapi-port {number(server.omapi_port)};")
        if "peers" not in slots:
            out += self.peer_lines()
        inherited = _Inherited()  # subnets outside a shared network inherit no peer
        children = [(s.position, (0, _net_int(s)), s) for s in self.scopes_in.get(None, [])]
        children += [(g.position, (1, g.pk), g) for g in self.groups_in.get(None, [])]
        for kind, item in _merge(entries, children):
            if kind == "entry":
                if isinstance(item, str):
                    out += _verbatim(item)
                elif item.get("field") == "omapi_port":
                    if server.omapi_port:
                        out.append(f"omapi-port {number(server.omapi_port)};")
                elif item.get("peers"):
                    out += self.peer_lines()
            else:
                out += self.child_lines(item, inherited)
        return out

    def peer_lines(self) -> list[str]:
        out: list[str] = []
        for peer in self.peers:
            out.append("")
            if peer.pk in self.referenced:
                out += _peer_lines(peer)
            else:
                out.append(comment(f"Failover peer {name(peer.name)} is not declared here:"))
                out.append(comment("no address pool refers to it, and dhcpd refuses such a peer."))
        return out

    def child_lines(self, item, inherited: _Inherited) -> list[str]:
        if isinstance(item, Scope):
            return ["", *self.scope_lines(item, inherited)]
        if self.holds_scopes(item):
            return ["", *self.group_lines(item, inherited)]
        return []  # an empty shared-network is refused by dhcpd: left out

    def holds_scopes(self, group: ScopeGroup, depth: int = 0) -> bool:
        if group.pk not in self.has_scopes:
            self.has_scopes[group.pk] = bool(self.scopes_in.get(group.pk)) or (
                depth < 64
                and any(self.holds_scopes(g, depth + 1) for g in self.groups_in.get(group.pk, []))
            )
        return self.has_scopes[group.pk]

    # -- shared-network / group

    def group_lines(self, group: ScopeGroup, inherited: _Inherited) -> list[str]:
        if group.kind == ScopeGroup.Kind.SHARED_NETWORK:
            inherited = _Inherited()
        body: list[str] = []
        children = [(s.position, (0, _net_int(s)), s) for s in self.scopes_in.get(group.pk, [])]
        children += [(g.position, (1, g.pk), g) for g in self.groups_in.get(group.pk, [])]
        children += [
            (position, (2, first), block)
            for position, first, block in _blocks(self.blocks_in.get(group.pk, []))
        ]
        for kind, item in _merge(group.statements, children):
            if kind == "entry":
                if isinstance(item, str):
                    body += _verbatim(item)
                elif "peer" in item:
                    peer_name = item["peer"]
                    if peer_name in self.declared:  # else dhcpd would not know the name
                        body.append(f"failover peer {name(peer_name)};")
                        inherited.peer = peer_name
            elif isinstance(item, list):
                body += self.block_lines(item, inherited)
            else:
                body += self.child_lines(item, inherited)
        return [f"{_group_header(group)} {{", *(INDENT + line for line in body), "}"]

    # -- subnet

    def scope_lines(self, scope: Scope, inherited: _Inherited) -> list[str]:
        net = ipaddress.IPv4Network(scope.network)
        entries = _entries(scope.statements)
        slotted = {e[1].get("field") for e in entries if isinstance(e[1], dict)}
        body: list[str] = []
        for field in SCOPE_FIELDS:
            if field not in slotted:
                body += _scope_field(scope, field)
        own = [
            p
            for p in self.pools_of.get(scope.pk, [])
            if p.group_id is None or p.group_id not in self.blocks_in
        ]
        children = [(position, (0, first), block) for position, first, block in _blocks(own)]
        for kind, item in _merge(entries, children):
            if kind == "entry":
                if isinstance(item, str):
                    body += _verbatim(item)
                elif item.get("field") in SCOPE_FIELDS:
                    body += _scope_field(scope, item["field"])
            else:
                body += self.block_lines(item, inherited)
        lines = [comment(f"Scope {net}" + (f": {scope.name}" if scope.name else ""))]
        lines.append(f"subnet {net.network_address} netmask {net.netmask} {{")
        lines += [INDENT + line for line in body]
        lines.append("}")
        return lines

    # -- pool { } blocks and bare ranges

    def block_lines(self, pools: list[AddressPool], inherited: _Inherited) -> list[str]:
        out: list[str] = []
        if all(p.bare and not p.failover_peer_id for p in pools):
            for pool in pools:
                out.append(_range_line(pool))
            return out
        by_peer: dict[str, list[AddressPool]] = {}
        for pool in pools:
            peer_name = pool.failover_peer.name if pool.failover_peer_id else ""
            by_peer.setdefault(peer_name, []).append(pool)
        for peer_name in sorted(by_peer):
            part = by_peer[peer_name]
            first = part[0]
            body = _peer_statement(peer_name or None, first.peer_statement, inherited.peer)
            body += _kept(first.statements)
            body += [_range_line(pool) for pool in part]
            out += ["pool {", *(INDENT + line for line in body), "}"]
        return out


SCOPE_FIELDS = (
    "routers",
    "domain_name_servers",
    "domain_name",
    "default_lease_time",
    "max_lease_time",
)


def _scope_field(scope: Scope, field: str) -> list[str]:
    value = getattr(scope, field)
    if not value:
        return []
    if field == "routers":
        return [f"option routers {ipv4_list(value)};"] if split_list(value) else []
    if field == "domain_name_servers":
        return [f"option domain-name-servers {ipv4_list(value)};"] if split_list(value) else []
    if field == "domain_name":
        return [f"option domain-name {quote(value)};"]
    keyword = "default-lease-time" if field == "default_lease_time" else "max-lease-time"
    return [f"{keyword} {number(value)};"]


def _peer_statement(peer: str | None, how: str, inherited: str | None) -> list[str]:
    """How a pool names its failover peer, so that dhcpd reads exactly ``peer``."""
    if peer is not None:
        if how == AddressPool.PeerStatement.INHERIT and peer == inherited:
            return []
        return [f"failover peer {name(peer)};"]
    if inherited is not None or how == AddressPool.PeerStatement.NONE:
        return ["no failover peer"]  # dhcpd 4.4 reads it without a ';'
    return []


def _range_line(pool: AddressPool) -> str:
    bootp = "dynamic-bootp " if pool.dynamic_bootp else ""
    return f"range {bootp}{ipv4(pool.first_address)} {ipv4(pool.last_address)};"


def _blocks(pools: list[AddressPool]) -> list[tuple[int | None, int, list[AddressPool]]]:
    """Pools grouped into what is written as one item: the ranges of one imported block
    (same container and position), or each pool made here on its own."""
    blocks: dict[tuple, list[AddressPool]] = {}
    for pool in sorted(pools, key=lambda p: int(p.first_ip)):
        if pool.position is None:
            key: tuple = ("own", pool.pk if pool.pk is not None else id(pool))
        else:
            key = ("at", pool.position)
        blocks.setdefault(key, []).append(pool)
    return [(block[0].position, int(block[0].first_ip), block) for block in blocks.values()]


def _merge(entries, children: list[tuple[int | None, tuple, object]]) -> list[tuple[str, object]]:
    """The body of a container in order: entries and children with a position by that
    position, then the children made in dhcpadmin (no position) in their natural order."""
    placed = [(e[0], 0, (), "entry", e[1]) for e in _entries(entries)]
    placed += [(pos, 1, key, "child", obj) for pos, key, obj in children if pos is not None]
    placed.sort(key=lambda t: (t[0], t[1], t[2]))
    rest = sorted((c for c in children if c[0] is None), key=lambda c: c[1])
    return [(t[3], t[4]) for t in placed] + [("child", c[2]) for c in rest]


def _group_header(group: ScopeGroup) -> str:
    if group.kind == ScopeGroup.Kind.SHARED_NETWORK:
        label = "shared-network"
    elif group.kind == ScopeGroup.Kind.GROUP:
        label = "group"
    else:
        raise ValueError(f"not a shared-network or group: {group.kind!r}")
    if not group.name:
        if group.kind == ScopeGroup.Kind.SHARED_NETWORK:
            raise ValueError("a shared-network needs a name")
        return label
    if group.quoted:
        return f"{label} {quote(group.name)}"
    if not re.fullmatch(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?", group.name):
        raise ValueError(f"not a name dhcpd reads unquoted: {group.name!r}")
    return f"{label} {group.name}"


def _net_int(scope: Scope) -> int:
    return int(ipaddress.IPv4Network(scope.network).network_address)


def _header(server: DhcpServer) -> list[str]:
    lines = [
        comment(f"dhcpd.conf for DHCP server {server.name} ({server.address})"),
        comment("Generated by dhcpadmin; edit the server in dhcpadmin, not this file."),
    ]
    description = re.split(r"\r\n|\r|\n", server.description or "")
    if any(part.strip() for part in description):
        lines.append("#")
        lines += [comment(part) for part in description]
    return lines


def render_server(server: DhcpServer) -> str:
    """The dhcpd.conf of one server (three queries, whatever its size; four for an imported
    server, which may have shared networks and groups)."""
    peers = list(FailoverPeer.objects.filter(server=server).order_by("name"))
    scopes = list(Scope.objects.filter(server=server).with_pools())
    groups = list(ScopeGroup.objects.filter(server=server)) if server.imported else []
    return render(server, peers, scopes, groups)


def render(
    server: DhcpServer,
    peers: Iterable[FailoverPeer],
    scopes: Iterable[Scope],
    groups: Iterable[ScopeGroup] = (),
) -> str:
    """Render from already loaded objects (``scopes`` with their pools prefetched)."""
    scopes = sorted(scopes, key=_net_int)
    out = _header(server)
    out.append("")
    out += _Layout(server, peers, scopes, groups).top()
    return "\n".join(_tidy(out)) + "\n"


def _tidy(lines: list[str]) -> list[str]:
    """Blank lines only between items: never two in a row, none after an opening brace,
    no trailing spaces. Blank lines mean nothing to dhcpd (and a kept statement has none:
    the parser writes newlines inside strings as escapes)."""
    out: list[str] = []
    for line in lines:
        if not line.strip():
            if out and out[-1] and not out[-1].endswith("{"):
                out.append("")
        else:
            out.append(line)
    return out
