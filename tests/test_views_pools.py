"""The `DHCP Address Pool` dialog, its `New Failover Peer` detour, edit and delete.

The seed's flow at the HTTP level, both as htmx partials and as plain pages; the first-peer
rule as the user sees it; the last-referrer warning.
"""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from failover import services
from failover.forms import NEW_PEER
from failover.models import AddressPool, FailoverPeer
from tests.conftest import PRIMARY, SECONDARY

HX = {"HX-Request": "true"}


def post_peer(**overrides) -> dict[str, str]:
    values = dict(PRIMARY, name="fo-new", **overrides)
    return {key: "" if value is None else str(value) for key, value in values.items()}


def text(response) -> str:
    return html_lib.unescape(response.content.decode())


def title_of(response) -> str:
    return re.search(r'id="modal-title">([^<]*)<', response.content.decode()).group(1)


def value_of(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def selected_peer(html: str) -> str:
    select = re.search(r'<select name="failover_peer".*?</select>', html, re.S).group(0)
    return re.search(r'<option value="([^"]*)"[^>]*selected', select).group(1)


# --- access ---------------------------------------------------------------------------------


def endpoints(pool: AddressPool) -> list[str]:
    return [
        reverse("failover:pool_create", args=[pool.scope_id]),
        reverse("failover:peer_create_for_pool", args=[pool.scope_id]),
        reverse("failover:pool_edit", args=[pool.pk]),
        reverse("failover:pool_delete", args=[pool.pk]),
    ]


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_sends_anonymous_users_to_login(client, pool, method):
    for url in endpoints(pool):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        htmx = getattr(client, method)(url, headers=HX)
        assert htmx["HX-Redirect"].startswith("/accounts/login/"), url


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_it_forbids_read_only_users(viewer_client, pool, method, headers):
    data = {"first_address": "10.10.0.10", "last_address": "10.10.0.20", **post_peer()}
    for url in endpoints(pool):
        response = getattr(viewer_client, method)(
            url, data if method == "post" else None, headers=headers
        )
        assert response.status_code == 403, url
    assert AddressPool.objects.count() == 1
    assert not FailoverPeer.objects.exists()


def test_it_offers_add_new_failover_peer_only_to_users_who_may_add_peers(client, pool):
    user = User.objects.create_user("pools-only")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["add_addresspool", "view_addresspool"])
    )
    client.force_login(user)
    url = reverse("failover:pool_create", args=[pool.scope_id])
    assert "Add new failover peer" not in text(client.get(url, headers=HX))
    response = client.post(
        url,
        {"first_address": "10.10.0.10", "last_address": "10.10.0.20", "failover_peer": NEW_PEER},
        headers=HX,
    )
    assert response.status_code == 200
    assert "Select a valid choice" in text(response)
    assert AddressPool.objects.count() == 1
    peer_url = reverse("failover:peer_create_for_pool", args=[pool.scope_id])
    assert client.get(peer_url, headers=HX).status_code == 403


# --- the DHCP Address Pool dialog -----------------------------------------------------------


def test_create_address_pool_opens_the_dialog_with_the_first_address(editor_client, primary_peer):
    scope = primary_peer.pools.get().scope
    url = reverse("failover:pool_create", args=[scope.pk]) + "?first=10.10.0.5"
    response = editor_client.get(url, headers=HX)
    html = text(response)
    assert response.status_code == 200 and "<html" not in html
    assert title_of(response) == "DHCP Address Pool"
    assert value_of(html, "first_address") == "10.10.0.5"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', html)
    assert options == [
        ("", "No failover peer"),
        (str(primary_peer.pk), "fo-pair"),
        (NEW_PEER, "Add new failover peer"),
    ]
    assert ">OK<" in html and ">Cancel<" in html
    page = editor_client.get(url)
    assert b"<html" in page.content and b"DHCP Address Pool" in page.content


def test_it_creates_a_pool_from_the_modal(editor_client, primary_peer):
    scope = primary_peer.pools.get().scope
    response = editor_client.post(
        reverse("failover:pool_create", args=[scope.pk]),
        {
            "first_address": "10.10.0.10",
            "last_address": "10.10.0.20",
            "failover_peer": primary_peer.pk,
        },
        headers=HX,
    )
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true" and "closeModal" in response["HX-Trigger"]
    pool = AddressPool.objects.get(first_address="10.10.0.10")
    assert pool.failover_peer == primary_peer and pool.last_address == "10.10.0.20"


