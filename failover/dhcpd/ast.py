"""The syntax tree of a dhcpd.conf file: plain dataclasses, no Django.

Every node carries ``file``/``line``/``column`` (where it starts); those are left out of
equality so that ``parse(to_text(tree)) == tree``. Statements the model does not know are
kept as their tokens (:class:`Statement`, :class:`Block`), so :func:`to_text` writes them
back with the same meaning: same tokens, canonical spacing, strings re-quoted.

Node overview (``statements`` is always an ordered list of nodes):

=====================  ===============================================================
Config                 statements, file
Statement              tokens, terminator (';', or ':' for ``case x:`` labels)
Block                  header tokens, statements  (``on commit {}``, ``switch``, ...)
FailoverPeer           name, role, address, port, peer_address, peer_port, ... , extra
FailoverPeerRef        name  (``failover peer "x";`` in a shared-network)
Subnet                 network, netmask, statements
SharedNetwork          name, quoted, statements
Group                  name, quoted, statements
Pool                   failover_peer, statements (Range nodes among them), no_failover_peer
Range                  first, last, dynamic_bootp
Host                   name, statements
Class                  name, statements
Subclass               class_name, data tokens, statements (None: no block)
Conditional            branches: [Branch(kind 'if'|'elsif'|'else', condition, statements)]
OptionSpace            name, rest tokens
OptionDefinition       name, code, format tokens
OptionSetting          name, value tokens
AllowDeny              action ('allow'|'deny'|'ignore'), subject tokens
Key                    name, quoted, statements
Zone                   name, statements
Include                path (as written), resolved, config (the included file's tree)
=====================  ===============================================================

``to_text(node)`` renders any node (a lone ``else`` branch excepted) as dhcpd.conf text;
``node.text`` is the same. Known nodes are written from their fields, in a fixed layout;
Statement/Block nodes from their tokens with canonical spacing (see tokenizer).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .tokenizer import Token, join_tokens, quote

INDENT = "    "


@dataclass(slots=True)
class Node:
    # Where the node starts; keyword-only and not compared (written out for mypy's
    # dataclass plugin, which only sees field() calls).
    file: str = field(default="", compare=False, repr=False, kw_only=True)
    line: int = field(default=0, compare=False, repr=False, kw_only=True)
    column: int = field(default=0, compare=False, repr=False, kw_only=True)
    # The comments written before the node (``#...`` lines, as written), and, for a block,
    # those before its closing brace (the end of a Config: of the file). Not compared.
    comments: tuple[str, ...] = field(default=(), compare=False, repr=False, kw_only=True)
    end_comments: tuple[str, ...] = field(default=(), compare=False, repr=False, kw_only=True)

    @property
    def text(self) -> str:
        """This node as (canonical) dhcpd.conf text."""
        return to_text(self)


@dataclass(slots=True)
class Statement(Node):
    """A statement the model does not interpret: its tokens up to ';'."""

    tokens: list[Token] = field(default_factory=list)
    terminator: str = ";"

    @property
    def keyword(self) -> str:
        return self.tokens[0].lower if self.tokens else ""


@dataclass(slots=True)
class Block(Node):
    """A block the model does not interpret: header tokens, then ``{ statements }``."""

    header: list[Token] = field(default_factory=list)
    statements: list[Node] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.header[0].lower if self.header else ""

    @property
    def args(self) -> list[Token]:
        return self.header[1:]


FAILOVER_INT_FIELDS = (
    # (keywords as written, field name)
    (("max-response-delay",), "max_response_delay"),
    (("max-unacked-updates",), "max_unacked_updates"),
    (("mclt",), "mclt"),
    (("split",), "split"),
    (("load", "balance", "max", "seconds"), "load_balance_max_seconds"),
    (("auto-partner-down",), "auto_partner_down"),
    (("max-lease-misbalance",), "max_lease_misbalance"),
    (("max-lease-ownership",), "max_lease_ownership"),
    (("min-balance",), "min_balance"),
    (("max-balance",), "max_balance"),
)


@dataclass(slots=True)
class FailoverPeer(Node):
    """``failover peer "NAME" { ... }`` with every statement dhcpd 4.4 knows, typed."""

    name: str = ""
    role: str | None = None  # "primary" / "secondary"; None when not written
    address: str | None = None  # IPv4 address or host name, as written
    port: int | None = None
    peer_address: str | None = None
    peer_port: int | None = None
    max_response_delay: int | None = None
    max_unacked_updates: int | None = None
    mclt: int | None = None
    split: int | None = None
    hba: str | None = None  # 32 colon-separated hex bytes, lower case, two digits each
    load_balance_max_seconds: int | None = None
    auto_partner_down: int | None = None
    max_lease_misbalance: int | None = None
    max_lease_ownership: int | None = None
    min_balance: int | None = None
    max_balance: int | None = None
    # Statements dhcpd accepts that have no field (``peer max-response-delay 30;``).
    extra: list[Statement] = field(default_factory=list)
    # Comments before a typed statement, by its key (see ``failover_items``).
    statement_comments: dict[str, tuple[str, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass(slots=True)
class FailoverPeerRef(Node):
    """``failover peer "NAME";`` outside a pool (old style, in a shared-network)."""

    name: str = ""


@dataclass(slots=True)
class Subnet(Node):
    network: ipaddress.IPv4Address = ipaddress.IPv4Address(0)
    netmask: ipaddress.IPv4Address = ipaddress.IPv4Address(0)
    statements: list[Node] = field(default_factory=list)

    @property
    def cidr(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"{self.network}/{self.netmask}")

    @property
    def pools(self) -> list[Pool]:
        return [s for s in self.statements if isinstance(s, Pool)]

    @property
    def ranges(self) -> list[Range]:
        """Ranges declared directly in the subnet (not in a pool)."""
        return [s for s in self.statements if isinstance(s, Range)]


@dataclass(slots=True)
class SharedNetwork(Node):
    name: str = ""
    quoted: bool = False
    statements: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Group(Node):
    name: str | None = None
    quoted: bool = False
    statements: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Pool(Node):
    """``pool { ... }``. ``failover_peer`` is the peer the pool itself names (the last
    ``failover peer "x";`` in it); ``no_failover_peer`` is True when the pool ends with
    ``no failover peer`` (which cancels a peer inherited from a shared-network)."""

    failover_peer: str | None = None
    statements: list[Node] = field(default_factory=list)
    no_failover_peer: bool = False
    # Comments before the pool's ``failover peer "x";`` / ``no failover peer``.
    peer_comments: tuple[str, ...] = field(default=(), compare=False, repr=False)
    # Peers named by an earlier ``failover peer "x";`` of the same pool: dhcpd uses the
    # last one, but counts the pool for each (its check that every peer has a pool).
    overridden_peers: list[str] = field(default_factory=list)

    @property
    def ranges(self) -> list[Range]:
        return [s for s in self.statements if isinstance(s, Range)]

    @property
    def other_statements(self) -> list[Node]:
        return [s for s in self.statements if not isinstance(s, Range)]


@dataclass(slots=True)
class Range(Node):
    first: ipaddress.IPv4Address = ipaddress.IPv4Address(0)
    last: ipaddress.IPv4Address | None = None  # None: ``range A;`` (a single address)
    dynamic_bootp: bool = False

    @property
    def end(self) -> ipaddress.IPv4Address:
        return self.first if self.last is None else self.last


@dataclass(slots=True)
class Host(Node):
    name: str = ""
    statements: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Class(Node):
    name: str = ""
    statements: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Subclass(Node):
    class_name: str = ""
    data: list[Token] = field(default_factory=list)
    statements: list[Node] | None = None  # None: ``subclass "c" data;`` without a block


@dataclass(slots=True)
class Branch(Node):
    kind: str = "if"  # "if", "elsif" (also written "else if") or "else"
    condition: list[Token] = field(default_factory=list)  # the expression, verbatim
    statements: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Conditional(Node):
    branches: list[Branch] = field(default_factory=list)


@dataclass(slots=True)
class OptionSpace(Node):
    name: str = ""
    rest: list[Token] = field(default_factory=list)  # code width / length width / hash size


@dataclass(slots=True)
class OptionDefinition(Node):
    name: str = ""  # "name" or "space.name"
    code: int = 0
    format: list[Token] = field(default_factory=list)  # after '=' up to ';'


@dataclass(slots=True)
class OptionSetting(Node):
    name: str = ""
    value: list[Token] = field(default_factory=list)

    @property
    def value_text(self) -> str:
        return join_tokens(self.value)


@dataclass(slots=True)
class AllowDeny(Node):
    action: str = "allow"
    subject: list[Token] = field(default_factory=list)

    @property
    def subject_text(self) -> str:
        return join_tokens(self.subject)


@dataclass(slots=True)
class Key(Node):
    name: str = ""
    quoted: bool = False
    statements: list[Node] = field(default_factory=list)

    def _value(self, keyword: str) -> str | None:
        for stmt in self.statements:
            if isinstance(stmt, Statement) and stmt.keyword == keyword and len(stmt.tokens) > 1:
                rest = stmt.tokens[1:]
                return rest[0].value if len(rest) == 1 else join_tokens(rest)
        return None

    @property
    def algorithm(self) -> str | None:
        return self._value("algorithm")

    @property
    def secret(self) -> str | None:
        return self._value("secret")


@dataclass(slots=True)
class Zone(Node):
    name: str = ""
    statements: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Config(Node):
    statements: list[Node] = field(default_factory=list)
    # What dhcpd accepts but that is held otherwise than written (a statement given twice,
    # split and hba together, 0 for a default, a pool naming two peers): ParseError-like
    # (file, line, column, message) items, in file order. Only on the parsed file's Config.
    warnings: list = field(default_factory=list, compare=False, repr=False)


@dataclass(slots=True)
class Include(Node):
    path: str = ""  # as written in the file
    resolved: str = field(default="", compare=False)  # real path on disk
    config: Config | None = None


# --------------------------------------------------------------------------- helpers


def walk(node: Node, *, into_includes: bool = True):
    """Yield ``node`` and every node below it, depth first, in file order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        children: list[Node] = []
        if isinstance(current, Conditional):
            children = list(current.branches)
        elif isinstance(current, Include):
            if into_includes and current.config is not None:
                children = [current.config]
        elif isinstance(current, FailoverPeer):
            children = list(current.extra)
        else:
            statements = getattr(current, "statements", None)
            if statements:
                children = list(statements)
        stack.extend(reversed(children))


