"""Changing an existing pool's failover peer in a browser: when the pool is the last one
referring to the old peer, the dialog warns that the change deletes it; Cancel changes
nothing, OK changes the pool and deletes the peer in one step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from failover.models import AddressPool, FailoverPeer
from tests.browser.seed_ui import (
    address_row,
    cancel,
    counts,
    dialog,
    expect_no_dialog,
    field,
    ok,
    peer,
    pool,
)

pytestmark = pytest.mark.browser

WARNING = (
    "No other address pool refers to the failover peer 'fo-b': "
    "this change will delete that failover peer."
)


@pytest.fixture
def pools_and_peers(scope):
    """fo-a referred to by two pools; fo-b by one pool only (10.10.0.20-10.10.0.29)."""
    shared = pool(scope, "10.10.0.10", "10.10.0.19")
    fo_a = peer(scope.server, "fo-a", port=647)  # the first peer: ``shared`` refers to it
    pool(scope, "10.10.0.60", "10.10.0.69", fo_a)
    fo_b = peer(scope.server, "fo-b", port=648)
    last = pool(scope, "10.10.0.20", "10.10.0.29", fo_b)
    shared.refresh_from_db()
    assert shared.failover_peer == fo_a
    return fo_a, fo_b, last


def test_the_last_referrer_warning_cancel_then_confirm(
    logged_in_page, live_url, scope, pools_and_peers
):
    fo_a, fo_b, last = pools_and_peers
    before = counts()
    page = logged_in_page
    page.goto(f"{live_url}/scopes/{scope.pk}/")

    # Edit from the pool table, choose fo-a: the warning, and nothing changed yet.
    page.get_by_role("link", name="Edit address pool 10.10.0.20-10.10.0.29").click()
    dlg = dialog(page, "DHCP Address Pool")
    peer_field = field(dlg, "Failover Peer")
    expect(peer_field.locator("option:checked")).to_have_text("fo-b")
    expect(peer_field.locator("option")).to_have_text(
        ["No failover peer", "fo-a", "fo-b", "Add new failover peer"]
    )
    expect(dlg.locator("#last-referrer-warning")).to_have_count(0)
    peer_field.select_option(label="fo-a")
    ok(dlg)
    dlg = dialog(page, "DHCP Address Pool")
    warning = dlg.locator("#last-referrer-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(WARNING)
    expect(warning).to_contain_text("delete the failover peer fo-b in one step")
    expect(peer_field.locator("option:checked")).to_have_text("fo-a")
    assert counts() == before

    # Cancel: nothing changed.
    cancel(dlg)
    expect_no_dialog(page)
    assert counts() == before
    last.refresh_from_db()
    assert last.failover_peer == fo_b

    # Again, from the address's context menu this time, and confirm with OK.
    address_row(page, "10.10.0.25").click(button="right")
    menu = page.get_by_role("menu", name="Address 10.10.0.25")
    expect(menu.get_by_role("menuitem")).to_have_text(["Edit Address Pool", "Delete Address Pool"])
    menu.get_by_role("menuitem", name="Edit Address Pool").click()
    dlg = dialog(page, "DHCP Address Pool")
    expect(field(dlg, "First Address")).to_have_value("10.10.0.20")
    field(dlg, "Failover Peer").select_option(label="fo-a")
    ok(dlg)
    expect(dlg.locator("#last-referrer-warning")).to_contain_text(WARNING)
    assert FailoverPeer.objects.filter(pk=fo_b.pk).exists()
    ok(dlg)

    expect_no_dialog(page)
    expect(page.get_by_role("status").filter(has_text="Saved address pool")).to_have_text(
        "Saved address pool 10.10.0.20-10.10.0.29. "
        "Deleted failover peer fo-b: no address pool referred to it."
    )
    expect(address_row(page, "10.10.0.25").get_by_test_id("peer-badge")).to_have_text("fo-a")

    last.refresh_from_db()
    assert last.failover_peer == fo_a
    assert not FailoverPeer.objects.filter(pk=fo_b.pk).exists()
    assert list(FailoverPeer.objects.values_list("name", flat=True)) == ["fo-a"]
    assert AddressPool.objects.filter(failover_peer=fo_a).count() == 3


def test_no_warning_when_other_pools_still_refer_to_the_old_peer(
    logged_in_page, live_url, scope, pools_and_peers
):
    fo_a, fo_b, last = pools_and_peers
    page = logged_in_page
    page.goto(f"{live_url}/scopes/{scope.pk}/")
    page.get_by_role("link", name="Edit address pool 10.10.0.60-10.10.0.69").click()
    dlg = dialog(page, "DHCP Address Pool")
    field(dlg, "Failover Peer").select_option(label="fo-b")
    ok(dlg)  # fo-a keeps 10.10.0.10-10.10.0.19: saved at once
    expect_no_dialog(page)
    expect(address_row(page, "10.10.0.65").get_by_test_id("peer-badge")).to_have_text("fo-b")
    assert AddressPool.objects.get(first_address="10.10.0.60").failover_peer == fo_b
    assert FailoverPeer.objects.count() == 2
