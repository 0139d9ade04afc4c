"""Reading a dhcpd.leases file: the last binding state of every address.

dhcpadmin's own tokenizer, not a kept library: ``isc-dhcp-leases`` (PyPI, 0.10.0, 2023)
was checked and does not fit — it reads only from a file name, drops every lease without a
``hardware`` line unless asked (the ``free``/``backup`` leases of a failover pool have none),
fails with a ``KeyError`` on a lease without ``binding state``, ends a lease at the first
line that is a lone ``}`` (regular expressions, no nesting: ``on expiry { … }`` blocks),
keeps every journal entry instead of the last one per address, and needs ``six``.

The leases file is a journal (dhcpd.leases(5)): dhcpd appends a new ``lease A { … }`` entry
whenever a lease changes and the LAST entry of an address is its state. The lexical rules
are dhcpd.conf's (strings with escapes, ``#`` comments, braces); this module scans them
with one regular expression and keeps only what it needs: per address the binding state,
the end time, the hardware address and the client's host name. Other top-level entries
(``failover peer "x" state { … }``, ``server-duid``, ``host``, ``ia-na``) are skipped with
their blocks. A file that is not a leases file (unbalanced braces, binary data) is an error
with its line.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

#: dhcpd 4.4 binding states (common/dhcp-options / server/db.c ``binding_state_names``).
BINDING_STATES = (
    "free",
    "active",
    "expired",
    "released",
    "abandoned",
    "reset",
    "backup",
    "reserved",
    "bootp",
)

_TOKEN = re.compile(
    r"""
      (?P<space>[ \t\r\n\f\v]+|\#[^\n]*)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<word>[^\s{};"#]+)
    | (?P<punct>[{};])
    | (?P<bad>")
    """,
    re.VERBOSE | re.DOTALL,
)


class LeasesError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(slots=True)
class Lease:
    address: str
    binding_state: str = ""
    ends: str = ""  # as written: "never", "2 2026/12/01 05:10:00" or "epoch 1764..."
    hardware: str = ""
    hostname: str = ""


@dataclass
class LeasesFile:
    leases: dict[str, Lease] = field(default_factory=dict)  # the last entry per address
    entries: int = 0  # lease entries read (a journal has more entries than addresses)

    def states(self) -> dict[str, str]:
        return {address: lease.binding_state for address, lease in self.leases.items()}


def _tokens(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, value, line) of every token; strings keep their quotes."""
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "bad"
        value = match.group()
        if kind == "space":
            line += value.count("\n")
            continue
        if kind == "bad":
            raise LeasesError(line, "a string is not closed")
        yield kind, value, line
        line += value.count("\n")


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_leases(text: str) -> LeasesFile:
    """The last state of every IPv4 address in a dhcpd.leases text."""
    if "\x00" in text:
        raise LeasesError(1, "binary data (NUL), not a leases file")
    result = LeasesFile()
    tokens = _tokens(text)
    statement: list[str] = []
    depth = 0
    lease: Lease | None = None
    lease_depth = 0
    line = 1
    for kind, value, line in tokens:
        if kind == "punct":
            if value == "{":
                if depth == 0 and len(statement) == 2 and statement[0].lower() == "lease":
                    address = statement[1]
                    try:
                        ipaddress.IPv4Address(address)
                    except ValueError:
                        raise LeasesError(line, f"'{address}' is not an IPv4 address") from None
                    lease = Lease(address)
                    lease_depth = 1
                depth += 1
                statement = []
            elif value == "}":
                if depth == 0:
                    raise LeasesError(line, "'}' without a block")
                depth -= 1
                if lease is not None and depth == 0:
                    result.leases[lease.address] = lease
                    result.entries += 1
                    lease = None
                statement = []
            else:  # ';'
                if lease is not None and depth == lease_depth and statement:
                    _lease_statement(lease, statement)
                statement = []
        else:
            statement.append(value)
    if depth:
        raise LeasesError(line, "the file ends inside a block (a '}' is missing)")
    return result


def _lease_statement(lease: Lease, words: list[str]) -> None:
    head = words[0].lower()
    if head == "binding" and len(words) >= 3 and words[1].lower() == "state":
        lease.binding_state = words[2].lower()
    elif head == "ends" and len(words) >= 2:
        lease.ends = " ".join(words[1:])
    elif head == "hardware" and len(words) >= 3:
        lease.hardware = words[2].lower()
    elif head == "client-hostname" and len(words) >= 2:
        lease.hostname = _unquote(words[1])
