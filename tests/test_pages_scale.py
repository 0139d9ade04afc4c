"""Pages whose cost follows what they show: the server page (50 scopes a page, search,
filters, exact counts), the scope page (one network's worth of rows), the relationships page
(numbers and links), numeric order on every database, and the queries at 10 and 1,000
scopes. Performance itself is measured by bench/pages_bench.py, not here."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.gen_config import generate
from failover import selectors, services, versioning
from failover.models import AddressPool, DhcpServer, Scope
from tests.conftest import PRIMARY


def import_pair(subnets: int) -> tuple[DhcpServer, DhcpServer]:
    """The benchmark's mirrored pair at a small size: ``subnets`` scopes on each server,
    one failover pool each (10.x.y.10-250), relationship ``fo-bench``."""
    servers = []
    for name, address, role in (
        ("bench-a", "192.0.2.1", "primary"),
        ("bench-b", "192.0.2.2", "secondary"),
    ):
        server = DhcpServer(name=name, address=address)
        services.config_import(server=server, text=generate(subnets, role))
        servers.append(server)
    return servers[0], servers[1]


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def cards(html: str) -> list[str]:
    """The networks of the scope cards, in page order."""
    return re.findall(r'data-testid="scope-card-([0-9./]+)"', html)


def cold_queries(client, url: str) -> int:
    """The queries of one request with nothing kept from earlier ones (the worst case)."""
    client.get(url)  # the session and the like
    versioning.clear()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


# --- numeric order -------------------------------------------------------------------------


def test_scopes_and_pools_sort_numerically(editor_client, server):
    for network in ("10.0.10.0/24", "10.0.2.0/24", "10.1.0.0/16", "10.0.1.0/24", "9.0.0.0/24"):
        services.scope_create(server=server, network=network)
    # Text order would be 10.0.1.0, 10.0.10.0, 10.0.2.0, 10.1.0.0, 9.0.0.0.
    expected = ["9.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24", "10.0.10.0/24", "10.1.0.0/16"]
    assert [s.network for s in Scope.objects.filter(server=server)] == expected
    assert cards(get(editor_client, reverse("failover:server_detail", args=[server.pk]))) == (
        expected
    )
    scope = Scope.objects.get(server=server, network="9.0.0.0/24")
    for first, last in (
        ("9.0.0.100", "9.0.0.120"),
        ("9.0.0.20", "9.0.0.30"),
        ("9.0.0.3", "9.0.0.5"),
    ):
        services.pool_create(scope=scope, first_address=first, last_address=last)
    expected_pools = ["9.0.0.3", "9.0.0.20", "9.0.0.100"]
    assert [p.first_address for p in AddressPool.objects.filter(scope=scope)] == expected_pools
    for url in (
        reverse("failover:server_detail", args=[server.pk]),
        reverse("failover:scope_detail", args=[scope.pk]),
    ):
        rows = re.findall(r'data-testid="pool-row-([0-9.]+)"', get(editor_client, url))
        assert rows == expected_pools


def test_integer_columns_follow_every_way_of_saving(server):
    scope = services.scope_create(server=server, network="10.1.0.0/16")
    assert (scope.first_int, scope.last_int) == (0x0A010000, 0x0A01FFFF)
    stored = Scope.objects.values_list("first_int", "last_int").get(pk=scope.pk)
    assert stored == (0x0A010000, 0x0A01FFFF)
    pool = services.pool_create(scope=scope, first_address="10.1.2.3", last_address="10.1.2.9")
    services.pool_update(
        pool=pool, first_address="10.1.3.1", last_address="10.1.3.2", failover_peer=None
    )
    assert AddressPool.objects.values_list("first_int", "last_int").get(pk=pool.pk) == (
        0x0A010301,
        0x0A010302,
    )
    # Loading without the integer columns still gives them (they follow the text).
    assert Scope.objects.only("network").get(pk=scope.pk).first_int == 0x0A010000


# --- the server page -----------------------------------------------------------------------


@pytest.fixture
def pair_250(db):
    return import_pair(250)


def test_server_page_shows_a_page_of_scopes_with_exact_counts(editor_client, pair_250):
    a, _ = pair_250
    assert selectors.SCOPES_PER_PAGE == 50
    url = reverse("failover:server_detail", args=[a.pk])
    html = get(editor_client, url)
    assert len(cards(html)) == 50
    assert cards(html)[:3] == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]
    counts = html[html.index('data-testid="server-counts"') :]
    assert "250 scopes · 250 address pools" in counts and "1 failover peer" in counts
    assert "Scopes 1–50 of 250" in html
    last = get(editor_client, url + "?page=5")
    assert len(cards(last)) == 50 and cards(last)[-1] == "10.0.249.0/24"
    assert cards(get(editor_client, url + "?page=99")) == cards(last)  # past the end: last
    assert cards(get(editor_client, url + "?page=x")) == cards(html)  # nonsense: first
    assert 'href="?page=2"' in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("10.0.24.", ["10.0.24.0/24"]),  # the start of a network's text
        ("10.0.24", ["10.0.24.0/24", *(f"10.0.{n}.0/24" for n in range(240, 250))]),
        ("10.0.17.99", ["10.0.17.0/24"]),  # an address inside a scope
        ("10.0.17.0/24", ["10.0.17.0/24"]),
        ("no-such-scope", []),
    ],
)
def test_server_page_search(editor_client, pair_250, query, expected):
    a, _ = pair_250
    url = reverse("failover:server_detail", args=[a.pk])
    html = get(editor_client, f"{url}?q={query}")
    assert cards(html) == expected
    if not expected:
        assert 'data-testid="no-matching-scopes"' in html


def test_server_page_search_by_name_and_peer(editor_client, server, scope, primary_peer):
    services.scope_create(server=server, network="10.11.0.0/24", name="Lab")
    url = reverse("failover:server_detail", args=[server.pk])
    assert cards(get(editor_client, f"{url}?q=lab")) == ["10.11.0.0/24"]
    assert cards(get(editor_client, f"{url}?q={primary_peer.name}")) == ["10.10.0.0/24"]


def test_server_page_filters(editor_client, pair_250):
    a, b = pair_250
    url = reverse("failover:server_detail", args=[a.pk])
    plain = services.scope_create(server=a, network="172.16.0.0/24")
    assert cards(get(editor_client, f"{url}?show=no-failover")) == ["172.16.0.0/24"]
    assert "Scopes 1–50 of 250 matching (251 in all)" in get(editor_client, f"{url}?show=failover")
    assert cards(get(editor_client, f"{url}?show=not-finalized")) == []
    # Two scopes stop being finalized: one loses its pool on the partner, one differs.
    b_scopes = {s.network: s for s in Scope.objects.filter(server=b)}
    services.scope_delete(scope=b_scopes["10.0.7.0/24"])
    pool = b_scopes["10.0.3.0/24"].pools.get()
    services.pool_update(
        pool=pool, first_address="10.0.3.10", last_address="10.0.3.200", failover_peer=None
    )
    html = get(editor_client, f"{url}?show=not-finalized")
    assert cards(html) == ["10.0.3.0/24", "10.0.7.0/24"]
    assert 'data-testid="not-finalized-10.0.7.0/24"' in html
    assert cards(get(editor_client, f"{url}?show=not-finalized&q=10.0.7.")) == ["10.0.7.0/24"]
    assert cards(get(editor_client, f"{url}?relationship=fo-bench&q=10.0.7.")) == ["10.0.7.0/24"]
    assert cards(get(editor_client, f"{url}?relationship=other&q=10.0.7.")) == []
    assert plain.pk  # unknown filters show everything rather than fail:
    assert len(cards(get(editor_client, f"{url}?show=bogus"))) == 50


def test_server_page_lists_a_few_scope_findings_and_links_to_all(editor_client, pair_250):
    a, b = pair_250
    for scope in Scope.objects.filter(server=b).order_by("first_int")[:7]:
        services.scope_delete(scope=scope)
    html = get(editor_client, reverse("failover:server_detail", args=[a.pk]))
    assert html.count('data-testid="finding-not_finalized"') == 5
    more = html[html.index('data-testid="more-findings"') :]
    assert "2 more scopes" in more
    assert f"/servers/{a.pk}/?relationship=fo-bench&amp;show=not-finalized" in more


def test_a_change_shows_on_the_next_request(editor_client, pair_250):
    """The relationships are kept per data version: a change through a service is seen."""
    a, b = pair_250
    url = reverse("failover:server_detail", args=[a.pk]) + "?show=not-finalized"
    assert cards(get(editor_client, url)) == []
    services.scope_delete(scope=Scope.objects.get(server=b, network="10.0.9.0/24"))
    assert cards(get(editor_client, url)) == ["10.0.9.0/24"]
    services.scope_migrate_to_partner(scope=Scope.objects.get(server=a, network="10.0.9.0/24"))
    assert cards(get(editor_client, url)) == []


# --- the relationships page ----------------------------------------------------------------


def test_relationships_page_counts_and_links(editor_client, pair_250):
    a, b = pair_250
    services.scope_delete(scope=Scope.objects.get(server=b, network="10.0.5.0/24"))
    html = get(editor_client, reverse("failover:relationship_list"))
    row = html[html.index('data-testid="relationship-fo-bench"') :]
    assert f'href="/servers/{a.pk}/?relationship=fo-bench">250</a>' in row
    assert '<span class="badge text-bg-warning">1</span>' in row
    assert len(html) < 50_000  # numbers, not 250 scopes
    summaries = selectors.relationship_summaries()
    assert [(s.scope_count, s.not_finalized_count, s.finding_count) for s in summaries] == [
        (250, 1, 1)
    ]


# --- queries at 10 and at 1,000 scopes -------------------------------------------------------


@pytest.mark.parametrize(
    "page", ["server", "server-filtered", "server-not-finalized", "scope", "relationships"]
)
def test_queries_do_not_grow_from_10_to_1000_scopes(editor_client, db, page):
    def url() -> str:
        a = DhcpServer.objects.get(name="bench-a")
        base = reverse("failover:server_detail", args=[a.pk])
        return {
            "server": base,
            "server-filtered": base + "?q=10.0&show=failover&relationship=fo-bench&page=2",
            "server-not-finalized": base + "?show=not-finalized",
            "scope": reverse(
                "failover:scope_detail",
                args=[Scope.objects.get(server=a, network="10.0.3.0/24").pk],
            ),
            "relationships": reverse("failover:relationship_list"),
        }[page]

    a, b = import_pair(10)
    services.scope_delete(scope=Scope.objects.get(server=b, network="10.0.4.0/24"))
    few = cold_queries(editor_client, url())
    for model in (AddressPool, Scope):
        model.objects.all().delete()
    DhcpServer.objects.all().delete()
    a, b = import_pair(1000)
    services.scope_delete(scope=Scope.objects.get(server=b, network="10.0.4.0/24"))
    assert cold_queries(editor_client, url()) == few


def test_the_scope_page_reads_one_network(editor_client, pair_250):
    """The scope's failover state comes from its one network: no query returns the other
    scopes or pools of the servers."""
    a, _ = pair_250
    scope = Scope.objects.get(server=a, network="10.0.3.0/24")
    url = reverse("failover:scope_detail", args=[scope.pk])
    get(editor_client, url)
    with CaptureQueriesContext(connection) as ctx:
        html = get(editor_client, url)
    assert 'data-testid="scope-finalized"' in html
    for query in ctx.captured_queries:
        with connection.cursor() as cursor:
            if query["sql"].lstrip().upper().startswith("SELECT") and "failover_" in query["sql"]:
                cursor.execute(query["sql"])
                assert len(cursor.fetchall()) < 250, query["sql"]


def test_peer_create_keeps_pages_right(editor_client, server, scope, pool):
    """A relationship that appears later is seen by the kept results at once."""
    url = reverse("failover:server_detail", args=[server.pk])
    assert 'data-testid="no-relationships"' in get(editor_client, url)
    services.peer_create(server=server, name="fo-new", **PRIMARY)
    assert 'data-testid="server-relationship-fo-new"' in get(editor_client, url)


def test_server_page_links(editor_client, server, scope, pool, primary_peer):
    """Every link of a scope card and a pool row names its object (built without reverse())."""
    partner = services.server_create(name="dhcp-b", address="192.0.2.2")
    assert partner.pk
    html = get(editor_client, reverse("failover:server_detail", args=[server.pk]))
    for name, pk in (
        ("scope_detail", scope.pk),
        ("pool_create", scope.pk),
        ("scope_edit", scope.pk),
        ("scope_delete", scope.pk),
        ("scope_migrate", scope.pk),
        ("pool_edit", pool.pk),
        ("pool_delete", pool.pk),
    ):
        url = reverse(f"failover:{name}", args=[pk])
        assert f'href="{url}"' in html, name
    assert 'href=""' not in html and 'hx-get=""' not in html
    scope_html = get(editor_client, reverse("failover:scope_detail", args=[scope.pk]))
    for name in ("pool_edit", "pool_delete"):
        assert f'href="{reverse(f"failover:{name}", args=[pool.pk])}"' in scope_html
    assert 'href=""' not in scope_html and 'hx-get=""' not in scope_html


def test_import_preview_lists_a_few_scope_findings(editor_client, db):
    """Importing a small file into a server whose partner has many scopes: the preview
    names five findings of single scopes and counts the rest (its size follows the file)."""
    a, _ = import_pair(40)
    response = editor_client.post(
        reverse("failover:server_import", args=[a.pk]),
        {"step": "preview", "text": generate(3, "primary")},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="import-finding"') == 5
    assert "… and 32 more scopes not finalized" in html
