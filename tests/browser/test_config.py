"""In a browser: Validate in place, and Migrate Scope to Failover Peer from the server page."""

from __future__ import annotations

from playwright.sync_api import expect

from failover.models import Scope
from tests.browser.seed_ui import dialog as dialog_at_rest
from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair


def test_validate_shows_the_answer_of_dhcpd_in_place(logged_in_page, live_url, settings):
    settings.DHCPD_PATH = require_binary("dhcpd")
    a, b = build_pair()
    page = logged_in_page
    page.goto(f"{live_url}/servers/{a.pk}/")
    expect(page.get_by_test_id("pair-check-ok")).to_be_visible()
    page.locator("#validate-config").click()
    expect(page.get_by_test_id("validate-ok")).to_contain_text("dhcpd -t accepts")
    assert page.url == f"{live_url}/servers/{a.pk}/"  # in place, no navigation
    page.locator("#show-config").click()
    expect(page.get_by_test_id("config-text")).to_contain_text('failover peer "fo-pair" {')


def test_migrate_a_scope_from_the_server_page(logged_in_page, live_url):
    a, b = build_pair(migrate=False)
    page = logged_in_page
    page.goto(f"{live_url}/servers/{a.pk}/")
    expect(page.get_by_test_id("not-finalized-10.10.0.0/24")).to_be_visible()
    page.get_by_test_id("migrate-10.10.0.0/24").click()
    dialog = page.locator("#modal")
    expect(dialog.locator("#modal-title")).to_have_text("Migrate Scope to Failover Peer")
    expect(dialog.get_by_test_id("migrate-partner")).to_have_text("dhcp-b")
    expect(dialog.get_by_test_id("migrate-peer-fo-pair")).to_contain_text("Secondary")
    dialog.locator("#modal-ok").click()
    expect(page.get_by_text("Migrated scope 10.10.0.0/24 to dhcp-b.")).to_be_visible()
    expect(page.get_by_test_id("not-finalized-10.10.0.0/24")).to_have_count(0)
    expect(page.get_by_test_id("not-finalized-10.20.0.0/24")).to_be_visible()
    assert Scope.objects.filter(server=b, network="10.10.0.0/24").exists()


def test_cancel_changes_nothing(logged_in_page, live_url):
    a, b = build_pair(migrate=False)
    page = logged_in_page
    page.goto(f"{live_url}/servers/{a.pk}/")
    page.get_by_test_id("migrate-10.20.0.0/24").click()
    # Bootstrap ignores a dismiss while the modal is still sliding in: wait until it rests.
    dialog_at_rest(page, "Migrate Scope to Failover Peer")
    page.locator("#modal #modal-cancel").click()
    expect(page.locator("#modal")).to_be_hidden()
    assert not b.scopes.exists() and not b.failover_peers.exists()
