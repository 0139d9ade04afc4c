"""The seed's create flow in a browser: right-click an address, `Create Address Pool`,
`Add new failover peer`, fill `New Failover Peer`, back in `DHCP Address Pool` with the peer
selected, `OK`. Also the secondary's hidden fields, the keyboard and touch paths, Cancel at
each step, and invalid input shown beside the field.

Each test asserts on what the user sees and on the database afterwards.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from failover.models import AddressPool, FailoverPeer
from tests.browser.seed_ui import (
    address_row,
    cancel,
    counts,
    dialog,
    expect_field_error,
    expect_no_dialog,
    field,
    log_in,
    ok,
    open_scope_page,
    peer,
    pool,
)

pytestmark = pytest.mark.browser

DEFAULTS = {
    "Port": "647",
    "Peer Port": "647",
    "Max Response Delay": "60",
    "Max Unacked Updates": "10",
    "Max Client Lead Time": "3600",
    "Split Index": "128",
    "Load Balance Max Seconds": "3",
}


def _open_pool_dialog_by_right_click(page, ip: str):
    address_row(page, ip).click(button="right")
    menu = page.get_by_role("menu", name=f"Address {ip}")
    expect(menu).to_be_visible()
    menu.get_by_role("menuitem", name="Create Address Pool", exact=True).click()
    expect(menu).to_be_hidden()
    return dialog(page, "DHCP Address Pool")


def test_right_click_create_address_pool_with_a_new_failover_peer(page, live_url, editor, scope):
    """The seed step by step; the server already has a pool, so the first-peer rule shows."""
    server = scope.server
    other = pool(scope, "10.10.0.100", "10.10.0.150")
    log_in(page, live_url, "editor")
    open_scope_page(page, live_url, server, scope)

    # The list of IP addresses with each address's state.
    expect(address_row(page, "10.10.0.0")).to_have_attribute("data-state", "network")
    expect(address_row(page, "10.10.0.255")).to_have_attribute("data-state", "broadcast")
    expect(address_row(page, "10.10.0.120")).to_have_attribute("data-state", "pool")
    expect(address_row(page, "10.10.0.120").get_by_test_id("peer-badge")).to_have_text(
        "no failover peer"
    )
    expect(address_row(page, "10.10.0.20")).to_have_attribute("data-state", "free")

    dlg = _open_pool_dialog_by_right_click(page, "10.10.0.20")
    expect(field(dlg, "First Address")).to_have_value("10.10.0.20")
    expect(field(dlg, "Last Address")).to_have_value("")
    field(dlg, "Last Address").fill("10.10.0.40")
    peer_field = field(dlg, "Failover Peer")
    expect(peer_field.locator("option")).to_have_text(["No failover peer", "Add new failover peer"])
    peer_field.select_option(label="Add new failover peer")
    ok(dlg)

    dlg = dialog(page, "New Failover Peer")
    expect(dlg.get_by_test_id("first-peer-note")).to_have_text(
        "This is the first failover peer of dhcp-a: all 1 address pool on the server "
        "will be updated to refer to it."
    )
    for name, value in DEFAULTS.items():
        expect(field(dlg, name), f"default of {name}").to_have_value(value)
    expect(field(dlg, "Role")).to_have_value("primary")
    expect(field(dlg, "Address")).to_have_value(server.address)
    field(dlg, "Name").fill("fo-office")
    field(dlg, "Role").select_option(label="Primary")
    field(dlg, "Address").fill("192.0.2.1")
    field(dlg, "Port").fill("519")
    field(dlg, "Peer Address").fill("192.0.2.2")
    field(dlg, "Peer Port").fill("520")
    field(dlg, "Max Response Delay").fill("30")
    field(dlg, "Max Unacked Updates").fill("12")
    field(dlg, "Max Client Lead Time").fill("1800")
    field(dlg, "Split Index").fill("255")
    field(dlg, "Load Balance Max Seconds").fill("5")
    assert AddressPool.objects.count() == 1 and not FailoverPeer.objects.exists()
    ok(dlg)

    # Back in the pool dialog: the addresses kept, the new peer selected, the rule told.
    dlg = dialog(page, "DHCP Address Pool")
    expect(dlg.get_by_test_id("notice")).to_have_text(
        "Created failover peer fo-office. It is the first failover peer of dhcp-a: "
        "1 other address pool now refers to fo-office."
    )
    expect(field(dlg, "First Address")).to_have_value("10.10.0.20")
    expect(field(dlg, "Last Address")).to_have_value("10.10.0.40")
    new_peer = FailoverPeer.objects.get(server=server, name="fo-office")
    peer_field = field(dlg, "Failover Peer")
    expect(peer_field).to_have_value(str(new_peer.pk))
    expect(peer_field.locator("option:checked")).to_have_text("fo-office")
    expect(peer_field.locator("option")).to_have_text(
        ["No failover peer", "fo-office", "Add new failover peer"]
    )
    # The peer exists now and the server's other pool refers to it; the pool does not yet.
    other.refresh_from_db()
    assert other.failover_peer == new_peer
    assert AddressPool.objects.count() == 1
    ok(dlg)

    expect_no_dialog(page)
    expect(page.get_by_role("status").filter(has_text="Created address pool")).to_have_text(
        "Created address pool 10.10.0.20-10.10.0.40 with failover peer fo-office."
    )
    for ip in ("10.10.0.20", "10.10.0.30", "10.10.0.40"):
        row = address_row(page, ip)
        expect(row).to_have_attribute("data-state", "pool")
        expect(row.get_by_test_id("peer-badge")).to_have_text("fo-office")
    expect(address_row(page, "10.10.0.41")).to_have_attribute("data-state", "free")
    expect(address_row(page, "10.10.0.120").get_by_test_id("peer-badge")).to_have_text("fo-office")

    created = AddressPool.objects.get(scope=scope, first_address="10.10.0.20")
    assert (created.last_address, created.failover_peer) == ("10.10.0.40", new_peer)
    expected = {
        "name": "fo-office",
        "role": "primary",
        "address": "192.0.2.1",
        "port": 519,
        "peer_address": "192.0.2.2",
        "peer_port": 520,
        "max_response_delay": 30,
        "max_unacked_updates": 12,
        "mclt": 1800,
        "split": 255,
        "load_balance_max_seconds": 5,
        "hba": "",
        "auto_partner_down": None,
        "max_lease_misbalance": None,
        "max_lease_ownership": None,
        "min_balance": None,
        "max_balance": None,
        "partner_server_id": None,
    }
    stored = FailoverPeer.objects.values(*expected).get(pk=new_peer.pk)
    assert stored == expected
    assert AddressPool.objects.filter(failover_peer=new_peer).count() == 2


def test_secondary_hides_the_primary_only_fields_and_creates_a_secondary(
    logged_in_page, live_url, scope
):
    page = logged_in_page
    open_scope_page(page, live_url, scope.server, scope)
    dlg = _open_pool_dialog_by_right_click(page, "10.10.0.20")
    field(dlg, "Last Address").fill("10.10.0.29")
    field(dlg, "Failover Peer").select_option(label="Add new failover peer")
    ok(dlg)

    dlg = dialog(page, "New Failover Peer")
    expect(dlg.get_by_test_id("first-peer-note")).to_have_count(0)  # no pools to update
    dlg.get_by_text("Advanced", exact=True).click()
    primary_only = [
        field(dlg, "Max Client Lead Time"),
        field(dlg, "Split Index"),
        field(dlg, "Hash Bucket Assignment (hba)"),
    ]
    always = [field(dlg, "Load Balance Max Seconds"), field(dlg, "Auto Partner Down")]
    for f in primary_only + always:
        expect(f).to_be_visible()

    field(dlg, "Role").select_option(label="Secondary")
    for f in primary_only:
        expect(f).to_be_hidden()
        expect(f).to_be_disabled()
    for f in always:
        expect(f).to_be_visible()

    field(dlg, "Role").select_option(label="Primary")  # and back: shown again
    for f in primary_only:
        expect(f).to_be_visible()
        expect(f).to_be_enabled()

    field(dlg, "Role").select_option(label="Secondary")
    field(dlg, "Name").fill("fo-secondary")
    field(dlg, "Address").fill("192.0.2.1")
    field(dlg, "Peer Address").fill("192.0.2.2")
    ok(dlg)

    dlg = dialog(page, "DHCP Address Pool")
    expect(dlg.get_by_test_id("notice")).to_have_text("Created failover peer fo-secondary.")
    expect(field(dlg, "Failover Peer").locator("option:checked")).to_have_text("fo-secondary")
    ok(dlg)
    expect_no_dialog(page)
    expect(address_row(page, "10.10.0.25").get_by_test_id("peer-badge")).to_have_text(
        "fo-secondary"
    )

    secondary = FailoverPeer.objects.get(name="fo-secondary")
    assert secondary.role == "secondary"
    assert (secondary.mclt, secondary.split, secondary.hba) == (None, None, "")
    assert (secondary.max_response_delay, secondary.load_balance_max_seconds) == (60, 3)
    created = AddressPool.objects.get(scope=scope)
    assert (created.first_address, created.last_address) == ("10.10.0.20", "10.10.0.29")
    assert created.failover_peer == secondary


def test_the_visible_row_action_works_from_the_keyboard(logged_in_page, live_url, scope):
    server = scope.server
    existing = peer(server, "fo-pair", port=647)
    page = logged_in_page
    open_scope_page(page, live_url, server, scope)
    action = address_row(page, "10.10.0.30").get_by_role("link", name="Create Address Pool")
    action.focus()
    page.keyboard.press("Enter")

    dlg = dialog(page, "DHCP Address Pool")
    first = field(dlg, "First Address")
    expect(first).to_have_value("10.10.0.30")
    expect(first).to_be_focused()
    page.keyboard.press("Tab")
    expect(field(dlg, "Last Address")).to_be_focused()
    page.keyboard.type("10.10.0.35")
    page.keyboard.press("Tab")
    peer_field = field(dlg, "Failover Peer")
    expect(peer_field).to_be_focused()
    expect(peer_field.locator("option")).to_have_text(
        ["No failover peer", "fo-pair", "Add new failover peer"]
    )
    peer_field.select_option(label="fo-pair")
    page.keyboard.press("Tab")
    expect(dlg.get_by_role("button", name="OK", exact=True)).to_be_focused()
    page.keyboard.press("Enter")

    expect_no_dialog(page)
    expect(address_row(page, "10.10.0.35")).to_have_attribute("data-state", "pool")
    created = AddressPool.objects.get(scope=scope)
    assert (created.first_address, created.last_address) == ("10.10.0.30", "10.10.0.35")
    assert created.failover_peer == existing


def test_the_visible_row_action_works_by_touch(browser, live_url, editor, scope):
    context = browser.new_context(has_touch=True, viewport={"width": 820, "height": 1180})
    try:
        page = context.new_page()
        log_in(page, live_url, "editor")
        page.goto(f"{live_url}/scopes/{scope.pk}/")
        address_row(page, "10.10.0.50").get_by_role("link", name="Create Address Pool").tap()
        dlg = dialog(page, "DHCP Address Pool")
        expect(field(dlg, "First Address")).to_have_value("10.10.0.50")
        field(dlg, "Last Address").fill("10.10.0.60")
        dlg.get_by_role("button", name="OK", exact=True).tap()
        expect_no_dialog(page)
        expect(address_row(page, "10.10.0.60")).to_have_attribute("data-state", "pool")
    finally:
        context.close()
    created = AddressPool.objects.get(scope=scope)
    assert (created.first_address, created.last_address, created.failover_peer) == (
        "10.10.0.50",
        "10.10.0.60",
        None,
    )


def test_cancel_at_each_step_of_the_create_flow_changes_nothing(logged_in_page, live_url, scope):
    pool(scope, "10.10.0.100", "10.10.0.150")
    before = counts()
    page = logged_in_page
    open_scope_page(page, live_url, scope.server, scope)

    # DHCP Address Pool -> Cancel.
    dlg = _open_pool_dialog_by_right_click(page, "10.10.0.20")
    field(dlg, "Last Address").fill("10.10.0.40")
    cancel(dlg)
    expect_no_dialog(page)
    assert counts() == before

    # DHCP Address Pool -> Add new failover peer -> New Failover Peer -> Cancel: back in the
    # pool dialog with what was entered, and no peer.
    dlg = _open_pool_dialog_by_right_click(page, "10.10.0.20")
    field(dlg, "Last Address").fill("10.10.0.40")
    field(dlg, "Failover Peer").select_option(label="Add new failover peer")
    ok(dlg)
    dlg = dialog(page, "New Failover Peer")
    field(dlg, "Name").fill("fo-never")
    field(dlg, "Peer Address").fill("192.0.2.2")
    cancel(dlg)
    dlg = dialog(page, "DHCP Address Pool")
    expect(field(dlg, "First Address")).to_have_value("10.10.0.20")
    expect(field(dlg, "Last Address")).to_have_value("10.10.0.40")
    expect(field(dlg, "Failover Peer").locator("option")).to_have_text(
        ["No failover peer", "Add new failover peer"]
    )
    assert counts() == before
    cancel(dlg)
    expect_no_dialog(page)
    assert counts() == before

    # The dialog's close button is a Cancel too.
    dlg = _open_pool_dialog_by_right_click(page, "10.10.0.20")
    field(dlg, "Last Address").fill("10.10.0.40")
    dlg.get_by_role("button", name="Close").click()
    expect_no_dialog(page)

    # Nothing changed on the page either.
    page.reload()
    expect(address_row(page, "10.10.0.20")).to_have_attribute("data-state", "free")
    assert counts() == before


def test_invalid_input_is_shown_beside_the_field_and_nothing_is_saved(
    logged_in_page, live_url, scope
):
    pool(scope, "10.10.0.100", "10.10.0.150")
    before = counts()
    page = logged_in_page
    open_scope_page(page, live_url, scope.server, scope)

    dlg = _open_pool_dialog_by_right_click(page, "10.10.0.20")
    field(dlg, "Last Address").fill("10.10.1.5")
    ok(dlg)
    dlg = dialog(page, "DHCP Address Pool")  # still open
    last = field(dlg, "Last Address")
    expect_field_error(last, "10.10.1.5 is outside the scope 10.10.0.0/24.")
    expect(last).to_have_value("10.10.1.5")
    expect(last).to_be_focused()
    expect(field(dlg, "First Address")).not_to_have_attribute("aria-invalid", "true")
    assert counts() == before

    # Overlapping another pool: the error is beside First Address.
    field(dlg, "Last Address").fill("10.10.0.120")
    ok(dlg)
    expect_field_error(field(dlg, "First Address"), "Overlaps the pool 10.10.0.100-10.10.0.150.")
    expect(dialog(page, "DHCP Address Pool")).to_be_visible()
    assert counts() == before

    # The addresses are checked before the peer dialog opens, too.
    field(dlg, "Failover Peer").select_option(label="Add new failover peer")
    ok(dlg)
    expect_field_error(field(dlg, "First Address"), "Overlaps the pool 10.10.0.100-10.10.0.150.")
    expect(dlg.locator("#modal-title")).to_have_text("DHCP Address Pool")

    # Bad values in New Failover Peer: beside each field, the dialog stays, nothing saved.
    field(dlg, "Last Address").fill("10.10.0.40")
    field(dlg, "Failover Peer").select_option(label="Add new failover peer")
    ok(dlg)
    dlg = dialog(page, "New Failover Peer")
    field(dlg, "Name").fill("bad name")
    field(dlg, "Port").fill("70000")
    field(dlg, "Peer Address").fill("192.0.2.1")  # the same as Address
    ok(dlg)
    expect(field(dlg, "Name")).to_have_attribute("aria-invalid", "true")
    expect_field_error(field(dlg, "Peer Address"), "The peer address must differ from the address.")
    expect_field_error(field(dlg, "Port"), "Ensure this value is less than or equal to 65535.")
    expect(dlg.locator("#modal-title")).to_have_text("New Failover Peer")
    assert counts() == before

    # Corrected: on to the pool dialog, which still carries the addresses.
    field(dlg, "Name").fill("fo-good")
    field(dlg, "Port").fill("647")
    field(dlg, "Peer Address").fill("192.0.2.2")
    ok(dlg)
    dlg = dialog(page, "DHCP Address Pool")
    expect(field(dlg, "Last Address")).to_have_value("10.10.0.40")
    expect(field(dlg, "Failover Peer").locator("option:checked")).to_have_text("fo-good")
    assert FailoverPeer.objects.filter(name="fo-good").exists()
    assert AddressPool.objects.count() == 1


def test_the_create_flow_works_as_plain_pages_without_javascript(browser, live_url, editor, scope):
    """Each dialog is also a page of its own: the whole flow with JavaScript switched off."""
    existing = pool(scope, "10.10.0.100", "10.10.0.150")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        log_in(page, live_url, "editor")
        open_scope_page(page, live_url, scope.server, scope)
        address_row(page, "10.10.0.20").get_by_role("link", name="Create Address Pool").click()

        expect(page.get_by_role("heading", name="DHCP Address Pool")).to_be_visible()
        expect(field(page, "First Address")).to_have_value("10.10.0.20")
        field(page, "Last Address").fill("10.10.0.40")
        field(page, "Failover Peer").select_option(label="Add new failover peer")
        page.get_by_role("button", name="OK", exact=True).click()

        expect(page.get_by_role("heading", name="New Failover Peer")).to_be_visible()
        expect(page.get_by_test_id("first-peer-note")).to_be_visible()
        for name, value in DEFAULTS.items():
            expect(field(page, name), f"default of {name}").to_have_value(value)
        field(page, "Name").fill("fo-plain")
        field(page, "Peer Address").fill("192.0.2.2")
        page.get_by_role("button", name="OK", exact=True).click()

        expect(page.get_by_role("heading", name="DHCP Address Pool")).to_be_visible()
        expect(page.locator("#alerts").get_by_role("status")).to_contain_text(
            "Created failover peer fo-plain."
        )
        expect(field(page, "First Address")).to_have_value("10.10.0.20")
        expect(field(page, "Last Address")).to_have_value("10.10.0.40")
        expect(field(page, "Failover Peer").locator("option:checked")).to_have_text("fo-plain")
        page.get_by_role("button", name="OK", exact=True).click()

        expect(page.get_by_role("heading", name="IP Addresses")).to_be_visible()
        expect(page.locator("#alerts").get_by_role("status")).to_have_text(
            "Created address pool 10.10.0.20-10.10.0.40 with failover peer fo-plain."
        )
        expect(address_row(page, "10.10.0.30").get_by_test_id("peer-badge")).to_have_text(
            "fo-plain"
        )
    finally:
        context.close()
    fo_plain = FailoverPeer.objects.get(name="fo-plain")
    created = AddressPool.objects.get(first_address="10.10.0.20")
    assert (created.last_address, created.failover_peer) == ("10.10.0.40", fo_plain)
    existing.refresh_from_db()
    assert existing.failover_peer == fo_plain
