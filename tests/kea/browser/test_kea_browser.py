"""In a browser: Export to Kea HA from the relationship page, Validate with kea-dhcp4 -t in
place, and the archive download."""

from __future__ import annotations

import zipfile

import pytest
from playwright.sync_api import expect

from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair

pytestmark = pytest.mark.browser


def test_export_to_kea_from_the_relationship_page(logged_in_page, live_url, tmp_path):
    require_binary("kea-dhcp4")
    a, _ = build_pair(a_address="10.1.0.1", b_address="10.1.0.2")
    pk = a.failover_peers.get().pk
    page = logged_in_page
    page.goto(f"{live_url}/relationships/{pk}/")
    page.locator("#kea-export").click()
    expect(page.get_by_test_id("kea-mode")).to_have_text("load-balancing")
    expect(page.get_by_test_id("kea-check-ok")).to_be_visible()
    expect(page.get_by_test_id("kea-file")).to_have_count(4)
    expect(page.get_by_test_id("kea-report")).to_contain_text("Max Client Lead Time 3600")
    page.screenshot(path=str(tmp_path / "kea-export.png"), full_page=True)
    page.locator("#kea-test").click()
    expect(page.get_by_test_id("kea-test-ok")).to_have_count(4)
    assert page.url == f"{live_url}/relationships/{pk}/kea/"  # in place
    with page.expect_download() as download:
        page.locator("#kea-archive").click()
    path = tmp_path / "export.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as zf:
        assert "fo-pair-kea/dhcp-b-kea-dhcp4.json" in zf.namelist()
