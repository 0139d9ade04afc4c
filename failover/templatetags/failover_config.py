"""Template filters for the configuration and relationship parts of the pages.

The data (relationships, pair check, failover state of a scope) comes from the views'
context (``failover.selectors``); these filters only present it.
"""

from __future__ import annotations

from django import template

from failover.dhcpd import pair
from failover.models import DhcpServer

register = template.Library()


@register.filter
def partner_of(relationship: pair.Relationship, server: DhcpServer) -> DhcpServer | None:
    """The other server of ``relationship`` (None when it is not managed here)."""
    if relationship.primary_server == server:
        return relationship.secondary_server
    return relationship.primary_server
