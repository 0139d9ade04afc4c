"""Import a parsed dhcpd.conf into the model: tree -> desired state -> validated plan.

Three steps, each testable on its own:

1. :func:`desired_state` turns the parser's tree (:mod:`failover.dhcpd.ast`) into plain
   dataclasses (:class:`Desired`): what the server should hold after the import. No
   database, no Django models.
2. :func:`plan_import` compares the desired state with what is stored for the server and
   validates the result with the models' own rule functions (``clean_fields``,
   ``Scope.clean_network``, ``own_errors``, and :func:`failover.models.find_overlaps` for
   the set-wide overlap rules, once for the whole file). It returns an :class:`ImportPlan`:
   created / changed (field: old -> new) / deleted / kept verbatim, the failover
   relationships the import gives (with the pair check), and the model instances to write.
   A file the model cannot hold raises :class:`ConfigImportError` with file, line, column
   and a clear message for every problem found; nothing is written.
3. ``failover.services.config_import`` applies a plan in one transaction (bulk writes).

What is held in the model, and how
----------------------------------
- ``failover peer "NAME" { ... }`` (at the top level or in a shared-network): a
  FailoverPeer with every statement; ``peer max-response-delay`` and the like, which have
  no field, are kept verbatim in the peer. Absent ``port``/``peer port`` are stored as
  dhcpd's default 647, an absent role as primary (what dhcpd assumes), absent
  ``max-response-delay``/``max-unacked-updates`` as dhcpd's 20/100 (with a warning). A
  secondary's ``mclt`` (dhcpd uses it until the primary connects) is kept verbatim in the
  peer, with a warning. dhcpadmin needs ``address``: a peer without it is an error.
- ``subnet``: a Scope. ``option routers``, ``option domain-name-servers`` (IPv4 address
  lists), ``option domain-name``, ``default-lease-time`` and ``max-lease-time`` written once
  directly in the subnet go into the scope's fields, at their place in the subnet (a
  place holder in ``statements`` keeps the order, which matters next to conditionals). A
  value the field cannot hold (a host name in ``routers``, a default lease time above the
  max, an option given twice) is kept verbatim instead, and the plan says so.
- ``shared-network``, and a ``group`` that holds subnets: a ScopeGroup (nested through
  ``parent``); their subnets are Scopes with ``group`` set. A group that holds no subnet
  (hosts, parameters) is kept verbatim. A failover peer declared inside a shared-network is
  written at the top level and a ``failover peer "NAME";`` reference takes its place in the
  shared-network: dhcpd reads both the same way (a declaration there also names the
  shared-network's peer).
- ``pool { ... }``: one AddressPool per ``range`` (the pool's statements, verbatim, and its
  place in its container are shared by its ranges; the renderer writes them back as one
  block). A pool in a shared-network may take ranges of several of its subnets: each range
  belongs to the scope that contains it and records the shared-network it is declared in.
  The pool's failover peer is what dhcpd uses: the peer it names, none after
  ``no failover peer``, else the shared-network's peer at that point (``peer_statement``
  records which, so the text comes back the same way).
- ``range`` directly in a subnet: an AddressPool with ``bare`` set, written back as a
  ``range`` statement. dhcpd puts such a range into an ad-hoc pool without a failover peer,
  or -- when an earlier pool of the shared network has the ad-hoc pool's allow/deny list --
  into the pool before that one (see ``_Builder.range_pool``); if that pool has a failover
  peer, the file is refused with the reason (dhcpadmin would show a range without a peer
  that dhcpd serves with one). ``range A;`` is the pool A-A. ``range dynamic-bootp``:
  ``dynamic_bootp`` (never with a failover peer: a model rule and a database constraint).
- ``omapi-port N;`` at the top level: the server's OMAPI Port.
- Everything else (hosts, classes, subclasses, option definitions and spaces, conditionals,
  keys, zones, allow/deny, other options and statements): kept verbatim (the parser's
  canonical text with its comments, includes inlined) in the object it was declared in, at
  its place. A subnet without pools or ranges that no scope can hold (/31, /32, declared
  twice, inside or around another) is kept verbatim too, with a warning. A subnet inside a
  group inside a subnet, or anything else the model cannot hold, is an error at its line.

The rule: refuse only what dhcpd refuses. What dhcpd accepts but reads otherwise than it
is written (the parser's ``Config.warnings``) or what dhcpadmin holds otherwise (a
secondary's mclt, a default filled in, a subnet kept verbatim) is a warning of the plan at
its line, saying what dhcpadmin does with it (``ImportPlan.warnings``).

Comments: the file's comments are kept with the statement or block after them (or the end
of their block): in a kept statement's text, as a comment entry at a block's own position
(written just above it), in a place holder (``{"field": ..., "comments": [...]}``), and in
the ``comments`` of a peer (before it, before each statement, at its end) and of a range
(before it; the first range of a pool block also before its peer statement and at its
end). The comments the renderer writes itself are dropped first (``own_comments``).

The import reproduces the FILE: it is its own domain operation, not a sequence of page
actions, so the first-peer rule and the last-referrer rule do not apply (a pool without a
peer in the file stays without one; a peer the file no longer declares is deleted after
its pools changed). ``partner_server`` is left as it is: the pair check
(:mod:`failover.dhcpd.pair`) finds the partner from the peer's name and addresses (the
managed server with a peer of the same name listening on the peer address), so importing
both servers' files pairs their peers; the plan shows each relationship of the server as it
will be, with the pair check's findings (both primary, pools that differ, ...).

Speed: whole-file rules run once over all objects (find_overlaps sorts; no query per
object), the model instances are checked with ``clean_fields`` and their rule functions,
and the writes are batched (bench/import_bench.py: 10,000 subnets with a failover pool each
in a few seconds, no longer than ``dhcpd -t`` takes for the same file).
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import ipaddress
import json
import re
from array import array
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, Subquery
from django.db.models.functions import Lower

from failover.models import (
    MAX_PREFIX,
    MIN_PREFIX,
    AddressPool,
    DhcpServer,
    FailoverPeer,
    Scope,
    ScopeGroup,
    check_comments,
    check_statements,
    find_overlaps,
    network_span,
)
from failover.validators import LIMITS, is_ipv4, split_list

from . import ast
from .ast import flatten_includes, to_text
from .render import DEFAULT_TOP
from .tokenizer import PUNCT, STRING, WORD, ParseError

#: Peer fields read from the file (everything but the server, the name and the partner).
PEER_FIELDS = FailoverPeer.STATEMENT_FIELDS
SCOPE_OPTION_FIELDS = Scope.OPTION_FIELDS
_OPTION_FIELDS = {
    "routers": "routers",
    "domain-name-servers": "domain_name_servers",
    "domain-name": "domain_name",
}
_STATEMENT_FIELDS = {
    "default-lease-time": "default_lease_time",
    "max-lease-time": "max_lease_time",
}
MAX_ERRORS = 50

Loc = tuple[str, int, int]


class ConfigImportError(ParseError):
    """The file parses but the model cannot hold it. ``errors`` holds every problem found
    (each a ParseError with file, line and column); the exception itself is the first one,
    and ``str()`` lists them all, one per line."""

    def __init__(self, errors: list[ParseError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.file, first.line, first.column, first.message)

    def __str__(self) -> str:
        return "\n".join(ParseError.__str__(e) for e in self.errors)

    def __reduce__(self):
        return (type(self), (self.errors,))


# --------------------------------------------------------------------------- desired state


def _loc() -> Any:
    return field(default=("", 0, 0), compare=False, repr=False)


@dataclass
class ServerState:
    omapi_port: int | None = None
    statements: list = field(default_factory=list)


@dataclass
class PeerState:
    name: str
    fields: dict[str, Any]
    statements: list
    loc: Loc = _loc()
    comments: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class GroupState:
    key: tuple
    label: str
    kind: str
    name: str
    quoted: bool
    parent: tuple | None
    position: int
    statements: list = field(default_factory=list)
    loc: Loc = _loc()


@dataclass
class ScopeState:
    network: str
    group: tuple | None
    position: int | None
    options: dict[str, Any]
    statements: list = field(default_factory=list)
    loc: Loc = _loc()
    low: int = field(default=0, compare=False, repr=False)  # network and broadcast address
    high: int = field(default=0, compare=False, repr=False)


@dataclass
class PoolState:
    first_address: str
    last_address: str
    scope: str  # the network of the scope that holds the range
    group: tuple | None  # the shared-network the pool block is declared in (else: the scope)
    position: int | None
    bare: bool
    dynamic_bootp: bool
    failover_peer: str | None
    peer_statement: str
    statements: list
    loc: Loc = _loc()
    low: int = field(default=0, compare=False, repr=False)  # first and last address
    high: int = field(default=0, compare=False, repr=False)
    comments: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of_range(cls, rng: ast.Range, **fields: Any) -> PoolState:
        """The pool of one parsed ``range``: its addresses and place come from the node."""
        return cls(
            first_address=str(rng.first),
            last_address=str(rng.end),
            loc=_where(rng),
            low=int(rng.first),
            high=int(rng.end),
            **fields,
        )

    @property
    def key(self) -> tuple[str, str]:
        return (self.first_address, self.last_address)


@dataclass
class Desired:
    """What the server holds after the import: plain data, compared field by field."""

    server: ServerState = field(default_factory=ServerState)
    peers: list[PeerState] = field(default_factory=list)
    groups: list[GroupState] = field(default_factory=list)
    scopes: list[ScopeState] = field(default_factory=list)
    pools: list[PoolState] = field(default_factory=list)
    notes: list[str] = field(default_factory=list, compare=False)
    # What dhcpd accepts but dhcpadmin holds otherwise than written, at its line (each a
    # ParseError: file, line, column, message saying what dhcpadmin does with it).
    warnings: list[ParseError] = field(default_factory=list, compare=False)


def group_key_part(kind: str, name: str, ordinal: int) -> tuple[str, str, int]:
    return (kind, name, ordinal)


def group_label(key: tuple) -> str:
    parts = []
    for kind, name, ordinal in key:
        text = f"{kind} {name}" if name else kind
        if ordinal or not name:
            text += f" #{ordinal + 1}"
        parts.append(text)
    return " › ".join(parts)


def _text(node: ast.Node) -> str:
    return to_text(node, inline_includes=True).rstrip("\n")


def _where(node: ast.Node) -> Loc:
    return (node.file, node.line, node.column)


def _holds_model(node: ast.Node) -> bool:
    """Does a group hold anything the model keeps in its own objects?"""
    for inner in ast.walk(node):
        if inner is not node and isinstance(
            inner,
            ast.Subnet
            | ast.SharedNetwork
            | ast.FailoverPeer
            | ast.FailoverPeerRef
            | ast.Pool
            | ast.Range,
        ):
            return True
    return False


@dataclass
class _Shared:
    """The shared-network being read (or the implicit one of a subnet outside any): its
    subnets so far, its current failover peer and its pools in dhcpd's order, each as
    (permits, peer, line) - what decides where dhcpd puts a range written outside a pool."""

    scopes: list[ScopeState] = field(default_factory=list)
    peer: str | None = None
    pools: list[tuple[tuple, str | None, int]] = field(default_factory=list)


# dhcpd puts a range written outside any pool into the first earlier pool of the shared
# network whose allow/deny list is exactly this (confpars.c, parse_address_range), else
# into a new pool with that list.
_ADHOC = {
    False: (("deny", "dynamic bootp clients"),),
    True: (("allow", "all clients"),),
}


def _permits(statements: list[ast.Node]) -> tuple:
    return tuple(
        (node.action, node.subject_text.lower())
        for node in statements
        if isinstance(node, ast.AllowDeny) and node.action in ("allow", "deny")
    )


class _Builder:
    def __init__(self) -> None:
        self.desired = Desired()
        self.errors: list[ParseError] = []
        self.peers_placed = False
        self.peer_names: set[str] = set()
        # Every subnet seen so far, for the subnets kept verbatim (see kept_subnet):
        # (network, prefix) -> line, and the sorted network addresses.
        self.networks: dict[tuple[int, int], int] = {}
        self.starts: list[tuple[int, int, int]] = []  # (low, high, line)

    def kept_subnet(self, node: ast.Subnet) -> str | None:
        """Why a subnet is kept verbatim rather than as a scope, or None. dhcpd accepts a
        subnet the model cannot hold as a scope -- a prefix outside /8-/30, a network
        declared twice or inside another -- so such a subnet is written back as it is, at
        its place, when it holds no pool or range (nothing the failover and pool rules
        concern); with pools or ranges it stays an error of the plan."""
        low = int(node.network)
        mask = int(node.netmask)
        prefix = bin(mask).count("1")
        high = low | (~mask & 0xFFFFFFFF)
        why = None
        if not MIN_PREFIX <= prefix <= MAX_PREFIX:
            why = f"a /{prefix} network (dhcpadmin's scopes are /{MIN_PREFIX} to /{MAX_PREFIX})"
        elif (low, prefix) in self.networks:
            why = f"declared twice (first at line {self.networks[(low, prefix)]})"
        else:
            for bits in range(prefix - 1, -1, -1):  # inside an earlier, larger subnet?
                outer = low & ~((1 << (32 - bits)) - 1) & 0xFFFFFFFF
                if (outer, bits) in self.networks:
                    why = f"inside an earlier subnet (line {self.networks[(outer, bits)]})"
                    break
            if why is None:  # around an earlier, smaller subnet?
                i = bisect.bisect_left(self.starts, (low, -1, -1))
                if i < len(self.starts) and self.starts[i][0] <= high:
                    why = f"around an earlier subnet (line {self.starts[i][2]})"
        self.networks.setdefault((low, prefix), node.line)
        bisect.insort(self.starts, (low, high, node.line))
        if why is None:
            return None
        if any(isinstance(n, ast.Pool | ast.Range) for n in ast.walk(node)):
            return None  # the plan refuses it, at its line
        return why

    def subnet_or_kept(
        self, node: ast.Subnet, group: tuple | None, pos: int, shared, entries: list
    ) -> None:
        why = self.kept_subnet(node)
        if why is None:
            self.comments_before(node, pos, entries)
            self.subnet(node, group, pos, shared)
            return
        entries.append([pos, self.verbatim(node)])
        self.warn(
            node,
            f"subnet {node.cidr}: {why}; dhcpd accepts it, dhcpadmin holds no such scope, so "
            "it keeps this declaration (no pool or range in it) verbatim at its place",
        )

    def error(self, where: Loc | ast.Node, message: str) -> None:
        loc = _where(where) if isinstance(where, ast.Node) else where
        self.errors.append(ParseError(loc[0], loc[1], loc[2], message))

    def note(self, node: ast.Node, message: str) -> None:
        self.desired.notes.append(f"{node.file}, line {node.line}: {message}")

    def warn(self, node: ast.Node, message: str) -> None:
        self.desired.warnings.append(ParseError(node.file, node.line, node.column, message))

    @staticmethod
    def comments_before(node: ast.Node, pos: int, entries: list) -> None:
        """The comments before a block the model holds in its own object (a subnet, a
        shared-network or group, a pool block): a verbatim entry at the block's own
        position, which the renderer writes just before it."""
        if node.comments:
            entries.append([pos, "\n".join(node.comments)])

    @staticmethod
    def comments_end(node: ast.Node, pos: int, entries: list) -> None:
        """The comments before a container's closing brace: its last entry."""
        if node.end_comments:
            entries.append([pos, "\n".join(node.end_comments)])

    # ----------------------------------------------------------------- containers

    def root(self, config: ast.Config) -> None:
        body = flatten_includes(config.statements)
        first_peer = self._first_peer_index(body)
        omapi = self._single(body, "top level", self._omapi_value)
        server = self.desired.server
        entries: list = []
        pos = 0
        siblings: dict[tuple[str, str], int] = defaultdict(int)
        for index, node in enumerate(body):
            if index == first_peer:
                entries.append([pos, {"peers": True}])
                pos += 1
            if isinstance(node, ast.FailoverPeer):
                self.peer(node)
                continue
            if isinstance(node, ast.Subnet):
                self.subnet_or_kept(node, None, pos, None, entries)
            elif isinstance(node, ast.SharedNetwork) or (
                isinstance(node, ast.Group) and _holds_model(node)
            ):
                self.comments_before(node, pos, entries)
                self.group(node, (), pos, None, siblings)
            elif id(node) in omapi:
                server.omapi_port = omapi[id(node)]
                entries.append([pos, _slot({"field": "omapi_port"}, node)])
            else:
                entries.append([pos, self.verbatim(node)])
            pos += 1
        self.comments_end(config, pos, entries)
        server.statements = entries

    @staticmethod
    def _first_peer_index(body: list[ast.Node]) -> int | None:
        for index, node in enumerate(body):
            if isinstance(node, ast.FailoverPeer):
                return index
            if isinstance(node, ast.SharedNetwork | ast.Group) and any(
                isinstance(inner, ast.FailoverPeer) for inner in ast.walk(node)
            ):
                return index
        return None

    def group(
        self,
        node: ast.SharedNetwork | ast.Group,
        parent: tuple,
        position: int,
        shared: _Shared | None,
        siblings: dict[tuple[str, str], int],
    ) -> None:
        kind = "shared-network" if isinstance(node, ast.SharedNetwork) else "group"
        name = node.name or ""
        ordinal = siblings[(kind, name)]
        siblings[(kind, name)] += 1
        key = (*parent, group_key_part(kind, name, ordinal))
        state = GroupState(
            key=key,
            label=group_label(key),
            kind=kind,
            name=name,
            quoted=bool(node.quoted),
            parent=parent or None,
            position=position,
            loc=_where(node),
        )
        self.desired.groups.append(state)
        if kind == "shared-network":
            shared = _Shared()
        scopes_before = len(self.desired.scopes)
        children: dict[tuple[str, str], int] = defaultdict(int)
        entries: list = []
        pos = 0
        for child in flatten_includes(node.statements):
            if isinstance(child, ast.FailoverPeer):
                # Declared here: written at the top level, referred to here (same meaning).
                self.peer(child)
                entries.append([pos, {"peer": child.name}])
                if shared is not None:
                    shared.peer = child.name
            elif isinstance(child, ast.FailoverPeerRef):
                entries.append([pos, _slot({"peer": child.name}, child)])
                if shared is not None:
                    shared.peer = child.name
            elif isinstance(child, ast.Subnet):
                self.subnet_or_kept(child, key, pos, shared, entries)
            elif isinstance(child, ast.SharedNetwork) or (
                isinstance(child, ast.Group) and _holds_model(child)
            ):
                self.comments_before(child, pos, entries)
                self.group(child, key, pos, shared, children)
            elif isinstance(child, ast.Pool):
                self.comments_before(child, pos, entries)
                self.pool(child, None, key, pos, shared)
            else:
                entries.append([pos, self.verbatim(child)])
            pos += 1
        self.comments_end(node, pos, entries)
        state.statements = entries
        if len(self.desired.scopes) == scopes_before:
            if any(isinstance(child, ast.Subnet) for child in ast.walk(node)):
                self.error(
                    node,
                    f"{state.label} holds only subnets dhcpadmin keeps verbatim (see the "
                    "warnings); dhcpadmin needs a scope in it to hold it",
                )
            elif kind == "shared-network":
                self.error(
                    node,
                    f"{state.label} holds no subnet (dhcpd refuses an empty shared-network)",
                )

    def subnet(
        self, node: ast.Subnet, group: tuple | None, position: int, shared: _Shared | None
    ) -> None:
        low = int(node.network)
        high = low | (~int(node.netmask) & 0xFFFFFFFF)
        network = f"{node.network}/{32 - (high - low).bit_length()}"
        state = ScopeState(
            network=network,
            group=group or None,
            position=position,
            options={name: None for name in SCOPE_OPTION_FIELDS},
            loc=_where(node),
            low=low,
            high=high,
        )
        self.desired.scopes.append(state)
        if shared is None:
            shared = _Shared()  # dhcpd gives a subnet outside any its own shared network
        shared.scopes.append(state)
        body = flatten_includes(node.statements)
        values = self._scope_fields(body, f"subnet {network}")
        entries: list = []
        pos = 0
        for child in body:
            if isinstance(child, ast.Pool):
                self.comments_before(child, pos, entries)
                self.pool(child, state, None, pos, shared)
            elif isinstance(child, ast.Range):
                self.range_pool(child, state, pos, shared)
            elif id(child) in values:
                name, value = values[id(child)]
                state.options[name] = value
                entries.append([pos, _slot({"field": name}, child)])
            elif isinstance(child, ast.Group) and _holds_model(child):
                self.error(
                    child,
                    f"a group that declares subnets or pools inside subnet {network} cannot be "
                    "held by dhcpadmin (declare the subnet outside it)",
                )
                continue
            else:
                entries.append([pos, self.verbatim(child)])
            pos += 1
        self.comments_end(node, pos, entries)
        state.statements = entries

    def pool(
        self,
        node: ast.Pool,
        scope: ScopeState | None,
        group: tuple | None,
        position: int,
        shared: _Shared | None,
    ) -> None:
        inherited = shared.peer if shared is not None else None
        if node.failover_peer is not None:
            peer, how = node.failover_peer, AddressPool.PeerStatement.NAMED
        elif node.no_failover_peer:
            peer, how = None, AddressPool.PeerStatement.NONE
        elif inherited is not None:
            peer, how = inherited, AddressPool.PeerStatement.INHERIT
        else:
            peer, how = None, AddressPool.PeerStatement.NAMED
        statements: list = []
        ranges: list[ast.Range] = []
        body = flatten_includes(node.statements)
        if shared is not None:
            shared.pools.append((_permits(body), peer, node.line))
        for child in body:
            if isinstance(child, ast.Range):
                ranges.append(child)
            elif isinstance(child, ast.Group) and _holds_model(child):
                self.error(child, "a group inside a pool cannot declare subnets or pools")
            else:
                statements.append([len(statements), self.verbatim(child)])
        block = {"peer": list(node.peer_comments), "end": list(node.end_comments)}
        for rng in ranges:
            target = scope
            if target is None and shared is not None:
                target = self._scope_of(rng, shared.scopes)
            if target is None:  # the parser checks this; never trust it blindly
                self.error(rng, f"range {rng.first}: not inside a subnet declared before it")
                continue
            comments = {"before": list(rng.comments), **block}
            block = {}  # the block's own comments go with its first range
            self.desired.pools.append(
                PoolState.of_range(
                    rng,
                    scope=target.network,
                    group=group,
                    position=position,
                    bare=False,
                    dynamic_bootp=rng.dynamic_bootp,
                    failover_peer=peer,
                    peer_statement=str(how),
                    statements=statements,
                    comments={k: v for k, v in comments.items() if v},
                )
            )

    def range_pool(
        self, node: ast.Range, scope: ScopeState, position: int, shared: _Shared
    ) -> None:
        # dhcpd (parse_address_range) looks for the first earlier pool of the shared network
        # with the ad-hoc allow/deny list and then -- as it is written -- puts the range into
        # the pool BEFORE that one (or into the first pool). If that pool has a failover
        # peer, the range is a failover range that names no peer: dhcpadmin cannot hold it.
        wanted = _ADHOC[node.dynamic_bootp]
        for index, (permits, _peer, _line) in enumerate(shared.pools):
            if permits == wanted:
                _, peer, line = shared.pools[index - 1 if index else 0]
                if peer is not None:
                    self.error(
                        node,
                        f"range {node.first} {node.end}: dhcpd puts this range, written "
                        f"outside any pool, into the pool at line {line}, which has failover "
                        f'peer "{peer}"; dhcpadmin cannot hold that: write the range inside '
                        "a pool",
                    )
                break
        else:
            shared.pools.append((wanted, None, node.line))
        self.desired.pools.append(
            PoolState.of_range(
                node,
                scope=scope.network,
                group=None,
                position=position,
                bare=True,
                dynamic_bootp=node.dynamic_bootp,
                failover_peer=None,  # dhcpd's ad-hoc pool for a bare range has no peer
                peer_statement="",
                statements=[],
                comments={"before": list(node.comments)} if node.comments else {},
            )
        )

    @staticmethod
    def _scope_of(rng: ast.Range, scopes: list[ScopeState]) -> ScopeState | None:
        low, high = int(rng.first), int(rng.end)
        for state in scopes:
            if state.low <= low and high <= state.high:
                return state
        return None

    def peer(self, node: ast.FailoverPeer) -> None:
        if node.name in self.peer_names:  # the parser refuses this already
            self.error(node, f'failover peer "{node.name}" is declared twice')
            return
        self.peer_names.add(node.name)
        shown = f'failover peer "{node.name}"'
        if node.address is None:
            self.error(
                node,
                f"{shown} has no 'address' statement; dhcpadmin needs the address this "
                "server listens on (dhcpd -t accepts it, but dhcpd then takes the address "
                "from 'server-identifier' or exits at start with 'no local address')",
            )
        values = {name: getattr(node, name) for name in PEER_FIELDS}
        values["role"] = node.role or FailoverPeer.Role.PRIMARY
        values["port"] = 647 if node.port is None else node.port
        values["peer_port"] = 647 if node.peer_port is None else node.peer_port
        values["hba"] = node.hba or ""
        comments = {key: list(lines) for key, lines in node.statement_comments.items()}
        for attr, keyword, default in (
            ("max_response_delay", "max-response-delay", 20),
            ("max_unacked_updates", "max-unacked-updates", 100),
        ):
            if values[attr] is None:  # confpars.c: DEFAULT_MAX_RESPONSE_DELAY / _FLYING_
                values[attr] = default
                self.warn(
                    node,
                    f"{shown} has no '{keyword}': dhcpd uses its default, {default}; "
                    f"dhcpadmin stores {default} and writes it out",
                )
        if node.role is None:
            self.note(node, f"{shown} names no role: stored as primary, as dhcpd assumes")
        statements = [[i, self.verbatim(extra)] for i, extra in enumerate(node.extra)]
        if values["role"] == FailoverPeer.Role.SECONDARY and values["mclt"] is not None:
            # dhcpd keeps a secondary's mclt and uses it until the primary connects, which
            # then sends its own (failover.c: state->mclt = link->imsg->mclt).
            mclt = values["mclt"]
            values["mclt"] = None
            text = "\n".join([*comments.pop("mclt", []), f"mclt {mclt};"])
            statements.append([len(statements), text])
            self.warn(
                node,
                f"{shown}: 'mclt {mclt}' on a secondary: dhcpd uses it only until the primary "
                "connects and sends its own; dhcpadmin holds mclt on the primary only, so it "
                "keeps this statement verbatim in the peer and writes it back as it is",
            )
        for key in [k for k in comments if values.get(k) in (None, "")]:
            # Before a statement dhcpadmin does not write (mclt 0 on a secondary): kept at
            # the end of the declaration.
            comments["end"] = comments.get("end", []) + comments.pop(key)
        if node.comments:
            comments["before"] = list(node.comments)
        if node.end_comments:
            comments["end"] = comments.get("end", []) + list(node.end_comments)
        self.desired.peers.append(PeerState(node.name, values, statements, _where(node), comments))

    def verbatim(self, node: ast.Node) -> str:
        return _text(node)

    # ----------------------------------------------------------------- fields

    def _single(self, body: list[ast.Node], where: str, reader) -> dict[int, Any]:
        """The statements of ``body`` that go into a field: each field given exactly once
        with a value the field holds (else: verbatim, with a note)."""
        found: dict[str, list[tuple[ast.Node, Any, str | None]]] = defaultdict(list)
        for node in body:
            try:
                read = reader(node)
            except _Refused as exc:
                self.error(node, str(exc))
                continue
            if read is not None:
                name, value, problem = read
                found[name].append((node, value, problem))
        out: dict[int, Any] = {}
        for name, hits in found.items():
            if len(hits) > 1:
                self.note(
                    hits[0][0],
                    f"{where}: '{_label(name)}' is given {len(hits)} times; all kept verbatim",
                )
                continue
            node, value, problem = hits[0]
            if problem:
                self.note(node, f"{where}: {problem}; kept verbatim")
                continue
            out[id(node)] = value
        return out

    def _scope_fields(self, body: list[ast.Node], where: str) -> dict[int, tuple[str, Any]]:
        def reader(node: ast.Node):
            read = _scope_value(node)
            if read is None:
                return None
            name, value, problem = read
            return name, (name, value), problem

        values = self._single(body, where, reader)
        by_name = {name: (key, value) for key, (name, value) in values.items()}
        default = by_name.get("default_lease_time")
        maximum = by_name.get("max_lease_time")
        if default and maximum and default[1] > maximum[1]:
            del values[default[0]], values[maximum[0]]
            self.desired.notes.append(
                f"{where}: default-lease-time {default[1]} is above max-lease-time "
                f"{maximum[1]}; both kept verbatim"
            )
        return values

    @staticmethod
    def _omapi_value(node: ast.Node):
        if not (isinstance(node, ast.Statement) and node.keyword == "omapi-port"):
            return None
        number, problem = _dhcpd_number(node.tokens[1:], "omapi_port", 16)
        if number is None:
            return "omapi_port", None, problem or "omapi-port is not a port number"
        return "omapi_port", number, None


