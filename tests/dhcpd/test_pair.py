"""Relationships and the pair check: each finding with a case that has it and one that not."""

from __future__ import annotations

import pytest

from failover import services
from failover.dhcpd import pair
from failover.models import DhcpServer, FailoverPeer
from tests.conftest import PRIMARY, SECONDARY
from tests.dhcpd.conftest import assert_valid, build_pair

pytestmark = pytest.mark.django_db


def codes(rels=None) -> list[str]:
    """The finding codes; on the way, every server's own relationships, computed from that
    server and its partners only, must equal its part of the whole computation, and every
    scope's relationship, computed from its one network, must agree on finalized."""
    rels = pair.relationships() if rels is None else rels
    assert_server_views_agree(rels)
    return sorted(f.code for f in pair.all_findings(rels))


def assert_counts_agree(rels: list[pair.Relationship]) -> None:
    """The numbers and first findings computed in bulk (sets of networks) are those of the
    objects made one per scope and per finding."""
    for rel in rels:
        fresh = [r for r in pair.relationships() if r.name == rel.name]
        assert rel.first_scope_findings == rel.scope_findings[: rel.FIRST]
        assert rel.scope_finding_count == len(rel.scope_findings)
        assert rel.more_scope_findings == len(rel.scope_findings[rel.FIRST :])
        assert rel.not_finalized_count == len(rel.not_finalized)
        assert rel.scope_count == len(rel.scopes)
        assert rel.finding_count == len(rel.findings) and rel.ok == (not rel.findings)
        # asked for in the other order (first the numbers, then the objects): the same
        assert any(
            (r.first_scope_findings, r.scope_finding_count, r.findings)
            == (rel.first_scope_findings, rel.scope_finding_count, rel.findings)
            for r in fresh
        )


def assert_server_views_agree(rels: list[pair.Relationship]) -> None:
    assert_counts_agree(rels)
    for server in DhcpServer.objects.all():
        assert pair.relationships(server=server) == pair.for_server(rels, server), server
        for scope in server.scopes.all():
            whole = [
                (rel.name, rs.finalized)
                for rel in pair.for_server(rels, server)
                for rs in rel.scopes
                if scope.pk in {s.pk for s in (rs.primary_scope, rs.secondary_scope) if s}
            ]
            alone = [
                (rel.name, rs.finalized)
                for rel in pair.relationships(server=server, network=scope.network)
                for rs in rel.scopes
                if scope.pk in {s.pk for s in (rs.primary_scope, rs.secondary_scope) if s}
            ]
            assert alone == whole, scope


def peer_of(server_name: str, name: str = "fo-pair") -> FailoverPeer:
    return FailoverPeer.objects.get(server__name=server_name, name=name)


@pytest.fixture
def migrated():
    return build_pair()


def test_a_migrated_pair_has_no_finding(migrated, dhcpd):
    a, b = migrated
    [rel] = pair.relationships()
    assert rel.name == "fo-pair"
    assert (rel.primary_server, rel.secondary_server) == (a, b)
    assert rel.primary_peer == peer_of("dhcp-a") and rel.secondary_peer == peer_of("dhcp-b")
    assert [rs.network for rs in rel.scopes] == ["10.10.0.0/24", "10.20.0.0/24"]
    assert all(rs.finalized for rs in rel.scopes)
    assert rel.findings == [] and rel.ok
    assert pair.not_finalized_scopes([rel]) == {}
    for server in (a, b):
        assert_valid(server, dhcpd)


def test_the_queries_do_not_grow_with_the_model(django_assert_num_queries):
    build_pair(networks=("10.10.0.0/24",))
    with django_assert_num_queries(4):
        assert len(pair.relationships()) == 1
    DhcpServer.objects.all().delete()
    build_pair(networks=tuple(f"10.{i}.0.0/24" for i in range(1, 30)))
    with django_assert_num_queries(4):
        [rel] = pair.relationships()
    assert len(rel.scopes) == 29 and rel.ok


# --- partner resolution ------------------------------------------------------------------


def test_partner_by_the_server_address(server, pool):
    peer = services.peer_create(server=server, name="fo-pair", **PRIMARY).peer
    assert pair.partner_of(peer) is None
    b = services.server_create(name="dhcp-b", address="192.0.2.2")
    assert pair.partner_of(peer) == b


def test_partner_by_the_peer_listening_on_the_peer_address(server, pool):
    peer = services.peer_create(server=server, name="fo-pair", **PRIMARY).peer
    b = services.server_create(name="dhcp-b", address="b.example")  # another address
    services.peer_create(
        server=b, name="fo-pair", **dict(SECONDARY, address="192.0.2.2", peer_address="192.0.2.1")
    )
    assert pair.partner_of(peer) == b
    [rel] = pair.relationships()
    assert rel.secondary_server == b


