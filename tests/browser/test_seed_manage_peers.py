"""`Manage Failover Peers` in a browser: `Failover Peers for <server>` with pool counts,
`Edit`, and `Delete` in the seed's three cases (choose with two or more others, move to the
one other, remove from the pools with the last). Cancel changes nothing.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from failover import services
from failover.models import AddressPool, FailoverPeer
from tests.browser.seed_ui import (
    cancel,
    counts,
    dialog,
    expect_field_error,
    expect_no_dialog,
    field,
    ok,
    peer,
    pool,
    press,
)

pytestmark = pytest.mark.browser

LIST = "Failover Peers for dhcp-a"


@pytest.fixture
def three_peers(scope):
    """fo-a (the first peer, so the two pools made before it refer to it, plus one pool in a
    second scope), fo-b and fo-c with one pool each."""
    server = scope.server
    pool(scope, "10.10.0.10", "10.10.0.19")
    pool(scope, "10.10.0.20", "10.10.0.29")
    fo_a = peer(server, "fo-a", port=647)
    fo_b = peer(server, "fo-b", port=648)
    fo_c = peer(server, "fo-c", port=649)
    other_scope = services.scope_create(server=server, network="10.20.0.0/24", name="Lab")
    pool(other_scope, "10.20.0.10", "10.20.0.19", fo_a)
    pool(scope, "10.10.0.30", "10.10.0.39", fo_b)
    pool(scope, "10.10.0.40", "10.10.0.49", fo_c)
    return fo_a, fo_b, fo_c


def _peer_names_of_pools() -> dict[str, str | None]:
    return {
        p.first_address: (p.failover_peer.name if p.failover_peer else None)
        for p in AddressPool.objects.select_related("failover_peer")
    }


def _select(dlg, name: str) -> None:
    """Select a peer by clicking its row, as the seed says ("select it")."""
    dlg.get_by_test_id(f"peer-row-{name}").click()
    expect(dlg.get_by_label(f"Select failover peer {name}")).to_be_checked()
    expect(dlg.get_by_test_id(f"peer-row-{name}")).to_have_attribute("aria-selected", "true")


def _expect_pool_count(dlg, name: str, count: int) -> None:
    row = dlg.get_by_test_id(f"peer-row-{name}")
    expect(row.get_by_test_id("peer-pool-count")).to_have_text(str(count))


def test_delete_with_two_other_peers_asks_which_one_the_pools_refer_to(
    logged_in_page, live_url, server, three_peers
):
    fo_a, fo_b, fo_c = three_peers
    page = logged_in_page
    page.goto(f"{live_url}/servers/{server.pk}/")
    page.get_by_role("link", name="Manage Failover Peers", exact=True).click()

    dlg = dialog(page, LIST)
    rows = dlg.locator("#peer-table tbody tr")
    expect(rows).to_have_count(3)
    for name, count in (("fo-a", 3), ("fo-b", 1), ("fo-c", 1)):
        _expect_pool_count(dlg, name, count)
    row_a = dlg.get_by_test_id("peer-row-fo-a")
    expect(row_a).to_contain_text("Primary")
    expect(row_a).to_contain_text("192.0.2.1:647")
    expect(row_a).to_contain_text("192.0.2.2:647")
    expect(dlg.get_by_test_id("peer-row-fo-b")).to_contain_text("192.0.2.1:648")
    delete = dlg.get_by_role("button", name="Delete", exact=True)
    expect(delete).to_be_disabled()  # nothing selected yet
    expect(dlg.get_by_role("button", name="Edit", exact=True)).to_be_disabled()

    _select(dlg, "fo-a")
    expect(delete).to_be_enabled()
    press(dlg, "Delete")

    dlg = dialog(page, "Delete Failover Peer fo-a")
    expect(dlg.get_by_test_id("delete-case-choose")).to_contain_text(
        "There are 2 other failover peers on the server."
    )
    expect(dlg.get_by_test_id("plan-pools").locator("li")).to_have_text(
        [
            "10.10.0.10–10.10.0.19 in 10.10.0.0/24",
            "10.10.0.20–10.10.0.29 in 10.10.0.0/24",
            "10.20.0.10–10.20.0.19 in 10.20.0.0/24",
        ]
    )
    choice = field(dlg, "Address pools should refer to")
    expect(choice.locator("option")).to_have_text(["Choose a failover peer…", "fo-b", "fo-c"])
    before = counts()

    ok(dlg)  # without choosing
    dlg = dialog(page, "Delete Failover Peer fo-a")
    expect_field_error(choice, "Choose which failover peer the pools should refer to.")
    assert counts() == before
    assert FailoverPeer.objects.filter(pk=fo_a.pk).exists()

    choice.select_option(label="fo-c")
    ok(dlg)
    dlg = dialog(page, LIST)
    expect(dlg.get_by_test_id("notice")).to_have_text(
        "Deleted failover peer fo-a. 3 address pools now refer to fo-c."
    )
    expect(dlg.get_by_test_id("peer-row-fo-a")).to_have_count(0)
    _expect_pool_count(dlg, "fo-b", 1)
    _expect_pool_count(dlg, "fo-c", 4)

    assert not FailoverPeer.objects.filter(pk=fo_a.pk).exists()
    assert _peer_names_of_pools() == {
        "10.10.0.10": "fo-c",
        "10.10.0.20": "fo-c",
        "10.20.0.10": "fo-c",
        "10.10.0.30": "fo-b",
        "10.10.0.40": "fo-c",
    }

    # Closing the dialog reloads the server page, which shows the change too.
    dlg.get_by_role("button", name="Close", exact=True).first.click()
    expect_no_dialog(page)
    expect(page.get_by_test_id("peer-summary-fo-a")).to_have_count(0)
    expect(page.get_by_test_id("peer-summary-fo-c").locator("td").last).to_have_text("4")


def test_manage_failover_peers_from_the_server_context_menu(
    logged_in_page, live_url, server, three_peers
):
    fo_a, fo_b, fo_c = three_peers
    page = logged_in_page
    page.goto(f"{live_url}/")
    page.get_by_test_id(f"server-row-{server.name}").click(button="right")
    menu = page.get_by_role("menu", name=f"Server {server.name}")
    menu.get_by_role("menuitem", name="Manage Failover Peers", exact=True).click()

    dlg = dialog(page, LIST)
    _expect_pool_count(dlg, "fo-b", 1)
    _select(dlg, "fo-b")
    press(dlg, "Delete")
    dlg = dialog(page, "Delete Failover Peer fo-b")
    expect(dlg.get_by_test_id("plan-pools").locator("li")).to_have_text(
        ["10.10.0.30–10.10.0.39 in 10.10.0.0/24"]
    )
    field(dlg, "Address pools should refer to").select_option(label="fo-a")
    ok(dlg)
    dlg = dialog(page, LIST)
    expect(dlg.get_by_test_id("notice")).to_have_text(
        "Deleted failover peer fo-b. 1 address pool now refers to fo-a."
    )
    _expect_pool_count(dlg, "fo-a", 4)

    assert not FailoverPeer.objects.filter(pk=fo_b.pk).exists()
    assert AddressPool.objects.get(first_address="10.10.0.30").failover_peer == fo_a

    # The server's row in the list shows the new count once the dialog is closed.
    dlg.get_by_role("button", name="Close", exact=True).first.click()
    expect_no_dialog(page)
    expect(
        page.get_by_test_id(f"server-row-{server.name}").get_by_test_id("peer-count")
    ).to_have_text("2")


def test_delete_with_one_other_peer_moves_the_pools_and_the_last_peer_removes_them(
    logged_in_page, live_url, scope
):
    server = scope.server
    pool(scope, "10.10.0.10", "10.10.0.19")
    pool(scope, "10.10.0.20", "10.10.0.29")
    fo_a = peer(server, "fo-a", port=647)
    fo_b = peer(server, "fo-b", port=648)
    pool(scope, "10.10.0.30", "10.10.0.39", fo_b)

    page = logged_in_page
    page.goto(f"{live_url}/scopes/{scope.pk}/")
    page.get_by_role("link", name="Manage Failover Peers", exact=True).click()
    dlg = dialog(page, LIST)
    _select(dlg, "fo-a")
    press(dlg, "Delete")

    dlg = dialog(page, "Delete Failover Peer fo-a")
    expect(dlg.get_by_test_id("delete-case-repoint")).to_have_text(
        "The address pools below will refer to fo-b, the one other failover peer on the server:"
    )
    expect(dlg.get_by_test_id("plan-pools").locator("li")).to_have_text(
        ["10.10.0.10–10.10.0.19 in 10.10.0.0/24", "10.10.0.20–10.10.0.29 in 10.10.0.0/24"]
    )
    expect(field(dlg, "Address pools should refer to")).to_have_count(0)  # nothing to choose
    ok(dlg)

    dlg = dialog(page, LIST)
    expect(dlg.get_by_test_id("notice")).to_have_text(
        "Deleted failover peer fo-a. 2 address pools now refer to fo-b."
    )
    _expect_pool_count(dlg, "fo-b", 3)
    assert not FailoverPeer.objects.filter(pk=fo_a.pk).exists()
    assert set(_peer_names_of_pools().values()) == {"fo-b"}

    _select(dlg, "fo-b")
    press(dlg, "Delete")
    dlg = dialog(page, "Delete Failover Peer fo-b")
    expect(dlg.get_by_test_id("delete-case-remove")).to_have_text(
        "It is the last failover peer on the server: the references to it are removed from "
        "3 address pools:"
    )
    expect(dlg.get_by_test_id("plan-pools").locator("li")).to_have_text(
        [
            "10.10.0.10–10.10.0.19 in 10.10.0.0/24",
            "10.10.0.20–10.10.0.29 in 10.10.0.0/24",
            "10.10.0.30–10.10.0.39 in 10.10.0.0/24",
        ]
    )
    ok(dlg)

    dlg = dialog(page, LIST)
    expect(dlg.get_by_test_id("notice")).to_have_text(
        "Deleted failover peer fo-b. 3 address pools no longer refer to a failover peer."
    )
    expect(dlg.get_by_test_id("no-peers")).to_have_text("There are no failover peers on dhcp-a.")
    assert not FailoverPeer.objects.exists()
    assert AddressPool.objects.count() == 3
    assert set(_peer_names_of_pools().values()) == {None}

    # The scope page behind reloads on close and shows the pools without a peer.
    dlg.get_by_role("button", name="Close", exact=True).first.click()
    expect_no_dialog(page)
    expect(
        page.locator('#address-table tr[data-ip="10.10.0.35"]').get_by_test_id("peer-badge")
    ).to_have_text("no failover peer")


def test_edit_a_peer_from_manage_failover_peers(logged_in_page, live_url, server, three_peers):
    fo_a, fo_b, fo_c = three_peers
    page = logged_in_page
    page.goto(f"{live_url}/servers/{server.pk}/")
    page.get_by_role("link", name="Manage Failover Peers", exact=True).click()
    dlg = dialog(page, LIST)
    _select(dlg, "fo-b")
    press(dlg, "Edit")

    dlg = dialog(page, "Failover Peer fo-b Properties")
    expect(field(dlg, "Name")).to_have_value("fo-b")
    expect(field(dlg, "Port")).to_have_value("648")
    delay = field(dlg, "Max Response Delay")
    expect(delay).to_have_value("60")
    delay.fill("45")
    ok(dlg)

    dlg = dialog(page, LIST)
    expect(dlg.get_by_test_id("notice")).to_have_text("Saved failover peer fo-b.")
    fo_b.refresh_from_db()
    assert fo_b.max_response_delay == 45
    assert (fo_b.name, fo_b.port, fo_b.mclt, fo_b.split) == ("fo-b", 648, 3600, 128)
    fo_a.refresh_from_db()
    assert fo_a.max_response_delay == 60

    # An invalid change stays in the dialog with the error beside the field.
    _select(dlg, "fo-b")
    press(dlg, "Edit")
    dlg = dialog(page, "Failover Peer fo-b Properties")
    field(dlg, "Max Response Delay").fill("0")
    ok(dlg)
    dlg = dialog(page, "Failover Peer fo-b Properties")
    expect_field_error(
        field(dlg, "Max Response Delay"), "Ensure this value is greater than or equal to 1."
    )
    fo_b.refresh_from_db()
    assert fo_b.max_response_delay == 45


def test_cancel_in_manage_failover_peers_changes_nothing(
    logged_in_page, live_url, server, three_peers
):
    before = counts()
    values = list(FailoverPeer.objects.order_by("pk").values())
    page = logged_in_page
    page.goto(f"{live_url}/servers/{server.pk}/")
    page.get_by_role("link", name="Manage Failover Peers", exact=True).click()

    # Delete -> Cancel: back in the list, the peer still there.
    dlg = dialog(page, LIST)
    _select(dlg, "fo-a")
    press(dlg, "Delete")
    dlg = dialog(page, "Delete Failover Peer fo-a")
    field(dlg, "Address pools should refer to").select_option(label="fo-b")
    cancel(dlg)
    dlg = dialog(page, LIST)
    _expect_pool_count(dlg, "fo-a", 3)
    assert counts() == before

    # Edit -> change -> Cancel.
    _select(dlg, "fo-c")
    press(dlg, "Edit")
    dlg = dialog(page, "Failover Peer fo-c Properties")
    field(dlg, "Max Response Delay").fill("99")
    field(dlg, "Name").fill("renamed")
    cancel(dlg)
    dlg = dialog(page, LIST)
    expect(dlg.get_by_test_id("peer-row-fo-c")).to_be_visible()

    # New Failover Peer -> Cancel.
    dlg.get_by_role("link", name="New Failover Peer", exact=True).click()
    dlg = dialog(page, "New Failover Peer")
    field(dlg, "Name").fill("fo-new")
    field(dlg, "Peer Address").fill("192.0.2.9")
    cancel(dlg)
    dlg = dialog(page, LIST)
    expect(dlg.locator("#peer-table tbody tr")).to_have_count(3)

    dlg.get_by_role("button", name="Close", exact=True).first.click()
    expect_no_dialog(page)
    assert counts() == before
    assert list(FailoverPeer.objects.order_by("pk").values()) == values
