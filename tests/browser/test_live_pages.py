"""The live-state pages and partner-down in a browser, against a real dhcpd pair in the
network-namespace lab (``running_pair``, tests/live/conftest.py).

The readings are recorded by ``poll_server``, the service the worker runs for each server
(the worker itself is tested with the core, tests/live/). Every wait is bounded.

The partner's failover port is probed at the partner's lab link (``lab.link_host``), not at
its failover address 10.99.0.x: the test process lives in the host's namespace, which has no
route into the lab's failover link, and a connect there would leave the machine through the
host's default route. dhcpd listens for its peer on the failover address only, so that probe
says "connection refused" here; the refusal with the partner up rests on the other evidence
(its OMAPI port answers, its OMAPI reading, the survivor in normal)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Page, expect

from failover.live import partner_down
from failover.live.services import poll_server
from failover.models import ChangeRecord, FailoverPeer
from tests.live.conftest import pair_lab, running_pair, state_is  # noqa: F401 - fixtures
from tests.live.ui_helpers import operator, plain_editor

pytestmark = [pytest.mark.browser, pytest.mark.dhcpd, pytest.mark.netns]

WAIT_MS = 30_000  # the page refreshes its live section every 10 s


def log_in(page: Page, live_server, user: User) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def both_normal(pair) -> None:
    for side in ("a", "b"):
        got = pair.wait_for(side, state_is("normal"))
        assert got.ok and got.values["local-state-name"] == "normal", (got, pair.log(side))
    poll_server(pair.a)
    poll_server(pair.b)


@pytest.fixture
def lab_failover_probe(running_pair, monkeypatch):  # noqa: F811
    """Probe the partner's failover port at its lab link (see the module)."""
    pair = running_pair
    links = {pair.a.pk: pair.lab.link_host("b"), pair.b.pk: pair.lab.link_host("a")}
    monkeypatch.setattr(
        partner_down, "failover_target", lambda peer: (links[peer.server_id], peer.peer_port)
    )


def test_dashboard_shows_normal_for_a_running_pair_and_follows_a_change(
    running_pair,  # noqa: F811
    page,
    live_server,
):
    pair = running_pair
    both_normal(pair)
    log_in(page, live_server, operator())
    page.goto(f"{live_server.url}/")

    row = page.get_by_test_id(f"live-row-{pair.peer_name}")
    expect(row).to_have_attribute("data-colour", "green", timeout=WAIT_MS)
    expect(row.get_by_test_id("live-primary").get_by_test_id("live-state")).to_have_text("normal")
    expect(row.get_by_test_id("live-secondary").get_by_test_id("live-state")).to_have_text("normal")
    expect(row.get_by_test_id("live-primary")).to_contain_text(pair.a.name)

    # the secondary stops: the primary reads communications-interrupted, and the dashboard
    # shows it without a reload (it refreshes itself)
    pair.stop("b")
    got = pair.wait_for("a", state_is("communications-interrupted"))
    assert got.ok, (got, pair.log("a"))
    poll_server(pair.a)
    poll_server(pair.b)
    primary = row.get_by_test_id("live-primary").get_by_test_id("live-state")
    expect(primary).to_have_text("communications-interrupted", timeout=WAIT_MS)
    expect(row).to_have_attribute("data-colour", "red")  # the secondary does not answer
    expect(row.get_by_test_id("live-secondary")).to_contain_text("unreachable")
    expect(row.get_by_test_id("live-alert").first).to_be_visible()


def test_partner_down_through_the_dialog(
    running_pair,  # noqa: F811
    lab_failover_probe,
    page,
    live_server,
):
    pair = running_pair
    both_normal(pair)
    peer_a = FailoverPeer.objects.get(server=pair.a, name=pair.peer_name)
    dialog_url = f"{live_server.url}/peers/{peer_a.pk}/partner-down/"

    # a plain editor may not
    editor = Client()
    editor.force_login(plain_editor())
    assert editor.get(dialog_url.removeprefix(live_server.url)).status_code == 403

    log_in(page, live_server, operator())
    page.goto(f"{live_server.url}/relationships/{peer_a.pk}/")
    primary = page.get_by_test_id("live-side-primary")
    expect(primary.get_by_test_id("live-state")).to_have_text("normal", timeout=WAIT_MS)

    # with the partner up, partner-down is refused
    primary.get_by_test_id(f"partner-down-{pair.a.name}").click()
    modal = page.locator("#modal-content")
    expect(modal.get_by_test_id("partner-answers")).to_be_visible(timeout=WAIT_MS)
    expect(modal.get_by_test_id("evidence-partner")).to_have_text("normal")
    modal.get_by_label("Type the failover peer's name to confirm").fill(pair.peer_name)
    modal.locator("#modal-ok").click()
    expect(modal).to_contain_text("Refused: the partner answers", timeout=WAIT_MS)
    assert pair.read("a").values["local-state-name"] == "normal"
    assert not ChangeRecord.objects.filter(action=partner_down.ACTION).exists()
    modal.locator("#modal-cancel").click()
    expect(page.locator("#modal")).to_be_hidden()

    # the secondary stops; the primary says communications-interrupted
    pair.stop("b")
    got = pair.wait_for("a", state_is("communications-interrupted"))
    assert got.ok, (got, pair.log("a"))
    poll_server(pair.a)
    expect(primary.get_by_test_id("live-state")).to_have_text(
        "communications-interrupted", timeout=WAIT_MS
    )
    expect(primary.get_by_test_id("fact-communications-interrupted")).to_be_visible()

    primary.get_by_test_id(f"partner-down-{pair.a.name}").click()
    expect(modal.get_by_test_id("partner-silent")).to_be_visible(timeout=WAIT_MS)
    expect(modal.get_by_test_id("evidence-local")).to_contain_text("communications-interrupted")
    expect(modal.get_by_test_id("evidence-omapi-probe")).to_contain_text("connection refused")
    expect(modal.get_by_test_id("usable-at")).to_contain_text("with the time above, from")
    modal.get_by_label("Type the failover peer's name to confirm").fill(pair.peer_name)
    modal.locator("#modal-ok").click()
    expect(modal.get_by_test_id("partner-down-done")).to_be_visible(timeout=WAIT_MS)
    expect(modal.get_by_test_id("partner-down-state")).to_have_text("partner-down")

    # dhcpd itself says so, and the change is recorded with its evidence
    reading = pair.read("a")
    assert reading.values["local-state-name"] == "partner-down", (reading, pair.log("a"))
    record = ChangeRecord.objects.get(action=partner_down.ACTION)
    assert "read back: partner-down" in record.summary
    assert "connection refused" in record.summary

    # closing the dialog reloads the page, which shows the new state
    poll_server(pair.a)
    page.locator("#modal-close").click()
    expect(primary.get_by_test_id("live-state")).to_have_text("partner-down", timeout=WAIT_MS)
    expect(primary.get_by_test_id("fact-partner-down")).to_be_visible()
    expect(page.get_by_test_id("live-timeline")).to_contain_text("partner-down")

    # and so does the server's page, with its own history
    page.goto(f"{live_server.url}/servers/{pair.a.pk}/")
    section = page.get_by_test_id(f"live-server-rel-{pair.peer_name}")
    expect(section.get_by_test_id("live-state")).to_have_text("partner-down", timeout=WAIT_MS)
    expect(section).to_have_attribute("data-colour", "red")
    expect(page.get_by_test_id("live-server").get_by_test_id("live-timeline")).to_contain_text(
        "communications-interrupted"
    )