def _comments_only(text: str) -> bool:
    return all(not line or line.startswith("#") for line in text.split("\n"))


def _slot(payload: dict, node: ast.Node) -> dict:
    """A place holder with the comments written before its statement."""
    if node.comments:
        payload["comments"] = list(node.comments)
    return payload


def _label(name: str) -> str:
    return {
        "routers": "option routers",
        "domain_name_servers": "option domain-name-servers",
        "domain_name": "option domain-name",
        "default_lease_time": "default-lease-time",
        "max_lease_time": "max-lease-time",
        "omapi_port": "omapi-port",
    }.get(name, name)


class _Refused(Exception):
    """A statement the import refuses (at its line): dhcpd would refuse it or read another
    value than the one written."""


def _dhcpd_number(tokens: list, name: str, bits: int) -> tuple[int | None, str | None]:
    """The number of a statement dhcpd reads as an unsigned ``bits``-bit option value
    (``convert_num``: a leading 0 means octal, and the value wraps beyond 32 bits), for the
    field ``name``: ``(value, None)`` when the field can hold it (within
    ``failover.validators.LIMITS``), ``(None, why)`` when the statement is kept verbatim
    instead (dhcpd reads it as written, the field cannot hold it). Raises _Refused when
    dhcpd refuses the number or wraps it."""
    label = _label(name)
    if len(tokens) != 1 or tokens[0].kind != WORD or not tokens[0].value.isdigit():
        return None, None
    text = tokens[0].value
    if not text.isascii():
        return None, None
    if len(text) > 1 and text.startswith("0"):
        if any(digit in "89" for digit in text):
            raise _Refused(f"{label} {text}: dhcpd reads a leading 0 as octal and refuses it")
        return None, f"{label} {text} is octal for dhcpd ({int(text, 8)})"
    value = int(text)
    if value >= 2**32:
        raise _Refused(
            f"{label} {value}: dhcpd reads it modulo 2**32, as {value % 2**32}; "
            f"dhcpadmin takes {LIMITS[name].low} to {LIMITS[name].high}"
        )
    if value >= 2**bits:
        raise _Refused(f"{label} {value}: dhcpd refuses a value above {2**bits - 1}")
    limit = LIMITS[name]
    if not limit.low <= value <= limit.high:
        return None, limit.message(label, value)
    return value, None


