"""Scopes: the list of IP addresses (states, paging, query count) and the scope dialogs."""

from __future__ import annotations

import html as html_lib
import ipaddress
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from failover import services
from failover.models import AddressPool, FailoverPeer, Scope
from failover.views.scopes import ADDRESSES_PER_PAGE, AddressRange, address_rows
from tests.conftest import PRIMARY

HX = {"HX-Request": "true"}


def rows_of(html: str) -> dict[str, str]:
    """ip -> state of every address row on the page."""
    return dict(re.findall(r'data-ip="([\d.]+)" data-state="(\w+)"', html))


def menu_of(html: str, ip: str) -> list[dict]:
    match = re.search(rf'data-ip="{re.escape(ip)}"[^>]*?data-menu="([^"]*)"', html)
    return json.loads(html_lib.unescape(match.group(1))) if match else []


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- access ---------------------------------------------------------------------------------


def endpoints(scope: Scope) -> list[str]:
    return [
        reverse("failover:scope_create", args=[scope.server_id]),
        reverse("failover:scope_edit", args=[scope.pk]),
        reverse("failover:scope_delete", args=[scope.pk]),
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_users_to_login(client, scope, method):
    for url in [*endpoints(scope), reverse("failover:scope_detail", args=[scope.pk])]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login"))
        htmx = getattr(client, method)(url, headers=HX)
        assert htmx["HX-Redirect"].startswith(reverse("login")), url


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_it_forbids_read_only_users(viewer_client, scope, method, headers):
    data = {"network": "10.11.0.0/24", "name": "x"} if method == "post" else None
    for url in endpoints(scope):
        response = getattr(viewer_client, method)(url, data, headers=headers)
        assert response.status_code == 403, url
    assert list(Scope.objects.values_list("network", "name")) == [("10.10.0.0/24", "Office")]


def test_read_only_users_see_the_addresses_without_change_actions(viewer_client, pool):
    html = viewer_client.get(reverse("failover:scope_detail", args=[pool.scope_id])).content
    html = html.decode()
    assert rows_of(html)["10.10.0.5"] == "free"
    assert "Create Address Pool" not in html
    assert menu_of(html, "10.10.0.5") == []


# --- the list of IP addresses ---------------------------------------------------------------


def test_it_lists_every_address_with_its_state(editor_client, primary_peer):
    scope = primary_peer.pools.get().scope
    response = editor_client.get(reverse("failover:scope_detail", args=[scope.pk]))
    html = response.content.decode()
    rows = rows_of(html)
    assert len(rows) == 256
    assert rows["10.10.0.0"] == "network"
    assert rows["10.10.0.255"] == "broadcast"
    assert rows["10.10.0.99"] == "free"
    assert rows["10.10.0.100"] == "pool" and rows["10.10.0.150"] == "pool"
    assert rows["10.10.0.151"] == "free"
    pool_row = html[html.index('data-testid="address-10.10.0.120"') :]
    pool_row = pool_row[: pool_row.index("</tr>")]
    assert "10.10.0.100–10.10.0.150" in pool_row and "fo-pair" in pool_row


def test_each_free_address_has_a_menu_and_a_visible_create_address_pool(editor_client, pool):
    html = editor_client.get(reverse("failover:scope_detail", args=[pool.scope_id])).content
    html = html.decode()
    create = reverse("failover:pool_create", args=[pool.scope_id]) + "?first=10.10.0.5"
    assert menu_of(html, "10.10.0.5") == [{"label": "Create Address Pool", "url": create}]
    row = html[html.index('data-testid="address-10.10.0.5"') :]
    row = row[: row.index("</tr>")]
    assert f'href="{create}"' in row and ">Create Address Pool</a>" in row
    # A pool address offers the pool's actions, not Create Address Pool.
    labels = [item["label"] for item in menu_of(html, "10.10.0.120")]
    assert labels == ["Edit Address Pool", "Delete Address Pool"]
    assert menu_of(html, "10.10.0.0") == []


def test_it_pages_a_16_arithmetically(editor_client, server):
    scope = services.scope_create(server=server, network="172.16.0.0/16")
    services.pool_create(scope=scope, first_address="172.16.10.250", last_address="172.16.11.5")
    url = reverse("failover:scope_detail", args=[scope.pk])

    first = rows_of(editor_client.get(url).content.decode())
    assert len(first) == ADDRESSES_PER_PAGE
    assert first["172.16.0.0"] == "network"

    page = editor_client.get(url, {"page": 11}).content.decode()
    rows = rows_of(page)
    assert min(rows, key=lambda ip: ipaddress.IPv4Address(ip)) == "172.16.10.0"
    assert rows["172.16.10.249"] == "free" and rows["172.16.10.250"] == "pool"
    assert "page 11 of 256" in page

    last = rows_of(editor_client.get(url, {"page": 256}).content.decode())
    assert last["172.16.255.255"] == "broadcast"
    assert rows_of(editor_client.get(url, {"page": 257}).content.decode()) == last
    assert rows_of(editor_client.get(url, {"page": "x"}).content.decode()) == first


def test_it_goes_to_the_page_of_an_address(editor_client, server):
    scope = services.scope_create(server=server, network="172.16.0.0/16")
    url = reverse("failover:scope_detail", args=[scope.pk])
    rows = rows_of(editor_client.get(url, {"ip": "172.16.200.7"}).content.decode())
    assert "172.16.200.7" in rows and "172.16.200.0" in rows
    outside = editor_client.get(url, {"ip": "10.0.0.1"})
    assert outside.status_code == 200
    assert "10.0.0.1 is not an address of this scope." in outside.content.decode()
    assert editor_client.get(url, {"ip": "not-an-ip"}).status_code == 200


def test_the_address_range_never_materializes_the_network():
    addresses = AddressRange(ipaddress.IPv4Network("10.0.0.0/8"))
    assert len(addresses) == 2**24
    assert addresses[2**24 - 1] == ipaddress.IPv4Address("10.255.255.255")
    assert addresses[256:258] == [
        ipaddress.IPv4Address("10.0.1.0"),
        ipaddress.IPv4Address("10.0.1.1"),
    ]
    with pytest.raises(IndexError):
        addresses[2**24]


def test_address_rows_mark_the_first_address_of_each_pool(pool):
    network = pool.scope.ip_network
    rows = address_rows(network, list(AddressRange(network)[98:102]), [pool])
    assert [(str(r.ip), r.state, r.pool_start) for r in rows] == [
        ("10.10.0.98", "free", False),
        ("10.10.0.99", "free", False),
        ("10.10.0.100", "pool", True),
        ("10.10.0.101", "pool", False),
    ]


def test_scope_detail_queries_do_not_grow_with_pools_or_page_size(editor_client, server):
    scope = services.scope_create(server=server, network="10.30.0.0/22")
    services.pool_create(scope=scope, first_address="10.30.0.10", last_address="10.30.0.20")
    peer = services.peer_create(server=server, name="fo", **PRIMARY).peer
    url = reverse("failover:scope_detail", args=[scope.pk])
    count_queries(editor_client, url)
    few = count_queries(editor_client, url)
    for i in range(1, 30):
        services.pool_create(
            scope=scope,
            first_address=f"10.30.{i // 8}.{30 * (i % 8) + 1}",
            last_address=f"10.30.{i // 8}.{30 * (i % 8) + 20}",
            failover_peer=peer,
        )
    assert AddressPool.objects.filter(scope=scope).count() == 30
    assert count_queries(editor_client, url) == few
    assert count_queries(editor_client, url + "?page=4") == few


# --- Add Scope / Edit / Delete --------------------------------------------------------------


def test_it_shows_add_scope_as_a_page_and_a_partial(editor_client, server):
    url = reverse("failover:scope_create", args=[server.pk])
    page = editor_client.get(url)
    assert b"<html" in page.content and b"Add Scope" in page.content
    partial = editor_client.get(url, headers=HX)
    assert b"<html" not in partial.content
    assert b'id="modal-title">Add Scope<' in partial.content
    label = re.search(r'<label\s+for="id_network"[^>]*>\s*(\w+)', partial.content.decode())
    assert label.group(1) == "Network"


def test_it_adds_a_scope(editor_client, server):
    response = editor_client.post(
        reverse("failover:scope_create", args=[server.pk]),
        {"network": "10.20.0.0/24", "name": "Lab", "routers": "10.20.0.1"},
        headers=HX,
    )
    scope = Scope.objects.get(network="10.20.0.0/24")
    assert response["HX-Redirect"] == reverse("failover:scope_detail", args=[scope.pk])
    assert scope.server == server and scope.routers == "10.20.0.1"


@pytest.mark.parametrize(
    "data,field_error",
    [
        ({"network": "10.10.0.0/24"}, "This server already has a scope for this network."),
        ({"network": "10.10.0.0/23"}, "Overlaps scope 10.10.0.0/24 on this server."),
        ({"network": "10.20.0.5/24"}, "has host bits set"),
        ({"network": "10.20.0.0/24", "routers": "10.20.0.1, nope"}, "is not a valid IPv4"),
        (
            {"network": "10.20.0.0/24", "default_lease_time": "900", "max_lease_time": "60"},
            "cannot exceed the max lease time",
        ),
    ],
)
def test_it_rerenders_invalid_scopes(editor_client, scope, data, field_error):
    response = editor_client.post(
        reverse("failover:scope_create", args=[scope.server_id]), data, headers=HX
    )
    assert response.status_code == 200
    assert field_error in html_lib.unescape(response.content.decode())
    assert Scope.objects.count() == 1


def test_it_edits_a_scope_and_refuses_to_strand_its_pools(editor_client, pool):
    url = reverse("failover:scope_edit", args=[pool.scope_id])
    ok = editor_client.post(url, {"network": "10.10.0.0/24", "name": "HQ"}, headers=HX)
    assert ok["HX-Refresh"] == "true"
    assert Scope.objects.get().name == "HQ"
    bad = editor_client.post(url, {"network": "10.10.0.0/25", "name": "HQ"})
    assert bad.status_code == 200
    assert "would fall outside" in bad.content.decode()
    assert Scope.objects.get().network == "10.10.0.0/24"


def test_it_lists_pools_and_peers_that_go_with_a_scope(editor_client, primary_peer):
    scope = primary_peer.pools.get().scope
    url = reverse("failover:scope_delete", args=[scope.pk])
    html = editor_client.get(url, headers=HX).content.decode()
    assert "10.10.0.100–10.10.0.150" in html
    assert 'data-testid="peers-deleted-warning"' in html and "fo-pair" in html
    response = editor_client.post(url, headers=HX)
    assert response["HX-Redirect"] == reverse("failover:server_detail", args=[scope.server_id])
    assert not Scope.objects.exists()
    assert not FailoverPeer.objects.exists()


def test_it_deletes_a_scope_from_a_plain_page(editor_client, scope):
    response = editor_client.post(reverse("failover:scope_delete", args=[scope.pk]))
    assert response.status_code == 302
    assert not Scope.objects.exists()