def test_it_creates_a_pool_from_a_plain_page(editor_client, scope):
    response = editor_client.post(
        reverse("failover:pool_create", args=[scope.pk]),
        {"first_address": "10.10.0.10", "last_address": "10.10.0.20", "failover_peer": ""},
    )
    assert response.status_code == 302
    assert (
        response["Location"] == reverse("failover:scope_detail", args=[scope.pk]) + "?ip=10.10.0.10"
    )
    assert AddressPool.objects.get().failover_peer is None


@pytest.mark.parametrize(
    "first,last,message",
    [
        ("10.10.0.10", "10.10.0.5", "The last address must not be lower than the first."),
        ("10.10.0.10", "10.10.1.5", "10.10.1.5 is outside the scope 10.10.0.0/24."),
        ("10.10.0.0", "10.10.0.5", "is the network address"),
        ("10.10.0.120", "10.10.0.130", "Overlaps the pool 10.10.0.100-10.10.0.150."),
        ("10.10.0.x", "10.10.0.5", "Enter a valid IPv4 address."),
    ],
)
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_it_rerenders_an_invalid_pool(editor_client, pool, first, last, message, headers):
    response = editor_client.post(
        reverse("failover:pool_create", args=[pool.scope_id]),
        {"first_address": first, "last_address": last, "failover_peer": ""},
        headers=headers,
    )
    assert response.status_code == 200
    assert message in text(response)
    assert "is-invalid" in text(response)
    assert AddressPool.objects.count() == 1


# --- Add new failover peer and back ---------------------------------------------------------


def test_the_seed_flow_with_htmx(editor_client, pool):
    """Choose `Add new failover peer`, OK -> `New Failover Peer`, OK -> back in `DHCP Address
    Pool` with the addresses and the new peer selected, OK -> the pool exists."""
    scope = pool.scope
    pool_url = reverse("failover:pool_create", args=[scope.pk])
    entered = {"first_address": "10.10.0.10", "last_address": "10.10.0.20"}

    to_peer = editor_client.post(pool_url, {**entered, "failover_peer": NEW_PEER}, headers=HX)
    assert to_peer.status_code == 200
    assert title_of(to_peer) == "New Failover Peer"
    html = text(to_peer)
    assert value_of(html, "first") == "10.10.0.10" and value_of(html, "last") == "10.10.0.20"
    for label in ("Max Client Lead Time", "Split Index", "Load Balance Max Seconds"):
        assert label in html
    assert "all 1 address pool on the server will be updated to refer to it" in html
    assert AddressPool.objects.count() == 1 and not FailoverPeer.objects.exists()

    peer_url = reverse("failover:peer_create_for_pool", args=[scope.pk])
    back = editor_client.post(
        peer_url, {**post_peer(), "first": "10.10.0.10", "last": "10.10.0.20"}, headers=HX
    )
    assert back.status_code == 200
    assert title_of(back) == "DHCP Address Pool"
    peer = FailoverPeer.objects.get(name="fo-new")
    html = text(back)
    assert value_of(html, "first_address") == "10.10.0.10"
    assert value_of(html, "last_address") == "10.10.0.20"
    assert selected_peer(html) == str(peer.pk)
    # The first-peer rule, told to the user: the existing pool now refers to the new peer.
    assert "1 other address pool now refers to fo-new." in html
    pool.refresh_from_db()
    assert pool.failover_peer == peer

    done = editor_client.post(pool_url, {**entered, "failover_peer": peer.pk}, headers=HX)
    assert done["HX-Refresh"] == "true"
    assert AddressPool.objects.get(first_address="10.10.0.10").failover_peer == peer


def test_the_seed_flow_without_javascript(editor_client, pool):
    scope = pool.scope
    pool_url = reverse("failover:pool_create", args=[scope.pk])
    to_peer = editor_client.post(
        pool_url,
        {"first_address": "10.10.0.10", "last_address": "10.10.0.20", "failover_peer": NEW_PEER},
    )
    assert to_peer.status_code == 302
    peer_page_url = to_peer["Location"]
    assert peer_page_url.startswith(reverse("failover:peer_create_for_pool", args=[scope.pk]))
    peer_page = editor_client.get(peer_page_url)
    assert b"<html" in peer_page.content
    assert title_of(peer_page) == "New Failover Peer"
    assert value_of(text(peer_page), "first") == "10.10.0.10"

    created = editor_client.post(
        reverse("failover:peer_create_for_pool", args=[scope.pk]),
        {**post_peer(), "first": "10.10.0.10", "last": "10.10.0.20"},
    )
    peer = FailoverPeer.objects.get(name="fo-new")
    assert created.status_code == 302
    back = editor_client.get(created["Location"])
    html = text(back)
    assert title_of(back) == "DHCP Address Pool"
    assert value_of(html, "first_address") == "10.10.0.10"
    assert value_of(html, "last_address") == "10.10.0.20"
    assert selected_peer(html) == str(peer.pk)
    assert "1 other address pool now refers to fo-new." in html

    editor_client.post(
        pool_url,
        {"first_address": "10.10.0.10", "last_address": "10.10.0.20", "failover_peer": peer.pk},
    )
    assert AddressPool.objects.get(first_address="10.10.0.10").failover_peer == peer