def test_partner_chosen_explicitly(server, pool):
    b = services.server_create(name="dhcp-b", address="192.0.2.2")
    c = services.server_create(name="dhcp-c", address="192.0.2.3")
    peer = services.peer_create(server=server, name="fo-pair", **PRIMARY, partner_server=c).peer
    assert pair.partner_of(peer) == c != b


# --- the findings ------------------------------------------------------------------------


def test_not_managed(server, pool):
    services.peer_create(server=server, name="fo-pair", **PRIMARY)
    assert codes() == ["not_managed"]
    [rel] = pair.relationships()
    assert rel.secondary_server is None and "192.0.2.2" in rel.findings[0].message
    services.server_create(name="dhcp-b", address="192.0.2.2")
    assert "not_managed" not in codes()


def test_not_finalized_until_migrated(dhcpd):
    a, b = build_pair(migrate=False)
    [rel] = pair.relationships()
    assert codes() == ["not_finalized", "not_finalized"]
    assert [f.network for f in rel.findings] == ["10.10.0.0/24", "10.20.0.0/24"]
    assert {scope.server_id for scope in (rs.source for rs in rel.not_finalized)} == {a.pk}
    flagged = pair.not_finalized_scopes([rel])
    assert set(flagged) == set(a.scopes.values_list("pk", flat=True))
    services.scope_migrate_to_partner(scope=a.scopes.get(network="10.10.0.0/24"))
    assert [f.network for f in pair.relationships()[0].findings] == ["10.20.0.0/24"]
    services.scope_migrate_to_partner(scope=a.scopes.get(network="10.20.0.0/24"))
    assert codes() == []
    assert_valid(b, dhcpd)


def test_name_mismatch(migrated):
    services.peer_update(peer=peer_of("dhcp-b"), name="other-name")
    [rel] = pair.relationships()
    assert [f.code for f in rel.findings] == ["name_mismatch"]
    assert "'fo-pair'" in rel.findings[0].message and "'other-name'" in rel.findings[0].message


def test_roles(migrated):
    services.peer_update(peer=peer_of("dhcp-b"), role="primary", mclt=3600, split=128)
    assert codes() == ["roles"]
    assert "exactly one primary" in pair.all_findings(pair.relationships())[0].message
    services.peer_update(peer=peer_of("dhcp-b"), role="secondary")
    services.peer_update(peer=peer_of("dhcp-a"), role="secondary")
    assert codes() == ["roles"]


def test_mirror_ports_and_addresses(migrated):
    services.peer_update(peer=peer_of("dhcp-b"), port=700)
    [finding] = pair.all_findings(pair.relationships())
    assert finding.code == "mirror"
    assert "dhcp-b listens on 192.0.2.2 port 700" in finding.message
    assert "dhcp-a connects to 192.0.2.2 port 647" in finding.message
    services.peer_update(peer=peer_of("dhcp-b"), port=647)
    services.peer_update(peer=peer_of("dhcp-a"), address="192.0.2.11")
    assert codes() == ["mirror"]
    services.peer_update(peer=peer_of("dhcp-b"), peer_address="192.0.2.11")
    assert codes() == []


def test_primary_only_statements_on_the_secondary():
    # The database refuses such a secondary, so the check is tried on unsaved peers.
    a, b = DhcpServer(pk=1, name="a"), DhcpServer(pk=2, name="b")
    primary = FailoverPeer(server=a, name="fo", **PRIMARY)
    mirrored = dict(SECONDARY, address="192.0.2.2", peer_address="192.0.2.1")
    clean = FailoverPeer(server=b, name="fo", **mirrored)
    assert pair.check_peers("fo", primary, clean) == []
    dirty = FailoverPeer(server=b, name="fo", **dict(mirrored, mclt=3600, split=128))
    [finding] = pair.check_peers("fo", primary, dirty)
    assert finding.code == "primary_only"
    assert "Max Client Lead Time, Split Index" in finding.message


def test_load_balance_differs(migrated):
    services.peer_update(peer=peer_of("dhcp-b"), load_balance_max_seconds=5)
    [finding] = pair.all_findings(pair.relationships())
    assert (finding.code, finding.severity) == ("load_balance", pair.WARNING)


