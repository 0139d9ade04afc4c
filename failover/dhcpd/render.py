"""Model -> dhcpd.conf text, one server at a time.

The output is deterministic: no timestamps, peers ordered by name, scopes ordered by their
network address (numerically), pools by their first address. Two renders of the same data
are byte-identical, so a diff of two renders shows exactly what changed.

No value a user can enter can change the structure of the file:
- names (server, peer) are restricted to a safe character set by the model validators;
- addresses are re-checked here (IPv4 address or DNS name) before they are written bare;
- every string is written with :func:`quote`, which escapes ``\\`` and ``"`` and refuses
  control characters (so no newline can end a statement early);
- free text (the server description, the scope name) only appears in comments, written by
  :func:`comment`, which turns anything that is not printable into an escape sequence, so a
  comment can never spill onto a second line.

Global statements: ``authoritative;`` (each managed server is the DHCP server of the scopes it
is given, so it should answer DHCPNAK to clients asking for addresses of another network, as
ISC recommends for such servers), ``ddns-update-style none;`` (dhcpadmin manages no DNS
updates) and ``omapi-port N;`` when the server has an OMAPI port (live state), with its
``key`` declaration and ``omapi-key`` when the server has an OMAPI key.

Imported servers (``DhcpServer.imported``): the file's own top level is written instead of
those global statements, and every object's ``statements`` (kept verbatim by the importer)
and ``position`` put each statement, subnet, shared-network/group and pool block back in
the place it had in the file (see ``failover.models`` and ``failover.dhcpd.importer``).
Objects made in dhcpadmin have no position and come after those, in the order above. A
pool's failover peer is written so that dhcpd reads exactly the stored peer: named in the
pool, left to the shared-network's ``failover peer "NAME";`` where the file did that, or
``no failover peer`` where the shared-network would otherwise give it one. The ranges of
one imported ``pool { }`` block are written as one block (split by failover peer, should
their peers have been changed apart); a ``bare`` range as a ``range`` in the subnet.

A failover peer that no pool refers to is **not** declared: dhcpd refuses to start with an
unreferenced peer ("failover configuration sanity check failed"), so declaring it would turn
a harmless loose end into a server that does not start. It is written as a comment instead,
and the pair check (``failover.dhcpd.pair``) reports it.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal, NamedTuple, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import TextField
from django.db.models.functions import Cast

from failover.crypto import UNREADABLE
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope, ScopeGroup, ipv4_int
from failover.validators import SAFE_NAME_RE, is_ipv4, split_list, validate_hba, validate_host

#: dhcpd's tokenizer holds a string in a 1,500-byte buffer; stay well below it.
MAX_STRING_BYTES = 1024

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IPV4_LIST_RE = re.compile(rf"{_IPV4}(?:, {_IPV4})*")
_CIDR_RE = re.compile(rf"(({_OCTET})\.({_OCTET})\.({_OCTET})\.({_OCTET}))/(3[0-2]|[12][0-9]|[0-9])")
_SAFE_NAME = re.compile(SAFE_NAME_RE)
INDENT = "  "


def quote(value: str) -> str:
    """A dhcpd string literal for ``value``: ``\\`` and ``"`` escaped, control chars refused."""
    value = str(value)
    if _CONTROL_RE.search(value):
        raise ValueError(f"control characters cannot be written into dhcpd.conf: {value!r}")
    # Short ASCII text is shorter than the limit in bytes too: only the rest is encoded.
    if (not value.isascii() or len(value) > MAX_STRING_BYTES) and len(
        value.encode("utf-8")
    ) > MAX_STRING_BYTES:
        raise ValueError(f"a string longer than {MAX_STRING_BYTES} bytes: {value[:40]!r}…")
    if "\\" in value or '"' in value:
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + value + '"'


def comment(text: str) -> str:
    """One comment line; whatever is not printable is shown as an escape, never written raw."""
    safe = str(text)
    if not safe.isprintable():
        safe = "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in safe)
    return f"# {safe}".rstrip()


@lru_cache(maxsize=1024)
def name(value: str) -> str:
    """A peer name as a quoted string, after checking the safe character set again (once
    per distinct name: a server's ten thousand pools name the same few peers)."""
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
    """An IPv4 address in its usual form. Text that is already in that form (what the
    model stores) is checked with one regular expression and written as it is."""
    if type(value) is str and is_ipv4(value):
        return value
    return str(ipaddress.IPv4Address(str(value).strip()))