def _address_list(tokens: list) -> list[str] | None:
    """``A, B, C`` as IPv4 addresses in canonical form (is_ipv4 refuses leading zeros),
    or None."""
    if not tokens or len(tokens) % 2 == 0:
        return None
    out = []
    for i, tok in enumerate(tokens):
        if i % 2:
            if tok.kind != PUNCT or tok.value != ",":
                return None
        elif tok.kind != WORD or not is_ipv4(tok.value):
            return None
        else:
            out.append(tok.value)
    return out


def _scope_value(node: ast.Node) -> tuple[str, Any, str | None] | None:
    """(field, value, problem) when ``node`` is a statement a scope field may hold."""
    if isinstance(node, ast.OptionSetting):
        name = _OPTION_FIELDS.get(node.name.lower())
        if name is None:
            return None
        label = _label(name)
        if name == "domain_name":
            if len(node.value) != 1 or node.value[0].kind != STRING:
                return name, None, f"{label} is not one quoted name"
            value = node.value[0].value
            problem = _field_problem(Scope, name, value)
            return name, value, problem and f"{label} {value!r}: {problem}"
        addresses = _address_list(node.value)
        if addresses is None:
            return name, None, f"{label} {node.value_text} is not a list of IPv4 addresses"
        value = ", ".join(addresses)
        problem = _field_problem(Scope, name, value)
        return name, value, problem and f"{label}: {problem}"
    if isinstance(node, ast.Statement) and node.terminator == ";":
        name = _STATEMENT_FIELDS.get(node.keyword)
        if name is None:
            return None
        number, problem = _dhcpd_number(node.tokens[1:], name, 32)
        if number is None:
            limit = LIMITS[name]
            return (
                name,
                None,
                problem
                or (f"{_label(name)} is not a number of seconds from {limit.low} to {limit.high}"),
            )
        problem = _field_problem(Scope, name, number)
        return name, number, problem and f"{_label(name)}: {problem}"
    return None