def test_an_invalid_new_peer_keeps_the_pool_addresses_and_creates_nothing(editor_client, scope):
    peer_url = reverse("failover:peer_create_for_pool", args=[scope.pk])
    response = editor_client.post(
        peer_url,
        {
            **post_peer(role="secondary", split="128", mclt=""),
            "first": "10.10.0.10",
            "last": "10.10.0.20",
        },
        headers=HX,
    )
    assert response.status_code == 200
    assert title_of(response) == "New Failover Peer"
    html = text(response)
    assert "Split Index is only specified on the primary failover peer." in html
    assert value_of(html, "first") == "10.10.0.10" and value_of(html, "last") == "10.10.0.20"
    assert not FailoverPeer.objects.exists()


def test_a_secondary_whose_primary_fields_were_disabled_is_created(editor_client, scope):
    data = {**post_peer(**SECONDARY), "first": "10.10.0.10", "last": "10.10.0.20"}
    for name in ("mclt", "split", "hba"):
        data.pop(name, None)
    response = editor_client.post(
        reverse("failover:peer_create_for_pool", args=[scope.pk]), data, headers=HX
    )
    assert title_of(response) == "DHCP Address Pool"
    peer = FailoverPeer.objects.get(name="fo-new")
    assert (peer.role, peer.mclt, peer.split) == ("secondary", None, None)


def test_cancel_in_the_peer_dialog_returns_to_the_pool_dialog_unchanged(editor_client, scope):
    to_peer = editor_client.post(
        reverse("failover:pool_create", args=[scope.pk]),
        {"first_address": "10.10.0.10", "last_address": "10.10.0.20", "failover_peer": NEW_PEER},
        headers=HX,
    )
    cancel = re.search(r'<a href="([^"]+)" hx-get="\1"[^>]*id="modal-cancel"', text(to_peer))
    back = editor_client.get(cancel.group(1), headers=HX)
    assert title_of(back) == "DHCP Address Pool"
    assert value_of(text(back), "first_address") == "10.10.0.10"
    assert value_of(text(back), "last_address") == "10.10.0.20"
    assert not FailoverPeer.objects.exists() and not AddressPool.objects.exists()


# --- editing: the last-referrer warning -----------------------------------------------------


@pytest.fixture
def two_peers(primary_peer, scope):
    """fo-pair is referred to by the fixture pool only; other-pair by a second pool."""
    other = services.peer_create(
        server=scope.server, name="other-pair", **dict(PRIMARY, peer_address="192.0.2.3")
    ).peer
    services.pool_create(
        scope=scope, first_address="10.10.0.200", last_address="10.10.0.210", failover_peer=other
    )
    return primary_peer, other


def test_changing_the_last_referrer_warns_and_changes_nothing(editor_client, two_peers):
    old, other = two_peers
    pool = old.pools.get()
    url = reverse("failover:pool_edit", args=[pool.pk])
    data = {
        "first_address": pool.first_address,
        "last_address": pool.last_address,
        "failover_peer": other.pk,
    }
    response = editor_client.post(url, data, headers=HX)
    assert response.status_code == 200
    html = text(response)
    assert 'data-testid="last-referrer-warning"' in html
    assert "this change will delete that failover peer" in html and "fo-pair" in html
    assert value_of(html, "confirm_peer_deletion") == "1"
    pool.refresh_from_db()
    assert pool.failover_peer == old
    assert FailoverPeer.objects.filter(pk=old.pk).exists()


def test_confirming_changes_the_pool_and_deletes_the_old_peer(editor_client, two_peers):
    old, other = two_peers
    pool = old.pools.get()
    response = editor_client.post(
        reverse("failover:pool_edit", args=[pool.pk]),
        {
            "first_address": pool.first_address,
            "last_address": pool.last_address,
            "failover_peer": other.pk,
            "confirm_peer_deletion": "1",
        },
        headers=HX,
    )
    assert response["HX-Refresh"] == "true"
    pool.refresh_from_db()
    assert pool.failover_peer == other
    assert not FailoverPeer.objects.filter(pk=old.pk).exists()


def test_editing_without_a_peer_change_needs_no_confirmation(editor_client, primary_peer):
    pool = primary_peer.pools.get()
    response = editor_client.post(
        reverse("failover:pool_edit", args=[pool.pk]),
        {
            "first_address": "10.10.0.90",
            "last_address": pool.last_address,
            "failover_peer": primary_peer.pk,
        },
    )
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.first_address == "10.10.0.90"