def ipv4_list(value: str) -> str:
    """Comma-separated IPv4 addresses, as ``a, b``. A list already in that form (what the
    model mostly stores) is checked with one regular expression and written as it is."""
    if type(value) is str and _IPV4_LIST_RE.fullmatch(value):
        return value
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


def omapi_lines(server: DhcpServer) -> list[str]:
    """``omapi-port N;`` and, when the server has an OMAPI key, its ``key`` declaration and
    ``omapi-key NAME;`` (dhcpd 4.4: HMAC-MD5; the secret is base64, checked by the form and
    again here). The secret is in the text: pages redact it (failover.live.secrets)."""
    lines = [f"omapi-port {number(server.omapi_port or 0)};"]
    key_name, secret = server.omapi_key_name, server.omapi_key_secret
    if key_name and secret:
        if secret == UNREADABLE:
            raise ValueError(
                "the OMAPI key secret cannot be decrypted (the encryption key changed); "
                "enter the secret again"
            )
        if not _BASE64_RE.fullmatch(secret):
            raise ValueError("the OMAPI key secret is not base64")
        lines = [
            f"key {name(key_name)} {{",
            f"{INDENT}algorithm hmac-md5;",
            f"{INDENT}secret {quote(secret)};",
            "}",
            *lines,
            f"omapi-key {_bare_name(key_name)};",
        ]
    return lines


def _bare_name(value: str) -> str:
    """``omapi-key`` takes the key's name unquoted (dhcpd rejects a string there)."""
    if not _SAFE_NAME.fullmatch(value or ""):
        raise ValueError(f"not a safe name for dhcpd.conf: {value!r}")
    return value


_BASE64_RE = re.compile(r"\A(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?\Z")


# --- imported layout: verbatim statements and positions ------------------------------------

#: What a server made in dhcpadmin gets at the top level (see the module docstring).
DEFAULT_TOP = [
    [0, "authoritative;"],
    [1, "ddns-update-style none;"],
    [2, {"field": "omapi_port"}],
    [3, {"peers": True}],
]


def _kept(entries: Any) -> list[str]:
    """The verbatim statements of ``entries`` (the place holders left out), as lines."""
    lines: list[str] = []
    for entry in _entries(entries):
        if isinstance(entry[1], str):
            lines += _verbatim(entry[1])
    return lines


#: ``_entries`` of a JSON text, once per distinct text (ten thousand subnets imported from
#: one file mostly hold the same place holders; pools mostly hold none). Each render has its
#: own (see ``_Layout``); the lists are read, never changed.
_Memo = dict[str, list]


def _entries(entries: Any, memo: _Memo | None = None) -> list[list]:
    """Well-formed ``[position, payload]`` entries, in order (see failover.models).
    ``entries`` is the stored list, or its JSON text as the render query reads it."""
    if isinstance(entries, str):
        if memo is None:
            return _entries(json.loads(entries))
        found = memo.get(entries)
        if found is None:
            found = memo[entries] = _entries(json.loads(entries))
        return found
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


class _ScopeRow(NamedTuple):
    """What the renderer reads of a scope (one row of the render query), and its subnet."""

    pk: int | None
    network: str
    name: str
    routers: str
    domain_name_servers: str
    domain_name: str
    default_lease_time: int | None
    max_lease_time: int | None
    group_id: int | None
    position: int | None
    statements: Any  # the stored list, or its JSON text
    net_int: int = 0  # from _subnet(network)
    cidr: str = ""
    subnet: str = ""

    @classmethod
    def of(cls, row: tuple) -> _ScopeRow:
        return cls._make((*row, *_subnet(row[1])))


class _PoolRow(NamedTuple):
    """What the renderer reads of an address pool, with its failover peer's name."""

    pk: int | None
    scope_id: int | None
    first_address: str
    last_address: str
    failover_peer_id: int | None
    peer_name: str | None
    group_id: int | None
    position: int | None
    bare: bool
    dynamic_bootp: bool
    peer_statement: str
    statements: Any  # the stored list, or its JSON text


SCOPE_COLUMNS = ("pk", "network", "name", *Scope.OPTION_FIELDS, "group_id", "position")
POOL_COLUMNS = (
    "pk",
    "scope_id",
    "first_address",
    "last_address",
    "failover_peer_id",
    "failover_peer__name",
    "group_id",
    "position",
    "bare",
    "dynamic_bootp",
    "peer_statement",
)


