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
updates) and ``omapi-port N;`` when the server has an OMAPI port (live state).

A failover peer that no pool refers to is **not** declared: dhcpd refuses to start with an
unreferenced peer ("failover configuration sanity check failed"), so declaring it would turn
a harmless loose end into a server that does not start. It is written as a comment instead,
and the pair check (``failover.dhcpd.pair``) reports it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError

from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope
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
    return [f"failover peer {name(peer.name)} {{", *(INDENT + line for line in body), "}"]


def _pool_lines(pool: AddressPool) -> list[str]:
    body = []
    if pool.failover_peer_id:
        body.append(f"failover peer {name(pool.failover_peer.name)};")
    body.append(f"range {ipv4(pool.first_address)} {ipv4(pool.last_address)};")
    return ["pool {", *(INDENT + line for line in body), "}"]


def _scope_lines(scope: Scope, pools: list[AddressPool]) -> list[str]:
    net = ipaddress.IPv4Network(scope.network)
    body: list[str] = []
    if scope.routers and split_list(scope.routers):
        body.append(f"option routers {ipv4_list(scope.routers)};")
    if scope.domain_name_servers and split_list(scope.domain_name_servers):
        body.append(f"option domain-name-servers {ipv4_list(scope.domain_name_servers)};")
    if scope.domain_name:
        body.append(f"option domain-name {quote(scope.domain_name)};")
    if scope.default_lease_time:
        body.append(f"default-lease-time {number(scope.default_lease_time)};")
    if scope.max_lease_time:
        body.append(f"max-lease-time {number(scope.max_lease_time)};")
    for pool in sorted(pools, key=lambda p: int(p.first_ip)):
        body += _pool_lines(pool)
    lines = [comment(f"Scope {net}" + (f": {scope.name}" if scope.name else ""))]
    lines.append(f"subnet {net.network_address} netmask {net.netmask} {{")
    lines += [INDENT + line for line in body]
    lines.append("}")
    return lines


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
    """The dhcpd.conf of one server (three queries, whatever its size)."""
    peers = list(FailoverPeer.objects.filter(server=server).order_by("name"))
    scopes = list(Scope.objects.filter(server=server).with_pools())
    return render(server, peers, scopes)


def render(server: DhcpServer, peers: Iterable[FailoverPeer], scopes: Iterable[Scope]) -> str:
    """Render from already loaded objects (``scopes`` with their pools prefetched)."""
    scopes = sorted(scopes, key=lambda s: int(ipaddress.IPv4Network(s.network).network_address))
    pools_of = {scope.pk: list(scope.pools.all()) for scope in scopes}
    referenced = {
        pool.failover_peer_id
        for pools in pools_of.values()
        for pool in pools
        if pool.failover_peer_id
    }
    out = _header(server)
    out.append("")
    out.append("authoritative;")
    out.append("ddns-update-style none;")
    if server.omapi_port:
        out.append(f"omapi-port {number(server.omapi_port)};")
    for peer in sorted(peers, key=lambda p: p.name):
        out.append("")
        if peer.pk in referenced:
            out += _peer_lines(peer)
        else:
            out.append(comment(f"Failover peer {name(peer.name)} is not declared here:"))
            out.append(comment("no address pool refers to it, and dhcpd refuses such a peer."))
    for scope in scopes:
        out.append("")
        out += _scope_lines(scope, pools_of[scope.pk])
    return "\n".join(out) + "\n"