def _field_problem(model, name: str, value: Any) -> str | None:
    """The field's own check (``Field.clean``: its validators and limits) on a value the
    file gives it; the plan does not check these fields again (see SCOPE_OPTION_FIELDS)."""
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


# The comments dhcpadmin's renderer writes itself (failover.dhcpd.render): not the file's own
# comments, so importing a rendered file does not pile them up.
_HEADER = (
    "# dhcpd.conf for DHCP server ",
    "# Generated by dhcpadmin; edit the server in dhcpadmin, not this file.",
)
_SCOPE_COMMENT = re.compile(r"# Scope [0-9.]+/[0-9]+(?:: .*)?")
_UNDECLARED = (
    re.compile(r'# Failover peer ".*" is not declared here:'),
    "# no address pool refers to it, and dhcpd refuses such a peer.",
)


def own_comments(lines: tuple[str, ...], *, subnet: bool = False) -> tuple[str, ...]:
    """``lines`` without the comments the renderer writes itself (the file header, a
    scope's ``# Scope NETWORK: NAME`` line just above its subnet, the note on a peer that
    is not declared), blank lines ("") tidied: none first, never two in a row."""
    if not lines:
        return lines
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        else:
            paragraphs.append([])
    for i, para in enumerate(paragraphs):
        if len(para) > 1 and para[0].startswith(_HEADER[0]) and para[1] == _HEADER[1]:
            paragraphs[i] = []
            continue
        j = 0
        while j < len(para) - 1:
            if _UNDECLARED[0].fullmatch(para[j]) and para[j + 1] == _UNDECLARED[1]:
                del para[j : j + 2]
            else:
                j += 1
    if subnet and paragraphs[-1] and _SCOPE_COMMENT.fullmatch(paragraphs[-1][-1]):
        paragraphs[-1].pop()
    out: list[str] = []
    for i, para in enumerate(paragraphs):
        if i and (out and out[-1]):
            out.append("")
        out += para
    return tuple(out)


def _clean_comments(config: ast.Config) -> None:
    """Drop the renderer's own comments from every node of ``config`` (in place)."""
    for node in ast.walk(config):
        if node.comments:
            node.comments = own_comments(node.comments, subnet=isinstance(node, ast.Subnet))
        if node.end_comments:
            node.end_comments = own_comments(node.end_comments)
        if isinstance(node, ast.FailoverPeer) and node.statement_comments:
            node.statement_comments = {
                key: own_comments(lines) for key, lines in node.statement_comments.items()
            }
        elif isinstance(node, ast.Pool) and node.peer_comments:
            node.peer_comments = own_comments(node.peer_comments)


def desired_state(config: ast.Config) -> Desired:
    """What a server holds after importing ``config`` (raises ConfigImportError). The
    comments dhcpadmin writes itself are dropped from ``config`` first (see own_comments)."""
    _clean_comments(config)
    builder = _Builder()
    builder.root(config)
    if builder.errors:
        raise ConfigImportError(_sorted(builder.errors))
    builder.desired.warnings = sorted(
        [*config.warnings, *builder.desired.warnings], key=lambda e: (e.file, e.line, e.column)
    )
    builder.desired.peers.sort(key=lambda peer: peer.name)  # declared in any order, written sorted
    return builder.desired


def _sorted(errors: list[ParseError]) -> list[ParseError]:
    return sorted(errors, key=lambda e: (e.file, e.line, e.column))[:MAX_ERRORS]


# --------------------------------------------------------------------------- the plan


@dataclass
class FieldChange:
    field: str
    label: str
    old: Any
    new: Any


@dataclass
class Change:
    """One object the import creates, changes or deletes."""

    action: str  # "create", "change", "delete"
    kind: str  # "server", "failover peer", "shared network or group", "scope", "address pool"
    label: str
    fields: list[FieldChange] = field(default_factory=list)
    summary: str = ""


@dataclass
class KeptVerbatim:
    where: str
    statements: list[str]  # verbatim texts, with the comments written before them
    comments_only: int = 0  # how many of them are only comments (not counted as statements)