def flatten_includes(statements: list[Node]) -> list[Node]:
    """The statements with every Include replaced by the statements it brought in (its
    comments, and those at the end of the included file, as a statement-less Config node
    in their place, which ``to_text`` writes as those comments)."""
    out: list[Node] = []
    for stmt in statements:
        if isinstance(stmt, Include):
            if stmt.comments:  # the include statement's own comments: kept in its place
                out.append(Config([], comments=stmt.comments, file=stmt.file, line=stmt.line))
            if stmt.config is not None:
                out.extend(flatten_includes(stmt.config.statements))
                if stmt.config.end_comments:  # the end of the included file
                    out.append(Config([], comments=stmt.config.end_comments, file=stmt.file))
        else:
            out.append(stmt)
    return out


# --------------------------------------------------------------------------- rendering


def _span(tokens: list[Token]) -> str:
    """A token span that follows a keyword: one leading space, canonical spacing."""
    return " " + join_tokens(tokens) if tokens else ""


def _name(name: str, quoted: bool) -> str:
    return quote(name) if quoted else name


def to_text(node: Node, *, indent: int = 0, inline_includes: bool = False) -> str:
    """Render ``node`` (any node, or a whole Config) as valid dhcpd.conf text.

    Statements end with a newline; blocks are indented by four spaces per level.
    ``inline_includes`` replaces ``include "FILE";`` by the included statements.
    """
    out: list[str] = []
    _render(node, indent, out, inline_includes)
    return "".join(out)


