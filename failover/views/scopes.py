"""Scopes: a scope's page with its list of IP addresses, and create / edit / delete dialogs."""

from __future__ import annotations

import bisect
import ipaddress
import json
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import conditional_escape, escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from .. import selectors, services
from ..access import MIGRATE_PERMISSIONS, login_required, permission_required
from ..forms import ScopeForm, instance_values
from ..models import AddressPool, DhcpServer, Scope
from .common import (
    POOL_ROW_LINKS,
    PkUrls,
    delete_dialog,
    done,
    form_dialog,
    permitted,
    pool_items,
    post_data,
)
from .servers import server_crumbs

ADDRESSES_PER_PAGE = 256


class AddressRange:
    """Every address of a network, as a sequence that computes its items on demand.

    A /8 has 16 million addresses: the paginator only ever asks for one page of them.
    """

    def __init__(self, network: ipaddress.IPv4Network):
        self.start = int(network.network_address)
        self.size = network.num_addresses

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int | slice) -> ipaddress.IPv4Address | list:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.size)
            return [ipaddress.IPv4Address(self.start + i) for i in range(start, stop, step)]
        if not -self.size <= index < self.size:
            raise IndexError(index)
        return ipaddress.IPv4Address(self.start + (index % self.size))

    def index(self, ip: ipaddress.IPv4Address) -> int:
        offset = int(ip) - self.start
        if not 0 <= offset < self.size:
            raise ValueError(f"{ip} is not in the range")
        return offset


@dataclass
class AddressRow:
    ip: ipaddress.IPv4Address
    state: str  # "network", "broadcast", "pool" or "free"
    pool: AddressPool | None = None
    pool_start: bool = False
    menu: list[dict[str, str]] | None = None
    create_url: str = ""
    # What the template writes, made once per page (per pool for the pool's rows): a /24's
    # page has 256 rows.
    ip_text: str = ""
    menu_json: str = ""
    pool_label: str = ""
    badge: str = ""

    @property
    def peer(self):
        return self.pool.failover_peer if self.pool else None


def address_rows(
    network: ipaddress.IPv4Network, addresses: list[ipaddress.IPv4Address], pools: list
) -> list[AddressRow]:
    """The state of each address of one page; ``pools`` do not overlap (the model ensures)."""
    pools = sorted(pools, key=lambda p: int(p.first_ip))
    firsts = [int(p.first_ip) for p in pools]
    rows = []
    for ip in addresses:
        value = int(ip)
        if ip == network.network_address:
            rows.append(AddressRow(ip, "network"))
            continue
        if ip == network.broadcast_address:
            rows.append(AddressRow(ip, "broadcast"))
            continue
        i = bisect.bisect_right(firsts, value) - 1
        if i >= 0 and value <= int(pools[i].last_ip):
            rows.append(AddressRow(ip, "pool", pools[i], pool_start=value == firsts[i]))
        else:
            rows.append(AddressRow(ip, "free"))
    return rows


_STATE_BADGES = {
    "network": '<span class="badge text-bg-secondary">network</span>',
    "broadcast": '<span class="badge text-bg-secondary">broadcast</span>',
    "pool": '<span class="badge text-bg-primary">in pool</span>',
    "free": '<span class="badge text-bg-success">free</span>',
}
_ROW = (
    '<tr class="state-{state}{start}" data-testid="address-{ip}" data-ip="{ip}" '
    'data-state="{state}"{menu}><td class="ip">{ip}</td><td>{badge}</td>'
    '<td class="mono small">{label}</td><td>{peer}</td>'
    '<td class="text-end text-nowrap">{action}</td></tr>\n'
)
_MENU = ' data-menu="{json}" data-menu-label="Address {ip}"'
_ACTION = (
    '<a class="btn btn-sm btn-link py-0 row-action" href="{url}" hx-get="{url}" '
    'hx-target="#modal-content" title="Create Address Pool from {ip}">Create Address Pool</a>'
)


def rows_html(rows: list[AddressRow], *, can_add: bool) -> SafeString:
    """The rows of the address table as HTML: the one home of their markup.

    Written here rather than in the template: a page has 256 rows, and the template engine
    spent some 30 ms on them (a third of the page); one format per row takes 1 ms. Every
    value is escaped (addresses and states are digits, dots and fixed words anyway)."""
    out = []
    for row in rows:
        ip = escape(row.ip_text)
        out.append(
            _ROW.format(
                state=row.state,
                start=" pool-start" if row.pool_start else "",
                ip=ip,
                menu=_MENU.format(json=escape(row.menu_json), ip=ip) if row.menu_json else "",
                badge=_STATE_BADGES[row.state],
                label=escape(row.pool_label),
                peer=conditional_escape(row.badge),
                action=_ACTION.format(url=escape(row.create_url), ip=ip)
                if row.state == "free" and can_add
                else "",
            )
        )
    return mark_safe("".join(out))  # every part above is escaped or a constant


def _page_number(request: HttpRequest, addresses: AddressRange) -> tuple[int | str, str | None]:
    """The page asked for: ?page=N, or the page holding ?ip=<address>."""
    wanted = request.GET.get("ip", "").strip()
    if wanted:
        try:
            offset = addresses.index(ipaddress.IPv4Address(wanted))
        except ValueError:
            return 1, f"{wanted} is not an address of this scope."
        return offset // ADDRESSES_PER_PAGE + 1, None
    return request.GET.get("page") or 1, None


def scope_crumbs(scope: Scope) -> list[tuple[str, str | None]]:
    return [
        *server_crumbs(scope.server),
        (scope.network, reverse("failover:scope_detail", args=[scope.pk])),
    ]


