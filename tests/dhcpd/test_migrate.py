"""Migrate Scope to Failover Peer: the plan, applying it, reconciling, running it twice."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from failover import services
from failover.dhcpd import pair
from failover.models import AddressPool, ChangeRecord, FailoverPeer, Scope
from tests.conftest import PRIMARY, SECONDARY
from tests.dhcpd.conftest import assert_valid, build_pair

pytestmark = pytest.mark.django_db


def pools_of(scope: Scope) -> list[tuple[str, str, str | None]]:
    return [
        (p.first_address, p.last_address, p.failover_peer.name if p.failover_peer else None)
        for p in scope.pools.select_related("failover_peer").order_by("first_address")
    ]


@pytest.fixture
def unmigrated():
    return build_pair(migrate=False)


def test_the_plan_for_a_new_partner_changes_nothing(unmigrated):
    a, b = unmigrated
    scope = a.scopes.get(network="10.10.0.0/24")
    before = ChangeRecord.objects.count()
    plan = services.scope_migrate_plan(scope=scope)
    assert plan.ok and not plan.is_empty and plan.partner == b
    [peer] = plan.peers_to_create
    assert peer.pk is None and peer.server == b
    assert (peer.name, peer.role) == ("fo-pair", "secondary")
    assert (peer.address, peer.port, peer.peer_address, peer.peer_port) == (
        "192.0.2.2",
        647,
        "192.0.2.1",
        647,
    )
    assert (peer.mclt, peer.split, peer.hba) == (None, None, "")
    assert peer.load_balance_max_seconds == 3 and peer.max_response_delay == 60
    assert plan.scope_to_create is not None and plan.scope_to_create.pk is None
    assert plan.scope_to_create.routers == "10.10.0.1"
    assert [(s.first_address, s.last_address, s.peer_name) for s in plan.pools_to_create] == [
        ("10.10.0.100", "10.10.0.150", "fo-pair")
    ]
    assert plan.first_peer_pools == []  # b has no pools yet
    assert not b.failover_peers.exists() and not b.scopes.exists()
    assert ChangeRecord.objects.count() == before


def test_applying_it_creates_the_mirror_and_runs_twice_without_change(unmigrated, dhcpd):
    a, b = unmigrated
    scope = a.scopes.get(network="10.10.0.0/24")
    plan = services.scope_migrate_to_partner(scope=scope)
    assert not plan.is_empty
    mirrored = FailoverPeer.objects.get(server=b, name="fo-pair")
    assert mirrored.role == "secondary" and mirrored.partner_server == a
    copy = b.scopes.get(network="10.10.0.0/24")
    assert (copy.name, copy.routers, copy.domain_name, copy.default_lease_time) == (
        "Net 0",
        "10.10.0.1",
        "example.test",
        600,
    )
    assert pools_of(copy) == pools_of(scope)
    assert ChangeRecord.objects.filter(action="scope_migrate").count() == 1
    assert_valid(b, dhcpd)

    records = ChangeRecord.objects.count()
    state = (list(FailoverPeer.objects.values()), list(Scope.objects.values()))
    state += (list(AddressPool.objects.values()),)
    again = services.scope_migrate_to_partner(scope=scope)
    assert again.is_empty and again.ok
    assert again.pools_unchanged and again.partner_scope == copy
    assert ChangeRecord.objects.count() == records
    after = (list(FailoverPeer.objects.values()), list(Scope.objects.values()))
    after += (list(AddressPool.objects.values()),)
    assert after == state


def test_after_migrating_every_scope_the_pair_check_is_clean(unmigrated, dhcpd):
    a, b = unmigrated
    for scope in a.scopes.all():
        services.scope_migrate_to_partner(scope=scope)
    assert pair.all_findings(pair.relationships()) == []
    assert_valid(a, dhcpd)
    assert_valid(b, dhcpd)


def test_an_existing_copy_is_reconciled_not_duplicated(unmigrated, dhcpd):
    a, b = unmigrated
    scope = a.scopes.get(network="10.10.0.0/24")
    services.scope_migrate_to_partner(scope=scope)
    copy = b.scopes.get(network="10.10.0.0/24")
    # The partner's copy drifts: other options, a pool that differs, one without peer.
    services.scope_update(scope=copy, routers="10.10.0.254", default_lease_time=300)
    pool = copy.pools.get()
    services.pool_update(
        pool=pool,
        first_address="10.10.0.100",
        last_address="10.10.0.120",
        failover_peer=pool.failover_peer,
    )
    services.pool_create(scope=copy, first_address="10.10.0.10", last_address="10.10.0.20")
    plan = services.scope_migrate_plan(scope=scope)
    assert plan.ok and plan.partner_scope == copy and plan.scope_to_create is None
    assert [(c.label, c.old, c.new) for c in plan.scope_changes] == [
        ("Routers", "10.10.0.254", "10.10.0.1"),
        ("Default Lease Time", 300, 600),
    ]
    assert [str(p) for p in plan.pools_to_delete] == [
        "10.10.0.10-10.10.0.20",
        "10.10.0.100-10.10.0.120",
    ]
    assert [str(p) for p in plan.pools_to_create] == ["10.10.0.100-10.10.0.150"]
    assert plan.peers_to_create == [] and plan.peers_to_delete == []

    services.scope_migrate_to_partner(scope=scope)
    assert b.scopes.filter(network="10.10.0.0/24").count() == 1
    copy.refresh_from_db()
    assert (copy.routers, copy.default_lease_time) == ("10.10.0.1", 600)
    assert pools_of(copy) == pools_of(scope)
    assert services.scope_migrate_plan(scope=scope).is_empty
    assert_valid(b, dhcpd)


def test_a_pool_with_another_peer_is_changed_and_its_orphaned_peer_deleted(unmigrated):
    a, b = unmigrated
    scope = a.scopes.get(network="10.10.0.0/24")
    copy = services.scope_create(server=b, network="10.10.0.0/24", name="Net 0")
    services.pool_create(scope=copy, first_address="10.10.0.100", last_address="10.10.0.150")
    old = services.peer_create(
        server=b, name="old-peer", **dict(SECONDARY, address="192.0.2.2", peer_address="192.0.2.9")
    ).peer  # b's first peer: the pool refers to it
    plan = services.scope_migrate_plan(scope=scope)
    assert [(c.pool.first_address, c.old_peer, c.new_peer) for c in plan.pools_to_change] == [
        ("10.10.0.100", "old-peer", "fo-pair")
    ]
    assert plan.peers_to_delete == [old]
    assert [p.name for p in plan.peers_to_create] == ["fo-pair"]
    assert plan.first_peer_pools == []  # b already has a peer: no first-peer rule
    services.scope_migrate_to_partner(scope=scope)
    assert not FailoverPeer.objects.filter(pk=old.pk).exists()
    assert pools_of(copy) == pools_of(scope)
    assert ChangeRecord.objects.filter(action="peer_delete", summary__contains="old-peer").exists()


def test_the_first_peer_rule_on_the_partner_is_shown_and_applied(unmigrated, dhcpd):
    a, b = unmigrated
    own = services.scope_create(server=b, network="10.50.0.0/24", name="B only")
    services.pool_create(scope=own, first_address="10.50.0.10", last_address="10.50.0.20")
    scope = a.scopes.get(network="10.10.0.0/24")
    plan = services.scope_migrate_plan(scope=scope)
    assert [str(p) for p in plan.first_peer_pools] == ["10.50.0.10-10.50.0.20"]
    services.scope_migrate_to_partner(scope=scope)
    # The seed: all other pools of the server now refer to its first peer ...
    assert pools_of(own) == [("10.50.0.10", "10.50.0.20", "fo-pair")]
    # ... and the migrated scope still has identical pools.
    assert pools_of(b.scopes.get(network="10.10.0.0/24")) == pools_of(scope)
    # The pair check now shows b's own scope as not finalized on a.
    findings = pair.all_findings(pair.relationships())
    assert ("not_finalized", "10.50.0.0/24") in [(f.code, f.network) for f in findings]
    assert_valid(b, dhcpd)


def test_pools_without_a_peer_are_not_copied(unmigrated):
    a, b = unmigrated
    scope = a.scopes.get(network="10.10.0.0/24")
    services.pool_create(scope=scope, first_address="10.10.0.200", last_address="10.10.0.210")
    plan = services.scope_migrate_to_partner(scope=scope)
    assert [str(p) for p in plan.pools_not_copied] == ["10.10.0.200-10.10.0.210"]
    assert pools_of(b.scopes.get(network="10.10.0.0/24")) == [
        ("10.10.0.100", "10.10.0.150", "fo-pair")
    ]


def test_from_the_secondary_the_mirror_becomes_primary(server, scope, pool):
    services.peer_create(server=server, name="fo-pair", **dict(SECONDARY, peer_address="192.0.2.2"))
    b = services.server_create(name="dhcp-b", address="192.0.2.2")
    plan = services.scope_migrate_to_partner(scope=scope)
    mirrored = FailoverPeer.objects.get(server=b)
    assert (mirrored.role, mirrored.mclt, mirrored.split) == ("primary", 3600, 128)
    assert any("becomes the primary" in note for note in plan.notes)
    assert pair.all_findings(pair.relationships()) == []


def test_nothing_to_migrate_without_a_failover_pool(server, scope, pool):
    plan = services.scope_migrate_plan(scope=scope)
    assert not plan.ok and "nothing to migrate" in plan.errors[0]
    with pytest.raises(ValidationError):
        services.scope_migrate_to_partner(scope=scope)


def test_an_unmanaged_partner_is_refused(server, scope, pool):
    services.peer_create(server=server, name="fo-pair", **PRIMARY)
    plan = services.scope_migrate_plan(scope=scope)
    assert plan.partner is None and "not managed here" in plan.errors[0]
    with pytest.raises(ValidationError):
        services.scope_migrate_to_partner(scope=scope)


def test_an_overlapping_scope_on_the_partner_refuses_the_whole_migration(unmigrated):
    a, b = unmigrated
    services.scope_create(server=b, network="10.10.0.0/16")
    scope = a.scopes.get(network="10.10.0.0/24")
    plan = services.scope_migrate_plan(scope=scope)
    assert not plan.ok and "Overlaps scope 10.10.0.0/16" in plan.errors[0]
    with pytest.raises(ValidationError):
        services.scope_migrate_to_partner(scope=scope)
    assert not b.failover_peers.exists()  # nothing half-done: the peer was not created either


def test_a_failure_half_way_rolls_everything_back(unmigrated, monkeypatch):
    a, b = unmigrated
    scope = a.scopes.get(network="10.10.0.0/24")

    def broken(**kwargs):
        raise ValidationError("disk on fire")

    monkeypatch.setattr(services.migrate, "scope_create", broken)
    with pytest.raises(ValidationError):
        services.scope_migrate_to_partner(scope=scope)
    assert not b.failover_peers.exists() and not b.scopes.exists()
    assert not ChangeRecord.objects.filter(action="scope_migrate").exists()


def test_the_actor_is_recorded(unmigrated, editor):
    a, b = unmigrated
    services.scope_migrate_to_partner(scope=a.scopes.first(), actor=editor)
    record = ChangeRecord.objects.get(action="scope_migrate")
    assert record.user == editor and "to dhcp-b" in record.summary
