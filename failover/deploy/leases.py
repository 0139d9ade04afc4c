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

import re
from dataclasses import dataclass, field

from failover.validators import is_ipv4

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

# One match per statement or block head: its text (strings and comments inside) and the
# character that ends it ('{', '}' or ';'). Matching whole statements instead of tokens keeps
# the Python work per lease small (a 100,000-lease journal is tens of MB).
_STATEMENT = re.compile(
    r"""(?P<text>(?:[^{};"\#]+|"(?:[^"\\]+|\\.)*"|\#[^\n]*)*)(?P<end>[{};])""",
    re.DOTALL,
)
_COMMENT = re.compile(r"""("(?:[^"\\]+|\\.)*")|\#[^\n]*""")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


#: The first four letters of the lease statements kept (binding state, ends, hardware,
#: client-hostname).
_WANTED = frozenset({"bind", "ends", "hard", "clie"})


def _words(text: str) -> list[str]:
    if "#" in text:
        text = _COMMENT.sub(lambda m: m.group(1) or "", text)
    if '"' in text:
        return [m.group(0) for m in re.finditer(r'"(?:[^"\\]+|\\.)*"|[^\s"]+', text)]
    return text.split()


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


def _unquote(value: str) -> str:
    match = _QUOTED.fullmatch(value)
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else value


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_leases(text: str) -> LeasesFile:
    """The last state of every IPv4 address in a dhcpd.leases text."""
    if "\x00" in text:
        raise LeasesError(_line(text, text.index("\x00")), "binary data (NUL), not a leases file")
    result = LeasesFile()
    leases = result.leases
    depth = 0
    lease: Lease | None = None
    position = 0
    for match in _STATEMENT.finditer(text):
        if match.start() != position:  # something no statement can hold: an open string
            break
        position = match.end()
        end = match.group("end")
        body = match.group("text")
        if end == ";":
            if lease is not None and depth == 1:
                head = body.lstrip()
                if head.startswith("#"):  # a comment after the previous statement
                    head = _COMMENT.sub(lambda m: m.group(1) or "", head).lstrip()
                head = head[:4].lower()
                if head in _WANTED:  # most statements (times, uid) are not needed
                    words = _words(body)
                    if words:
                        _lease_statement(lease, words)
        elif end == "{":
            if depth == 0:
                words = _words(body)
                if len(words) == 2 and words[0].lower() == "lease":
                    if not is_ipv4(words[1]):
                        raise LeasesError(
                            _line(text, match.start("end")),
                            f"'{words[1]}' is not an IPv4 address",
                        )
                    lease = Lease(words[1])
            depth += 1
        else:  # '}'
            if depth == 0:
                raise LeasesError(_line(text, match.start("end")), "'}' without a block")
            depth -= 1
            if depth == 0 and lease is not None:
                leases[lease.address] = lease
                result.entries += 1
                lease = None
    rest = text[position:]
    if rest.strip() and _words(rest):
        if '"' in rest and _QUOTED.search(rest) is None or rest.count('"') % 2:
            raise LeasesError(_line(text, position + rest.index('"')), "a string is not closed")
        raise LeasesError(_line(text, len(text)), "the file ends inside a statement")
    if depth:
        raise LeasesError(_line(text, len(text)), "the file ends inside a block (a '}' is missing)")
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