def _comments(lines, pad: str, out: list[str]) -> None:
    for line in lines:
        out.append(f"{pad}{line}\n" if line else "\n")  # "": a blank line between comments


def _block(
    head: str, statements, indent: int, out: list[str], inline: bool, pre=(), end=()
) -> None:
    pad = INDENT * indent
    out.append(f"{pad}{head} {{\n")
    inner = INDENT * (indent + 1)
    for line in pre:
        out.append(f"{inner}{line}\n")
    for stmt in statements:
        _render(stmt, indent + 1, out, inline)
    _comments(end, inner, out)
    out.append(f"{pad}}}\n")


def _render(node: Node, indent: int, out: list[str], inline: bool) -> None:  # noqa: C901
    pad = INDENT * indent
    if node.comments and not isinstance(node, Branch):
        _comments(node.comments, pad, out)
    end = node.end_comments
    if isinstance(node, Config):
        for stmt in node.statements:
            _render(stmt, indent, out, inline)
        _comments(end, pad, out)
    elif isinstance(node, Statement):
        out.append(f"{pad}{join_tokens(node.tokens)}{node.terminator}\n")
    elif isinstance(node, Block):
        _block(join_tokens(node.header), node.statements, indent, out, inline, end=end)
    elif isinstance(node, FailoverPeer):
        pre: list[str] = []
        for key, line in failover_items(node):
            pre += node.statement_comments.get(key, ())
            pre.append(line)
        _block(
            f"failover peer {quote(node.name)}",
            node.extra,
            indent,
            out,
            inline,
            pre=pre,
            end=end,
        )
    elif isinstance(node, FailoverPeerRef):
        out.append(f"{pad}failover peer {quote(node.name)};\n")
    elif isinstance(node, Subnet):
        _block(
            f"subnet {node.network} netmask {node.netmask}",
            node.statements,
            indent,
            out,
            inline,
            end=end,
        )
    elif isinstance(node, SharedNetwork):
        _block(
            f"shared-network {_name(node.name, node.quoted)}",
            node.statements,
            indent,
            out,
            inline,
            end=end,
        )
    elif isinstance(node, Group):
        head = "group" if node.name is None else f"group {_name(node.name, node.quoted)}"
        _block(head, node.statements, indent, out, inline, end=end)
    elif isinstance(node, Pool):
        if node.failover_peer is not None:
            pre = [f"failover peer {quote(name)};" for name in node.overridden_peers]
            pre += [*node.peer_comments, f"failover peer {quote(node.failover_peer)};"]
        elif node.no_failover_peer:
            pre = [*node.peer_comments, "no failover peer"]  # dhcpd 4.4 wants no ';' here
        else:
            pre = []
        _block("pool", node.statements, indent, out, inline, pre=pre, end=end)
    elif isinstance(node, Range):
        bootp = "dynamic-bootp " if node.dynamic_bootp else ""
        last = "" if node.last is None else f" {node.last}"
        out.append(f"{pad}range {bootp}{node.first}{last};\n")
    elif isinstance(node, Host):
        _block(f"host {node.name}", node.statements, indent, out, inline, end=end)
    elif isinstance(node, Class):
        _block(f"class {quote(node.name)}", node.statements, indent, out, inline, end=end)
    elif isinstance(node, Subclass):
        head = f"subclass {quote(node.class_name)}{_span(node.data)}"
        if node.statements is None:
            out.append(f"{pad}{head};\n")
        else:
            _block(head, node.statements, indent, out, inline, end=end)
    elif isinstance(node, Conditional):
        for i, branch in enumerate(node.branches):
            if branch.kind == "else":
                head = "else"
            else:
                head = f"{branch.kind}{_span(branch.condition)}"
            if i and branch.comments:  # comments between '}' and 'else': on their own lines
                out.append("\n")
                _comments(branch.comments, pad, out)
                out.append(f"{pad}{head} {{\n")
            else:
                out.append(f"{pad}{head} {{\n" if i == 0 else f" {head} {{\n")
            for stmt in branch.statements:
                _render(stmt, indent + 1, out, inline)
            _comments(branch.end_comments, INDENT * (indent + 1), out)
            out.append(f"{pad}}}")
        out.append("\n")
    elif isinstance(node, Branch):
        if node.kind == "else":
            raise ValueError("an 'else' branch is not valid dhcpd.conf on its own")
        alone = Branch("if", node.condition, node.statements)
        _render(Conditional(branches=[alone]), indent, out, inline)
    elif isinstance(node, OptionSpace):
        out.append(f"{pad}option space {node.name}{_span(node.rest)};\n")
    elif isinstance(node, OptionDefinition):
        out.append(f"{pad}option {node.name} code {node.code} ={_span(node.format)};\n")
    elif isinstance(node, OptionSetting):
        out.append(f"{pad}option {node.name}{_span(node.value)};\n")
    elif isinstance(node, AllowDeny):
        out.append(f"{pad}{node.action}{_span(node.subject)};\n")
    elif isinstance(node, Key):
        _block(
            f"key {_name(node.name, node.quoted)}", node.statements, indent, out, inline, end=end
        )
    elif isinstance(node, Zone):
        _block(f"zone {node.name}", node.statements, indent, out, inline, end=end)
    elif isinstance(node, Include):
        if inline and node.config is not None:
            _render(node.config, indent, out, inline)
        else:
            out.append(f"{pad}include {quote(node.path)};\n")
    else:  # pragma: no cover - every node type is handled above
        raise TypeError(f"cannot render {type(node).__name__}")


def failover_items(peer: FailoverPeer) -> list[tuple[str, str]]:
    """The typed statements of a failover peer as (key, line), in dhcpd's usual order. The
    key is the field's name (``role`` for primary/secondary)."""
    items: list[tuple[str, str]] = []
    if peer.role:
        items.append(("role", f"{peer.role};"))
    if peer.address is not None:
        items.append(("address", f"address {peer.address};"))
    if peer.port is not None:
        items.append(("port", f"port {peer.port};"))
    if peer.peer_address is not None:
        items.append(("peer_address", f"peer address {peer.peer_address};"))
    if peer.peer_port is not None:
        items.append(("peer_port", f"peer port {peer.peer_port};"))
    for keywords, attr in FAILOVER_INT_FIELDS:
        value = getattr(peer, attr)
        if value is not None:
            items.append((attr, f"{' '.join(keywords)} {value};"))
        if attr == "split" and peer.hba is not None:
            items.append(("hba", f"hba {peer.hba};"))
    return items


def failover_lines(peer: FailoverPeer) -> list[str]:
    """The typed statements of a failover peer, one per line, in dhcpd's usual order."""
    return [line for _, line in failover_items(peer)]
