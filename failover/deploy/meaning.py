"""What a dhcpd.conf means, as comparable parts: failover peers, subnets, pools and the other
statements — through the project's parser (:mod:`failover.dhcpd.parser`), so spacing,
comments, quoting and the order of statements inside a block do not count as differences.

``compare(live, rendered)`` lists what the file on the server has that dhcpadmin would not
write, what it lacks, and what differs, per part.
"""

from __future__ import annotations

from dataclasses import dataclass

from failover.dhcpd import ast

PEERS = "Failover peers"
SUBNETS = "Subnets"
POOLS = "Pools"
OTHER = "Other statements"
SECTIONS = (PEERS, SUBNETS, POOLS, OTHER)


@dataclass(frozen=True)
class MeaningChange:
    section: str
    key: str
    kind: str  # "only on the server", "only in dhcpadmin", "differs"
    live: str
    rendered: str

    @property
    def live_only(self) -> list[str]:
        """The lines of the server's part that dhcpadmin's lacks (for "differs")."""
        theirs = self.rendered.splitlines()
        return [line for line in self.live.splitlines() if line not in theirs]

    @property
    def rendered_only(self) -> list[str]:
        ours = self.live.splitlines()
        return [line for line in self.rendered.splitlines() if line not in ours]


def _lines(nodes: list[ast.Node]) -> str:
    """Statements as canonical text, sorted (their order inside a block does not matter)."""
    parts = sorted(ast.to_text(node).strip() for node in nodes)
    return "\n".join(parts)


def meaning(config: ast.Config) -> dict[str, dict[str, str]]:
    parts: dict[str, dict[str, str]] = {section: {} for section in SECTIONS}

    def add(section: str, key: str, value: str) -> None:
        bucket = parts[section]
        n = 2
        unique = key
        while unique in bucket:  # the same statement twice stays twice
            unique = f"{key} ({n})"
            n += 1
        bucket[unique] = value

    def container(statements: list[ast.Node], where: str) -> None:
        for node in ast.flatten_includes(statements):
            if isinstance(node, ast.FailoverPeer):
                add(PEERS, node.name, ast.to_text(node).strip())
            elif isinstance(node, ast.Subnet):
                subnet(node, where)
            elif isinstance(node, (ast.SharedNetwork, ast.Group)):
                name = node.name or ""
                kind = "shared-network" if isinstance(node, ast.SharedNetwork) else "group"
                container(node.statements, f"{where}{kind} {name}".strip() + ": ")
            elif isinstance(node, ast.Pool):  # a pool in a shared network
                pool(node, where.rstrip(": ") or "top level")
            else:
                text = ast.to_text(node).strip()
                add(OTHER, f"{where}{text.splitlines()[0] if text else ''}", text)

    def subnet(node: ast.Subnet, where: str) -> None:
        cidr = str(node.cidr)
        own = [s for s in node.statements if not isinstance(s, (ast.Pool, ast.Range))]
        add(SUBNETS, cidr, (f"in {where.rstrip(': ')}\n" if where else "") + _lines(own))
        for stmt in node.statements:
            if isinstance(stmt, ast.Pool):
                pool(stmt, cidr)
            elif isinstance(stmt, ast.Range):
                add(POOLS, f"{cidr} {_range(stmt)}", "range without a pool block")

    def pool(node: ast.Pool, where: str) -> None:
        ranges = ", ".join(_range(r) for r in node.ranges) or "no range"
        peer = (
            f'failover peer "{node.failover_peer}"'
            if node.failover_peer
            else ("no failover peer" if node.no_failover_peer else "no failover peer statement")
        )
        rest = _lines(node.other_statements)
        add(POOLS, f"{where} {ranges}", peer + ("\n" + rest if rest else ""))

    container(config.statements, "")
    return parts


def _range(node: ast.Range) -> str:
    bootp = "dynamic-bootp " if node.dynamic_bootp else ""
    return f"{bootp}{node.first}-{node.end}"


def compare(live: ast.Config, rendered: ast.Config) -> list[MeaningChange]:
    ours, theirs = meaning(rendered), meaning(live)
    changes: list[MeaningChange] = []
    for section in SECTIONS:
        a, b = theirs[section], ours[section]
        for key in sorted(a.keys() | b.keys()):
            if key not in b:
                changes.append(MeaningChange(section, key, "only on the server", a[key], ""))
            elif key not in a:
                changes.append(MeaningChange(section, key, "only in dhcpadmin", "", b[key]))
            elif a[key] != b[key]:
                changes.append(MeaningChange(section, key, "differs", a[key], b[key]))
    return changes
