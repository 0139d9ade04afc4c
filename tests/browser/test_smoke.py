"""Smoke test: Debian's chromium, driven by Playwright, reaches the live server."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_admin_login_page_loads_and_logging_in_works(page, live_url):
    User.objects.create_superuser("boss", password="a-long-test-password")
    page.goto(f"{live_url}/admin/login/")
    expect(page).to_have_title("Log in | dhcpadmin admin")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Bulk edits")).to_be_visible()
    expect(page.get_by_role("link", name="Failover peers")).to_be_visible()


def test_a_wrong_password_is_refused(page, live_url):
    User.objects.create_superuser("boss", password="a-long-test-password")
    page.goto(f"{live_url}/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".errornote")).to_contain_text("correct username and password")


def test_the_logged_in_page_fixture_carries_a_session(logged_in_page, live_url):
    # The editor may change failover objects but is no staff member: the admin knows who
    # they are and says they are not authorised, which proves the session cookie works.
    logged_in_page.goto(f"{live_url}/admin/")
    expect(logged_in_page.locator(".errornote")).to_contain_text("You are authenticated as editor")
