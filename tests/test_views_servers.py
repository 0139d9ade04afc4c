"""Servers: the list, a server's page, and the Add Server / Edit / Delete dialogs.

Each change endpoint is tried by an anonymous user (login), a read-only user (403, also from
htmx) and an editor (works as a full page and as an htmx partial); plus CSRF and query counts.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from failover import services, versioning
from failover.models import ChangeRecord, DhcpServer
from tests.conftest import PRIMARY

HX = {"HX-Request": "true"}


def is_full_page(response) -> bool:
    return b"<html" in response.content


def count_queries(client, url: str) -> int:
    """The queries of one request, with nothing kept from earlier ones (the worst case)."""
    versioning.clear()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def add_servers(start: int, count: int) -> None:
    for i in range(start, start + count):
        server = services.server_create(name=f"srv-{i}", address=f"192.0.2.{100 + i}")
        scope = services.scope_create(server=server, network=f"10.{i}.0.0/24")
        services.pool_create(scope=scope, first_address=f"10.{i}.0.10", last_address=f"10.{i}.0.20")
        services.peer_create(
            server=server, name="pair", **dict(PRIMARY, address=f"192.0.2.{100 + i}")
        )


# --- access: every change endpoint ----------------------------------------------------------

ENDPOINTS = [
    ("failover:server_create", False),
    ("failover:server_edit", True),
    ("failover:server_delete", True),
]


def endpoint_url(name: str, needs_pk: bool, server: DhcpServer) -> str:
    return reverse(name, args=[server.pk] if needs_pk else [])


@pytest.mark.parametrize("name,needs_pk", ENDPOINTS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_users_to_login(client, server, name, needs_pk, method):
    url = endpoint_url(name, needs_pk, server)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    htmx = getattr(client, method)(url, headers=HX)
    assert htmx.status_code == 200
    assert htmx["HX-Redirect"].startswith(reverse("login") + "?next=")
    assert DhcpServer.objects.filter(pk=server.pk).exists()


@pytest.mark.parametrize("name,needs_pk", ENDPOINTS)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_it_forbids_read_only_users(viewer_client, server, name, needs_pk, method, headers):
    url = endpoint_url(name, needs_pk, server)
    data = {"name": "changed", "address": "192.0.2.9"} if method == "post" else None
    response = getattr(viewer_client, method)(url, data, headers=headers)
    assert response.status_code == 403
    server.refresh_from_db()
    assert server.name == "dhcp-a"
    assert DhcpServer.objects.count() == 1


def test_it_needs_a_login_for_the_pages(client, server):
    for url in (reverse("failover:server_list"), reverse("failover:server_detail", args=[1])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


# --- list and detail ------------------------------------------------------------------------


def test_it_lists_servers_with_their_counts(editor_client, primary_peer):
    response = editor_client.get(reverse("failover:server_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="server-row-dhcp-a"' in html
    row = html[html.index('data-testid="server-row-dhcp-a"') :]
    assert re.search(r'data-testid="scope-count">1<', row)
    assert re.search(r'data-testid="pool-count">1<', row)
    assert re.search(r'data-testid="peer-count">1<', row)
    assert "Add Server" in html
    assert "Manage Failover Peers" in html


def test_it_hides_change_buttons_from_read_only_users(viewer_client, primary_peer):
    html = viewer_client.get(reverse("failover:server_list")).content.decode()
    assert "Add Server" not in html
    assert reverse("failover:server_edit", args=[primary_peer.server_id]) not in html
    assert "Manage Failover Peers" in html  # reading the peers is allowed
    detail = viewer_client.get(
        reverse("failover:server_detail", args=[primary_peer.server_id])
    ).content.decode()
    assert "Add Scope" not in detail
    assert "Create Address Pool" not in detail
    assert "Manage Failover Peers" in detail


def test_it_shows_a_servers_scopes_pools_and_peers(editor_client, primary_peer):
    server = primary_peer.server
    response = editor_client.get(reverse("failover:server_detail", args=[server.pk]))
    html = response.content.decode()
    assert "10.10.0.0/24" in html and "Office" in html
    assert "10.10.0.100–10.10.0.150" in html
    assert 'data-testid="peer-summary-fo-pair"' in html
    assert "Add Scope" in html and "Manage Failover Peers" in html
    # The server's context menu (right-click on the heading) offers Manage Failover Peers.
    heading = re.search(r'id="server-heading"\s+data-menu="([^"]*)"', html).group(1)
    assert "Manage Failover Peers" in heading
    assert reverse("failover:peer_list", args=[server.pk]) in heading


def test_it_answers_404_for_an_unknown_server(editor_client, db):
    assert editor_client.get(reverse("failover:server_detail", args=[999])).status_code == 404


def test_server_list_queries_do_not_grow_with_rows(editor_client, db):
    add_servers(1, 2)
    url = reverse("failover:server_list")
    count_queries(editor_client, url)  # warm the session
    few = count_queries(editor_client, url)
    add_servers(3, 6)
    assert count_queries(editor_client, url) == few


def test_server_detail_queries_do_not_grow_with_rows(editor_client, primary_peer):
    server = primary_peer.server
    url = reverse("failover:server_detail", args=[server.pk])
    count_queries(editor_client, url)
    few = count_queries(editor_client, url)
    for i in range(1, 6):
        scope = services.scope_create(server=server, network=f"10.20.{i}.0/24", name=f"s{i}")
        for j in range(3):
            services.pool_create(
                scope=scope,
                first_address=f"10.20.{i}.{10 + 10 * j}",
                last_address=f"10.20.{i}.{15 + 10 * j}",
                failover_peer=primary_peer,
            )
        services.peer_create(
            server=server, name=f"extra-{i}", **dict(PRIMARY, peer_address=f"192.0.2.{50 + i}")
        )
    assert count_queries(editor_client, url) == few


# --- Add Server -----------------------------------------------------------------------------


def test_it_shows_add_server_as_a_page_and_as_a_partial(editor_client, db):
    url = reverse("failover:server_create")
    page = editor_client.get(url)
    assert page.status_code == 200 and is_full_page(page)
    assert "Add Server" in page.content.decode()
    partial = editor_client.get(url, headers=HX)
    assert partial.status_code == 200 and not is_full_page(partial)
    html = partial.content.decode()
    assert 'id="modal-title">Add Server<' in html
    assert f'hx-post="{url}"' in html and 'hx-target="#modal-content"' in html


def test_it_adds_a_server_from_a_plain_page(editor_client, editor):
    response = editor_client.post(
        reverse("failover:server_create"), {"name": "dhcp-new", "address": "192.0.2.7"}
    )
    server = DhcpServer.objects.get(name="dhcp-new")
    assert response.status_code == 302
    assert response["Location"] == reverse("failover:server_detail", args=[server.pk])
    assert ChangeRecord.objects.filter(action="server_create", user=editor).exists()
    follow = editor_client.get(response["Location"])
    assert "Added server dhcp-new." in follow.content.decode()


def test_it_adds_a_server_from_the_modal(editor_client, db):
    response = editor_client.post(
        reverse("failover:server_create"),
        {"name": "dhcp-new", "address": "dhcp-new.example.org"},
        headers=HX,
    )
    server = DhcpServer.objects.get(name="dhcp-new")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("failover:server_detail", args=[server.pk])
    assert "closeModal" in response["HX-Trigger"]


@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_it_rerenders_invalid_input_beside_the_field(editor_client, server, headers):
    response = editor_client.post(
        reverse("failover:server_create"),
        {"name": 'bad"; name', "address": "300.1.2.3"},
        headers=headers,
    )
    assert response.status_code == 200
    assert is_full_page(response) == (headers == {})
    html = response.content.decode()
    assert "Use only letters, digits" in html
    assert "is not a valid IPv4 address" in html
    assert 'id="id_name"' in html and "is-invalid" in html
    assert DhcpServer.objects.count() == 1


def test_it_rejects_a_duplicate_name(editor_client, server):
    response = editor_client.post(
        reverse("failover:server_create"), {"name": "dhcp-a", "address": "192.0.2.9"}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert DhcpServer.objects.count() == 1


def test_it_treats_an_empty_post_as_invalid_input(editor_client, db):
    response = editor_client.post(reverse("failover:server_create"), {}, headers=HX)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not DhcpServer.objects.exists()


# --- Edit / Delete --------------------------------------------------------------------------


def test_it_edits_a_server(editor_client, server):
    url = reverse("failover:server_edit", args=[server.pk])
    form = editor_client.get(url, headers=HX).content.decode()
    assert 'value="dhcp-a"' in form
    response = editor_client.post(
        url,
        {"name": "dhcp-a2", "address": "192.0.2.1", "description": "Main", "omapi_port": "7911"},
        headers=HX,
    )
    assert response.status_code == 200 and response["HX-Refresh"] == "true"
    server.refresh_from_db()
    assert (server.name, server.description, server.omapi_port) == ("dhcp-a2", "Main", 7911)


def test_it_keeps_a_server_unchanged_on_invalid_edit(editor_client, server):
    response = editor_client.post(
        reverse("failover:server_edit", args=[server.pk]),
        {"name": "dhcp-a", "address": "192.0.2.1", "omapi_port": "70000"},
    )
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 65535." in response.content.decode()
    server.refresh_from_db()
    assert server.omapi_port is None


def test_it_lists_what_goes_with_a_server_before_deleting(editor_client, primary_peer):
    server = primary_peer.server
    url = reverse("failover:server_delete", args=[server.pk])
    html = editor_client.get(url, headers=HX).content.decode()
    assert "10.10.0.0/24" in html
    assert "10.10.0.100–10.10.0.150" in html
    assert "fo-pair" in html
    assert DhcpServer.objects.filter(pk=server.pk).exists()


def test_it_deletes_a_server_with_everything_on_it(editor_client, primary_peer):
    server = primary_peer.server
    response = editor_client.post(reverse("failover:server_delete", args=[server.pk]), headers=HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("failover:server_list")
    assert not DhcpServer.objects.exists()


def test_it_deletes_from_a_plain_page(editor_client, server):
    response = editor_client.post(reverse("failover:server_delete", args=[server.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("failover:server_list")
    assert not DhcpServer.objects.exists()


# --- CSRF -----------------------------------------------------------------------------------


def csrf_token_of(html: str) -> str:
    return re.search(r'"x-csrftoken": "([^"]+)"', html).group(1)


def test_htmx_posts_need_the_csrf_token_from_the_page(editor, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    page = client.get(reverse("failover:server_list"))
    token = csrf_token_of(page.content.decode())
    url = reverse("failover:server_create")
    data = {"name": "dhcp-csrf", "address": "192.0.2.8"}

    refused = client.post(url, data, headers=HX)
    assert refused.status_code == 403
    assert not DhcpServer.objects.exists()

    accepted = client.post(url, data, headers={**HX, "X-CSRFToken": token})
    assert accepted.status_code == 200
    assert DhcpServer.objects.filter(name="dhcp-csrf").exists()


def test_plain_form_posts_carry_the_csrf_token(editor, db):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    url = reverse("failover:server_create")
    html = client.get(url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(
        url, {"name": "dhcp-form", "address": "192.0.2.8", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert DhcpServer.objects.filter(name="dhcp-form").exists()


# --- the relationship page -------------------------------------------------------------------


def test_relationship_page_shows_both_sides_and_is_linked(client, django_user_model):
    from failover.models import FailoverPeer
    from tests.dhcpd.conftest import build_pair

    user = django_user_model.objects.create_user("reader", password="pw-reader-1")
    client.force_login(user)
    a, b = build_pair(
        a_address="10.20.0.1",
        b_address="10.20.0.2",
        networks=("10.20.1.0/24",),
        mclt=1800,
    )
    primary = FailoverPeer.objects.get(server=a)
    secondary = FailoverPeer.objects.get(server=b)
    listing = client.get(reverse("failover:relationship_list")).content.decode()
    url = reverse("failover:relationship_detail", args=[primary.pk])
    assert f'href="{url}"' in listing
    for pk in (primary.pk, secondary.pk):  # either side's declaration names the page
        page = client.get(reverse("failover:relationship_detail", args=[pk]))
        assert page.status_code == 200
        text = page.content.decode()
        assert a.name in text and b.name in text
        assert "1800" in text  # the primary's mclt
        assert 'data-testid="relationship-numbers"' in text


def test_relationship_page_of_unknown_peer_is_404(client, django_user_model):
    user = django_user_model.objects.create_user("reader", password="pw-reader-1")
    client.force_login(user)
    assert client.get(reverse("failover:relationship_detail", args=[999999])).status_code == 404
