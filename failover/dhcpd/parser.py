"""Recursive-descent parser for ISC dhcpd 4.4 configuration files (dhcpd.conf).

Standalone: no Django. Text in, :mod:`failover.dhcpd.ast` dataclasses out::

    config = parse_file("/etc/dhcp/dhcpd.conf")            # includes beside the file
    config = parse_text(pasted, filename="upload")          # includes refused
    config = parse_bytes(uploaded, filename="dhcpd.conf")   # UTF-8 checked
    print(to_text(config))                                  # valid dhcpd.conf again

Errors are :class:`ParseError` (``file``, ``line``, ``column``, ``message``; ``str()`` is
``"FILE, line L, column C: message"``); the first error stops the parse.

What is interpreted (typed nodes): failover peer declarations with every statement of
dhcpd 4.4, pool references to peers (and ``no failover peer``), subnet/netmask,
shared-network, group, pool, range (with dynamic-bootp), host, class, subclass,
if/elsif/else (conditions kept verbatim), option space / option definitions / option
settings, allow/deny/ignore, key, zone and include. Everything else the grammar allows
is kept as a generic :class:`Statement` (tokens up to ';') or :class:`Block` (header
tokens + ``{ statements }``, parsed recursively), so nothing is lost.

Checks that dhcpd itself makes while parsing are made here too, with the file, line
and column of the offending token: where each declaration may appear, IPv4 addresses
and netmasks, numbers in failover statements, hba of 32 bytes, a peer declared before
every pool that names it, at least one range per pool, ranges inside their subnet (or,
in a shared-network, inside one of its earlier subnets), no ``range dynamic-bootp`` in
a failover pool, the failover statements dhcpd requires (``peer address``; on a
primary ``mclt`` and ``split`` or ``hba``; no ``split``/``hba`` on a secondary, checked at
the token where dhcpd checks it). What dhcpd accepts but reads otherwise than written is
read dhcpd's way and reported in ``Config.warnings`` (file, line, column, message): a
failover statement given again (the last one counts), ``split`` and ``hba`` together (the
last one counts), 0 for a number dhcpd replaces by its default, a pool naming two peers
(the last one counts; the earlier ones stay in ``Pool.overridden_peers``).
Deliberately stricter than dhcpd: ports must be 1-65535 (0 is dhcpd's default, 647),
netmasks contiguous, numbers within the model's limits, ``range dynamic-bootp`` is refused
in a failover pool whatever the order of the two statements. Rules that span several
statements of the model or both servers are not the parser's: the importer and the model
check them.

Comments: each token carries the comments before it; a node gets those before it
(``Node.comments``) and a block those before its closing brace (``Node.end_comments``;
the file's last ones on the Config), blank lines between comments as "". A failover
peer's statements keep theirs in ``FailoverPeer.statement_comments``; a pool's peer
statement in ``Pool.peer_comments``. ``to_text`` writes them back in place.

``include "FILE";`` is followed only when FILE, symlinks resolved, lies inside
``include_root``; relative paths start from the top file's directory (``parse_file``)
or ``include_root`` (``parse_text``), as dhcpd run in that directory would read them.
Include loops, missing files, non-regular files and nesting beyond ``max_include_depth``
are errors; a refused path is named but nothing outside the directory is ever opened.

Hostile input: token sizes are capped (dhcpd's 1,499 bytes for strings and tokens),
nesting is capped (``max_depth``, default 64; a ParseError, never a RecursionError),
binary data is refused with its position, and the input (all files together) is capped
by ``max_bytes`` (default 16 MiB), refused before it is read. Parsing is linear in the
input (about 0.3 s per MB on a modest machine; see bench/parse_bench.py).
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from dataclasses import dataclass, field

from ..validators import LIMITS
from .ast import (
    AllowDeny,
    Block,
    Branch,
    Class,
    Conditional,
    Config,
    FailoverPeer,
    FailoverPeerRef,
    Group,
    Host,
    Include,
    Key,
    Node,
    OptionDefinition,
    OptionSetting,
    OptionSpace,
    Pool,
    Range,
    SharedNetwork,
    Statement,
    Subclass,
    Subnet,
    Zone,
    flatten_includes,
    to_text,
    walk,
)
from .tokenizer import (
    EOF,
    PUNCT,
    STRING,
    WORD,
    ParseError,
    Token,
    check_text,
    decode_bytes,
    join_tokens,
    quote,
    shorten,
    tokenize,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_INCLUDE_DEPTH",
    "ParseError",
    "parse_bytes",
    "parse_file",
    "parse_text",
    "to_text",
    "walk",
    "flatten_includes",
]

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_MAX_DEPTH = 64
DEFAULT_MAX_INCLUDE_DEPTH = 16
MAX_NUMBER = 2**32 - 1

_DIGITS = re.compile(r"[0-9]+")
_IPV4 = re.compile(r"([0-9]+)\.([0-9]+)\.([0-9]+)\.([0-9]+)")
_LABEL = re.compile(r"[A-Za-z0-9_-]+")
_HEX_BYTE = re.compile(r"[0-9A-Fa-f]{1,2}")

# Failover peer statements with one integer argument: keyword -> field. dhcpd reads them
# with atoi() (decimal, wrapping beyond 32 bits: `mclt 4294967296` is mclt 0, `split 4294967552`
# is split 256); their limits are the model's (failover.validators.LIMITS), so a value that
# dhcpd would read differently, or as its default, is refused at its line.
_FAILOVER_NUMBERS = {
    "max-response-delay": "max_response_delay",
    "max-unacked-updates": "max_unacked_updates",
    "mclt": "mclt",
    "split": "split",
    "auto-partner-down": "auto_partner_down",
    "max-lease-misbalance": "max_lease_misbalance",
    "max-lease-ownership": "max_lease_ownership",
    "min-balance": "min_balance",
    "max-balance": "max_balance",
}

# Failover statements where dhcpd reads 0 as "not given" and then uses its default
# (confpars.c, parse_failover_peer; failover.h): the value dhcpadmin stores instead.
_ZERO_IS_DEFAULT: dict[str, int | None] = {
    "port": 647,
    "peer_port": 647,
    "max_response_delay": 20,
    "max_unacked_updates": 100,
    "max_lease_misbalance": 15,
    "max_lease_ownership": 10,
    "min_balance": 60,
    "max_balance": 3600,
    "mclt": None,  # no mclt: refused on a primary (dhcpd: "must have mclt")
}
_STATEMENT_LABELS = {
    "role": "primary/secondary",
    "peer_address": "peer address",
    "peer_port": "peer port",
    "load_balance_max_seconds": "load balance max seconds",
    **{attr: word for word, attr in _FAILOVER_NUMBERS.items()},
}

# Where each declaration may appear (context kinds), mirroring dhcpd's confpars.c.
_NETWORKS = frozenset({"root", "shared-network", "subnet", "group", "pool"})
_ALLOWED = {
    "subnet": frozenset({"root", "shared-network", "group"}),
    "shared-network": frozenset({"root", "group"}),
    "pool": frozenset({"subnet", "shared-network"}),
    "range": frozenset({"subnet", "pool"}),
    "failover-peer": frozenset({"root", "shared-network"}),
    "host": _NETWORKS,
    "group": _NETWORKS,
    "class": _NETWORKS | {"host"},
    "subclass": _NETWORKS | {"host"},
    "option-definition": frozenset({"root"}),
    "option-space": frozenset({"root"}),
    "include": _NETWORKS | {"host", "class"},
}
_LABELS = {
    "subnet": ("a subnet declaration", ""),
    "shared-network": ("a shared-network declaration", ""),
    "pool": ("a pool declaration", " (pools belong in a subnet or shared-network)"),
    "range": ("a range statement", " (ranges belong in a subnet or in a pool)"),
    "failover-peer": (
        "a failover peer declaration",
        " (peers are declared at the top level or in a shared-network)",
    ),
    "host": ("a host declaration", ""),
    "group": ("a group declaration", ""),
    "class": ("a class declaration", ""),
    "subclass": ("a subclass declaration", ""),
    "option-definition": ("an option definition", " (only allowed at the top level)"),
    "option-space": ("an option space declaration", " (only allowed at the top level)"),
    "include": ("an include statement", ""),
}


class _Lazy:
    """A message fragment formatted only when an error needs it (keeps parsing fast)."""

    __slots__ = ("fmt", "args")

    def __init__(self, fmt: str, *args) -> None:
        self.fmt = fmt
        self.args = args

    def __str__(self) -> str:
        return self.fmt.format(*self.args)


@dataclass(slots=True)
class _Shared:
    """The shared-network being parsed: pools there take ranges of its earlier subnets."""

    name: str
    subnets: list[Subnet] = field(default_factory=list)
    peer: str | None = None  # 'failover peer "x";' in the shared-network (old style)


@dataclass(slots=True)
class _Ctx:
    kind: str  # root, shared-network, subnet, pool, group, host, class, if, block
    desc: str | _Lazy  # the enclosing block's header, for messages
    depth: int
    subnet: Subnet | None = None
    pool: Pool | None = None
    shared: _Shared | None = None

    def child(self, kind: str, desc: str | _Lazy, **changes) -> _Ctx:
        ctx = _Ctx(kind, desc, self.depth + 1, self.subnet, self.pool, self.shared)
        for key, value in changes.items():
            setattr(ctx, key, value)
        return ctx

    @property
    def where(self) -> str:
        return "at the top level" if self.kind == "root" else f"inside '{self.desc}'"


@dataclass(slots=True)
class _Session:
    """State shared by a file and the files it includes."""

    include_root: str | None  # real path; includes must resolve inside it
    include_base: str | None  # relative include paths start here (dhcpd's working directory)
    max_bytes: int
    max_depth: int
    max_include_depth: int
    used_bytes: int = 0
    stack: list[str] = field(default_factory=list)  # real paths being parsed
    peers: dict[str, FailoverPeer] = field(default_factory=dict)
    warnings: list[ParseError] = field(default_factory=list)


class _Parser:
    def __init__(self, session: _Session, text: str, filename: str, real_path: str | None):
        self.session = session
        self.filename = filename
        self.real_path = real_path
        self._tokens = tokenize(text, filename)
        self._peek: Token | None = None
        self._pending: list[str] = []  # comments read, not yet given to a node
        self._closed: tuple[str, ...] | None = None  # end comments of the block just closed
        self.eof_comments: tuple[str, ...] = ()

    # ----------------------------------------------------------------- token access

    def peek(self) -> Token:
        tok = self._peek
        if tok is None:
            tok = self._peek = next(self._tokens)
        return tok

    def next(self) -> Token:
        tok = self._peek
        if tok is None:
            tok = next(self._tokens)
            if tok.kind == EOF:
                self._peek = tok
                return tok
        elif tok.kind != EOF:
            self._peek = None
        else:
            return tok
        if tok.comments:
            self._pending.extend(tok.comments)
        return tok

    def take_comments(self) -> tuple[str, ...]:
        """The comments read since the last call (they belong to what comes next)."""
        if not self._pending:
            return ()
        taken = tuple(self._pending)
        self._pending.clear()
        return taken

    def error(self, tok: Token, message: str) -> ParseError:
        return ParseError(self.filename, tok.line, tok.column, message)

    def warn(self, tok: Token, message: str) -> None:
        """Something dhcpd accepts but that is not held as written (see Config.warnings)."""
        self.session.warnings.append(ParseError(self.filename, tok.line, tok.column, message))

    def _pos(self, tok: Token) -> dict:
        return {"file": self.filename, "line": tok.line, "column": tok.column}

    def expect_semi(self, desc: str | _Lazy) -> None:
        tok = self.next()
        if tok.kind != PUNCT or tok.value != ";":
            raise self.error(tok, f"expected ';' after '{shorten(desc)}', found {tok.describe()}")

    def expect_open(self, desc: str | _Lazy) -> Token:
        tok = self.next()
        if tok.kind != PUNCT or tok.value != "{":
            raise self.error(tok, f"expected '{{' after '{shorten(desc)}', found {tok.describe()}")
        return tok

    def expect_word(self, keyword: str, desc: str | _Lazy) -> Token:
        tok = self.next()
        if not tok.is_word(keyword):
            raise self.error(
                tok, f"expected '{keyword}' after '{shorten(desc)}', found {tok.describe()}"
            )
        return tok

    def check_where(self, ctx: _Ctx, tok: Token, what: str) -> None:
        if ctx.kind not in _ALLOWED[what]:
            label, hint = _LABELS[what]
            raise self.error(tok, f"{label} is not allowed {ctx.where}{hint}")

    # ----------------------------------------------------------------- values

    def dotted(self, desc: str | _Lazy, what: str) -> tuple[str, list[Token]]:
        """A name or address: words joined by dots (``a.b.c``, ``10.0.0.1``, ``zone.``)."""
        tok = self.next()
        if tok.kind != WORD:
            raise self.error(
                tok, f"expected {what} after '{shorten(desc)}', found {tok.describe()}"
            )
        nxt = self.peek()
        if nxt.kind != PUNCT or nxt.value != ".":
            return tok.value, [tok]
        tokens = [tok]
        parts = [tok.value]
        while True:
            nxt = self.peek()
            if nxt.kind == PUNCT and nxt.value == ".":
                tokens.append(self.next())
                parts.append(".")
                after = self.peek()
                if after.kind == WORD:
                    tokens.append(self.next())
                    parts.append(after.value)
                    continue
            break
        return "".join(parts), tokens

    def ipv4(self, desc: str | _Lazy) -> tuple[ipaddress.IPv4Address, Token]:
        first = self.peek()
        text, _ = self.dotted(desc, "an IPv4 address")
        return self._to_ipv4(text, first, desc), first

    def _to_ipv4(self, text: str, tok: Token, desc) -> ipaddress.IPv4Address:
        m = _IPV4.fullmatch(text)
        if m is None:
            raise self.error(
                tok, f"expected an IPv4 address after '{shorten(desc)}', found '{shorten(text)}'"
            )
        a, b, c, d = (int(x) for x in m.groups())
        if a > 255 or b > 255 or c > 255 or d > 255:
            bad = next(n for n in (a, b, c, d) if n > 255)
            raise self.error(
                tok, f"invalid IPv4 address '{shorten(text)}': {bad} is not in the range 0-255"
            )
        return ipaddress.IPv4Address((a << 24) | (b << 16) | (c << 8) | d)

    def host_or_ip(self, desc: str) -> str:
        first = self.peek()
        text, _ = self.dotted(desc, "an IPv4 address or host name")
        labels = text.rstrip(".").split(".")
        if all(_DIGITS.fullmatch(p) for p in labels):
            return str(self._to_ipv4(text, first, desc))
        if not all(_LABEL.fullmatch(label) for label in labels):
            raise self.error(
                first,
                f"expected an IPv4 address or host name after '{shorten(desc)}', "
                f"found '{shorten(text)}'",
            )
        return text

    def number(self, desc: str, low: int = 0, high: int = MAX_NUMBER) -> int:
        tok = self.next()
        if tok.kind != WORD or not _DIGITS.fullmatch(tok.value):
            raise self.error(
                tok, f"expected a number after '{shorten(desc)}', found {tok.describe()}"
            )
        value = int(tok.value)
        if not low <= value <= high:
            raise self.error(
                tok, f"'{shorten(desc)}' must be between {low} and {high}, not {value}"
            )
        return value

    def limited(self, desc: str, field: str) -> int:
        """A number of a failover peer statement, within the model's limit for ``field``."""
        tok = self.peek()
        value = self.number(desc, 0, 10**40)
        limit = LIMITS[field]
        if not limit.low <= value <= limit.high:
            message = limit.message(f"'{shorten(desc)}'", value)
            if value >= 2**32:
                message += f" (dhcpd would read it modulo 2**32, as {value % 2**32})"
            raise self.error(tok, message)
        return value

    def span(self, desc: str, *, braces: bool = False) -> list[Token]:
        """Tokens up to the ';' that ends the statement (the ';' is consumed)."""
        tokens: list[Token] = []
        parens = 0
        braces_open = 0
        while True:
            tok = self.peek()
            kind = tok.kind
            if kind == PUNCT:
                value = tok.value
                if value == ";":
                    if parens:
                        raise self.error(tok, f"unbalanced '(' in '{shorten(desc)}'")
                    if braces_open:
                        raise self.error(tok, f"unbalanced '{{' in '{shorten(desc)}'")
                    self.next()
                    if tokens:
                        tokens[0].space_before = True
                    return tokens
                if value == "(":
                    parens += 1
                elif value == ")":
                    parens -= 1
                    if parens < 0:
                        raise self.error(tok, "unbalanced ')'")
                elif value == "{" and braces and not parens:
                    braces_open += 1
                elif value == "}" and braces and braces_open and not parens:
                    braces_open -= 1
                elif value in "{}":
                    raise self.error(
                        tok,
                        f"expected ';' after '{shorten(self._desc(desc, tokens))}', "
                        f"found {tok.describe()}",
                    )
            elif kind == EOF:
                raise self.error(
                    tok,
                    f"expected ';' after '{shorten(self._desc(desc, tokens))}', found end of file",
                )
            tokens.append(self.next())

    @staticmethod
    def _desc(desc: str, tokens: list[Token]) -> str:
        return f"{desc} {join_tokens(tokens)}" if tokens else desc

    # ----------------------------------------------------------------- structure

    def parse_statements(self, ctx: _Ctx) -> list[Node]:
        """Statements up to the end of this file."""
        statements: list[Node] = []
        while True:
            tok = self.peek()
            if tok.kind == EOF:
                self.eof_comments = self.take_comments() + tok.comments
                return statements
            if tok.kind == PUNCT and tok.value == "}":
                raise self.error(tok, "unbalanced '}'")
            node = self.statement(ctx)
            if node is not None:
                statements.append(node)

    def body(self, ctx: _Ctx, opener: Token, open_brace: Token) -> list[Node]:
        """``{`` has been read: statements up to the matching ``}`` in context ``ctx``."""
        if ctx.depth > self.session.max_depth:
            raise self.error(
                open_brace, f"blocks nested deeper than {self.session.max_depth} levels"
            )
        statements: list[Node] = []
        while True:
            tok = self.peek()
            if tok.kind == PUNCT and tok.value == "}":
                self.next()
                self._closed = self.take_comments()
                return statements
            if tok.kind == EOF:
                raise self.error(
                    tok,
                    f"unexpected end of file inside '{shorten(ctx.desc)}' opened at line "
                    f"{opener.line}",
                )
            node = self.statement(ctx)
            if node is not None:
                statements.append(node)

    def statement(self, ctx: _Ctx) -> Node | None:
        tok = self.next()
        if tok.kind != WORD:
            if tok.kind == PUNCT and tok.value == ";":
                raise self.error(tok, "unexpected ';' (empty statement)")
            raise self.error(tok, f"expected a statement, found {tok.describe()}")
        tok.space_before = False
        comments = self.take_comments()
        self._closed = None
        handler = _HANDLERS.get(tok.lower)
        node = handler(self, ctx, tok) if handler is not None else self.generic(ctx, [tok])
        if node is None:  # a pool's (no) failover peer statement
            if ctx.pool is not None:
                ctx.pool.peer_comments += comments
            else:
                self._pending[:0] = comments
            return None
        if comments:
            if isinstance(node, Include) and node.config is not None and node.config.statements:
                # Comments above an include belong to what it brings in first.
                first = node.config.statements[0]
                first.comments = comments + first.comments
            else:
                node.comments = comments
        if isinstance(node, Include) and node.config is not None and node.config.end_comments:
            # The included file's last comments: before what follows the include.
            self._pending.extend(node.config.end_comments)
            node.config.end_comments = ()
        if self._closed is not None:
            if self._closed:
                node.end_comments = self._closed
            self._closed = None
        return node

    def generic(self, ctx: _Ctx, tokens: list[Token]) -> Node:
        """A statement the model does not know: tokens to ';', or a header and a block.

        ``tokens`` are the tokens of the statement read so far (at least the first)."""
        first = tokens[0]
        parens = 0
        # switch labels end with ':' -- "case EXPR:" and a bare "default:"
        case = first.lower == "case"
        label = case or first.lower == "default"
        while True:
            tok = self.peek()
            kind = tok.kind
            if kind == PUNCT:
                value = tok.value
                if value == ";" or value == "{" or value == "}":
                    if parens:
                        raise self.error(tok, f"unbalanced '(' in '{shorten(join_tokens(tokens))}'")
                    if value == ";":
                        self.next()
                        return Statement(tokens, **self._pos(first))
                    if value == "{":
                        open_brace = self.next()
                        desc = join_tokens(tokens)
                        block = Block(tokens, [], **self._pos(first))
                        block.statements = self.body(ctx.child("block", desc), first, open_brace)
                        return block
                    raise self.error(
                        tok,
                        f"expected ';' after '{shorten(join_tokens(tokens))}', found '}}'",
                    )
                if value == "(":
                    parens += 1
                elif value == ")":
                    parens -= 1
                    if parens < 0:
                        raise self.error(tok, "unbalanced ')'")
                elif value == ":" and label and not parens and (case or len(tokens) == 1):
                    self.next()
                    return Statement(tokens, ":", **self._pos(first))
            elif kind == EOF:
                raise self.error(
                    tok, f"expected ';' after '{shorten(join_tokens(tokens))}', found end of file"
                )
            tokens.append(self.next())

    # ----------------------------------------------------------------- declarations

    def include(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "include")
        path_tok = self.next()
        if path_tok.kind != STRING:
            raise self.error(
                path_tok,
                f"expected a quoted file name after 'include', found {path_tok.describe()}",
            )
        path = path_tok.value
        self.expect_semi(f"include {quote(path)}")
        real, display, text = self._open_include(path, path_tok)
        session = self.session
        session.stack.append(real)
        try:
            sub = _Parser(session, text, display, real)
            statements = sub.parse_statements(ctx)
        finally:
            session.stack.pop()
        config = Config(statements, file=display, line=1, column=1, end_comments=sub.eof_comments)
        return Include(path, real, config, **self._pos(kw))

    def _open_include(self, path: str, tok: Token) -> tuple[str, str, str]:
        session = self.session
        shown = quote(path)
        root = session.include_root
        if root is None:
            raise self.error(tok, f"include {shown} is not allowed: no include directory was given")
        if "\x00" in path or not path:
            raise self.error(tok, f"include {shown}: invalid file name")
        base = session.include_base or root
        real = os.path.realpath(os.path.join(base, path))
        if os.path.commonpath([real, root]) != root:
            # Never open, stat or echo anything outside the allowed directory.
            raise self.error(
                tok, f"include {shown} is outside the allowed include directory {root}"
            )
        if real in session.stack:
            chain = " -> ".join(quote(os.path.relpath(p, root)) for p in session.stack)
            raise self.error(
                tok, f"include loop: {shown} is already being read ({chain} -> {shown})"
            )
        if len(session.stack) > session.max_include_depth:
            raise self.error(tok, f"includes nested deeper than {session.max_include_depth} levels")
        try:
            data = _read_file(real, session.max_bytes - session.used_bytes)
        except _TooBig as exc:
            raise self.error(
                tok,
                f"include {shown}: the file is {exc.size:,} bytes; with it the configuration "
                f"would be larger than the limit of {session.max_bytes:,} bytes",
            ) from None
        except _ReadError as exc:
            raise self.error(tok, f"include {shown}: {exc}") from None
        session.used_bytes += len(data)
        return real, real, decode_bytes(data, real)

    def failover(self, ctx: _Ctx, kw: Token) -> Node | None:
        peer_tok = self.expect_word("peer", "failover")
        name_tok = self.next()
        if name_tok.kind == STRING:
            name = name_tok.value
        elif name_tok.kind == WORD and _LABEL.fullmatch(name_tok.value):
            name = name_tok.value
        else:
            raise self.error(
                name_tok,
                f"expected a failover peer name after 'failover peer', found {name_tok.describe()}",
            )
        shown = quote(name)
        nxt = self.peek()
        if nxt.kind == PUNCT and nxt.value == ";":
            self.next()
            return self._failover_reference(ctx, kw, name_tok, name)
        if nxt.is_word("state"):  # a state declaration (lease-file syntax): keep verbatim
            name_tok.space_before = True
            return self.generic(ctx, [kw, peer_tok, name_tok])
        open_brace = self.next()
        if open_brace.kind != PUNCT or open_brace.value != "{":
            raise self.error(
                open_brace,
                f"expected '{{' or ';' after 'failover peer {shown}', found "
                f"{open_brace.describe()}",
            )
        self.check_where(ctx, kw, "failover-peer")
        if name in self.session.peers:
            first = self.session.peers[name]
            where = f"line {first.line}"
            if first.file != self.filename:
                where = f"{first.file}, {where}"
            raise self.error(
                name_tok, f"failover peer {shown} is already declared (first at {where})"
            )
        peer = FailoverPeer(name, **self._pos(kw))
        self._failover_body(ctx, kw, open_brace, peer)
        self.session.peers[name] = peer
        return peer

    def _failover_reference(self, ctx: _Ctx, kw: Token, name_tok: Token, name: str) -> Node | None:
        shown = quote(name)
        if ctx.kind not in ("pool", "shared-network"):
            raise self.error(
                kw,
                f"'failover peer {shown};' is not allowed {ctx.where} (a pool refers to its "
                "peer; failover peers are declared with 'failover peer NAME { ... }')",
            )
        if ctx.kind == "pool" and name_tok.kind != STRING:
            raise self.error(
                name_tok, f"expected the failover peer name as a quoted string, found '{name}'"
            )
        if name not in self.session.peers:
            raise self.error(
                name_tok,
                f"unknown failover peer {shown} (declare it with 'failover peer {shown} "
                "{ ... }' before the pools that use it)",
            )
        if ctx.kind == "shared-network":
            assert ctx.shared is not None
            ctx.shared.peer = name
            return FailoverPeerRef(name, **self._pos(kw))
        pool = ctx.pool
        assert pool is not None
        if pool.failover_peer is not None and pool.failover_peer != name:
            self.warn(
                name_tok,
                f"this pool already refers to failover peer {quote(pool.failover_peer)}; "
                f"dhcpd uses the last one, {shown}, so dhcpadmin keeps only that one",
            )
            pool.overridden_peers.append(pool.failover_peer)
        pool.failover_peer = name
        pool.no_failover_peer = False
        return None

    def _failover_body(self, ctx: _Ctx, kw: Token, open_brace: Token, peer: FailoverPeer) -> None:
        """The statements of a peer declaration, read as dhcpd's parse_failover_peer reads
        them: a statement given again overrides the earlier one (with a warning), ``split``
        and ``hba`` set the same hash bucket table (the last one counts), 0 stands for
        dhcpd's default where dhcpd reads it so. dhcpd refuses ``split``/``hba`` once the
        peer is a secondary and ``secondary`` once it has either, at that token."""
        shown = quote(peer.name)
        desc = f"failover peer {shown}"
        if ctx.depth + 1 > self.session.max_depth:
            raise self.error(
                open_brace, f"blocks nested deeper than {self.session.max_depth} levels"
            )
        seen: dict[str, int] = {}
        balance: list[tuple[str, Token]] = []  # split/hba as given

        def once(key: str, tok: Token, comments: tuple[str, ...]) -> None:
            if key in seen:
                label = _STATEMENT_LABELS.get(key, key)
                self.warn(
                    tok,
                    f"{desc}: '{label}' is given again (first at line {seen[key]}); "
                    "dhcpd uses the last one, so dhcpadmin keeps only this one",
                )
            seen[key] = tok.line
            if comments:
                peer.statement_comments[key] = peer.statement_comments.get(key, ()) + comments

        while True:
            tok = self.next()
            comments = self.take_comments()
            if tok.kind == PUNCT and tok.value == "}":
                if comments:
                    peer.end_comments = comments
                break
            if tok.kind == EOF:
                raise self.error(
                    tok, f"unexpected end of file inside '{desc}' opened at line {kw.line}"
                )
            if tok.kind != WORD:
                raise self.error(tok, f"expected a failover peer statement, found {tok.describe()}")
            word = tok.lower
            if word in ("primary", "secondary"):
                if word == "secondary" and balance:
                    raise self.error(
                        tok,
                        f"{desc}: a secondary may not define load balance settings "
                        f"('{balance[-1][0]}' at line {balance[-1][1].line}; dhcpd refuses it)",
                    )
                once("role", tok, comments)
                peer.role = word
                self.expect_semi(word)
            elif word == "address":
                once("address", tok, comments)
                peer.address = self.host_or_ip("address")
                self.expect_semi(f"address {peer.address}")
            elif word == "port":
                once("port", tok, comments)
                peer.port = self._failover_number(peer, "port", "port")
                self.expect_semi(f"port {peer.port}")
            elif word == "peer":
                self._failover_partner(tok, peer, once, comments)
            elif word in ("hba", "split"):
                if peer.role == "secondary":
                    raise self.error(
                        tok,
                        f"{desc}: a secondary may not define load balance settings "
                        f"('{word}'; dhcpd refuses it)",
                    )
                once(word, tok, comments)
                if word == "hba":
                    peer.hba = self._hba()
                else:
                    peer.split = self._failover_number(peer, "split", "split")
                    self.expect_semi(f"split {peer.split}")
                other = "split" if word == "hba" else "hba"
                if getattr(peer, other) is not None:
                    self.warn(
                        tok,
                        f"{desc}: '{word}' after '{other}' (line {seen[other]}): both set "
                        f"the hash bucket assignment and dhcpd uses the last one, so "
                        f"dhcpadmin keeps '{word}' and drops '{other}'",
                    )
                    setattr(peer, other, None)
                    seen.pop(other, None)
                    moved = peer.statement_comments.pop(other, ())
                    if moved:  # the dropped statement's comments go with the one that counts
                        peer.statement_comments[word] = moved + peer.statement_comments.get(
                            word, ()
                        )
                balance.append((word, tok))
            elif word == "load":
                once("load_balance_max_seconds", tok, comments)
                self.expect_word("balance", "load")
                self.expect_word("max", "load balance")
                self.expect_word("seconds", "load balance max")
                peer.load_balance_max_seconds = self._failover_number(
                    peer, "load balance max seconds", "load_balance_max_seconds"
                )
                self.expect_semi(f"load balance max seconds {peer.load_balance_max_seconds}")
            elif word in _FAILOVER_NUMBERS:
                attr = _FAILOVER_NUMBERS[word]
                once(attr, tok, comments)
                value = self._failover_number(peer, word, attr)
                setattr(peer, attr, value)
                self.expect_semi(f"{word} {value}")
            else:
                raise self.error(tok, f"unknown failover peer statement '{tok.value}'")
        closing = tok
        if peer.peer_address is None:
            raise self.error(closing, f"{desc} has no 'peer address' (dhcpd requires it)")
        if peer.role != "secondary":
            role = "a primary" if peer.role else "a peer without a role is a primary and"
            if peer.split is None and peer.hba is None:
                raise self.error(closing, f"{desc}: {role} needs 'split' or 'hba'")
            if peer.mclt is None:
                raise self.error(closing, f"{desc}: {role} needs 'mclt'")

    def _failover_number(self, peer: FailoverPeer, desc: str, attr: str) -> int | None:
        """A number of a failover statement as dhcpd takes it: 0 is dhcpd's default where
        dhcpd reads it so (stored as that default, with a warning), ``mclt 0`` is no mclt;
        other values must be within the model's limit (dhcpd would wrap or misread them)."""
        tok = self.peek()
        value = self.number(desc, 0, 10**40)
        if value == 0 and attr in _ZERO_IS_DEFAULT:
            default = _ZERO_IS_DEFAULT[attr]
            shown = "no mclt" if default is None else f"its default, {default}"
            self.warn(
                tok,
                f"failover peer {quote(peer.name)}: '{desc} 0': dhcpd reads 0 as {shown}, "
                f"so dhcpadmin stores {'no mclt' if default is None else default}",
            )
            return default
        limit = LIMITS[attr]
        if not limit.low <= value <= limit.high:
            message = limit.message(f"'{shorten(desc)}'", value)
            if value >= 2**32:
                message += f" (dhcpd would read it modulo 2**32, as {value % 2**32})"
            raise self.error(tok, message)
        return value

    def _failover_partner(
        self, peer_tok: Token, peer: FailoverPeer, once, comments: tuple[str, ...]
    ) -> None:
        tok = self.next()
        word = tok.lower if tok.kind == WORD else ""
        if word == "address":
            once("peer_address", peer_tok, comments)
            peer.peer_address = self.host_or_ip("peer address")
            self.expect_semi(f"peer address {peer.peer_address}")
        elif word == "port":
            once("peer_port", peer_tok, comments)
            peer.peer_port = self._failover_number(peer, "peer port", "peer_port")
            self.expect_semi(f"peer port {peer.peer_port}")
        elif word in ("max-response-delay", "max-unacked-updates"):
            # No field: kept as a statement (given twice, both are kept in order: the
            # last one counts for dhcpd, as it does when the file is written back).
            number_tok = self.peek()
            value = self.limited(f"peer {word}", word.replace("-", "_"))
            self.expect_semi(f"peer {word} {value}")
            number_tok.space_before = True
            tok.space_before = True
            peer.extra.append(
                Statement(
                    [peer_tok, tok, number_tok],
                    file=self.filename,
                    line=peer_tok.line,
                    column=peer_tok.column,
                    comments=comments,
                )
            )
        elif tok.kind == WORD:
            raise self.error(tok, f"unknown failover peer statement 'peer {tok.value}'")
        else:
            raise self.error(
                tok, f"expected 'address' or 'port' after 'peer', found {tok.describe()}"
            )

    def _hba(self) -> str:
        first = self.peek()
        parts: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind == WORD or (tok.kind == PUNCT and tok.value == ":"):
                parts.append(self.next().value)
                continue
            break
        text = "".join(parts)
        if not parts:
            raise self.error(
                first,
                f"expected 32 colon-separated hex bytes after 'hba', found {first.describe()}",
            )
        octets = text.split(":")
        for octet in octets:
            if not _HEX_BYTE.fullmatch(octet):
                raise self.error(first, f"invalid hba byte '{shorten(octet)}' (hex, e.g. ff)")
        if len(octets) != 32:
            raise self.error(
                first, f"hba must be exactly 32 colon-separated bytes, found {len(octets)}"
            )
        hba = ":".join(f"{int(o, 16):02x}" for o in octets)
        self.expect_semi("hba ...")
        return hba

    def subnet(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "subnet")
        network, net_tok = self.ipv4("subnet")
        self.expect_word("netmask", _Lazy("subnet {}", network))
        netmask, mask_tok = self.ipv4(_Lazy("subnet {} netmask", network))
        mask = int(netmask)
        inverse = ~mask & 0xFFFFFFFF
        if inverse & (inverse + 1):
            raise self.error(mask_tok, f"netmask {netmask} is not contiguous")
        desc = _Lazy("subnet {} netmask {}", network, netmask)
        if int(network) & inverse:
            proper = ipaddress.IPv4Address(int(network) & mask)
            raise self.error(
                net_tok,
                f"{desc}: the subnet number has host bits set (the network is {proper})",
            )
        open_brace = self.expect_open(desc)
        node = Subnet(network, netmask, [], **self._pos(kw))
        node.statements = self.body(
            ctx.child("subnet", desc, subnet=node, pool=None), kw, open_brace
        )
        if ctx.shared is not None:
            ctx.shared.subnets.append(node)
        return node

    def shared_network(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "shared-network")
        name, quoted = self._name("shared-network", allow_string=True)
        desc = f"shared-network {quote(name) if quoted else name}"
        open_brace = self.expect_open(desc)
        node = SharedNetwork(name, quoted, [], **self._pos(kw))
        child = ctx.child("shared-network", desc, subnet=None, pool=None, shared=_Shared(name))
        node.statements = self.body(child, kw, open_brace)
        return node

    def _name(self, desc: str, *, allow_string: bool) -> tuple[str, bool]:
        tok = self.peek()
        if tok.kind == STRING and allow_string:
            self.next()
            return tok.value, True
        if tok.kind == STRING:
            raise self.error(
                tok,
                f"expected a name after '{desc}', found {tok.describe()} (dhcpd does not "
                "accept a quoted name here)",
            )
        text, _ = self.dotted(desc, "a name")
        if not all(_LABEL.fullmatch(label) for label in text.rstrip(".").split(".")):
            raise self.error(tok, f"expected a name after '{desc}', found '{shorten(text)}'")
        return text, False

    def group(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "group")
        tok = self.peek()
        name, quoted = None, False
        if tok.kind == STRING or tok.kind == WORD:
            name, quoted = self._name("group", allow_string=True)
        desc = "group" if name is None else f"group {quote(name) if quoted else name}"
        open_brace = self.expect_open(desc)
        node = Group(name, quoted, [], **self._pos(kw))
        node.statements = self.body(
            ctx.child("group", desc, subnet=None, pool=None), kw, open_brace
        )
        return node

    def pool(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "pool")
        open_brace = self.expect_open("pool")
        node = Pool(None, [], **self._pos(kw))
        node.statements = self.body(ctx.child("pool", "pool", pool=node), kw, open_brace)
        ranges = [s for s in flatten_includes(node.statements) if isinstance(s, Range)]
        if not ranges:
            raise ParseError(
                self.filename,
                kw.line,
                kw.column,
                "a pool needs at least one range statement (dhcpd refuses an empty pool)",
            )
        peer = node.failover_peer
        if peer is None and not node.no_failover_peer and ctx.shared is not None:
            peer = ctx.shared.peer  # pools inherit a shared-network's 'failover peer "x";'
        if peer is not None:
            for rng in ranges:
                if rng.dynamic_bootp:
                    raise ParseError(
                        rng.file,
                        rng.line,
                        rng.column,
                        "range dynamic-bootp is not allowed in a pool with failover peer "
                        f"{quote(peer)} (the failover protocol does not support dynamic BOOTP; "
                        "put it in a pool of its own with 'no failover peer')",
                    )
        return node

    def no(self, ctx: _Ctx, kw: Token) -> Node | None:
        """``no failover peer`` in a pool. dhcpd 4.4 reads it WITHOUT a semicolon (and
        rejects one); anywhere else ``no ...`` is an ordinary statement."""
        if ctx.kind != "pool" or not self.peek().is_word("failover"):
            return self.generic(ctx, [kw])
        self.next()
        self.expect_word("peer", "no failover")
        after = self.peek()
        if after.is_punct(";"):
            raise self.error(
                after,
                "dhcpd 4.4 does not accept ';' after 'no failover peer' in a pool: write "
                "'no failover peer' without the semicolon",
            )
        pool = ctx.pool
        assert pool is not None
        pool.failover_peer = None
        pool.no_failover_peer = True
        return None

    def range(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "range")
        dynamic_bootp = False
        if self.peek().is_word("dynamic-bootp"):
            self.next()
            dynamic_bootp = True
        desc = "range dynamic-bootp" if dynamic_bootp else "range"
        first, _ = self.ipv4(desc)
        last = None
        if self.peek().kind == WORD:
            last, _ = self.ipv4(_Lazy("{} {}", desc, first))
        text = _Lazy("{} {}", desc, first) if last is None else _Lazy("{} {} {}", desc, first, last)
        self.expect_semi(text)
        node = Range(first, last, dynamic_bootp, **self._pos(kw))
        low, high = int(first), int(node.end)
        if ctx.subnet is not None:
            subnet = ctx.subnet
            if not _inside(subnet, low, high):
                raise self.error(kw, f"{text}: the range is not inside subnet {subnet.cidr}")
        elif ctx.shared is not None:
            if not any(_inside(s, low, high) for s in ctx.shared.subnets):
                raise self.error(
                    kw,
                    f"{text}: the range is not inside any subnet declared before it in "
                    f"shared-network {quote(ctx.shared.name)}",
                )
        return node

    def host(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "host")
        name, _ = self._name("host", allow_string=False)
        desc = f"host {name}"
        open_brace = self.expect_open(desc)
        node = Host(name, [], **self._pos(kw))
        node.statements = self.body(ctx.child("host", desc, pool=None), kw, open_brace)
        return node

    def _class_name(self, desc: str) -> str:
        tok = self.next()
        if tok.kind != STRING:
            raise self.error(
                tok,
                f"expected the class name as a quoted string after '{desc}', found "
                f"{tok.describe()}",
            )
        return tok.value

    def class_(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "class")
        name = self._class_name("class")
        desc = f"class {quote(name)}"
        open_brace = self.expect_open(desc)
        node = Class(name, [], **self._pos(kw))
        node.statements = self.body(ctx.child("class", desc, pool=None), kw, open_brace)
        return node

    def subclass(self, ctx: _Ctx, kw: Token) -> Node:
        self.check_where(ctx, kw, "subclass")
        name = self._class_name("subclass")
        desc = f"subclass {quote(name)}"
        data: list[Token] = []
        while True:
            tok = self.peek()
            if tok.kind == PUNCT and tok.value in ";{}" or tok.kind == EOF:
                break
            data.append(self.next())
        if not data:
            raise self.error(
                self.peek(),
                f"expected the subclass data after '{desc}', found {self.peek().describe()}",
            )
        data[0].space_before = True
        desc = f"{desc} {join_tokens(data)}"
        tok = self.next()
        node = Subclass(name, data, None, **self._pos(kw))
        if tok.kind == PUNCT and tok.value == ";":
            return node
        if tok.kind == PUNCT and tok.value == "{":
            node.statements = self.body(ctx.child("class", desc, pool=None), kw, tok)
            return node
        raise self.error(
            tok, f"expected ';' or '{{' after '{shorten(desc)}', found {tok.describe()}"
        )

    def conditional(self, ctx: _Ctx, kw: Token) -> Node:
        node = Conditional([], **self._pos(kw))
        kind, opener = "if", kw
        before: tuple[str, ...] = ()
        while True:
            condition = self._condition(kind)
            open_brace = self.next()  # _condition stopped at '{'
            desc = f"{kind} {join_tokens(condition)}"
            statements = self.body(ctx.child("if", desc, pool=ctx.pool), opener, open_brace)
            branch = Branch(kind, condition, statements, **self._pos(opener))
            branch.comments, branch.end_comments = before, self._closed or ()
            self._closed = None
            node.branches.append(branch)
            nxt = self.peek()
            if nxt.is_word("elsif"):
                opener = self.next()
                before = self.take_comments()
                kind = "elsif"
                continue
            if nxt.is_word("else"):
                opener = self.next()
                before = self.take_comments()
                if self.peek().is_word("if"):
                    self.next()
                    kind = "elsif"
                    continue
                open_brace = self.expect_open("else")
                statements = self.body(ctx.child("if", "else", pool=ctx.pool), opener, open_brace)
                branch = Branch("else", [], statements, **self._pos(opener))
                branch.comments, branch.end_comments = before, self._closed or ()
                self._closed = None
                node.branches.append(branch)
            return node

    def _condition(self, kind: str) -> list[Token]:
        tokens: list[Token] = []
        parens = 0
        while True:
            tok = self.peek()
            if tok.kind == PUNCT:
                value = tok.value
                if value == "{" and not parens:
                    break
                if value in ";{}":
                    if parens:
                        raise self.error(
                            tok, f"unbalanced '(' in '{shorten(kind + ' ' + join_tokens(tokens))}'"
                        )
                    raise self.error(
                        tok,
                        f"expected '{{' after '{shorten(kind + ' ' + join_tokens(tokens))}', "
                        f"found {tok.describe()}",
                    )
                if value == "(":
                    parens += 1
                elif value == ")":
                    parens -= 1
                    if parens < 0:
                        raise self.error(tok, "unbalanced ')'")
            elif tok.kind == EOF:
                raise self.error(
                    tok,
                    f"expected '{{' after '{shorten(kind + ' ' + join_tokens(tokens))}', found "
                    "end of file",
                )
            tokens.append(self.next())
        if not tokens:
            raise self.error(self.peek(), f"expected a condition after '{kind}', found '{{'")
        tokens[0].space_before = True
        return tokens

    def misplaced_else(self, ctx: _Ctx, kw: Token) -> Node:
        raise self.error(kw, f"'{kw.value}' without a matching 'if'")

    def option(self, ctx: _Ctx, kw: Token) -> Node:
        if self.peek().is_word("space"):
            self.next()
            self.check_where(ctx, kw, "option-space")
            name_tok = self.next()
            if name_tok.kind != WORD or not _LABEL.fullmatch(name_tok.value):
                raise self.error(
                    name_tok,
                    f"expected an option space name after 'option space', found "
                    f"{name_tok.describe()}",
                )
            rest = self.span(f"option space {name_tok.value}")
            return OptionSpace(name_tok.value, rest, **self._pos(kw))
        name_tok = self.peek()
        name, _ = self.dotted("option", "an option name")
        parts = name.split(".")
        if len(parts) > 2 or not all(_LABEL.fullmatch(p) for p in parts):
            raise self.error(name_tok, f"invalid option name '{shorten(name)}'")
        if self.peek().is_word("code"):
            self.next()
            self.check_where(ctx, kw, "option-definition")
            code = self.number(f"option {name} code", 0, 65535)
            eq = self.next()
            if not eq.is_punct("="):
                raise self.error(
                    eq, f"expected '=' after 'option {name} code {code}', found {eq.describe()}"
                )
            fmt = self.span(f"option {name} code {code} =", braces=True)
            if not fmt:
                raise self.error(kw, f"option {name} code {code}: the format is missing")
            return OptionDefinition(name, code, fmt, **self._pos(kw))
        value = self.span(f"option {name}")
        return OptionSetting(name, value, **self._pos(kw))

    def allow_deny(self, ctx: _Ctx, kw: Token) -> Node:
        subject = self.span(kw.lower)
        if not subject:
            raise self.error(
                kw, f"'{kw.lower}' needs what to {kw.lower}, e.g. '{kw.lower} unknown-clients;'"
            )
        return AllowDeny(kw.lower, subject, **self._pos(kw))

    def key(self, ctx: _Ctx, kw: Token) -> Node:
        tok = self.peek()
        if tok.kind == STRING:
            self.next()
            name, quoted, tokens = tok.value, True, [tok]
        else:
            name, tokens = self.dotted("key", "a key name")
            quoted = False
        nxt = self.peek()
        if nxt.kind == PUNCT and nxt.value == "{":
            open_brace = self.next()
            desc = f"key {quote(name) if quoted else name}"
            node = Key(name, quoted, [], **self._pos(kw))
            node.statements = self.body(ctx.child("block", desc), kw, open_brace)
            if self.peek().is_punct(";"):  # dhcpd accepts "key k { ... };"
                self.next()
            return node
        # "key NAME;" (a reference, e.g. inside a zone): an ordinary statement.
        tokens[0].space_before = True
        return self.generic(ctx, [kw, *tokens])

    def zone(self, ctx: _Ctx, kw: Token) -> Node:
        tok = self.peek()
        if tok.kind == STRING:
            raise self.error(
                tok,
                "expected a zone name after 'zone', found a quoted string (dhcpd wants "
                "the name unquoted, e.g. zone example.com. { ... })",
            )
        name, tokens = self.dotted("zone", "a zone name")
        nxt = self.peek()
        if not nxt.is_punct("{"):
            tokens[0].space_before = True
            return self.generic(ctx, [kw, *tokens])
        open_brace = self.next()
        node = Zone(name, [], **self._pos(kw))
        node.statements = self.body(ctx.child("block", f"zone {name}"), kw, open_brace)
        return node


