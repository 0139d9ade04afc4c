"""The Kea export's operations: saving a server's Kea settings (atomic, validated, recorded
in a ChangeRecord), and exporting a relationship named by either side's peer declaration
or by its name (the export only reads)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from failover import selectors
from failover.models import DhcpServer, FailoverPeer
from failover.selectors import RelationshipView
from failover.services import Actor, lock_servers, retry_on_deadlock
from failover.services._base import _record
from failover.versioning import cached

from .export import ERROR, WARNING, KeaExport, ReportItem, export_pair
from .models import KeaSettings

SETTINGS_FIELDS = (
    "interfaces",
    "control_agent_address",
    "control_agent_listen",
    "control_agent_port",
    "control_socket",
    "lease_file",
    "hooks_dir",
    "target",
)


def kea_settings_plan(*, server: DhcpServer, **fields: Any) -> KeaSettings:
    """The validated, unsaved settings of ``server`` with ``fields`` set."""
    unknown = set(fields) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown Kea settings: {', '.join(sorted(unknown))}.")
    settings = KeaSettings.objects.filter(server=server).first() or KeaSettings(server=server)
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.full_clean()
    return settings


@retry_on_deadlock
def kea_settings_save(*, server: DhcpServer, actor: Actor = None, **fields: Any) -> KeaSettings:
    """Create or change the Kea settings of ``server``."""
    with transaction.atomic():
        lock_servers(server.pk)
        settings = kea_settings_plan(server=server, **fields)
        settings.save()
        changed = ", ".join(f"{k}={v}" for k, v in sorted(fields.items())) or "defaults"
        _record(actor, "kea_settings_save", f"Kea settings of '{server.name}': {changed}")
    return settings


def relationship_for_export(relationship: RelationshipView) -> KeaExport:
    """The Kea HA export of a relationship whose two servers are managed here."""
    if not relationship.managed:
        raise ValidationError(
            f"Relationship '{relationship.name}': both servers must be managed in dhcpadmin "
            "to export it to Kea."
        )
    assert relationship.primary_server and relationship.secondary_server
    for server, peer in (
        (relationship.primary_server, relationship.primary_peer),
        (relationship.secondary_server, relationship.secondary_peer),
    ):
        if peer is None:
            raise ValidationError(
                f"Relationship '{relationship.name}': {server.name} has no failover peer "
                "declaration for it yet; migrate a scope to the failover peer first."
            )
    assert relationship.primary_peer and relationship.secondary_peer
    export = export_pair(
        relationship.name,
        (relationship.primary_server, relationship.primary_peer),
        (relationship.secondary_server, relationship.secondary_peer),
    )
    # What the pair check finds in the relationship itself (roles, mirrored addresses, …)
    # comes first: the export is only as right as the relationship.
    export.report[:0] = [
        ReportItem(
            ERROR if finding.severity == "error" else WARNING,
            f"relationship {relationship.name}",
            f"Pair check: {finding.message}",
        )
        for finding in relationship.other_findings
    ]
    return export


def export_of_peer(peer: FailoverPeer) -> tuple[RelationshipView, KeaExport]:
    """The relationship ``peer`` declares and its export, kept per data version."""
    relationship = selectors.relationship_of_peer(peer)
    if relationship is None:
        raise ValidationError("This peer declaration is not part of a relationship.")
    return relationship, cached(
        f"kea-export:{peer.pk}", lambda: relationship_for_export(relationship)
    )


def relationships_named(name: str) -> list[RelationshipView]:
    """The relationships called ``name`` (a relationship is named by its peer)."""
    return [r for r in selectors.relationship_summaries() if r.name == name]


@retry_on_deadlock
def kea_settings_delete(*, settings: KeaSettings, actor: Actor = None) -> None:
    """Forget a server's Kea settings: its export uses the defaults again."""
    with transaction.atomic():
        lock_servers(settings.server_id)
        server = settings.server
        KeaSettings.objects.filter(pk=settings.pk).delete()
        _record(actor, "kea_settings_delete", f"Kea settings of '{server.name}': defaults")