@dataclass
class DeletedRows:
    """Stored objects of one kind that the plan deletes, kept as rows: a :class:`Change` is
    made only for one that is shown (a file that drops 10,000 scopes of a server lists the
    first few hundred; the counts and the fingerprint take all of them)."""

    kind: str
    pks: list[int]
    labels: list[str]
    # The summaries of the objects pks[start:stop] (may read them: one query per 900).
    summaries: Callable[[int, int], list[str]]

    def __len__(self) -> int:
        return len(self.pks)

    def changes(self, limit: int | None = None) -> list[Change]:
        n = len(self.pks) if limit is None else min(limit, len(self.pks))
        return [
            Change("delete", self.kind, label, [], summary)
            for label, summary in zip(self.labels[:n], self.summaries(0, n), strict=True)
        ]


@dataclass
class ImportPlan:
    server: DhcpServer
    filename: str
    desired: Desired
    # The changes in order: one Change each, or the stored rows of a bulk deletion.
    parts: list[Change | DeletedRows] = field(default_factory=list)
    kept: list[KeptVerbatim] = field(default_factory=list)
    relationships: list = field(default_factory=list)  # failover.dhcpd.pair.Relationship
    _fingerprint: str = field(default="", repr=False)
    # What to write (used by failover.services.config_import).
    server_fields: list[str] = field(default_factory=list)
    peers_create: list[FailoverPeer] = field(default_factory=list)
    peers_update: list[FailoverPeer] = field(default_factory=list)
    peers_delete: list[FailoverPeer] = field(default_factory=list)
    groups_create: list[list[ScopeGroup]] = field(default_factory=list)  # by depth
    groups_update: list[ScopeGroup] = field(default_factory=list)
    groups_delete: list[ScopeGroup] = field(default_factory=list)
    scopes_create: list[Scope] = field(default_factory=list)
    scopes_update: list[Scope] = field(default_factory=list)
    scopes_delete: list[int] = field(default_factory=list)  # primary keys
    pools_create: list[AddressPool] = field(default_factory=list)
    pools_update: list[AddressPool] = field(default_factory=list)
    pools_delete: list[int] = field(default_factory=list)  # primary keys

    @property
    def is_empty(self) -> bool:
        return not self.parts

    @property
    def fingerprint(self) -> str:
        """Ties a preview to what applying it does (computed when first asked for)."""
        if not self._fingerprint:
            self._fingerprint = _fingerprint(self)
        return self._fingerprint

    @property
    def changes(self) -> list[Change]:
        """Every change, in order (a Change object for each deleted row too: for what
        lists them all; the pages use :meth:`first` and :meth:`count`)."""
        out: list[Change] = []
        for part in self.parts:
            if isinstance(part, DeletedRows):
                out += part.changes()
            else:
                out.append(part)
        return out

    def count(self, action: str) -> int:
        """How many objects the plan creates, changes or deletes (``action``)."""
        return sum(
            (len(part) if action == "delete" else 0)
            if isinstance(part, DeletedRows)
            else part.action == action
            for part in self.parts
        )

    def first(self, action: str, limit: int | None) -> list[Change]:
        """The first ``limit`` (all with None) changes of ``action``, in order."""
        out: list[Change] = []
        for part in self.parts:
            if limit is not None and len(out) >= limit:
                break
            if isinstance(part, DeletedRows):
                if action == "delete":
                    out += part.changes(None if limit is None else limit - len(out))
            elif part.action == action:
                out.append(part)
        return out

    def _of(self, action: str) -> list[Change]:
        return self.first(action, None)

    @property
    def created(self) -> list[Change]:
        return self._of("create")

    @property
    def changed(self) -> list[Change]:
        return self._of("change")

    @property
    def deleted(self) -> list[Change]:
        return self._of("delete")

    @property
    def warnings(self) -> list[str]:
        """What dhcpd accepts but dhcpadmin holds otherwise than written, each as ``FILE,
        line L, column C: message`` (the message says what dhcpadmin does with it)."""
        return [ParseError.__str__(w) for w in self.desired.warnings]

    @property
    def notes(self) -> list[str]:
        return self.desired.notes

    @property
    def findings(self) -> list:
        return [f for rel in self.relationships for f in rel.findings]

    def counts(self) -> dict[str, int]:
        return {
            "created": self.count("create"),
            "changed": self.count("change"),
            "deleted": self.count("delete"),
            "kept": sum(len(k.statements) - k.comments_only for k in self.kept),
        }

    def summary(self) -> str:
        c = self.counts()
        return (
            f"{c['created']} to create, {c['changed']} to change, {c['deleted']} to delete, "
            f"{c['kept']} statement(s) kept verbatim"
        )


def _show(value: Any) -> Any:
    if isinstance(value, list):
        return [_entry_text(e) for e in value]
    if isinstance(value, dict):  # comments: one text per place, shown like statements
        return [
            "\n".join([f"({place})", *lines])
            for place, lines in sorted(value.items())
            if isinstance(lines, list)
        ]
    return value


def _entry_text(entry: Any) -> str:
    payload = entry[1] if isinstance(entry, list) and len(entry) == 2 else entry
    if isinstance(payload, str):
        return payload
    if isinstance(payload, dict):
        comments = payload.get("comments")
        before = "\n".join(comments) + "\n" if isinstance(comments, list) and comments else ""
        if "field" in payload:
            return f"{before}({_label(payload['field'])})"
        if "peers" in payload:
            return f"{before}(failover peer declarations)"
        if "peer" in payload:
            return f'{before}failover peer "{payload["peer"]}";'
    return repr(payload)


def _norm_list(value: str) -> str:
    return ", ".join(split_list(value or ""))


_LABELS: dict[str, str] = {}


def _verbose(model, name: str) -> str:
    key = f"{model.__name__}.{name}"
    if key not in _LABELS:
        try:
            _LABELS[key] = str(model._meta.get_field(name).verbose_name)
        except Exception:  # noqa: BLE001 - a label, never an error
            _LABELS[key] = name
    return _LABELS[key]


_BUILT_FIELDS = (
    "position",
    "bare",
    "dynamic_bootp",
    "peer_statement",
    "statements",
    "comments",
)


