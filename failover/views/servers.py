"""Servers: the list, a server's page, and create / edit / delete dialogs."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from .. import selectors, services
from ..access import MIGRATE_PERMISSIONS, login_required, permission_required
from ..forms import ServerForm, instance_values
from ..models import DhcpServer, Scope
from .common import (
    POOL_ROW_LINKS,
    PkUrls,
    PoolItem,
    delete_dialog,
    done,
    form_dialog,
    permitted,
    pool_items,
    post_data,
)

SERVERS = ("Servers", None)
#: The links of a scope's card and the permissions each needs.
SCOPE_CARD_LINKS: dict[str, tuple[str, ...]] = {
    "scope_detail": (),
    "pool_create": ("failover.add_addresspool",),
    "scope_edit": ("failover.change_scope",),
    "scope_delete": ("failover.delete_scope",),
    "scope_migrate": MIGRATE_PERMISSIONS,
}


@dataclass
class ServerRow:
    server: DhcpServer
    menu: list[dict[str, str]]


@dataclass
class ScopeCard:
    """A scope's card on the server page: the scope, its links, its pools' rows, and the
    relationship in which it is not finalized (or None)."""

    scope: Scope
    urls: dict[str, str]
    pools: list[PoolItem]
    not_finalized_in: str | None  # the relationship's name


def server_crumbs(server: DhcpServer | None = None) -> list[tuple[str, str | None]]:
    crumbs: list[tuple[str, str | None]] = [("Servers", reverse("failover:server_list"))]
    if server is not None and server.pk:
        crumbs.append((server.name, reverse("failover:server_detail", args=[server.pk])))
    return crumbs


def server_menu(request: HttpRequest, server: DhcpServer) -> list[dict[str, str]]:
    """The server's context menu (right-click on its row or heading)."""
    items = [
        {
            "label": "Manage Failover Peers",
            "url": reverse("failover:peer_list", args=[server.pk]),
        }
    ]
    if request.user.has_perm("failover.add_scope"):
        items.append(
            {"label": "Add Scope", "url": reverse("failover:scope_create", args=[server.pk])}
        )
    if request.user.has_perm("failover.change_dhcpserver"):
        items.append({"label": "Edit", "url": reverse("failover:server_edit", args=[server.pk])})
    if request.user.has_perm("failover.delete_dhcpserver"):
        items.append(
            {"label": "Delete", "url": reverse("failover:server_delete", args=[server.pk])}
        )
    return items


@login_required
def server_list(request: HttpRequest) -> HttpResponse:
    rows = [
        ServerRow(server, server_menu(request, server))
        for server in selectors.servers_with_counts()
    ]
    return render(request, "failover/server_list.html", {"rows": rows})


@login_required
def server_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A server: its numbers, relationships and failover peers, and one page of its scopes
    (searched and filtered in the query string; 50 a page)."""
    server = get_object_or_404(DhcpServer, pk=pk)
    listing = selectors.server_scopes(
        server,
        query=request.GET.get("q", ""),
        show=request.GET.get("show", ""),
        relationship=request.GET.get("relationship", ""),
        page=request.GET.get("page") or 1,
    )
    card_links = permitted(request.user, SCOPE_CARD_LINKS)
    pool_links = permitted(request.user, POOL_ROW_LINKS)
    urls = PkUrls(*card_links, *pool_links)
    cards = [
        ScopeCard(
            scope=scope,
            urls=urls.of(scope.pk, *card_links),
            pools=pool_items(scope.pools.all(), urls, pool_links),
            not_finalized_in=listing.not_finalized_in(scope),
        )
        for scope in listing.scopes
    ]
    params = {
        key: value
        for key, value in (
            ("q", listing.query),
            ("show", listing.show),
            ("relationship", listing.relationship),
        )
        if value
    }
    page = listing.page
    return render(
        request,
        "failover/server_detail.html",
        {
            "server": server,
            "listing": listing,
            "cards": cards,
            "counts": selectors.server_counts(server),
            "peers": selectors.server_peers(server),
            "relationships": listing.failover.relationships,
            "menu": server_menu(request, server),
            "may_migrate": request.user.has_perms(MIGRATE_PERMISSIONS),
            "show_choices": selectors.SHOW_CHOICES,
            "page_query": urlencode(params),
            "page_range": list(
                page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
            ),
        },
    )


@permission_required("failover.add_dhcpserver")
@require_http_methods(["GET", "POST"])
def server_create(request: HttpRequest) -> HttpResponse:
    form = ServerForm(post_data(request))

    def save() -> HttpResponse:
        server = services.server_create(actor=request.user, **instance_values(form))
        url = reverse("failover:server_detail", args=[server.pk])
        return done(request, url, f"Added server {server.name}.")

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/server_create_modal.html",
        context={"form_action": reverse("failover:server_create")},
        title="Add Server",
        breadcrumbs=[*server_crumbs(), ("Add Server", None)],
    )


@permission_required("failover.change_dhcpserver")
@require_http_methods(["GET", "POST"])
def server_edit(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    name = server.name
    form = ServerForm(post_data(request), instance=server)

    def save() -> HttpResponse:
        services.server_update(server=server, actor=request.user, **instance_values(form))
        url = reverse("failover:server_detail", args=[server.pk])
        return done(request, url, f"Saved server {server.name}.", refresh=True)

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/server_edit_modal.html",
        context={
            "server_name": name,
            "form_action": reverse("failover:server_edit", args=[pk]),
            "cancel_url": reverse("failover:server_detail", args=[pk]),
        },
        title=f"Edit Server {name}",
        breadcrumbs=[*server_crumbs(DhcpServer(pk=pk, name=name)), ("Edit", None)],
    )


@permission_required("failover.delete_dhcpserver")
@require_http_methods(["GET", "POST"])
def server_delete(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)

    def delete() -> HttpResponse:
        services.server_delete(server=server, actor=request.user)
        return done(request, reverse("failover:server_list"), f"Deleted server {server.name}.")

    return delete_dialog(
        request,
        delete=delete,
        plan=lambda: services.server_delete_plan(server=server),
        template_name="failover/server_delete_modal.html",
        context={
            "server": server,
            "form_action": reverse("failover:server_delete", args=[pk]),
            "cancel_url": reverse("failover:server_detail", args=[pk]),
        },
        title=f"Delete Server {server.name}",
        breadcrumbs=[*server_crumbs(server), ("Delete", None)],
    )