class _Layout:
    """Everything of one server, loaded, and how to write each part."""

    def __init__(self, server, peers, scopes: list[_ScopeRow], pools: list[_PoolRow], groups):
        self.server = server
        self.peers = sorted(peers, key=lambda p: p.name)
        self.scopes = scopes
        self.groups = list(groups)
        self.memo: _Memo = {}
        self.slots: dict[tuple, tuple[str, ...]] = {}
        self.pools_of: dict[int | None, list[_PoolRow]] = {scope.pk: [] for scope in scopes}
        for pool in pools:
            if pool.scope_id in self.pools_of:
                self.pools_of[pool.scope_id].append(pool)
        self.referenced = {
            pool.failover_peer_id
            for pools in self.pools_of.values()
            for pool in pools
            if pool.failover_peer_id
        }
        self.declared = {p.name for p in self.peers if p.pk in self.referenced}
        group_ids = {g.pk for g in self.groups}
        self.scopes_in: dict[int | None, list[_ScopeRow]] = {}
        for scope in scopes:
            key = scope.group_id if scope.group_id in group_ids else None
            self.scopes_in.setdefault(key, []).append(scope)
        self.groups_in: dict[int | None, list[ScopeGroup]] = {}
        for group in self.groups:
            key = group.parent_id if group.parent_id in group_ids else None
            self.groups_in.setdefault(key, []).append(group)
        # Pool blocks declared in a shared network (not in their subnet).
        self.blocks_in: dict[int | None, list[_PoolRow]] = {}
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
            out += omapi_lines(server)
        if "peers" not in slots:
            out += self.peer_lines()
        inherited = _Inherited()  # subnets outside a shared network inherit no peer
        children: list[tuple[int | None, tuple[int, int], _ScopeRow | ScopeGroup]] = [
            (s.position, (0, s.net_int), s) for s in self.scopes_in.get(None, [])
        ]
        children += [(g.position, (1, g.pk), g) for g in self.groups_in.get(None, [])]
        for part in _merge(entries, children):
            if part[0] == "entry":
                payload = part[1]
                if isinstance(payload, str):
                    out += _verbatim(payload)
                elif payload.get("field") == "omapi_port":
                    if server.omapi_port:
                        out += omapi_lines(server)
                elif payload.get("peers"):
                    out += self.peer_lines()
            else:
                out += self.child_lines(part[1], inherited)
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

    def child_lines(self, item: _ScopeRow | ScopeGroup, inherited: _Inherited) -> list[str]:
        if isinstance(item, _ScopeRow):
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
        children: list[tuple[int | None, tuple[int, int], _ScopeRow | ScopeGroup | list[_PoolRow]]]
        children = [(s.position, (0, s.net_int), s) for s in self.scopes_in.get(group.pk, [])]
        children += [(g.position, (1, g.pk), g) for g in self.groups_in.get(group.pk, [])]
        children += [
            (position, (2, first), block)
            for position, first, block in _blocks(self.blocks_in.get(group.pk, []))
        ]
        for part in _merge(group.statements, children):
            if part[0] == "entry":
                payload = part[1]
                if isinstance(payload, str):
                    body += _verbatim(payload)
                elif "peer" in payload:
                    peer_name = payload["peer"]
                    if peer_name in self.declared:  # else dhcpd would not know the name
                        body.append(f"failover peer {name(peer_name)};")
                        inherited.peer = peer_name
            elif isinstance(child := part[1], list):
                body += self.block_lines(child, inherited)
            else:
                body += self.child_lines(child, inherited)
        return [f"{_group_header(group)} {{", *(INDENT + line for line in body), "}"]

    def kept(self, statements: Any) -> list[str]:
        """``_kept``, once per distinct JSON text (a pool's statements are mostly none)."""
        if statements == "[]":
            return []
        lines: list[str] = []
        for entry in _entries(statements, self.memo):
            if isinstance(entry[1], str):
                lines += _verbatim(entry[1])
        return lines

    # -- subnet

    def scope_lines(self, scope: _ScopeRow, inherited: _Inherited) -> list[str]:
        entries = _entries(scope.statements, self.memo)
        body: list[str] = []
        for field in self.unslotted(scope.statements, entries):
            body += _scope_field(scope, field)
        own = self.pools_of.get(scope.pk, [])
        if self.blocks_in:
            own = [p for p in own if p.group_id is None or p.group_id not in self.blocks_in]
        children = [(position, (0, first), block) for position, first, block in _blocks(own)]
        for part in _merge(scope.statements, children, self.memo):
            if part[0] == "entry":
                payload = part[1]
                if isinstance(payload, str):
                    body += _verbatim(payload)
                elif payload.get("field") in SCOPE_FIELDS:
                    body += _scope_field(scope, payload["field"])
            else:
                body += self.block_lines(part[1], inherited)
        lines = [comment(f"Scope {scope.cidr}" + (f": {scope.name}" if scope.name else ""))]
        lines.append(f"{scope.subnet} {{")
        lines += [INDENT + line for line in body]
        lines.append("}")
        return lines

    def unslotted(self, statements: Any, entries: list[list]) -> tuple[str, ...]:
        """The scope fields that have no place holder in ``entries`` (written first)."""
        key = ("unslotted", statements) if isinstance(statements, str) else None
        found = self.slots.get(key) if key else None
        if found is None:
            slotted = {e[1].get("field") for e in entries if isinstance(e[1], dict)}
            found = tuple(field for field in SCOPE_FIELDS if field not in slotted)
            if key:
                self.slots[key] = found
        return found

    # -- pool { } blocks and bare ranges

    def block_lines(self, pools: list[_PoolRow], inherited: _Inherited) -> list[str]:
        out: list[str] = []
        if all(p.bare and not p.failover_peer_id for p in pools):
            for pool in pools:
                out.append(_range_line(pool))
            return out
        by_peer: dict[str, list[_PoolRow]] = {}
        for pool in pools:
            # A pool with a peer always has its name (the join, or the related object).
            peer_name = (
                pool.peer_name if pool.failover_peer_id and pool.peer_name is not None else ""
            )
            by_peer.setdefault(peer_name, []).append(pool)
        for peer_name in sorted(by_peer):
            part = by_peer[peer_name]
            first = part[0]
            body = _peer_statement(peer_name or None, first.peer_statement, inherited.peer)
            body += self.kept(first.statements)
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