def test_unreferenced_peer(migrated):
    a, b = migrated
    services.peer_create(
        server=a, name="fo-two", **dict(PRIMARY, port=648, peer_port=648)
    )  # not the first peer: no pool refers to it
    rels = {rel.name: rel for rel in pair.relationships()}
    assert rels["fo-pair"].ok
    assert [f.code for f in rels["fo-two"].findings] == ["unreferenced"]
    assert "dhcpd refuses" in rels["fo-two"].findings[0].message


def test_pools_differ(migrated):
    a, b = migrated
    scope = a.scopes.get(network="10.10.0.0/24")
    services.pool_create(
        scope=scope,
        first_address="10.10.0.200",
        last_address="10.10.0.210",
        failover_peer=peer_of("dhcp-a"),
    )
    [finding] = pair.all_findings(pair.relationships())
    assert finding.code == "pools_differ" and finding.network == "10.10.0.0/24"
    assert "only on dhcp-a: 10.10.0.200-10.10.0.210; only on dhcp-b: none" in finding.message
    assert set(pair.not_finalized_scopes(pair.relationships())) == {
        scope.pk,
        b.scopes.get(network="10.10.0.0/24").pk,
    }
    services.scope_migrate_to_partner(scope=scope)
    assert codes() == []


def test_a_pool_without_peer_on_the_partner_differs(migrated):
    a, b = migrated
    pool = b.scopes.get(network="10.20.0.0/24").pools.get()
    services.pool_update(
        pool=pool,
        first_address=pool.first_address,
        last_address=pool.last_address,
        failover_peer=None,
    )
    assert codes() == ["pools_differ"]


def test_for_server_and_involves(migrated):
    a, b = migrated
    c = services.server_create(name="dhcp-c", address="192.0.2.3")
    rels = pair.relationships()
    assert pair.for_server(rels, a) == pair.for_server(rels, b) == rels
    assert pair.for_server(rels, c) == []


def test_each_server_sees_only_its_relationships(migrated):
    a, b = migrated
    c = services.server_create(name="dhcp-c", address="192.0.2.3")
    services.server_create(name="dhcp-d", address="192.0.2.4")
    scope = services.scope_create(server=c, network="10.30.0.0/24")
    services.pool_create(scope=scope, first_address="10.30.0.10", last_address="10.30.0.20")
    services.peer_create(
        server=c, name="fo-cd", **dict(PRIMARY, address="192.0.2.3", peer_address="192.0.2.4")
    )
    assert codes() == ["not_finalized"]  # and each server's view agrees (see codes())
    services.scope_migrate_to_partner(scope=scope)
    assert codes() == []
    assert [r.name for r in pair.relationships(server=c)] == ["fo-cd"]
    assert [r.name for r in pair.relationships(server=a)] == ["fo-pair"]


def test_many_scopes_not_finalized_first_five_in_numeric_order_and_all_counted(migrated):
    a, b = migrated
    peer = peer_of("dhcp-a")
    for n in (30, 4, 200, 9, 17, 100, 3):
        scope = services.scope_create(server=a, network=f"10.{n}.0.0/24")
        services.pool_create(
            scope=scope,
            first_address=f"10.{n}.0.10",
            last_address=f"10.{n}.0.20",
            failover_peer=peer,
        )
    [rel] = pair.relationships()
    assert [f.network for f in rel.first_scope_findings] == [
        "10.3.0.0/24",
        "10.4.0.0/24",
        "10.9.0.0/24",
        "10.17.0.0/24",
        "10.30.0.0/24",
    ]
    assert (rel.scope_finding_count, rel.more_scope_findings) == (7, 2)
    assert codes() == ["not_finalized"] * 7


def test_rows_plus_planned_rows_is_the_whole(migrated):
    """Rows kept for some servers, extended with the rows of another (as an import
    preview does), pair and check as if all had been indexed at once."""
    a, b = migrated
    services.pool_create(
        scope=a.scopes.get(network="10.10.0.0/24"),
        first_address="10.10.0.200",
        last_address="10.10.0.210",
        failover_peer=peer_of("dhcp-a"),
    )
    servers = list(DhcpServer.objects.all())
    peers = list(FailoverPeer.objects.order_by("server__name", "name"))
    whole = pair.build(servers, peers, pair.pool_rows(), pair.scope_rows())
    kept = pair.Rows(pair.pool_rows(scope__server=b), pair.scope_rows(server=b))
    for _ in range(2):  # the second time with what the kept rows remembered
        rows = kept.plus(pair.pool_rows(scope__server=a), pair.scope_rows(server=a))
        assert pair.build(servers, peers, rows=rows) == whole
    assert [f.code for f in pair.all_findings(whole)] == ["pools_differ"]