def test_the_edit_dialog_shows_the_pool(editor_client, primary_peer):
    pool = primary_peer.pools.get()
    response = editor_client.get(reverse("failover:pool_edit", args=[pool.pk]), headers=HX)
    html = text(response)
    assert title_of(response) == "DHCP Address Pool"
    assert value_of(html, "first_address") == "10.10.0.100"
    assert selected_peer(html) == str(primary_peer.pk)
    assert f'<option value="{NEW_PEER}">Add new failover peer</option>' in html


def test_editing_a_pool_can_take_the_new_peer_detour(editor_client, primary_peer):
    """Edit -> `Add new failover peer` -> `New Failover Peer` OK -> back in the edit dialog
    with the new peer selected -> OK: the last-referrer warning for the old peer."""
    pool = primary_peer.pools.get()
    edit_url = reverse("failover:pool_edit", args=[pool.pk])
    entered = {"first_address": "10.10.0.100", "last_address": "10.10.0.140"}
    to_peer = editor_client.post(edit_url, {**entered, "failover_peer": NEW_PEER}, headers=HX)
    assert title_of(to_peer) == "New Failover Peer"
    assert value_of(text(to_peer), "pool") == str(pool.pk)
    pool.refresh_from_db()
    assert pool.last_address == "10.10.0.150"  # nothing changed yet

    back = editor_client.post(
        reverse("failover:peer_create_for_pool", args=[pool.scope_id]),
        {
            **post_peer(peer_address="192.0.2.3"),
            "first": "10.10.0.100",
            "last": "10.10.0.140",
            "pool": pool.pk,
        },
        headers=HX,
    )
    new = FailoverPeer.objects.get(name="fo-new")
    html = text(back)
    assert title_of(back) == "DHCP Address Pool"
    assert f'hx-post="{edit_url}"' in html
    assert value_of(html, "last_address") == "10.10.0.140"
    assert selected_peer(html) == str(new.pk)

    warned = editor_client.post(edit_url, {**entered, "failover_peer": new.pk}, headers=HX)
    assert 'data-testid="last-referrer-warning"' in text(warned)
    confirmed = editor_client.post(
        edit_url,
        {**entered, "failover_peer": new.pk, "confirm_peer_deletion": "1"},
        headers=HX,
    )
    assert confirmed["HX-Refresh"] == "true"
    pool.refresh_from_db()
    assert (pool.failover_peer, pool.last_address) == (new, "10.10.0.140")
    assert list(FailoverPeer.objects.values_list("name", flat=True)) == ["fo-new"]


def test_the_edit_detour_works_without_javascript(editor_client, primary_peer):
    pool = primary_peer.pools.get()
    edit_url = reverse("failover:pool_edit", args=[pool.pk])
    to_peer = editor_client.post(
        edit_url,
        {"first_address": "10.10.0.100", "last_address": "10.10.0.150", "failover_peer": NEW_PEER},
    )
    assert to_peer.status_code == 302 and f"pool={pool.pk}" in to_peer["Location"]
    created = editor_client.post(
        reverse("failover:peer_create_for_pool", args=[pool.scope_id]),
        {
            **post_peer(peer_address="192.0.2.3"),
            "first": "10.10.0.100",
            "last": "10.10.0.150",
            "pool": pool.pk,
        },
    )
    assert created["Location"].startswith(edit_url + "?")
    back = editor_client.get(created["Location"])
    assert selected_peer(text(back)) == str(FailoverPeer.objects.get(name="fo-new").pk)


# --- delete ---------------------------------------------------------------------------------


def test_deleting_the_last_referrer_lists_the_peer_that_goes(editor_client, primary_peer):
    pool = primary_peer.pools.get()
    url = reverse("failover:pool_delete", args=[pool.pk])
    html = text(editor_client.get(url, headers=HX))
    assert 'data-testid="peers-deleted-warning"' in html and "fo-pair" in html
    assert AddressPool.objects.exists()
    response = editor_client.post(url, headers=HX)
    assert response["HX-Refresh"] == "true"
    assert not AddressPool.objects.exists() and not FailoverPeer.objects.exists()


def test_it_deletes_a_pool_from_a_plain_page(editor_client, pool):
    response = editor_client.post(reverse("failover:pool_delete", args=[pool.pk]))
    assert response.status_code == 302
    assert not AddressPool.objects.exists()


def test_unknown_pools_are_404(editor_client, db):
    assert editor_client.get(reverse("failover:pool_edit", args=[99])).status_code == 404
    assert editor_client.post(reverse("failover:pool_delete", args=[99])).status_code == 404
