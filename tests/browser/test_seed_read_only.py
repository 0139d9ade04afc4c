"""A read-only user in a browser: sees every page and dialog that shows something, and no
button or menu item that changes anything. A change attempted from htmx anyway (a page
loaded while the user still had the permission) shows the 403 alert and changes nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from failover.models import AddressPool
from tests.browser.seed_ui import (
    address_row,
    counts,
    dialog,
    expect_no_dialog,
    field,
    log_in,
    peer,
    pool,
)

pytestmark = pytest.mark.browser

FORBIDDEN = "You do not have permission to change this."


@pytest.fixture
def model(scope):
    """A scope with a pool referring to the server's peer, and free addresses."""
    pool(scope, "10.10.0.100", "10.10.0.150")
    return peer(scope.server, "fo-pair", port=647)


def _only_view_permissions(user) -> None:
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover", codename__startswith="view_")
    )


def test_a_read_only_user_sees_the_pages_without_change_buttons(
    page, live_url, viewer, scope, model
):
    server = scope.server
    log_in(page, live_url, "viewer")

    # Servers list: the server, Manage Failover Peers, nothing that changes.
    page.locator("#user-menu").click()
    expect(page.get_by_text("Read-only access")).to_be_visible()
    page.keyboard.press("Escape")
    row = page.get_by_test_id(f"server-row-{server.name}")
    expect(row.get_by_test_id("peer-count")).to_have_text("1")
    expect(page.get_by_role("link", name="Add Server")).to_have_count(0)
    expect(row.get_by_role("link", name="Edit")).to_have_count(0)
    expect(row.get_by_role("link", name="Delete")).to_have_count(0)
    row.click(button="right")
    menu = page.get_by_role("menu", name=f"Server {server.name}")
    expect(menu.get_by_role("menuitem")).to_have_text(["Manage Failover Peers"])
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()

    # The server's page.
    row.get_by_role("link", name=server.name).click()
    expect(page.get_by_role("heading", name=server.name)).to_be_visible()
    expect(page.get_by_role("link", name="Manage Failover Peers")).to_be_visible()
    for name in ("Add Scope", "Create Address Pool", "Edit", "Delete"):
        expect(page.locator("#main").get_by_role("link", name=name, exact=True)).to_have_count(0)

    # The scope's page: every address with its state, no row action, no context menu.
    page.get_by_role("link", name=scope.network, exact=True).click()
    expect(page.get_by_role("heading", name="IP Addresses")).to_be_visible()
    expect(address_row(page, "10.10.0.120")).to_have_attribute("data-state", "pool")
    expect(address_row(page, "10.10.0.120").get_by_test_id("peer-badge")).to_have_text("fo-pair")
    expect(address_row(page, "10.10.0.20")).to_have_attribute("data-state", "free")
    expect(page.get_by_role("link", name="Create Address Pool")).to_have_count(0)
    expect(
        page.get_by_role("link", name="Edit address pool 10.10.0.100-10.10.0.150")
    ).to_have_count(0)
    for ip in ("10.10.0.20", "10.10.0.120"):
        address_row(page, ip).click(button="right")
        expect(page.locator("#context-menu")).to_be_hidden()

    # Manage Failover Peers shows the peers, with no New / Edit / Delete.
    page.get_by_role("link", name="Manage Failover Peers").click()
    dlg = dialog(page, f"Failover Peers for {server.name}")
    expect(dlg.get_by_test_id("peer-row-fo-pair").get_by_test_id("peer-pool-count")).to_have_text(
        "1"
    )
    for name in ("Edit", "Delete"):
        expect(dlg.get_by_role("button", name=name, exact=True)).to_have_count(0)
    expect(dlg.get_by_role("link", name="New Failover Peer")).to_have_count(0)
    dlg.get_by_role("button", name="Close", exact=True).first.click()
    expect_no_dialog(page)

    # A change URL typed in is refused.
    response = page.goto(f"{live_url}/scopes/{scope.pk}/pools/add/?first=10.10.0.20")
    assert response is not None and response.status == 403


def test_an_htmx_change_without_permission_shows_the_403_alert(
    logged_in_page, live_url, editor, scope, model
):
    before = counts()
    page = logged_in_page
    page.goto(f"{live_url}/scopes/{scope.pk}/")
    action = address_row(page, "10.10.0.20").get_by_role("link", name="Create Address Pool")
    expect(action).to_be_visible()

    # The permission is taken away while the page is open: opening the dialog is refused.
    _only_view_permissions(editor)
    action.click()
    alert = page.get_by_test_id("htmx-error")
    expect(alert).to_have_text(FORBIDDEN)
    expect(alert).to_have_attribute("role", "alert")
    expect_no_dialog(page)
    assert counts() == before


def test_an_htmx_post_without_permission_shows_the_403_alert_and_saves_nothing(
    logged_in_page, live_url, editor, scope, model
):
    before = counts()
    page = logged_in_page
    page.goto(f"{live_url}/scopes/{scope.pk}/")
    address_row(page, "10.10.0.20").get_by_role("link", name="Create Address Pool").click()
    dlg = dialog(page, "DHCP Address Pool")
    field(dlg, "Last Address").fill("10.10.0.30")

    _only_view_permissions(editor)
    dlg.get_by_role("button", name="OK", exact=True).click()
    expect(page.get_by_test_id("htmx-error")).to_have_text(FORBIDDEN)
    expect_no_dialog(page)
    assert counts() == before
    assert not AddressPool.objects.filter(first_address="10.10.0.20").exists()
