"""The browser fixtures of tests/browser (Debian's chromium through Playwright)."""

from tests.browser.conftest import (  # noqa: F401
    _browser_tests_use_transactional_db,
    browser_type_launch_args,
    live_url,
    logged_in_page,
)