class _Planner:
    def __init__(
        self,
        server: DhcpServer,
        desired: Desired,
        filename: str,
        created: bool = False,
        reuse: bool = False,
    ) -> None:
        self.reuse = reuse
        # The plan changes its own copy of the server: the caller's stays as it was.
        self.server = (
            DhcpServer.objects.get(pk=server.pk) if server.pk is not None else copy.copy(server)
        )
        self.created = created or server.pk is None
        self.desired = desired
        self.plan = ImportPlan(server=self.server, filename=filename, desired=desired)
        self.errors: list[ParseError] = []
        self.stored_group_key: dict[int, tuple] = {}
        self.touched: set[int] = set()  # ids of stored scopes that change

    def error(self, loc: Loc, message: str) -> None:
        self.errors.append(ParseError(loc[0], loc[1], loc[2], message))

    def invalid(self, loc: Loc, what: str, exc: ValidationError, model) -> None:
        if hasattr(exc, "error_dict"):
            for name, messages in exc.message_dict.items():
                prefix = "" if name == "__all__" else f"{_verbose(model, name)}: "
                for message in messages:
                    self.error(loc, f"{what}: {prefix}{message}")
        else:
            for message in exc.messages:
                self.error(loc, f"{what}: {message}")

    def check(self, obj, loc: Loc, what: str, exclude: list[str], extra=None) -> None:
        """``clean_fields`` and the object's own rule functions, without queries: foreign
        keys are built from the file and the set-wide rules (overlaps, unique networks and
        names) are checked once for all objects. The layout fields the importer builds
        itself (position, flags, the kept statements) are checked by their rule function
        alone, not by the generic field machinery: 10,000 scopes make that count."""
        try:
            obj.clean_fields(exclude={*exclude, *_BUILT_FIELDS})  # a set: 3x faster
            if hasattr(obj, "statements"):
                try:
                    check_statements(obj.statements)
                except ValidationError as exc:
                    raise ValidationError({"statements": exc.messages}) from None
            if hasattr(obj, "comments"):
                try:
                    check_comments(obj.comments)
                except ValidationError as exc:
                    raise ValidationError({"comments": exc.messages}) from None
            if extra is not None:
                extra()
            errors = obj.own_errors() if hasattr(obj, "own_errors") else {}
            if errors:
                raise ValidationError(errors)
        except ValidationError as exc:
            self.invalid(loc, what, exc, type(obj))

    def change(self, action: str, kind: str, label: str, fields=(), summary: str = "") -> None:
        self.plan.parts.append(Change(action, kind, label, list(fields), summary))

    # ----------------------------------------------------------------- run

    def run(self) -> ImportPlan:
        server = self.server
        saved = server.pk is not None
        stored_peers = {p.name: p for p in server.failover_peers.all()} if saved else {}
        stored_groups = list(server.scope_groups.all()) if saved else []
        # The stored scopes and pools are read as rows (what identifies them, and what the
        # plan says of one it deletes); model instances only for those the file has too.
        # A file of 10 subnets costs 10 scopes' worth of instances, whatever the server holds.
        scope_rows: list[tuple] = []  # (pk, network, first_int)
        pool_rows: list[tuple] = []  # (pk, first_address, last_address, scope_id), by pk
        version: str | None = None  # the data version, read once
        if saved and self.reuse:
            from failover import versioning

            version = versioning.data_version()
            scope_rows, pool_rows = versioning.cached(
                f"import-stored-rows:{server.pk}", lambda: _stored_rows(server.pk), version=version
            )
        elif saved:
            scope_rows, pool_rows = _stored_rows(server.pk)
        wanted = {state.network for state in self.desired.scopes}
        stored_scopes = {
            s.network: s
            for s in _instances(
                Scope,
                Scope.objects.filter(server_id=server.pk),
                [r[0] for r in scope_rows if r[1] in wanted],
            )
        }
        first_of: dict[tuple[str, str], int] = {}
        for row in pool_rows:
            first_of.setdefault((row[1], row[2]), row[0])
        wanted_pools = {state.key for state in self.desired.pools}
        stored_pools = {
            p.pk: p
            for p in _instances(
                AddressPool,
                AddressPool.objects.filter(scope__server_id=server.pk),
                [pk for key, pk in first_of.items() if key in wanted_pools],
            )
        }
        self.server_part()
        peers = self.peers_part(stored_peers)
        groups = self.groups_part(stored_groups)
        scopes = self.scopes_part(stored_scopes, groups, scope_rows)
        network_of = {row[0]: row[1] for row in scope_rows}
        self.pools_part(
            pool_rows, first_of, stored_pools, scopes, groups, peers, network_of, stored_peers
        )
        if self.errors:
            raise ConfigImportError(_sorted(self.errors))
        self.kept_part()
        self.plan.relationships = _relationships(self.plan, peers, scopes, version)
        return self.plan

    def server_part(self) -> None:
        server, state = self.server, self.desired.server
        changes = []
        for name, new in (("omapi_port", state.omapi_port), ("statements", state.statements)):
            old = getattr(server, name)
            if old != new:
                label = _field_label(DhcpServer, name)
                # A server made here is written with the renderer's own top level.
                shown = DEFAULT_TOP if name == "statements" and old is None else old
                changes.append(FieldChange(name, label, _show(shown), _show(new)))
                setattr(server, name, new)
                self.plan.server_fields.append(name)
        self.check(server, ("", 1, 1), f"server {server.name}", exclude=["name", "address"])
        if self.created:
            self.change("create", "server", server.name, summary=server.address)
        elif changes:
            self.change("change", "server", server.name, changes)

    def peers_part(self, stored: dict[str, FailoverPeer]) -> dict[str, FailoverPeer]:
        out: dict[str, FailoverPeer] = {}
        for state in self.desired.peers:
            values = {**state.fields, "statements": state.statements, "comments": state.comments}
            peer = stored.get(state.name)
            if peer is None:
                peer = FailoverPeer(server=self.server, name=state.name, **values)
                self.plan.peers_create.append(peer)
                self.change("create", "failover peer", state.name, summary=_peer_summary(peer))
            else:
                changes = _apply(peer, values, FailoverPeer)
                if changes:
                    self.plan.peers_update.append(peer)
                    self.change("change", "failover peer", state.name, changes)
            shown = f'failover peer "{state.name}"'
            self.check(peer, state.loc, shown, exclude=["server", "partner_server"])
            out[state.name] = peer
        wanted = {s.name for s in self.desired.peers}
        for name, peer in sorted(stored.items()):
            if name not in wanted:
                self.plan.peers_delete.append(peer)
                self.change("delete", "failover peer", name, summary=_peer_summary(peer))
        return out

    def groups_part(self, stored: list[ScopeGroup]) -> dict[tuple, ScopeGroup]:
        by_key = _stored_group_keys(stored)
        self.stored_group_key = {g.pk: key for key, g in by_key.items()}
        out: dict[tuple, ScopeGroup] = {}
        new_by_depth: dict[int, list[ScopeGroup]] = defaultdict(list)
        for state in self.desired.groups:
            parent = out.get(state.parent) if state.parent else None
            values = {
                "kind": state.kind,
                "name": state.name,
                "quoted": state.quoted,
                "position": state.position,
                "statements": state.statements,
            }
            group = by_key.get(state.key)
            if group is None:
                group = ScopeGroup(server=self.server, parent=parent, **values)
                new_by_depth[len(state.key)].append(group)
                self.change("create", "shared network or group", state.label)
            else:
                # Same key, same path: the parent is the stored parent (cached for the checks).
                group.parent = parent
                changes = _apply(group, values, ScopeGroup)
                if changes:
                    self.plan.groups_update.append(group)
                    self.change("change", "shared network or group", state.label, changes)
            self.check(group, state.loc, state.label, exclude=["server", "parent"])
            out[state.key] = group
        self.plan.groups_create = [new_by_depth[d] for d in sorted(new_by_depth)]
        for key, group in by_key.items():
            if key not in out:
                self.plan.groups_delete.append(group)
                self.change("delete", "shared network or group", group_label(key))
        return out

    def _group_text(self, group_id: int | None) -> str:
        key = self.stored_group_key.get(group_id) if group_id is not None else None
        return group_label(key) if key else ""

    def scopes_part(
        self, stored: dict[str, Scope], groups: dict[tuple, ScopeGroup], rows: list[tuple]
    ) -> dict[str, Scope]:
        out: dict[str, Scope] = {}
        for state in self.desired.scopes:
            group = groups.get(state.group) if state.group else None
            values = {**state.options, "position": state.position, "statements": state.statements}
            for name in ("routers", "domain_name_servers", "domain_name"):
                if values[name] is None:
                    values[name] = ""
            scope = stored.get(state.network)
            if scope is None:
                scope = Scope(server_id=None, group_id=None, network=state.network, **values)  # type: ignore[misc]
                _link(scope, _SCOPE_SERVER, self.server)
                _link(scope, _SCOPE_GROUP, group)
                self.plan.scopes_create.append(scope)
                self.change("create", "scope", state.network, summary=_scope_summary(scope))
            else:
                changes = _apply(scope, values, Scope)
                old_key = self.stored_group_key.get(scope.group_id) if scope.group_id else None
                if old_key != state.group:
                    changes.append(
                        FieldChange(
                            "group",
                            "Shared network or group",
                            self._group_text(scope.group_id),
                            group_label(state.group) if state.group else "",
                        )
                    )
                scope.group = group
                if not changes:  # stored as it is: checked when it was saved
                    out[state.network] = scope
                    continue
                self.plan.scopes_update.append(scope)
                self.change("change", "scope", state.network, changes)
                self.touched.add(id(scope))
            # The option fields were checked by their Field.clean in desired_state (a value
            # they refuse is kept verbatim instead); the rest of the scope is checked here.
            self.check(
                scope,
                state.loc,
                f"subnet {state.network}",
                exclude=["server", "group", *SCOPE_OPTION_FIELDS],
                extra=scope.clean_network,
            )
            out[state.network] = scope
        pairs = find_overlaps((state.low, state.high, state) for state in self.desired.scopes)
        for state, other in pairs:
            if _later(other, state):
                state, other = other, state
            if state.network == other.network:
                message = f"subnet {state.network} is declared twice (first at line {other.loc[1]})"
            else:
                message = (
                    f"subnet {state.network} overlaps subnet {other.network} (line "
                    f"{other.loc[1]}); dhcpadmin does not hold overlapping scopes"
                )
            self.error(state.loc, message)
        gone = [row for row in rows if row[1] not in out]
        gone.sort(key=lambda row: row[2] if row[2] is not None else _net_key(row[1]))
        if gone:
            # Kept as two lists of plain values, not 10,000 row tuples: what outlives the
            # plan's computation is no work for Python's cycle collector. The options of a
            # deleted scope (its summary) are read only for those shown.
            pks, networks = [row[0] for row in gone], [row[1] for row in gone]
            self.plan.scopes_delete = pks
            self.plan.parts.append(
                DeletedRows("scope", pks, networks, lambda a, b: _scope_summaries(pks[a:b]))
            )
        return out

    def pools_part(
        self,
        rows: list[tuple],
        first_of: dict[tuple[str, str], int],
        stored: dict[int, AddressPool],
        scopes: dict[str, Scope],
        groups: dict[tuple, ScopeGroup],
        peers: dict[str, FailoverPeer],
        network_of: dict[int, str],
        stored_peers: dict[str, FailoverPeer],
    ) -> None:
        """``rows``: the stored pools as (pk, first, last, scope_id); ``first_of``: the
        first stored pool of each (first, last); ``stored``: instances of those the file
        has."""
        by_key = {key: stored[pk] for key, pk in first_of.items() if pk in stored}
        pool: AddressPool | None
        peer_of: dict[int | None, str] = {p.pk: n for n, p in stored_peers.items()}
        kept: set[int] = set()
        seen: set[tuple[str, str]] = set()
        for state in self.desired.pools:
            scope = scopes[state.scope]
            group = groups.get(state.group) if state.group else None
            peer = peers.get(state.failover_peer) if state.failover_peer else None
            values = {
                "position": state.position,
                "bare": state.bare,
                "dynamic_bootp": state.dynamic_bootp,
                "peer_statement": state.peer_statement,
                "statements": state.statements,
                "comments": state.comments,
            }
            label = f"{state.first_address}-{state.last_address}"
            pool = by_key.get(state.key) if state.key not in seen else None
            seen.add(state.key)
            if pool is None:
                pool = AddressPool(  # type: ignore[misc]  # the foreign keys: see _link
                    scope_id=None,
                    failover_peer_id=None,
                    group_id=None,
                    first_address=state.first_address,
                    last_address=state.last_address,
                    **values,
                )
                _link(pool, _POOL_SCOPE, scope)
                _link(pool, _POOL_PEER, peer)
                _link(pool, _POOL_GROUP, group)
                self.plan.pools_create.append(pool)
                summary = f"in {state.scope}" + (
                    f", failover peer '{state.failover_peer}'" if peer else ""
                )
                self.change("create", "address pool", label, summary=summary)
            else:
                kept.add(pool.pk)
                changes = _apply(pool, values, AddressPool)
                old_scope = network_of.get(pool.scope_id)
                if old_scope != state.scope:
                    changes.append(FieldChange("scope", "Scope", old_scope, state.scope))
                old_peer = peer_of.get(pool.failover_peer_id)
                if old_peer != state.failover_peer:
                    changes.append(
                        FieldChange(
                            "failover_peer",
                            "Failover Peer",
                            old_peer or "",
                            state.failover_peer or "",
                        )
                    )
                old_group = self.stored_group_key.get(pool.group_id) if pool.group_id else None
                if old_group != state.group:
                    changes.append(
                        FieldChange(
                            "group",
                            "Declared in",
                            self._group_text(pool.group_id),
                            group_label(state.group) if state.group else "",
                        )
                    )
                if not changes and id(scope) not in self.touched:
                    continue  # stored as it is, in a scope that stays: checked when saved
                pool.scope, pool.failover_peer, pool.group = scope, peer, group
                if changes:
                    self.plan.pools_update.append(pool)
                    self.change("change", "address pool", label, changes)
            # The addresses come from the parser as IPv4 text; is_ipv4 is the field's check
            # (ipaddress's rules, as one regular expression), not the generic machinery.
            self.check(
                pool,
                state.loc,
                f"range {state.first_address} {state.last_address}",
                exclude=["scope", "failover_peer", "group", "first_address", "last_address"],
                extra=lambda pool=pool: _check_addresses(pool),
            )
        pairs = find_overlaps((s.low, s.high, s) for s in self.desired.pools)
        for state, other in pairs:
            if _later(other, state):
                state, other = other, state
            self.error(
                state.loc,
                f"range {state.first_address} {state.last_address} overlaps range "
                f"{other.first_address} {other.last_address} (line {other.loc[1]})",
            )
        gone = [row for row in rows if row[0] not in kept]
        if gone:
            self.plan.pools_delete = [row[0] for row in gone]
            labels = [f"{first}-{last}" for _, first, last, _ in gone]
            scope_ids = [row[3] for row in gone]

            def summaries(start: int, stop: int) -> list[str]:
                return [f"in {network_of.get(i, '')}" for i in scope_ids[start:stop]]

            self.plan.parts.append(
                DeletedRows("address pool", self.plan.pools_delete, labels, summaries)
            )

    def kept_part(self) -> None:
        kept = self.plan.kept

        def add(where: str, entries: list) -> None:
            texts = [e[1] for e in entries if isinstance(e[1], str)]
            if texts:
                only = sum(1 for t in texts if _comments_only(t))
                kept.append(KeptVerbatim(where, texts, only))

        def notes(where: str, comments: dict[str, list[str]]) -> None:
            texts = [
                "\n".join([*lines, _PLACES.get(place, f"(before '{_peer_keyword(place)}')")])
                for place, lines in comments.items()
                if lines
            ]
            if texts:
                kept.append(KeptVerbatim(f"{where}: comments", texts, len(texts)))

        add("top level", self.desired.server.statements)
        for state in self.desired.peers:
            add(f'failover peer "{state.name}"', state.statements)
            notes(f'failover peer "{state.name}"', state.comments)
        for group in self.desired.groups:
            add(group.label, group.statements)
        for scope in self.desired.scopes:
            add(f"subnet {scope.network}", scope.statements)
        blocks: set[tuple] = set()
        for pool in self.desired.pools:
            block = (pool.group or pool.scope, pool.position)
            if block not in blocks:
                blocks.add(block)
                add(f"pool with range {pool.first_address} {pool.last_address}", pool.statements)
            notes(f"range {pool.first_address} {pool.last_address}", pool.comments)


