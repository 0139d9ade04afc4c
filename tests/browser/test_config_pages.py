"""In a browser: a configuration of several pages, the "go to line" box and the page links."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from bench.gen_config import generate
from failover import services


def test_go_to_line_and_page_links(logged_in_page, live_url):
    server = services.server_create(name="big", address="192.0.2.1")
    services.config_import(server=server, text=generate(250), filename="big.conf")
    page = logged_in_page
    page.goto(f"{live_url}/servers/{server.pk}/config/")
    top = page.get_by_test_id("config-pages-top")
    expect(top).to_contain_text("Lines 1–1000 of")
    top.get_by_label("Go to line").fill("2500")
    top.get_by_role("button", name="Go").click()
    expect(page).to_have_url(re.compile(r"/config/\?page=3#L2500$"))
    line = page.locator("#L2500")
    expect(line).to_be_in_viewport()
    expect(line.locator(".ln")).to_have_text("2500")
    page.get_by_role("navigation", name="Configuration pages (top)").get_by_role(
        "link", name="2", exact=True
    ).click()
    expect(page.get_by_test_id("config-lines-top")).to_contain_text("Lines 1001–2000")
    expect(page.locator("#L1001")).to_be_attached()
    expect(page.locator("#L2001")).to_have_count(0)
