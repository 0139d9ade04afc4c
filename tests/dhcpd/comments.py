"""Where each comment of a dhcpd.conf sits: (comment, the statement after it), for the
round-trip tests of imported comments (``failover.dhcpd.importer`` keeps every comment with
the statement or block that follows it, or with the end of its block)."""

from __future__ import annotations

from collections import Counter

from failover.dhcpd import ast
from failover.dhcpd.tokenizer import join_tokens


def describe(node: ast.Node) -> str:
    """The statement a comment belongs to, as it reads whatever the layout."""
    if isinstance(node, ast.Subnet):
        return f"subnet {node.cidr}"
    if isinstance(node, ast.Range):
        bootp = "dynamic-bootp " if node.dynamic_bootp else ""
        return f"range {bootp}{node.first} {node.end}"
    if isinstance(node, ast.Pool):
        return "pool " + ", ".join(
            describe(r) for r in ast.flatten_includes(node.statements) if isinstance(r, ast.Range)
        )
    if isinstance(node, ast.FailoverPeer):
        return f"failover peer {node.name}"
    if isinstance(node, ast.FailoverPeerRef):
        return f"failover peer {node.name};"
    if isinstance(node, ast.SharedNetwork):
        return f"shared-network {node.name}"
    if isinstance(node, ast.Group):
        return f"group {node.name or ''} " + ", ".join(describe(s) for s in node.statements[:1])
    if isinstance(node, ast.Host):
        return f"host {node.name}"
    if isinstance(node, ast.Class):
        return f"class {node.name}"
    if isinstance(node, ast.Subclass):
        return f"subclass {node.class_name} {join_tokens(node.data)}"
    if isinstance(node, ast.Conditional):
        return describe(node.branches[0])
    if isinstance(node, ast.Branch):
        return f"{node.kind} {join_tokens(node.condition)}"
    if isinstance(node, ast.Config):
        return "the end of the file"
    if isinstance(node, ast.Include):
        return f"include {node.path}"
    if isinstance(node, ast.Key | ast.Zone):
        return f"{type(node).__name__.lower()} {node.name}"
    if isinstance(node, ast.Block):
        return join_tokens(node.header)
    return ast.to_text(
        type(node)(
            **{
                f: getattr(node, f)
                for f in node.__dataclass_fields__
                if f not in ("comments", "end_comments")
            }
        )
    ).strip()


def anchors(config: ast.Config) -> Counter:
    """Every comment of ``config`` (includes followed) with what it belongs to."""
    found: Counter = Counter()

    def add(lines, where: str) -> None:
        for line in lines:
            if line:  # "" is a blank line between comments
                found[(line, where)] += 1

    for node in ast.walk(config):
        if node.comments:
            add(node.comments, describe(node))
        if node.end_comments:
            add(node.end_comments, f"the end of {describe(node)}")
        if isinstance(node, ast.FailoverPeer):
            for key, lines in node.statement_comments.items():
                add(lines, f"failover peer {node.name}: {key}")
        elif isinstance(node, ast.Pool) and node.peer_comments:
            add(node.peer_comments, f"the failover peer statement of {describe(node)}")
    return found


def missing(original: ast.Config, rendered: ast.Config) -> list[tuple[str, str]]:
    """The comments of ``original`` that ``rendered`` does not have before the same
    statement (the renderer's own comments in ``rendered`` do not matter)."""
    have = anchors(rendered)
    return sorted((anchors(original) - have).elements())
