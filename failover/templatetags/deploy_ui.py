"""Template helpers of the deploy part: the drift status of every server in one query."""

from __future__ import annotations

from typing import Any

from django import template

from failover.deploy.models import SshTarget

register = template.Library()


@register.simple_tag
def drift_statuses() -> dict[int, dict[str, Any]]:
    """{server id: its drift status, detail and time} for every server with SSH settings."""
    rows = SshTarget.objects.values("server_id", "drift_status", "drift_detail", "drift_checked_at")
    return {row["server_id"]: dict(row) for row in rows}


@register.filter
def drift_of(statuses: dict[int, dict[str, Any]], server_id: int) -> dict[str, Any] | None:
    return statuses.get(server_id)
