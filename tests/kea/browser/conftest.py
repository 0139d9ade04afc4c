"""The browser fixtures of tests/browser (Debian's chromium through Playwright)."""

from tests.browser.conftest import *  # noqa: F403