@login_required
def scope_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = get_object_or_404(Scope.objects.select_related("server"), pk=pk)
    network = scope.ip_network
    pools = list(scope.pools.select_related("failover_peer").order_by("first_int"))
    addresses = AddressRange(network)
    number, ip_error = _page_number(request, addresses)
    # AddressRange is the Sequence the paginator needs (django-stubs asks for overloads).
    page: Page[ipaddress.IPv4Address] = Paginator(
        addresses,  # type: ignore[arg-type]
        ADDRESSES_PER_PAGE,
    ).get_page(number)
    rows = address_rows(network, list(page.object_list), pools)

    user = request.user
    can_add = user.has_perm("failover.add_addresspool")
    create_url = reverse("failover:pool_create", args=[scope.pk])
    pool_links = permitted(user, POOL_ROW_LINKS)
    urls = PkUrls(*pool_links)
    pool_menus: dict[int, tuple[list[dict[str, str]], str]] = {}
    items = pool_items(pools, urls, pool_links)
    by_pool = {item.pool.pk: item for item in items}
    for item in items:  # one menu per pool, shared by its rows
        menu = []
        if "edit" in item.urls:
            menu.append({"label": "Edit Address Pool", "url": item.urls["edit"]})
        if "delete" in item.urls:
            menu.append({"label": "Delete Address Pool", "url": item.urls["delete"]})
        pool_menus[item.pool.pk] = (menu, json.dumps(menu) if menu else "")
    for row in rows:
        row.ip_text = str(row.ip)
        row.create_url = f"{create_url}?{urlencode({'first': row.ip_text})}"
        if row.state == "free" and can_add:
            row.menu = [{"label": "Create Address Pool", "url": row.create_url}]
            row.menu_json = json.dumps(row.menu)
        elif row.state == "pool" and row.pool is not None:
            row.menu, row.menu_json = pool_menus[row.pool.pk]
            item = by_pool[row.pool.pk]
            row.pool_label = f"{row.pool.first_address}–{row.pool.last_address}"
            row.badge = item.badge
        else:
            row.menu = []

    in_pools = sum(p.size for p in pools)
    usable = max(network.num_addresses - 2, 0)
    return render(
        request,
        "failover/scope_detail.html",
        {
            "scope": scope,
            "server": scope.server,
            "pools": pools,
            "pool_items": items,
            "page": page,
            "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=2)),
            "rows": rows,
            "rows_html": rows_html(rows, can_add=can_add),
            "ip_error": ip_error,
            "ip_query": request.GET.get("ip", ""),
            "stats": {"usable": usable, "in_pools": in_pools, "free": usable - in_pools},
            "scope_menu": can_add,
            "can_add": can_add,
            "failover": selectors.scope_failover(scope),
            "may_migrate": user.has_perms(MIGRATE_PERMISSIONS),
        },
    )


@permission_required("failover.add_scope")
@require_http_methods(["GET", "POST"])
def scope_create(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    form = ScopeForm(post_data(request), instance=Scope(server=server))

    def save() -> HttpResponse:
        scope = services.scope_create(server=server, actor=request.user, **instance_values(form))
        url = reverse("failover:scope_detail", args=[scope.pk])
        return done(request, url, f"Added scope {scope.network} to {server.name}.")

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/scope_create_modal.html",
        context={
            "server": server,
            "form_action": reverse("failover:scope_create", args=[pk]),
            "cancel_url": reverse("failover:server_detail", args=[pk]),
        },
        title="Add Scope",
        breadcrumbs=[*server_crumbs(server), ("Add Scope", None)],
    )


@permission_required("failover.change_scope")
@require_http_methods(["GET", "POST"])
def scope_edit(request: HttpRequest, pk: int) -> HttpResponse:
    scope = get_object_or_404(Scope.objects.select_related("server"), pk=pk)
    network = scope.network
    crumbs = [*scope_crumbs(scope), ("Edit", None)]
    form = ScopeForm(post_data(request), instance=scope)

    def save() -> HttpResponse:
        services.scope_update(scope=scope, actor=request.user, **instance_values(form))
        url = reverse("failover:scope_detail", args=[scope.pk])
        return done(request, url, f"Saved scope {scope.network}.", refresh=True)

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/scope_edit_modal.html",
        context={
            "form_action": reverse("failover:scope_edit", args=[pk]),
            "cancel_url": reverse("failover:scope_detail", args=[pk]),
        },
        title=f"Edit Scope {network}",
        breadcrumbs=crumbs,
    )


@permission_required("failover.delete_scope")
@require_http_methods(["GET", "POST"])
def scope_delete(request: HttpRequest, pk: int) -> HttpResponse:
    scope = get_object_or_404(Scope.objects.select_related("server"), pk=pk)

    def delete() -> HttpResponse:
        services.scope_delete(scope=scope, actor=request.user)
        url = reverse("failover:server_detail", args=[scope.server_id])
        return done(request, url, f"Deleted scope {scope.network}.")

    return delete_dialog(
        request,
        delete=delete,
        plan=lambda: services.scope_delete_plan(scope=scope),
        template_name="failover/scope_delete_modal.html",
        context={
            "scope": scope,
            "form_action": reverse("failover:scope_delete", args=[pk]),
            "cancel_url": reverse("failover:scope_detail", args=[pk]),
        },
        title=f"Delete Scope {scope.network}",
        breadcrumbs=[*scope_crumbs(scope), ("Delete", None)],
    )
