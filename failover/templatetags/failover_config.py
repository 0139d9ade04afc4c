"""Template tags for the configuration and relationship parts of the pages.

The pages of servers and scopes include ``failover/config_*.html`` (extension points); these
tags give those templates the pair check, computed once per request whatever the number of
scopes on the page.
"""

from __future__ import annotations

from django import template

from failover.dhcpd import pair
from failover.models import DhcpServer, Scope
from failover.views.config import MIGRATE_PERMISSIONS, ScopeFailover, failover_status

register = template.Library()


@register.simple_tag(takes_context=True)
def server_relationships(context: template.Context, server: DhcpServer) -> list[pair.Relationship]:
    return failover_status(context["request"]).for_server(server)


@register.simple_tag(takes_context=True)
def scope_not_finalized(context: template.Context, scope: Scope) -> pair.Relationship | None:
    """The relationship in which ``scope`` is not finalized on the partner, or None."""
    return failover_status(context["request"]).for_scope(scope)


@register.filter
def partner_of(relationship: pair.Relationship, server: DhcpServer) -> DhcpServer | None:
    if relationship.primary_server == server:
        return relationship.secondary_server
    return relationship.primary_server


@register.simple_tag(takes_context=True)
def scope_failover(context: template.Context, scope: Scope) -> ScopeFailover | None:
    """The relationship ``scope`` belongs to (through its failover pools), or None."""
    return failover_status(context["request"]).scopes.get(scope.pk)


@register.simple_tag(takes_context=True)
def can_migrate(context: template.Context) -> bool:
    return context["request"].user.has_perms(MIGRATE_PERMISSIONS)