_PLACES = {
    "before": "(before it)",
    "end": "(at the end of the block)",
    "peer": "(before the pool's failover peer statement)",
}


def _peer_keyword(key: str) -> str:
    return {
        "role": "primary/secondary",
        "peer_address": "peer address",
        "peer_port": "peer port",
        "load_balance_max_seconds": "load balance max seconds",
    }.get(key, key.replace("_", "-"))


_POOL_SCOPE = AddressPool._meta.get_field("scope")
_POOL_PEER = AddressPool._meta.get_field("failover_peer")
_POOL_GROUP = AddressPool._meta.get_field("group")
_SCOPE_SERVER = Scope._meta.get_field("server")
_SCOPE_GROUP = Scope._meta.get_field("group")


def _link(obj: Any, field: Any, value: Any) -> None:
    """Point a new object's foreign key at ``value`` (saved or not yet): what assigning it
    does, without the descriptor's database routing, for tens of thousands of new rows."""
    obj.__dict__[field.attname] = value.pk if value is not None else None
    field.set_cached_value(obj, value)


def _later(a: Any, b: Any) -> bool:
    """Does ``a`` come after ``b`` in the file? (An overlap is reported at the later one.)"""
    return (a.loc[0], a.loc[1], a.loc[2]) > (b.loc[0], b.loc[1], b.loc[2])


def _check_addresses(pool: AddressPool) -> None:
    for name in ("first_address", "last_address"):
        if not is_ipv4(getattr(pool, name)):
            raise ValidationError({name: "Enter a valid IPv4 address."})


def _stored_group_keys(groups: list[ScopeGroup]) -> dict[tuple, ScopeGroup]:
    """The identity of each stored group: its path of (kind, name, ordinal) from the top,
    the ordinal counting earlier siblings of the same kind and name (the file's order)."""
    children: dict[int | None, list[ScopeGroup]] = defaultdict(list)
    ids = {g.pk for g in groups}
    for group in groups:
        parent = group.parent_id if group.parent_id in ids else None
        children[parent].append(group)
    out: dict[tuple, ScopeGroup] = {}

    def visit(parent_id: int | None, prefix: tuple, depth: int) -> None:
        if depth > 64:
            return
        counts: dict[tuple[str, str], int] = defaultdict(int)
        ordered = sorted(
            children.get(parent_id, []),
            key=lambda g: (g.position is None, g.position or 0, g.pk),
        )
        for group in ordered:
            ordinal = counts[(group.kind, group.name)]
            counts[(group.kind, group.name)] += 1
            key = (*prefix, group_key_part(group.kind, group.name, ordinal))
            out[key] = group
            visit(group.pk, key, depth + 1)

    visit(None, (), 0)
    return out


def _apply(obj, values: dict[str, Any], model) -> list[FieldChange]:
    changes = []
    for name, new in values.items():
        old = getattr(obj, name)
        same = old == new
        if not same and name in ("routers", "domain_name_servers"):
            same = _norm_list(old) == _norm_list(new)
        if not same:
            changes.append(FieldChange(name, _field_label(model, name), _show(old), _show(new)))
            setattr(obj, name, new)
    return changes


def _field_label(model, name: str) -> str:
    if name == "statements":
        return "Statements kept verbatim (in order)"
    if name == "position":
        return "Place in the file"
    return _verbose(model, name)


def _peer_summary(peer: FailoverPeer) -> str:
    return f"{peer.role}, {peer.address}:{peer.port} ↔ {peer.peer_address}:{peer.peer_port}"


def _scope_summary(scope: Scope) -> str:
    return _options_summary({k: getattr(scope, k) for k in SCOPE_OPTION_FIELDS})


def _stored_rows(server_id: int) -> tuple[list[tuple], list[tuple]]:
    """A server's stored scopes as (pk, network, first_int) and its pools as (pk, first
    address, last address, scope id), by pk: one query (each scope with its pools)."""
    scope_rows: list[tuple] = []
    pool_rows: list[tuple] = []
    seen: set[int] = set()
    rows = Scope.objects.filter(server_id=server_id).order_by()
    for pk, network, first_int, pool_pk, first, last in rows.values_list(
        "pk", "network", "first_int", "pools__pk", "pools__first_address", "pools__last_address"
    ):
        if pk not in seen:
            seen.add(pk)
            scope_rows.append((pk, network, first_int))
        if pool_pk is not None:
            pool_rows.append((pool_pk, first, last, pk))
    pool_rows.sort()
    return scope_rows, pool_rows


def _scope_summaries(pks: list[int]) -> list[str]:
    """The summaries (their options) of the stored scopes ``pks``, in that order."""
    options: dict[int, tuple] = {}
    for start in range(0, len(pks), 900):
        rows = Scope.objects.filter(pk__in=pks[start : start + 900]).order_by()
        options.update((row[0], row[1:]) for row in rows.values_list("pk", *SCOPE_OPTION_FIELDS))
    return [
        _options_summary(dict(zip(SCOPE_OPTION_FIELDS, options.get(pk, ()), strict=False)))
        for pk in pks
    ]


def _options_summary(options: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in options.items() if v)


def _instances(model, queryset, ids: list[int]) -> list:
    """The model instances of ``ids`` (of ``queryset``), in chunks that every database's
    parameter limit takes; the whole queryset when it is most of it anyway."""
    if not ids:
        return []
    if len(ids) > 5000:
        wanted = set(ids)
        return [obj for obj in queryset if obj.pk in wanted]
    out: list = []
    for start in range(0, len(ids), 900):
        out += model.objects.filter(pk__in=ids[start : start + 900])
    return out


def _net_key(network: str) -> int:
    try:
        return int(ipaddress.IPv4Network(network).network_address)
    except ValueError:
        return 0


