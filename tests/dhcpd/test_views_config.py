"""The configuration pages: Configuration / Download / Validate, Failover Relationships, the
not-finalized flags and the Migrate Scope to Failover Peer dialog.

Each endpoint is tried by an anonymous user, a read-only user and an editor, as a full page
and as an htmx request.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.gen_config import generate
from failover import services, versioning
from failover.dhcpd.render import render_server
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from failover.views import config as config_views
from failover.views.config import PAGE_LINES
from tests.conftest import PRIMARY
from tests.dhcpd.conftest import build_pair

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def is_full_page(response) -> bool:
    return b"<html" in response.content


def first_scope(server: DhcpServer) -> Scope:
    return server.scopes.get(network="10.10.0.0/24")


@pytest.fixture
def unmigrated():
    return build_pair(migrate=False)


@pytest.fixture
def migrated():
    return build_pair()


# --- access ---------------------------------------------------------------------------------


def read_endpoints(a: DhcpServer) -> list[tuple[str, str]]:
    return [
        ("get", reverse("failover:server_config", args=[a.pk])),
        ("get", reverse("failover:server_config_download", args=[a.pk])),
        ("post", reverse("failover:server_config_validate", args=[a.pk])),
        ("get", reverse("failover:relationship_list")),
    ]


def test_every_endpoint_needs_a_login(client, unmigrated):
    a, b = unmigrated
    migrate = reverse("failover:scope_migrate", args=[first_scope(a).pk])
    for method, url in [*read_endpoints(a), ("get", migrate), ("post", migrate)]:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login") + "?next=")
        htmx = getattr(client, method)(url, headers=HX)
        assert htmx["HX-Redirect"].startswith(reverse("login") + "?next=")
    assert not b.scopes.exists()


def test_read_only_users_read_and_validate(viewer_client, unmigrated, settings, dhcpd):
    settings.DHCPD_PATH = dhcpd
    a, b = unmigrated
    for method, url in read_endpoints(a):
        assert getattr(viewer_client, method)(url).status_code == 200, url


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "htmx"])
def test_read_only_users_cannot_migrate(viewer_client, unmigrated, method, headers):
    a, b = unmigrated
    url = reverse("failover:scope_migrate", args=[first_scope(a).pk])
    assert getattr(viewer_client, method)(url, headers=headers).status_code == 403
    assert not b.scopes.exists() and not b.failover_peers.exists()


def test_read_only_users_see_the_flag_but_not_the_action(viewer_client, unmigrated):
    a, b = unmigrated
    html = viewer_client.get(reverse("failover:server_detail", args=[a.pk])).content.decode()
    assert 'data-testid="not-finalized-10.10.0.0/24"' in html
    assert "Migrate Scope to Failover Peer" not in html
    scope_html = viewer_client.get(
        reverse("failover:scope_detail", args=[first_scope(a).pk])
    ).content.decode()
    assert 'data-testid="scope-not-finalized"' in scope_html
    assert "Migrate Scope to Failover Peer" not in scope_html


def test_validate_needs_the_csrf_token(viewer, unmigrated):
    a, b = unmigrated
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    url = reverse("failover:server_config_validate", args=[a.pk])
    assert client.post(url).status_code == 403
    assert client.post(url, headers=HX).status_code == 403


def test_validate_is_post_only(editor_client, unmigrated):
    a, b = unmigrated
    url = reverse("failover:server_config_validate", args=[a.pk])
    assert editor_client.get(url).status_code == 405


# --- Configuration, Download, Validate -----------------------------------------------------


def test_the_configuration_page_shows_the_rendered_text(editor_client, migrated):
    a, b = migrated
    response = editor_client.get(reverse("failover:server_config", args=[b.pk]))
    assert response.status_code == 200 and is_full_page(response)
    html = response.content.decode()
    text = render_server(b)
    assert 'id="L1"' in html and f'id="L{text.count(chr(10))}"' in html
    assert "secondary;" in html
    assert "failover peer &quot;fo-pair&quot; {" in html  # escaped by the template
    assert reverse("failover:server_config_download", args=[b.pk]) in html
    assert 'id="validate-config"' in html


def test_download_is_the_exact_text(editor_client, migrated):
    a, b = migrated
    response = editor_client.get(reverse("failover:server_config_download", args=[a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="dhcp-a.conf"'
    assert response.content.decode() == render_server(a)


def test_validate_in_place_with_htmx(editor_client, migrated, settings, dhcpd):
    settings.DHCPD_PATH = dhcpd
    a, b = migrated
    response = editor_client.post(
        reverse("failover:server_config_validate", args=[a.pk]), headers=HX
    )
    assert response.status_code == 200 and not is_full_page(response)
    assert 'data-testid="validate-ok"' in response.content.decode()


def test_validate_without_javascript_shows_the_page_with_the_result(
    editor_client, migrated, settings, dhcpd
):
    settings.DHCPD_PATH = dhcpd
    a, b = migrated
    response = editor_client.post(reverse("failover:server_config_validate", args=[b.pk]))
    assert response.status_code == 200 and is_full_page(response)
    html = response.content.decode()
    assert 'data-testid="validate-ok"' in html and 'data-testid="config-text"' in html


def test_validate_reports_a_missing_dhcpd(editor_client, migrated, settings, tmp_path):
    settings.DHCPD_PATH = str(tmp_path / "no-dhcpd")
    a, b = migrated
    response = editor_client.post(
        reverse("failover:server_config_validate", args=[a.pk]), headers=HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="validate-missing"' in html and "DHCPD_PATH" in html


def test_validate_shows_dhcpd_errors_with_line_links(editor_client, migrated, settings, dhcpd):
    settings.DHCPD_PATH = dhcpd
    a, b = migrated
    # Data that bypassed validation: a pool of dhcp-a pointing at another server's peer.
    c = services.server_create(name="dhcp-c", address="192.0.2.3")
    stray = services.peer_create(server=c, name="stray", **dict(PRIMARY, address="192.0.2.3"))
    AddressPool.objects.filter(scope=first_scope(a)).update(failover_peer=stray.peer)
    text = render_server(a)
    line = text.split("\n").index('    failover peer "stray";') + 1
    response = editor_client.post(
        reverse("failover:server_config_validate", args=[a.pk]), headers=HX
    )
    html = response.content.decode()
    assert 'data-testid="validate-errors"' in html
    config = reverse("failover:server_config", args=[a.pk])
    link = f'<a href="{config}?line={line}#L{line}">line {line}</a>'
    assert f"{link}: failover peer stray: not found" in html
    assert '<code class="small">    failover peer &quot;stray&quot;;</code>' in html


def test_data_that_cannot_be_rendered_is_an_error_not_a_500(editor_client, primary_peer):
    FailoverPeer.objects.filter(pk=primary_peer.pk).update(peer_address="1.2.3.4; evil")
    server = primary_peer.server
    page = editor_client.get(reverse("failover:server_config", args=[server.pk]))
    assert page.status_code == 200 and 'data-testid="render-error"' in page.content.decode()
    download = editor_client.get(reverse("failover:server_config_download", args=[server.pk]))
    assert download.status_code == 409
    validate = editor_client.post(
        reverse("failover:server_config_validate", args=[server.pk]), headers=HX
    )
    assert validate.status_code == 200 and "cannot be rendered" in validate.content.decode()


def test_unknown_server_is_404(editor_client, db):
    assert editor_client.get(reverse("failover:server_config", args=[999])).status_code == 404


# --- server page, scope page, relationships ------------------------------------------------


def test_server_page_shows_findings_and_the_migrate_action(editor_client, unmigrated):
    a, b = unmigrated
    html = editor_client.get(reverse("failover:server_detail", args=[a.pk])).content.decode()
    assert 'id="server-configuration"' in html
    assert 'data-testid="server-relationship-fo-pair"' in html
    assert html.count('data-testid="finding-not_finalized"') == 2
    migrate = reverse("failover:scope_migrate", args=[first_scope(a).pk])
    assert f'hx-get="{migrate}"' in html
    assert 'data-testid="not-finalized-10.10.0.0/24"' in html


def test_server_page_after_migration_is_clean(editor_client, migrated):
    a, b = migrated
    for server in (a, b):
        html = editor_client.get(
            reverse("failover:server_detail", args=[server.pk])
        ).content.decode()
        assert 'data-testid="pair-check-ok"' in html
        assert 'data-testid="not-finalized' not in html


def test_scope_page_flags(editor_client, unmigrated):
    a, b = unmigrated
    url = reverse("failover:scope_detail", args=[first_scope(a).pk])
    html = editor_client.get(url).content.decode()
    assert 'data-testid="not-finalized"' in html and 'data-testid="scope-not-finalized"' in html
    assert 'id="migrate-scope"' in html
    services.scope_migrate_to_partner(scope=first_scope(a))
    html = editor_client.get(url).content.decode()
    assert 'data-testid="not-finalized"' not in html
    assert 'data-testid="scope-finalized"' in html


def test_scope_page_of_an_unmanaged_partner(editor_client, primary_peer, scope):
    html = editor_client.get(reverse("failover:scope_detail", args=[scope.pk])).content.decode()
    assert 'data-testid="scope-partner-unmanaged"' in html
    assert 'id="migrate-scope"' not in html


def test_relationship_list(editor_client, unmigrated):
    a, b = unmigrated
    response = editor_client.get(reverse("failover:relationship_list"))
    html = response.content.decode()
    assert 'id="nav-relationships"' in html
    row = html[html.index('data-testid="relationship-fo-pair"') :]
    assert "dhcp-a" in row and "dhcp-b" in row
    # Numbers, not every scope: each links to the server pages filtered to them.
    scopes = row[row.index('data-testid="relationship-scopes"') :]
    assert f'href="/servers/{a.pk}/?relationship=fo-pair">2</a>' in scopes
    pending = row[row.index('data-testid="relationship-not-finalized"') :]
    assert '<span class="badge text-bg-warning">2</span>' in pending
    for server in (a, b):
        assert f"/servers/{server.pk}/?relationship=fo-pair&amp;show=not-finalized" in pending
    assert "not finalized" in row and 'data-testid="pair-check-findings"' in row
    for scope in a.scopes.all():
        services.scope_migrate_to_partner(scope=scope)
    html = editor_client.get(reverse("failover:relationship_list")).content.decode()
    assert 'data-testid="pair-check-ok"' in html and "not finalized</span>" not in html


def test_relationship_list_without_relationships(editor_client, server):
    html = editor_client.get(reverse("failover:relationship_list")).content.decode()
    assert "No failover relationships yet" in html


def queries(client, url: str) -> int:
    client.get(url)  # warm the session
    versioning.clear()  # and measure the pair check too, not a kept result
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_relationship_list_queries_do_not_grow(editor_client, db):
    build_pair(networks=("10.10.0.0/24",))
    url = reverse("failover:relationship_list")
    few = queries(editor_client, url)
    DhcpServer.objects.all().delete()
    build_pair(networks=tuple(f"10.{i}.0.0/24" for i in range(1, 12)), migrate=False)
    assert queries(editor_client, url) == few


def test_server_page_queries_do_not_grow_with_relationships(editor_client, db):
    a, b = build_pair(networks=("10.10.0.0/24",), migrate=False)
    url = reverse("failover:server_detail", args=[a.pk])
    few = queries(editor_client, url)
    peer = a.failover_peers.get()
    for i in range(1, 8):
        scope = services.scope_create(server=a, network=f"10.{50 + i}.0.0/24")
        services.pool_create(
            scope=scope,
            first_address=f"10.{50 + i}.0.10",
            last_address=f"10.{50 + i}.0.20",
            failover_peer=peer,
        )
    assert queries(editor_client, url) == few


# --- Migrate Scope to Failover Peer ---------------------------------------------------------


def test_migrate_preview_as_a_page_and_as_a_partial(editor_client, unmigrated):
    a, b = unmigrated
    url = reverse("failover:scope_migrate", args=[first_scope(a).pk])
    page = editor_client.get(url)
    assert page.status_code == 200 and is_full_page(page)
    partial = editor_client.get(url, headers=HX)
    assert partial.status_code == 200 and not is_full_page(partial)
    html = partial.content.decode()
    assert 'id="modal-title">Migrate Scope to Failover Peer<' in html
    assert 'data-testid="migrate-partner">dhcp-b<' in html
    assert 'data-testid="migrate-peer-fo-pair"' in html and "Secondary" in html
    assert 'data-testid="migrate-scope-create"' in html
    assert "10.10.0.100–10.10.0.150</span>\n    with failover peer fo-pair" in html
    assert f'hx-post="{url}"' in html and 'id="modal-ok"' in html
    assert not b.scopes.exists()  # the preview changed nothing


def test_migrate_from_the_modal(editor_client, editor, unmigrated):
    a, b = unmigrated
    scope = first_scope(a)
    response = editor_client.post(reverse("failover:scope_migrate", args=[scope.pk]), headers=HX)
    assert response.status_code == 200
    assert response["HX-Refresh"] == "true"
    assert "closeModal" in response["HX-Trigger"]
    assert b.scopes.filter(network="10.10.0.0/24").exists()
    assert ChangeRecord.objects.filter(action="scope_migrate", user=editor).exists()
    # Twice: nothing changes; the preview says so and offers no OK.
    html = editor_client.get(
        reverse("failover:scope_migrate", args=[scope.pk]), headers=HX
    ).content.decode()
    assert 'data-testid="migrate-nothing"' in html and 'id="modal-ok"' not in html
    again = editor_client.post(reverse("failover:scope_migrate", args=[scope.pk]))
    assert again.status_code == 302
    assert "already finalized" in editor_client.get(again["Location"]).content.decode()
    assert ChangeRecord.objects.filter(action="scope_migrate").count() == 1


def test_migrate_from_a_plain_page(editor_client, unmigrated):
    a, b = unmigrated
    scope = first_scope(a)
    response = editor_client.post(reverse("failover:scope_migrate", args=[scope.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("failover:scope_detail", args=[scope.pk])
    assert (
        "Migrated scope 10.10.0.0/24 to dhcp-b."
        in editor_client.get(response["Location"]).content.decode()
    )


def test_migrate_shows_the_reconciliation(editor_client, migrated):
    a, b = migrated
    copy = first_scope(b)
    services.scope_update(scope=copy, routers="10.10.0.254")
    html = editor_client.get(
        reverse("failover:scope_migrate", args=[first_scope(a).pk]), headers=HX
    ).content.decode()
    changes = html[html.index('data-testid="migrate-scope-changes"') :]
    assert "<del>10.10.0.254</del>" in changes and "<ins>10.10.0.1</ins>" in changes


def test_migrate_refused_is_shown_not_a_500(editor_client, primary_peer, scope):
    url = reverse("failover:scope_migrate", args=[scope.pk])
    html = editor_client.get(url, headers=HX).content.decode()
    assert 'data-testid="migrate-errors"' in html and 'id="modal-ok"' not in html
    response = editor_client.post(url, headers=HX)
    assert response.status_code == 200
    assert "not managed here" in response.content.decode()
    assert Scope.objects.count() == 1


# --- a large configuration: pages, line links, the cache -----------------------------------

LINE_RE = re.compile(
    r'<span class="config-line" id="L(\d+)"><span class="ln">(\d+)</span>(.*?)</span>'
)


def imported_server(subnets: int, name: str = "big") -> DhcpServer:
    server = services.server_create(name=name, address="192.0.2.1")
    services.config_import(server=server, text=generate(subnets), filename=f"{name}.conf")
    return server


def shown_lines(html: str) -> list[tuple[int, str]]:
    """The numbered lines of a configuration page, as (number, text)."""
    found = [(int(a), int(b), unescape(text)) for a, b, text in LINE_RE.findall(html)]
    assert all(a == b for a, b, _ in found)  # the anchor and the number shown agree
    return [(a, text) for a, _, text in found]


def test_a_large_configuration_is_shown_a_page_at_a_time(editor_client):
    server = imported_server(250)
    text = render_server(server)
    lines = text.split("\n")[:-1]
    assert 2000 < len(lines) <= 3000  # three pages
    url = reverse("failover:server_config", args=[server.pk])
    seen = []
    for page in (1, 2, 3):
        html = editor_client.get(url, {"page": page}).content.decode()
        got = shown_lines(html)
        assert got[0][0] == (page - 1) * PAGE_LINES + 1  # numbers continue across pages
        assert len(got) == (PAGE_LINES if page < 3 else len(lines) - 2 * PAGE_LINES)
        assert f"Lines {got[0][0]}–{got[-1][0]} of {len(lines)} (page {page} of 3)" in html
        assert 'aria-current="page"><span class="page-link">' + str(page) in html
        seen += got
    assert seen == list(enumerate(lines, start=1))  # every line once, as rendered
    last = editor_client.get(url, {"page": 3}).content.decode()
    assert 'href="?page=2" rel="prev"' in last and 'rel="next"' not in last
    assert 'name="line"' in last and f'max="{len(lines)}"' in last  # the "go to line" box


@pytest.mark.parametrize(
    "page,expected", [("0", 1), ("-2", 1), ("x", 1), ("", 1), ("4", 3), ("99999999999", 3)]
)
def test_a_page_out_of_range_shows_the_nearest(editor_client, page, expected):
    server = imported_server(250)
    url = reverse("failover:server_config", args=[server.pk])
    response = editor_client.get(url, {"page": page})
    assert response.status_code == 200
    first = shown_lines(response.content.decode())[0][0]
    assert first == (expected - 1) * PAGE_LINES + 1


def test_a_small_configuration_has_no_pages(editor_client, migrated):
    a, b = migrated
    html = editor_client.get(reverse("failover:server_config", args=[a.pk])).content.decode()
    assert len(shown_lines(html)) == render_server(a).count("\n")
    assert "config-pages-top" not in html and 'name="line"' not in html


@pytest.mark.parametrize("line,page", [("1", 1), ("1000", 1), ("1001", 2), ("2500", 3)])
def test_go_to_line_opens_its_page_at_the_line(editor_client, line, page):
    server = imported_server(250)
    url = reverse("failover:server_config", args=[server.pk])
    response = editor_client.get(url, {"line": line})
    assert response.status_code == 302
    assert response["Location"] == f"{url}?page={page}#L{line}"
    html = editor_client.get(response["Location"]).content.decode()
    assert f'id="L{line}"' in html


def test_go_to_a_line_out_of_range_or_not_a_number(editor_client):
    server = imported_server(250)
    url = reverse("failover:server_config", args=[server.pk])
    total = render_server(server).count("\n")
    assert editor_client.get(url, {"line": "999999"})["Location"] == f"{url}?page=3#L{total}"
    assert editor_client.get(url, {"line": "0"})["Location"] == f"{url}?page=1#L1"
    assert editor_client.get(url, {"line": "abc"})["Location"] == url


def test_validate_errors_link_to_the_page_of_their_line(editor_client, settings, dhcpd):
    settings.DHCPD_PATH = dhcpd
    server = imported_server(250)
    # Data that bypassed validation: the last scope's pool names another server's peer.
    other = services.server_create(name="other", address="192.0.2.3")
    stray = services.peer_create(server=other, name="stray", **dict(PRIMARY, address="192.0.2.3"))
    AddressPool.objects.filter(scope__server=server, first_address="10.0.249.10").update(
        failover_peer=stray.peer
    )
    line = render_server(server).split("\n").index('    failover peer "stray";') + 1
    assert line > 2 * PAGE_LINES
    url = reverse("failover:server_config", args=[server.pk])
    html = editor_client.post(
        reverse("failover:server_config_validate", args=[server.pk]), headers=HX
    ).content.decode()
    link = f"{url}?line={line}#L{line}"
    assert f'<a href="{link}">line {line}</a>: failover peer stray: not found' in html
    target = editor_client.get(link)["Location"]
    assert target == f"{url}?page=3#L{line}"
    assert (line, '    failover peer "stray";') in shown_lines(
        editor_client.get(target).content.decode()
    )


def test_the_rendered_text_is_kept_until_the_data_changes(editor_client, monkeypatch, migrated):
    a, b = migrated
    calls = []

    def counting(server):
        calls.append(server.pk)
        return render_server(server)

    monkeypatch.setattr(config_views, "render_server", counting)
    url = reverse("failover:server_config", args=[a.pk])
    download = reverse("failover:server_config_download", args=[a.pk])
    assert "example.test" in editor_client.get(url).content.decode()
    assert editor_client.get(url, {"page": 1}).status_code == 200
    assert editor_client.get(download).content.decode() == render_server(a)
    assert calls == [a.pk]  # rendered once, then read from the cache
    services.scope_update(scope=first_scope(a), domain_name="changed.example")
    html = editor_client.get(url).content.decode()
    assert "changed.example" in html and "example.test;" not in html
    assert "changed.example" in editor_client.get(download).content.decode()
    assert calls == [a.pk, a.pk]


def page_queries(client, url: str) -> tuple[int, int]:
    """Queries of the first request (which renders) and of the next one (cached)."""
    client.get(reverse("failover:server_list"))  # warm the session
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    return counts[0], counts[1]


def test_the_configuration_page_queries_do_not_grow_with_the_scopes(editor_client):
    small = imported_server(10, "small")
    large = imported_server(1000, "large")
    few = page_queries(editor_client, reverse("failover:server_config", args=[small.pk]))
    many = page_queries(editor_client, reverse("failover:server_config", args=[large.pk]))
    assert few == many
    assert few[1] < few[0]  # the second request does not render
    html = editor_client.get(reverse("failover:server_config", args=[large.pk])).content.decode()
    assert len(shown_lines(html)) == PAGE_LINES  # one page of a file of over 11,000 lines


def test_a_server_that_cannot_be_rendered_has_no_pages_but_an_error(editor_client, primary_peer):
    FailoverPeer.objects.filter(pk=primary_peer.pk).update(peer_address="1.2.3.4; evil")
    url = reverse("failover:server_config", args=[primary_peer.server.pk])
    for query in ({"page": "2"}, {}):
        page = editor_client.get(url, query)
        assert page.status_code == 200 and 'data-testid="render-error"' in page.content.decode()
    assert editor_client.get(url, {"line": "5"})["Location"] == url