def _scope_field(scope: _ScopeRow, field: str) -> list[str]:
    value = getattr(scope, field)
    if not value:
        return []
    if field == "routers" or field == "domain_name_servers":
        listed = ipv4_list(value)  # empty when the value lists nothing
        return [f"option {_OPTION_NAMES[field]} {listed};"] if listed else []
    if field == "domain_name":
        return [f"option domain-name {quote(value)};"]
    keyword = "default-lease-time" if field == "default_lease_time" else "max-lease-time"
    return [f"{keyword} {number(value)};"]


_OPTION_NAMES = {"routers": "routers", "domain_name_servers": "domain-name-servers"}


def _peer_statement(peer: str | None, how: str, inherited: str | None) -> list[str]:
    """How a pool names its failover peer, so that dhcpd reads exactly ``peer``."""
    if peer is not None:
        if how == AddressPool.PeerStatement.INHERIT and peer == inherited:
            return []
        return [f"failover peer {name(peer)};"]
    if inherited is not None or how == AddressPool.PeerStatement.NONE:
        return ["no failover peer"]  # dhcpd 4.4 reads it without a ';'
    return []


def _range_line(pool: _PoolRow) -> str:
    bootp = "dynamic-bootp " if pool.dynamic_bootp else ""
    return f"range {bootp}{ipv4(pool.first_address)} {ipv4(pool.last_address)};"


def _blocks(pools: list[_PoolRow]) -> list[tuple[int | None, int, list[_PoolRow]]]:
    """Pools grouped into what is written as one item: the ranges of one imported block
    (same container and position), or each pool made here on its own."""
    if len(pools) == 1:  # the usual subnet: one pool
        pool = pools[0]
        return [(pool.position, ipv4_int(pool.first_address), pools)]
    blocks: dict[tuple, list[_PoolRow]] = {}
    firsts: dict[tuple, int] = {}
    for first, _, pool in sorted(
        ((ipv4_int(p.first_address), i, p) for i, p in enumerate(pools)), key=lambda t: t[:2]
    ):
        if pool.position is None:
            key: tuple = ("own", pool.pk if pool.pk is not None else id(pool))
        else:
            key = ("at", pool.position)
        if key not in blocks:
            blocks[key], firsts[key] = [], first
        blocks[key].append(pool)
    return [(block[0].position, firsts[key], block) for key, block in blocks.items()]


_Child = TypeVar("_Child")

#: One item of a container's body (see ``_merge``): a kept entry's payload (a verbatim
#: statement or a place holder), or a child (a subnet, a shared-network/group, a pool block).
_Part = tuple[Literal["entry"], str | dict[str, Any]] | tuple[Literal["child"], _Child]


