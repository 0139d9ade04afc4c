"""`Manage Failover Peers`: the `Failover Peers for <server>` dialog, Edit, and the three
Delete cases of the seed."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from failover import services
from failover.models import AddressPool, FailoverPeer
from tests.conftest import PRIMARY, SECONDARY

HX = {"HX-Request": "true"}


def text(response) -> str:
    """The page with entities decoded and runs of whitespace made one space."""
    return re.sub(r"\s+", " ", html_lib.unescape(response.content.decode()))


def title_of(response) -> str:
    return re.search(r'id="modal-title">([^<]*)<', response.content.decode()).group(1)


def post_peer(**overrides) -> dict[str, str]:
    values = {**PRIMARY, "name": "fo-pair", **overrides}
    return {key: "" if value is None else str(value) for key, value in values.items()}


def add_peer(server, name: str, n: int) -> FailoverPeer:
    return services.peer_create(
        server=server, name=name, **dict(SECONDARY, peer_address=f"192.0.2.{10 + n}")
    ).peer


def add_pools(scope, peer, count: int, start: int = 0) -> None:
    for i in range(start, start + count):
        services.pool_create(
            scope=scope,
            first_address=f"10.10.0.{2 + 4 * i}",
            last_address=f"10.10.0.{3 + 4 * i}",
            failover_peer=peer,
        )


# --- access ---------------------------------------------------------------------------------


def change_endpoints(peer: FailoverPeer) -> list[str]:
    return [
        reverse("failover:peer_create", args=[peer.server_id]),
        reverse("failover:peer_edit", args=[peer.pk]),
        reverse("failover:peer_delete", args=[peer.pk]),
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_users_to_login(client, primary_peer, method):
    urls = [*change_endpoints(primary_peer), reverse("failover:peer_list", args=[1])]
    for url in urls:
        if method == "post" and url.endswith("/peers/"):
            continue
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        htmx = getattr(client, method)(url, headers=HX)
        assert htmx["HX-Redirect"].startswith("/accounts/login/"), url


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_it_forbids_read_only_users(viewer_client, primary_peer, method, headers):
    data = post_peer(name="changed") if method == "post" else None
    for url in change_endpoints(primary_peer):
        response = getattr(viewer_client, method)(url, data, headers=headers)
        assert response.status_code == 403, url
    assert list(FailoverPeer.objects.values_list("name", flat=True)) == ["fo-pair"]
    assert AddressPool.objects.get().failover_peer == primary_peer


def test_read_only_users_see_the_list_without_edit_and_delete(viewer_client, primary_peer):
    response = viewer_client.get(
        reverse("failover:peer_list", args=[primary_peer.server_id]), headers=HX
    )
    html = text(response)
    assert response.status_code == 200
    assert title_of(response) == "Failover Peers for dhcp-a"
    assert 'data-testid="peer-row-fo-pair"' in html
    assert ">Edit<" not in html and ">Delete<" not in html
    selected = viewer_client.get(
        reverse("failover:peer_select", args=[primary_peer.server_id]),
        {"peer": primary_peer.pk, "action": "delete"},
        headers=HX,
    )
    assert selected.status_code == 403


# --- the list -------------------------------------------------------------------------------


def test_it_lists_every_peer_with_addresses_ports_and_pool_counts(editor_client, primary_peer):
    server = primary_peer.server
    other = add_peer(server, "standby", 1)
    add_pools(primary_peer.pools.get().scope, other, 2)
    url = reverse("failover:peer_list", args=[server.pk])
    response = editor_client.get(url, headers=HX)
    html = text(response)
    assert "<html" not in html
    assert title_of(response) == "Failover Peers for dhcp-a"
    row = html[html.index('data-testid="peer-row-fo-pair"') :]
    row = row[: row.index("</tr>")]
    assert "Primary" in row and "192.0.2.1:647" in row and "192.0.2.2:647" in row
    assert re.search(r'data-testid="peer-pool-count">1<', row)
    standby = html[html.index('data-testid="peer-row-standby"') :]
    assert re.search(r'data-testid="peer-pool-count">2<', standby[: standby.index("</tr>")])
    assert ">Edit<" in html and ">Delete<" in html
    page = editor_client.get(url)
    assert b"<html" in page.content and b"Failover Peers for dhcp-a" in page.content


def test_peer_list_queries_do_not_grow_with_rows(editor_client, primary_peer):
    server = primary_peer.server
    scope = primary_peer.pools.get().scope
    url = reverse("failover:peer_list", args=[server.pk])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert editor_client.get(url, headers=HX).status_code == 200
        return len(ctx.captured_queries)

    count()
    few = count()
    for n in range(1, 8):
        peer = add_peer(server, f"peer-{n}", n)
        add_pools(scope, peer, 2, start=2 * n)
    assert FailoverPeer.objects.count() == 8
    assert count() == few


def test_selecting_a_row_opens_edit_or_delete(editor_client, primary_peer):
    select = reverse("failover:peer_select", args=[primary_peer.server_id])
    edit = editor_client.get(select, {"peer": primary_peer.pk, "action": "edit"}, headers=HX)
    assert edit.status_code == 200 and title_of(edit) == "Failover Peer fo-pair Properties"
    delete = editor_client.get(select, {"peer": primary_peer.pk, "action": "delete"}, headers=HX)
    assert title_of(delete) == "Delete Failover Peer fo-pair"
    plain = editor_client.get(select, {"peer": primary_peer.pk, "action": "edit"})
    assert plain.status_code == 302
    assert plain["Location"] == reverse("failover:peer_edit", args=[primary_peer.pk])


@pytest.mark.parametrize("query", [{"action": "edit"}, {"peer": "x", "action": "delete"}, {}])
def test_selecting_nothing_asks_for_a_selection(editor_client, primary_peer, query):
    response = editor_client.get(
        reverse("failover:peer_select", args=[primary_peer.server_id]), query, headers=HX
    )
    assert response.status_code == 200
    assert "Select a failover peer first." in text(response)


def test_a_peer_of_another_server_cannot_be_selected(editor_client, primary_peer):
    other = services.server_create(name="dhcp-b", address="192.0.2.2")
    response = editor_client.get(
        reverse("failover:peer_select", args=[other.pk]),
        {"peer": primary_peer.pk, "action": "delete"},
        headers=HX,
    )
    assert "Select a failover peer first." in text(response)


# --- New Failover Peer from the list (first-peer rule) --------------------------------------


def test_the_first_peer_from_the_list_takes_all_pools(editor_client, pool):
    server = pool.scope.server
    url = reverse("failover:peer_create", args=[server.pk])
    form = editor_client.get(url, headers=HX)
    assert title_of(form) == "New Failover Peer"
    assert "all 1 address pool on the server will be updated to refer to it" in text(form)
    response = editor_client.post(url, post_peer(), headers=HX)
    assert title_of(response) == "Failover Peers for dhcp-a"
    html = text(response)
    assert "1 other address pool now refers to fo-pair." in html
    assert "data-refresh-on-close" in html
    pool.refresh_from_db()
    assert pool.failover_peer.name == "fo-pair"


# --- Edit -----------------------------------------------------------------------------------


def test_it_edits_a_peer_and_returns_to_the_list(editor_client, primary_peer):
    url = reverse("failover:peer_edit", args=[primary_peer.pk])
    response = editor_client.post(url, post_peer(port=648, max_response_delay=30), headers=HX)
    assert title_of(response) == "Failover Peers for dhcp-a"
    assert "Saved failover peer fo-pair." in text(response)
    primary_peer.refresh_from_db()
    assert (primary_peer.port, primary_peer.max_response_delay) == (648, 30)


def test_switching_to_secondary_drops_the_primary_fields(editor_client, primary_peer):
    data = post_peer(role="secondary")
    for name in ("mclt", "split", "hba"):
        data.pop(name, None)  # disabled on the page for a secondary
    editor_client.post(reverse("failover:peer_edit", args=[primary_peer.pk]), data, headers=HX)
    primary_peer.refresh_from_db()
    assert (primary_peer.role, primary_peer.mclt, primary_peer.split) == ("secondary", None, None)


@pytest.mark.parametrize(
    "overrides,field,message",
    [
        ({"role": "secondary"}, "mclt", "is only specified on the primary failover peer"),
        ({"hba": ":".join(["ff"] * 32)}, "hba", "Give either the split index or the hba"),
        ({"split": "300"}, "split", "less than or equal to 256"),
        ({"port": "0"}, "port", "greater than or equal to 1"),
        ({"peer_address": "192.0.2.1"}, "peer_address", "must differ from the address"),
        ({"name": 'x"; }'}, "name", "Use only letters, digits"),
        ({"hba": "ff:ff"}, "hba", "exactly 32 hex bytes"),
    ],
)
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_invalid_peer_edits_rerender_and_change_nothing(
    editor_client, primary_peer, overrides, field, message, headers
):
    url = reverse("failover:peer_edit", args=[primary_peer.pk])
    response = editor_client.post(url, post_peer(**overrides), headers=headers)
    assert response.status_code == 200
    html = text(response)
    assert message in html
    assert f'id="id_{field}"' in html
    assert title_of(response) == "Failover Peer fo-pair Properties"
    primary_peer.refresh_from_db()
    assert (primary_peer.name, primary_peer.role, primary_peer.split) == ("fo-pair", "primary", 128)


def test_advanced_errors_open_the_advanced_section(editor_client, primary_peer):
    response = editor_client.post(
        reverse("failover:peer_edit", args=[primary_peer.pk]),
        post_peer(max_lease_misbalance="10", max_lease_ownership="20"),
        headers=HX,
    )
    assert re.search(r'<details class="advanced[^"]*" id="peer-advanced" open>', text(response))


# --- Delete: the three cases of the seed ----------------------------------------------------


def test_deleting_the_last_peer_removes_the_references(editor_client, primary_peer):
    pool = primary_peer.pools.get()
    url = reverse("failover:peer_delete", args=[primary_peer.pk])
    confirm = editor_client.get(url, headers=HX)
    html = text(confirm)
    assert 'data-testid="delete-case-remove"' in html
    assert "the references to it are removed from 1 address pool" in html
    assert "10.10.0.100–10.10.0.150" in html
    assert FailoverPeer.objects.exists()

    response = editor_client.post(url, headers=HX)
    assert title_of(response) == "Failover Peers for dhcp-a"
    assert "1 address pool no longer refers to a failover peer." in text(response)
    pool.refresh_from_db()
    assert pool.failover_peer is None and not FailoverPeer.objects.exists()


def test_deleting_with_one_other_peer_repoints_to_it(editor_client, primary_peer):
    server = primary_peer.server
    standby = add_peer(server, "standby", 1)
    url = reverse("failover:peer_delete", args=[primary_peer.pk])
    html = text(editor_client.get(url, headers=HX))
    assert 'data-testid="delete-case-repoint"' in html
    assert "will refer to <strong>standby</strong>" in html and "10.10.0.100–10.10.0.150" in html
    assert 'name="replacement"' not in html

    response = editor_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("failover:peer_list", args=[server.pk])
    assert AddressPool.objects.get().failover_peer == standby
    assert not FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


def test_deleting_with_two_other_peers_asks_which_one(editor_client, primary_peer):
    server = primary_peer.server
    first = add_peer(server, "first", 1)
    second = add_peer(server, "second", 2)
    url = reverse("failover:peer_delete", args=[primary_peer.pk])
    html = text(editor_client.get(url, headers=HX))
    assert 'data-testid="delete-case-choose"' in html
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', html)
    assert [label for _, label in options] == ["Choose a failover peer…", "first", "second"]

    # Nothing happens until one is chosen.
    for data in ({}, {"replacement": ""}, {"replacement": primary_peer.pk}, {"replacement": 999}):
        refused = editor_client.post(url, data, headers=HX)
        assert refused.status_code == 200
        assert title_of(refused) == "Delete Failover Peer fo-pair"
        assert "is-invalid" in text(refused)
        assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()
        assert AddressPool.objects.get().failover_peer == primary_peer

    response = editor_client.post(url, {"replacement": second.pk}, headers=HX)
    assert title_of(response) == "Failover Peers for dhcp-a"
    assert "1 address pool now refers to second." in text(response)
    assert AddressPool.objects.get().failover_peer == second
    assert set(FailoverPeer.objects.values_list("name", flat=True)) == {"first", "second"}
    assert first.pools.count() == 0


def test_a_replacement_from_another_server_is_refused(editor_client, primary_peer):
    server = primary_peer.server
    add_peer(server, "first", 1)
    add_peer(server, "second", 2)
    elsewhere = services.server_create(name="dhcp-b", address="192.0.2.2")
    foreign = add_peer(elsewhere, "foreign", 3)
    response = editor_client.post(
        reverse("failover:peer_delete", args=[primary_peer.pk]),
        {"replacement": foreign.pk},
        headers=HX,
    )
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()
