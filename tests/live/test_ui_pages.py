"""The live-state pages (issue 10, section 2) with readings made in the test: the home page's
dashboard, the relationship and server sections, colours, derived facts, alerts, the
history timeline, self-refresh, query counts and access."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from failover.live import selectors
from failover.live.models import Alert, Status
from tests.live.ui_helpers import (
    alert,
    history,
    make_relationship,
    operator,
    plain_editor,
    reading,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def row(html: str, testid: str) -> str:
    """The HTML of the table row with data-testid ``testid``."""
    match = re.search(rf'<tr data-testid="{re.escape(testid)}".*?</tr>', html, re.S)
    assert match, f"no row {testid}"
    return match.group(0)


def side_block(html: str, role: str) -> str:
    start = html.index(f'data-testid="live-side-{role}"')
    end = html.find('data-testid="live-side-', start + 10)
    return html[start : end if end != -1 else len(html)]


# --- the sections on the existing pages -------------------------------------------------------


def test_home_page_loads_and_refreshes_the_dashboard(editor_client, db):
    html = editor_client.get(reverse("failover:server_list")).content.decode()
    url = reverse("failover:live_dashboard")
    assert f'hx-get="{url}" hx-trigger="load"' in html
    partial = editor_client.get(url, **HTMX).content.decode()
    # the partial replaces itself every few seconds (and keeps its page)
    assert 'id="live-dashboard"' in partial
    assert 'hx-trigger="every 10s"' in partial and 'hx-swap="outerHTML"' in partial
    assert "<html" not in partial  # a partial, not a page


def test_relationship_and_server_pages_load_their_live_sections(editor_client, db):
    pa, pb = make_relationship(1)
    html = editor_client.get(reverse("failover:relationship_detail", args=[pa.pk])).content
    assert reverse("failover:live_relationship", args=[pa.pk]).encode() in html
    html = editor_client.get(reverse("failover:server_detail", args=[pb.server.pk])).content
    assert reverse("failover:live_server", args=[pb.server.pk]).encode() in html


def test_partials_are_pages_of_their_own_without_htmx(editor_client, db):
    pa, _ = make_relationship(1)
    reading(pa, 2, 2)
    for url in (
        reverse("failover:live_dashboard"),
        reverse("failover:live_relationship", args=[pa.pk]),
        reverse("failover:live_server", args=[pa.server.pk]),
    ):
        response = editor_client.get(url)
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" in html and 'aria-label="breadcrumb"' in html
        assert "normal" in html


# --- the dashboard: colours, how long, alerts ---------------------------------------------------


def test_dashboard_colours_each_relationship_by_its_state(editor_client, db):
    normal = make_relationship(1)
    interrupted = make_relationship(2)
    down = make_relationship(3)
    unreachable = make_relationship(4)
    make_relationship(5)  # not polled yet
    make_relationship(6, omapi=False)  # no OMAPI: not monitored
    for peer in normal:
        reading(peer, 2, 2, since=timezone.now() - timedelta(hours=2, minutes=1))
    reading(interrupted[0], 3, None)
    reading(interrupted[1], 2, 2)
    reading(down[0], 4, None)
    reading(down[1], 2, 2)
    reading(unreachable[0], 2, 2)
    reading(unreachable[1], status=Status.UNREACHABLE, detail="192.0.2.8:7911 refused")
    alert(unreachable[1])
    alert(normal[0], cleared=True)  # a cleared alert is not shown

    html = editor_client.get(reverse("failover:live_dashboard"), **HTMX).content.decode()

    expected = {
        "fo-1": "green",
        "fo-2": "amber",
        "fo-3": "red",
        "fo-4": "red",
        "fo-5": "grey",
        "fo-6": "grey",
    }
    for name, colour in expected.items():
        assert f'data-testid="live-row-{name}" data-colour="{colour}"' in html, name
    green = row(html, "live-row-fo-1")
    assert green.count("text-bg-success") == 3  # the dot and both sides
    assert "for 2\xa0hours" in green  # how long in this state
    assert "none" in green  # no active alert
    amber = row(html, "live-row-fo-2")
    assert "communications-interrupted" in amber and "text-bg-warning" in amber
    assert "partner-down" in row(html, "live-row-fo-3")
    red = row(html, "live-row-fo-4")
    assert ">unreachable</span>" in red and "192.0.2.8:7911 refused" in red
    assert 'data-testid="live-alert"' in red
    assert "not polled yet" in row(html, "live-row-fo-5")
    assert "not monitored" in row(html, "live-row-fo-6")
    assert 'title="Set the server&#x27;s OMAPI port and key' in row(html, "live-row-fo-6")
    # each row links to the relationship's page
    assert reverse("failover:relationship_detail", args=[normal[0].pk]) in green


def test_dashboard_queries_do_not_grow_with_relationships_or_history(
    editor_client, db, django_assert_max_num_queries
):
    url = reverse("failover:live_dashboard")

    def count() -> int:
        editor_client.get(url, **HTMX)  # the pairing is kept per data version: warm it
        with CaptureQueriesContext(connection) as ctx:
            response = editor_client.get(url, **HTMX)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for i in (1, 2):
        pa, pb = make_relationship(i)
        reading(pa, 2, 2)
        reading(pb, 3, None)
        alert(pb)
    few = count()
    for i in range(3, 13):
        pa, pb = make_relationship(i)
        reading(pa, 2, 2)
        reading(pb, 2, 2)
        alert(pa, Alert.Kind.CLOCK_SKEW)
        history(pa, 30)
    many = count()
    assert many == few
    with django_assert_max_num_queries(7):
        editor_client.get(url, **HTMX)


def test_dashboard_pages_through_many_relationships(editor_client, db, monkeypatch):
    monkeypatch.setattr(selectors, "RELATIONSHIPS_PER_PAGE", 2)
    for i in range(1, 6):
        make_relationship(i)
    url = reverse("failover:live_dashboard")
    first = editor_client.get(url, **HTMX).content.decode()
    assert "live-row-fo-1" in first and "live-row-fo-2" in first
    assert "live-row-fo-3" not in first
    assert f"{url}?page=2" in first and "of 5" in first
    third = editor_client.get(url, {"page": 3}, **HTMX).content.decode()
    assert "live-row-fo-5" in third and "live-row-fo-1" not in third
    # a refresh keeps the page it shows
    assert f'hx-get="{url}?page=3" hx-trigger="every 10s"' in third
    for bad in ("0", "-3", "x", "99999999999999999999", "7"):
        response = editor_client.get(url, {"page": bad}, **HTMX)
        assert response.status_code == 200


def test_dashboard_with_no_relationship(editor_client, db):
    html = editor_client.get(reverse("failover:live_dashboard"), **HTMX).content.decode()
    assert 'data-testid="live-none"' in html


# --- the relationship section: both sides, facts, alerts, history ------------------------------


def test_relationship_section_shows_both_sides_facts_and_alerts(editor_client, db):
    pa, pb = make_relationship(1)
    stos = int(timezone.now().timestamp()) - 60
    reading(pa, 254, 4, stos=stos, mclt=3600, skew=45)  # recover-wait, MCLT not yet over
    reading(pb, 4, 254)
    alert(pb, Alert.Kind.PARTNER_DOWN)
    html = editor_client.get(
        reverse("failover:live_relationship", args=[pa.pk]), **HTMX
    ).content.decode()

    primary = side_block(html, "primary")
    secondary = side_block(html, "secondary")
    assert "recover-wait" in primary and 'data-colour="amber"' in primary
    ready = timezone.localtime(
        timezone.datetime.fromtimestamp(stos + 3600, tz=timezone.get_current_timezone())
    ).strftime("%Y-%m-%d %H:%M:%S")
    assert 'data-testid="fact-recover"' in primary and ready in primary
    assert 'data-testid="fact-clock-skew"' in primary and "45 s apart" in primary
    assert "partner-down" in secondary and 'data-colour="red"' in secondary
    assert 'data-testid="fact-partner-down"' in secondary
    assert 'data-testid="live-alert"' in secondary and 'data-testid="live-alert"' not in primary
    assert 'data-colour="red"' in html.split(">", 1)[0]  # the worst side colours the whole


def test_communications_interrupted_says_each_side_uses_its_own_free_leases(editor_client, db):
    pa, pb = make_relationship(1)
    reading(pa, 3, None)
    html = editor_client.get(
        reverse("failover:live_relationship", args=[pa.pk]), **HTMX
    ).content.decode()
    fact = side_block(html, "primary")
    assert 'data-testid="fact-communications-interrupted"' in fact
    assert "only its own free leases" in fact
    assert "not polled yet" in side_block(html, "secondary")


def test_derived_facts():
    now = timezone.now()
    stos = int(now.timestamp())

    def facts(**kw):
        state = selectors.PeerState(status=Status.OK, **kw)
        return {f.code: f for f in selectors.derived_facts(state, now)}

    assert facts(local_state=2, partner_state=2, skew=0) == {}
    assert facts(local_state=2, partner_state=2, skew=30) == {}  # 30 s is not above 30 s
    skew = facts(local_state=2, partner_state=2, skew=-31)["clock-skew"]
    assert skew.level == "warning" and "31 s apart" in skew.text
    assert facts(local_state=2, partner_state=2, skew=61)["clock-skew"].level == "danger"
    waiting = facts(local_state=6, partner_state=4, local_stos=stos - 10, mclt=60)["recover"]
    assert selectors.shown(now + timedelta(seconds=50)) in waiting.text
    done = facts(local_state=254, partner_state=4, local_stos=stos - 100, mclt=60)["recover"]
    assert done.level == "info" and "has passed" in done.text
    unknown = facts(local_state=6, partner_state=4, local_stos=None, mclt=None)["recover"]
    assert "did not say" in unknown.text
    down = facts(local_state=4, partner_state=3, local_stos=stos, mclt=600)["partner-down"]
    assert selectors.shown(now + timedelta(seconds=600)) in down.text
    assert selectors.derived_facts(selectors.PeerState(status=Status.TIMEOUT), now) == []
    assert selectors.derived_facts(None, now) == []


def test_timeline_pages_newest_first_at_a_fixed_cost(
    editor_client, db, django_assert_max_num_queries
):
    pa, pb = make_relationship(1)
    reading(pa, 2, 2)
    history(pa, 15)
    history(pb, 10)
    url = reverse("failover:live_relationship", args=[pa.pk])

    html = editor_client.get(url, **HTMX).content.decode()
    assert html.count('data-testid="timeline-row"') == selectors.HISTORY_PER_PAGE
    dates = re.findall(r'<td class="text-nowrap">([^<]+)</td>', html)
    assert dates == sorted(dates, reverse=True)  # newest first
    assert f"{url}?history=2" in html and 'data-testid="timeline-older"' in html
    # from what to what
    first = re.search(r'data-testid="timeline-row".*?</tr>', html, re.S).group(0)
    assert "communications-interrupted" in first or "normal (partner normal)" in first
    assert 'data-testid="timeline-from"' in first

    older = editor_client.get(url, {"history": 2}, **HTMX).content.decode()
    assert older.count('data-testid="timeline-row"') == 25 - selectors.HISTORY_PER_PAGE
    assert 'data-testid="timeline-older"' not in older
    assert f'hx-get="{url}?history=2" hx-trigger="every 10s"' in older
    empty = editor_client.get(url, {"history": 9}, **HTMX).content.decode()
    assert "No older changes." in empty

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert editor_client.get(url, **HTMX).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    history(pa, 300)
    alert(pa)
    assert count() == before
    with django_assert_max_num_queries(8):
        editor_client.get(url, **HTMX)


def test_first_change_has_no_from(editor_client, db):
    pa, _ = make_relationship(1)
    history(pa, 1)
    html = editor_client.get(
        reverse("failover:live_relationship", args=[pa.pk]), **HTMX
    ).content.decode()
    assert 'data-testid="timeline-from">—<' in html


def test_unknown_peer_is_404_and_bad_history_page_is_page_1(editor_client, db):
    pa, _ = make_relationship(1)
    for name in ("failover:live_relationship", "failover:live_server"):
        assert editor_client.get(reverse(name, args=[999999])).status_code == 404
        # a section whose object was deleted says so and stops polling (htmx's 286)
        gone = editor_client.get(reverse(name, args=[999999]), **HTMX)
        assert gone.status_code == 286 and b"no longer exists" in gone.content
    url = reverse("failover:live_relationship", args=[pa.pk])
    for bad in ("abc", "-1", "1e9", "\u0661"):
        assert editor_client.get(url, {"history": bad}, **HTMX).status_code == 200


# --- the server section ---------------------------------------------------------------------------


def test_server_section_shows_its_side_and_its_history_only(
    editor_client, db, django_assert_max_num_queries
):
    pa, pb = make_relationship(1)
    reading(pa, 3, None)
    reading(pb, status=Status.AUTH_FAILED, detail="dhcpd refused the key omapi-key")
    history(pa, 3)
    history(pb, 2)
    url = reverse("failover:live_server", args=[pa.server.pk])
    html = editor_client.get(url, **HTMX).content.decode()
    assert 'data-testid="live-server-rel-fo-1" data-colour="amber"' in html
    assert "communications-interrupted" in html and "only its own free leases" in html
    assert html.count('data-testid="timeline-row"') == 3  # its own peer's changes only
    other = editor_client.get(
        reverse("failover:live_server", args=[pb.server.pk]), **HTMX
    ).content.decode()
    assert "authentication failed" in other and "dhcpd refused the key" in other
    assert 'data-colour="red"' in other
    with django_assert_max_num_queries(9):
        editor_client.get(url, **HTMX)


def test_server_without_relationship(editor_client, server):
    html = editor_client.get(
        reverse("failover:live_server", args=[server.pk]), **HTMX
    ).content.decode()
    assert 'data-testid="live-none"' in html


# --- access ---------------------------------------------------------------------------------------


def test_partials_need_a_login(client, db):
    pa, _ = make_relationship(1)
    url = reverse("failover:live_relationship", args=[pa.pk])
    assert client.get(url).status_code == 302
    assert "HX-Redirect" in client.get(url, **HTMX)


def test_partner_down_button_only_for_operators(client, db):
    pa, pb = make_relationship(1)
    reading(pa, 3, None)
    reading(pb, 4, 3)  # already partner-down: no button on that side
    url = reverse("failover:live_relationship", args=[pa.pk])
    dialog = reverse("failover:live_partner_down", args=[pa.pk])
    client.force_login(plain_editor())
    assert dialog not in client.get(url, **HTMX).content.decode()
    client.force_login(operator())
    html = client.get(url, **HTMX).content.decode()
    assert dialog in html and 'hx-target="#modal-content" hx-swap="innerHTML"' in html
    assert reverse("failover:live_partner_down", args=[pb.pk]) not in html


def test_viewer_sees_the_state_read_only(viewer_client, db):
    pa, _ = make_relationship(1)
    reading(pa, 2, 2)
    html = viewer_client.get(reverse("failover:live_dashboard"), **HTMX).content.decode()
    assert 'data-colour="green"' in html


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_partials_are_read_only(editor_client, db, method):
    response = getattr(editor_client, method)(reverse("failover:live_dashboard"))
    assert response.status_code == 405