def _merge(
    entries: Any,
    children: Iterable[tuple[int | None, tuple[int, ...], _Child]],
    memo: _Memo | None = None,
) -> list[_Part[_Child]]:
    """The body of a container in order: entries and children with a position by that
    position, then the children made in dhcpadmin (no position) in their natural order."""
    placed: list[tuple[tuple[int, int, tuple[int, ...]], _Part[_Child]]] = [
        ((e[0], 0, ()), ("entry", e[1])) for e in _entries(entries, memo)
    ]
    rest: list[tuple[tuple[int, ...], _Child]] = []
    for pos, key, obj in children:
        if pos is None:
            rest.append((key, obj))
        else:
            placed.append(((pos, 1, key), ("child", obj)))
    placed.sort(key=itemgetter(0))
    rest.sort(key=itemgetter(0))
    return [t[1] for t in placed] + [("child", obj) for _, obj in rest]


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


_NETMASKS = [str(ipaddress.IPv4Address((0xFFFFFFFF << (32 - p)) & 0xFFFFFFFF)) for p in range(33)]


def _subnet(network: str) -> tuple[int, str, str]:
    """A scope's network as (its address as an integer, its CIDR text, ``subnet A netmask
    M``). Text in the usual form (what the model stores) is read with one regular
    expression; anything else goes through ``ipaddress`` (and its ValueError, e.g. for host
    bits set)."""
    match = _CIDR_RE.fullmatch(network) if type(network) is str else None
    if match is not None:
        address, a, b, c, d, length = match.groups()
        value, prefix = (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d), int(length)
        if not value & (0xFFFFFFFF >> prefix):
            return value, network, f"subnet {address} netmask {_NETMASKS[prefix]}"
    net = ipaddress.IPv4Network(network)
    return (
        int(net.network_address),
        str(net),
        f"subnet {net.network_address} netmask {net.netmask}",
    )


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
    server, which may have shared networks and groups).

    Scopes and pools are read as rows (``values_list``), not model instances, and their
    ``statements`` as JSON text, decoded once per distinct text: what is read is what the
    model validated, and the renderer still checks every value it writes (see the module
    docstring), once per value.
    """
    text = Cast("statements", output_field=TextField())
    peers = list(FailoverPeer.objects.filter(server=server).order_by("name"))
    scopes = (
        Scope.objects.filter(server=server)
        .order_by()
        .annotate(statements_text=text)
        .values_list(*SCOPE_COLUMNS, "statements_text")
    )
    pools = (
        AddressPool.objects.filter(scope__server=server)
        .order_by()
        .annotate(statements_text=text)
        .values_list(*POOL_COLUMNS, "statements_text")
    )
    groups = list(ScopeGroup.objects.filter(server=server)) if server.imported else []
    return _render(server, peers, [_ScopeRow.of(row) for row in scopes], pools, groups)


def render(
    server: DhcpServer,
    peers: Iterable[FailoverPeer],
    scopes: Iterable[Scope],
    groups: Iterable[ScopeGroup] = (),
) -> str:
    """Render from already loaded objects (``scopes`` with their pools prefetched)."""
    scopes = list(scopes)
    rows = [
        _ScopeRow.of(tuple(getattr(s, c) for c in SCOPE_COLUMNS) + (s.statements,)) for s in scopes
    ]
    pools = [
        _PoolRow._make(
            (
                *(getattr(p, c) for c in POOL_COLUMNS[:5]),
                p.failover_peer.name if p.failover_peer_id else None,
                *(getattr(p, c) for c in POOL_COLUMNS[6:]),
                p.statements,
            )
        )
        for s in scopes
        for p in s.pools.all()
    ]
    return _render(server, peers, rows, pools, groups)


def _render(server, peers, scopes: list[_ScopeRow], pools: Iterable[tuple], groups) -> str:
    # Ordered by network address; the same address twice (only in data that bypassed
    # validation): the larger network first, as the model orders them.
    scopes.sort(key=lambda s: (s.net_int, int(s.cidr.rpartition("/")[2]), s.network))
    pool_rows = sorted(
        (p if isinstance(p, _PoolRow) else _PoolRow._make(p) for p in pools),
        key=lambda p: p.first_address,
    )
    out = _header(server)
    out.append("")
    out += _Layout(server, peers, scopes, pool_rows, groups).top()
    return "\n".join(_tidy(out)) + "\n"


def _tidy(lines: list[str]) -> list[str]:
    """Blank lines only between items: never two in a row, none after an opening brace,
    no trailing spaces. Blank lines mean nothing to dhcpd (and a kept statement has none:
    the parser writes newlines inside strings as escapes)."""
    out: list[str] = []
    for line in lines:
        if not line or line.isspace():
            if out and out[-1] and not out[-1].endswith("{"):
                out.append("")
        else:
            out.append(line)
    return out
