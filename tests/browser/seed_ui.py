"""Steps the seed's browser tests share: logging in, finding a dialog and a field by the
labels the user reads, and a small failover model built through the services.

The locators are user-facing on purpose: a dialog is found by its title (Bootstrap gives the
open modal role=dialog, named by ``#modal-title``), a field by its label. Crispy marks a
required field's label with ``*``, so a label is matched exactly, with or without it.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

from failover import services
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from tests.conftest import PASSWORD, PRIMARY


def log_in(page: Page, live_url: str, username: str) -> None:
    """Through the login page, as a user would (the users come from tests.conftest)."""
    page.goto(f"{live_url}/")
    expect(page.get_by_role("heading", name="Log in to dhcpadmin")).to_be_visible()
    page.get_by_label(label("Username")).fill(username)
    page.get_by_label(label("Password")).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="DHCP Servers")).to_be_visible()


def label(text: str) -> re.Pattern[str]:
    """A field's label exactly, with or without the required-field asterisk."""
    return re.compile(rf"^\s*{re.escape(text)}\s*\*?\s*$")


# The modal is at rest: no Bootstrap show/hide transition running and no htmx swap settling.
# Until then the page may still move the focus (to the dialog's first or invalid field), and
# text typed meanwhile could land in another field.
_MODAL_AT_REST = """() => {
  const modal = document.getElementById("modal");
  const content = document.getElementById("modal-content");
  if (!modal || !content) return true; // a page without the modal shell
  const busy = ["htmx-swapping", "htmx-settling"].some((c) => content.classList.contains(c));
  const moving = [modal, ...document.querySelectorAll(".modal-backdrop")].some(
    (el) => el.getAnimations({ subtree: true }).length > 0
  );
  return !busy && !moving;
}"""
REST_TIMEOUT_MS = 10_000


def wait_for_modal_at_rest(page: Page) -> None:
    page.wait_for_function(_MODAL_AT_REST, timeout=REST_TIMEOUT_MS)


def dialog(page: Page, title: str) -> Locator:
    """The open modal whose title is ``title``, once it is at rest."""
    found = page.get_by_role("dialog", name=title, exact=True)
    expect(found).to_be_visible()
    wait_for_modal_at_rest(page)
    expect(found).to_be_visible()
    return found


def field(scope: Page | Locator, text: str) -> Locator:
    return scope.get_by_label(label(text))


def expect_field_error(f: Locator, message: str) -> None:
    """``message`` is shown with the field (its error is part of its accessible description,
    after any help text) and the field is marked invalid."""
    expect(f).to_have_attribute("aria-invalid", "true")
    expect(f).to_have_accessible_description(re.compile(rf"(^|\s){re.escape(message)}$"))


def _replaced_after(dlg: Locator, button: Locator) -> None:
    """Click ``button`` and wait until the dialog's content is gone or replaced.

    The answer may look like the content before it (the same error again), so the old
    content is marked first and the wait is for the mark to disappear: swapped out, cleared
    when the modal closed, or gone with a page load.
    """
    page = dlg.page
    content = page.locator("#modal-content")
    content.evaluate(
        "el => el.firstElementChild && el.firstElementChild.setAttribute('data-old', '')"
    )
    button.click()
    expect(content.locator("[data-old]")).to_have_count(0)
    wait_for_modal_at_rest(page)


def press(dlg: Locator, name: str) -> None:
    """Click the dialog's button ``name`` and wait for the answer to replace the dialog."""
    _replaced_after(dlg, dlg.get_by_role("button", name=name, exact=True))


def ok(dlg: Locator) -> None:
    press(dlg, "OK")


def cancel(dlg: Locator) -> None:
    _replaced_after(
        dlg,
        dlg.get_by_role("button", name="Cancel", exact=True).or_(
            dlg.get_by_role("link", name="Cancel", exact=True)
        ),
    )


def expect_no_dialog(page: Page) -> None:
    """The modal is closed, and done closing: Bootstrap hides it first and fires
    ``hidden.bs.modal`` (which empties it) only after the backdrop has faded out."""
    expect(page.locator("#modal")).to_be_hidden()
    expect(page.locator(".modal-backdrop")).to_have_count(0)
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bmodal-open\b"))
    expect(page.locator("#modal-content")).to_be_empty()


def counts() -> dict[str, int]:
    """What a Cancel must leave alone."""
    return {
        "servers": DhcpServer.objects.count(),
        "scopes": Scope.objects.count(),
        "pools": AddressPool.objects.count(),
        "peers": FailoverPeer.objects.count(),
        "changes": ChangeRecord.objects.count(),
        "pool_peers": hash(
            tuple(AddressPool.objects.order_by("pk").values_list("pk", "failover_peer_id"))
        ),
    }


def address_row(page: Page, ip: str) -> Locator:
    return page.locator(f'#address-table tr[data-ip="{ip}"]')


def open_scope_page(page: Page, live_url: str, server: DhcpServer, scope: Scope) -> None:
    """Servers list -> the server -> the scope, by the links a user clicks."""
    page.goto(f"{live_url}/")
    page.get_by_role("link", name=server.name, exact=True).click()
    expect(page.get_by_role("heading", name=server.name)).to_be_visible()
    page.get_by_role("link", name=scope.network, exact=True).click()
    expect(page.get_by_role("heading", name="IP Addresses")).to_be_visible()


def peer(server: DhcpServer, name: str, *, port: int, **fields) -> FailoverPeer:
    """A primary peer on ``server`` (through the service, so the first-peer rule applies)."""
    values = dict(PRIMARY, port=port, peer_port=port, **fields)
    return services.peer_create(server=server, name=name, **values).peer


def pool(scope: Scope, first: str, last: str, failover_peer: FailoverPeer | None = None):
    return services.pool_create(
        scope=scope, first_address=first, last_address=last, failover_peer=failover_peer
    )