def _fingerprint(plan: ImportPlan) -> str:
    """Ties a preview to what applying it does: the changes against the stored data and
    the desired state itself. Applying checks it again inside the transaction."""
    digest = hashlib.sha256()
    # One JSON text of the single changes; a bulk deletion by its ids and labels (a file
    # that deletes 10,000 scopes has 20,000 deletions: no object or tuple per row).
    changes: list = []
    for part in plan.parts:
        if isinstance(part, DeletedRows):
            changes.append(("delete", part.kind, len(part)))
            digest.update(array("q", part.pks).tobytes())
            digest.update("\n".join(part.labels).encode())
            continue
        c = part
        changes.append(
            (c.action, c.kind, c.label, [(f.field, repr(f.old), repr(f.new)) for f in c.fields])
            if c.fields
            else (c.action, c.kind, c.label)
        )
    digest.update(json.dumps(changes, default=repr).encode())
    digest.update(_desired_digest(plan.desired).encode())
    return digest.hexdigest()


def _desired_digest(desired: Desired) -> str:
    digest = hashlib.sha256()
    digest.update(repr(desired.server).encode())
    for group in (desired.peers, desired.groups, desired.scopes, desired.pools):
        for item in group:
            digest.update(repr(item).encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- relationships


def _relationships(
    plan: ImportPlan,
    peers: dict[str, FailoverPeer],
    scopes: dict[str, Scope],
    version: str | None = None,
):
    """The failover relationships of this server as they will be once the plan is applied,
    with the pair check (:mod:`failover.dhcpd.pair`): the other servers as stored, this one
    as planned (stand-ins with made-up ids for what is not saved yet). Five queries."""
    from . import pair

    server = plan.server
    this_id = server.pk if server.pk is not None else -1
    stand_in = DhcpServer(
        pk=this_id, name=server.name, address=server.address, omapi_port=server.omapi_port
    )
    partners = _partner_servers(server, this_id, peers)
    partner_ids = [s.pk for s in partners]
    servers = [*partners, stand_in]
    other_peers = list(FailoverPeer.objects.filter(server_id__in=partner_ids))
    made_up = iter(range(-2, -(2**62), -1))
    peer_ids: dict[str, int] = {}
    mine = []
    for name, peer in peers.items():
        copy = FailoverPeer(
            **{f.attname: getattr(peer, f.attname) for f in FailoverPeer._meta.concrete_fields}
        )
        copy.pk = peer.pk if peer.pk is not None else next(made_up)
        copy.server_id = this_id
        peer_ids[name] = copy.pk
        mine.append(copy)
    scope_ids: dict[str, int] = {}
    my_scopes = []
    for network, scope in scopes.items():
        pk = scope.pk if scope.pk is not None else next(made_up)
        scope_ids[network] = pk
        first_int = (network_span(network) or (None, None))[0]
        my_scopes.append(pair.ScopeRow(pk, this_id, network, scope.name, first_int))
    my_pools = [
        pair.PoolRow(
            scope_ids[state.scope],
            state.first_address,
            state.last_address,
            peer_ids[state.failover_peer],
        )
        for state in plan.desired.pools
        if state.failover_peer in peer_ids
    ]
    names = {s.pk: s.name for s in servers}
    all_peers = sorted([*other_peers, *mine], key=lambda p: (names.get(p.server_id, ""), p.name))
    rows = _partner_rows(partner_ids, version).plus(my_pools, my_scopes)
    rels = pair.build(servers, all_peers, rows=rows)
    rels = [rel for rel in rels if this_id in rel.server_ids]
    for rel in rels:  # what the preview shows, computed with the plan (no object per scope)
        rel.first_scope_findings  # noqa: B018
    return rels


def _partner_rows(ids: list[int], version: str | None = None) -> Any:
    """The partners' failover pools and scopes, indexed for the pair check
    (:class:`failover.dhcpd.pair.Rows`, read-only), kept under the data version
    (``version``, when already read): previews of one import in a row read and index
    them once."""
    from failover import versioning

    from . import pair

    if not ids:
        return pair.Rows()
    return versioning.cached(
        "import-partner-rows:" + ",".join(str(i) for i in sorted(ids)),
        lambda: pair.Rows(
            pair.pool_rows(scope__server_id__in=ids), pair.scope_rows(server_id__in=ids)
        ),
        version=version,
    )


def _partner_servers(
    server: DhcpServer, this_id: int, peers: dict[str, FailoverPeer]
) -> list[DhcpServer]:
    """The other servers that can be in a relationship with this one as planned: those
    its peers can name (by the partner set, the peer address, or a peer of the same name
    listening there), and those whose peers can name it (by the partner set, its address,
    or the same name). What the plan shows costs its partners, not the whole database
    (one query)."""
    names = set(peers)
    addresses = {p.peer_address.lower() for p in peers.values() if p.peer_address}
    own = {p.address.lower() for p in peers.values() if p.address} | {server.address.lower()}
    explicit = {p.partner_server_id for p in peers.values() if p.partner_server_id}
    named = (
        FailoverPeer.objects.annotate(lower_address=Lower("address"))
        .filter(name__in=names, lower_address__in=addresses)
        .values("server_id")
    )
    pointing = (
        FailoverPeer.objects.annotate(lower_peer_address=Lower("peer_address"))
        .filter(
            Q(partner_server_id=this_id)
            | Q(lower_peer_address__in=own)
            | Q(name__in=names, lower_peer_address__in=own)
        )
        .values("server_id")
    )
    return list(
        DhcpServer.objects.annotate(lower_address=Lower("address"))
        .filter(
            Q(pk__in=explicit)
            | Q(lower_address__in=addresses)
            | Q(pk__in=Subquery(named))
            | Q(pk__in=Subquery(pointing))
        )
        .exclude(pk=this_id)
    )


# --------------------------------------------------------------------------- entry point


def plan_import(
    *,
    server: DhcpServer,
    config: ast.Config,
    filename: str = "",
    created: bool = False,
    reuse: bool = False,
) -> ImportPlan:
    """Compare what ``config`` declares with what ``server`` holds (``server`` may be
    unsaved: everything is then created; ``created``: it was just made for this import).
    Raises ConfigImportError; changes nothing.

    ``reuse``: read the server's stored scopes and pools (rows) through the results kept
    under the data version (:mod:`failover.versioning`), so previews of one server in a
    row read them once. For a preview only: applying reads them afresh, inside its
    transaction, and compares the fingerprint with the preview's."""
    desired = desired_state(config)
    return _Planner(server, desired, filename or config.file, created, reuse).run()


# --------------------------------------------------------------------------- as text


def statement_diff(old: Any, new: Any) -> tuple[list[str], list[str]]:
    """The statements only in ``old`` and only in ``new`` (lists of texts), in order."""
    old_list = list(old) if isinstance(old, list) else []
    new_list = list(new) if isinstance(new, list) else []
    removed, added = list(old_list), []
    for text in new_list:
        if text in removed:
            removed.remove(text)
        else:
            added.append(text)
    return removed, added


def _value_text(value: Any) -> str:
    if value in (None, ""):
        return "(none)"
    return str(value)


def plan_lines(plan: ImportPlan, limit: int | None = 50) -> list[str]:
    """The plan as text, for the command (and the logs): changes, kept statements, notes,
    relationships with their pair check. ``limit`` caps the objects listed per section."""
    out: list[str] = []
    for title, action, mark in (
        ("Create", "create", "+"),
        ("Change", "change", "~"),
        ("Delete", "delete", "-"),
    ):
        count = plan.count(action)
        if not count:
            continue
        out.append(f"{title} ({count}):")
        for change in plan.first(action, limit):
            head = f"  {mark} {change.kind} {change.label}"
            out.append(head + (f" ({change.summary})" if change.summary else ""))
            for fc in change.fields:
                if isinstance(fc.old, list) or isinstance(fc.new, list):
                    removed, added = statement_diff(fc.old, fc.new)
                    out.append(f"      {fc.label}:")
                    out += [f"        - {line}" for text in removed for line in text.split("\n")]
                    out += [f"        + {line}" for text in added for line in text.split("\n")]
                    if not removed and not added:
                        out.append("        (the same statements, in another order)")
                else:
                    out.append(f"      {fc.label}: {_value_text(fc.old)} -> {_value_text(fc.new)}")
        if limit is not None and count > limit:
            out.append(f"  ... and {count - limit} more (-v 2 lists them all)")
    if plan.kept:
        total = plan.counts()["kept"]
        out.append(f"Kept verbatim ({total} statement(s) the model has no field for):")
        for kept in plan.kept if limit is None else plan.kept[:limit]:
            out.append(f"  {kept.where}: {len(kept.statements)}")
            if limit is None:
                out += [f"      {line}" for text in kept.statements for line in text.split("\n")]
        if limit is not None and len(plan.kept) > limit:
            out.append(f"  ... and {len(plan.kept) - limit} more places")
    if plan.warnings:
        out.append(f"Warnings ({len(plan.warnings)}: dhcpd accepts these; what dhcpadmin does):")
        out += [f"  {warning}" for warning in plan.warnings]
    if plan.notes:
        out.append("Notes:")
        out += [f"  {note}" for note in plan.notes]
    if plan.relationships:
        out.append("Failover relationships:")
        for rel in plan.relationships:
            primary = rel.primary_server.name if rel.primary_server else "(not managed here)"
            secondary = rel.secondary_server.name if rel.secondary_server else "(not managed here)"
            verdict = "OK" if rel.ok else f"{len(rel.findings)} finding(s)"
            out.append(f"  {rel.name}: primary {primary}, secondary {secondary}: {verdict}")
            out += [f"    {f.severity.upper()}: {f.message}" for f in rel.findings]
    return out