_HANDLERS = {
    "include": _Parser.include,
    "failover": _Parser.failover,
    "subnet": _Parser.subnet,
    "shared-network": _Parser.shared_network,
    "group": _Parser.group,
    "pool": _Parser.pool,
    "range": _Parser.range,
    "host": _Parser.host,
    "class": _Parser.class_,
    "subclass": _Parser.subclass,
    "if": _Parser.conditional,
    "elsif": _Parser.misplaced_else,
    "else": _Parser.misplaced_else,
    "option": _Parser.option,
    "allow": _Parser.allow_deny,
    "deny": _Parser.allow_deny,
    "ignore": _Parser.allow_deny,
    "key": _Parser.key,
    "zone": _Parser.zone,
    "no": _Parser.no,
}


class _ReadError(Exception):
    pass


class _TooBig(_ReadError):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _read_file(path: str, budget: int) -> bytes:
    """Read a regular file of at most ``budget`` bytes (more: :class:`_ReadError`).

    Opened non-blocking and checked with fstat, so a FIFO or a device cannot make the
    parser hang, and a huge file is refused before it is read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise _ReadError("file not found") from None
    except PermissionError:
        raise _ReadError("permission denied") from None
    except OSError as exc:
        raise _ReadError(f"cannot open it ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _ReadError("not a regular file")
        if info.st_size > budget:
            raise _TooBig(info.st_size)
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > budget:  # the file grew while we read it
                raise _TooBig(total)
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise _ReadError(f"cannot read it ({exc.strerror})") from None
    finally:
        os.close(fd)


def _too_big(size: int, limit: int, what: str = "file") -> str:
    return (
        f"the {what} is {size:,} bytes, larger than the limit of {limit:,} bytes "
        "(refused before parsing)"
    )


def _inside(subnet: Subnet, low: int, high: int) -> bool:
    mask = int(subnet.netmask)
    network = int(subnet.network)
    return low & mask == network and high & mask == network


# --------------------------------------------------------------------------- public API


def _session(
    include_root, max_bytes: int, max_depth: int, max_include_depth: int, base: str | None = None
) -> _Session:
    root = None if include_root is None else os.path.realpath(os.fspath(include_root))
    return _Session(root, base or root, max_bytes, max_depth, max_include_depth)


def _parse(session: _Session, text: str, filename: str, real_path: str | None) -> Config:
    if real_path is not None:
        session.stack.append(real_path)
    parser = _Parser(session, text, filename, real_path)
    statements = parser.parse_statements(_Ctx("root", "", 0))
    config = Config(statements, file=filename, line=1, column=1, end_comments=parser.eof_comments)
    config.warnings = session.warnings
    return config


def parse_text(
    text: str,
    *,
    filename: str = "<text>",
    include_root: str | os.PathLike | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_include_depth: int = DEFAULT_MAX_INCLUDE_DEPTH,
) -> Config:
    """Parse dhcpd.conf text. ``include`` is refused unless ``include_root`` is given;
    relative include paths are then taken from ``include_root``."""
    size = len(text) if len(text) > max_bytes else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ParseError(filename, 1, 1, _too_big(size, max_bytes, "text"))
    check_text(text, filename)
    session = _session(include_root, max_bytes, max_depth, max_include_depth)
    session.used_bytes = size
    return _parse(session, text, filename, None)


def parse_bytes(
    data: bytes,
    *,
    filename: str = "<upload>",
    include_root: str | os.PathLike | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_include_depth: int = DEFAULT_MAX_INCLUDE_DEPTH,
) -> Config:
    """Parse an uploaded file's bytes (UTF-8; binary data is refused with its position)."""
    if len(data) > max_bytes:
        raise ParseError(filename, 1, 1, _too_big(len(data), max_bytes))
    text = decode_bytes(data, filename)
    session = _session(include_root, max_bytes, max_depth, max_include_depth)
    session.used_bytes = len(data)
    return _parse(session, text, filename, None)


def parse_file(
    path: str | os.PathLike,
    *,
    include_root: str | os.PathLike | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_include_depth: int = DEFAULT_MAX_INCLUDE_DEPTH,
) -> Config:
    """Parse a file.

    ``include "FILE";`` is followed only when FILE resolves (symlinks resolved) inside
    ``include_root`` (default: the file's own directory). Relative include paths are taken
    from the directory of THIS file, at every level, as dhcpd does when it runs in that
    directory (dhcpd resolves them against its working directory, not the including file).
    Input over ``max_bytes`` (all files together) is refused before it is read."""
    filename = os.fspath(path)
    real = os.path.realpath(filename)
    if include_root is None:
        include_root = os.path.dirname(real)
    session = _session(
        include_root, max_bytes, max_depth, max_include_depth, base=os.path.dirname(real)
    )
    try:
        data = _read_file(filename, max_bytes)
    except _TooBig as exc:
        raise ParseError(filename, 1, 1, _too_big(exc.size, max_bytes)) from None
    except _ReadError as exc:
        raise ParseError(filename, 1, 1, str(exc)) from None
    session.used_bytes = len(data)
    text = decode_bytes(data, filename)
    return _parse(session, text, filename, real)
