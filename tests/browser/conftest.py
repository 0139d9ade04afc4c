"""Playwright driving Debian's chromium (/usr/bin/chromium), not a downloaded browser.

Every test here needs the live server, so it runs with ``transactional_db``. Under CI=true a
missing chromium FAILS the tests (see ``tests.conftest.require``); locally it skips them.
"""

from __future__ import annotations

import os

import pytest
from django.test import Client

from tests.conftest import require

# pytest-playwright runs an asyncio loop in the test thread; Django then refuses sync ORM
# calls (SynchronousOnlyOperation) unless told that this is fine, as it is in tests.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    require(os.path.exists(CHROMIUM), "Debian chromium (/usr/bin/chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(autouse=True)
def _browser_tests_use_transactional_db(transactional_db):
    """The live server runs in another thread: the data must really be committed."""


@pytest.fixture
def live_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def logged_in_page(page, live_server, editor):
    """A Playwright page whose browser carries a session of the ``editor`` user."""
    client = Client()
    client.force_login(editor)
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    return page
