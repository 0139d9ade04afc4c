"""The domain operations of failover.services: the seed's rules that change several rows.

First-peer assignment, the three peer-delete cases, the last-referrer rule, the cascades of
server/scope/pool deletes, atomicity and the change records.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from failover import services
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from tests.conftest import PRIMARY, SECONDARY


def peer_of(pool: AddressPool) -> FailoverPeer | None:
    pool.refresh_from_db()
    return pool.failover_peer


def snapshot() -> dict[str, list]:
    """Everything the services may change, to show that a refused operation changed nothing."""
    return {
        "servers": list(DhcpServer.objects.order_by("pk").values()),
        "scopes": list(Scope.objects.order_by("pk").values()),
        "pools": list(AddressPool.objects.order_by("pk").values()),
        "peers": list(FailoverPeer.objects.order_by("pk").values()),
        "records": list(ChangeRecord.objects.order_by("pk").values_list("pk", flat=True)),
    }


@pytest.fixture
def other_server(db) -> DhcpServer:
    return services.server_create(name="dhcp-b", address="192.0.2.2")


@pytest.fixture
def estate(server, scope, other_server):
    """Server dhcp-a: three scopes, five pools, no peer yet. Server dhcp-b: one scope, one pool."""
    scope2 = services.scope_create(server=server, network="10.20.0.0/24", name="Lab")
    scope3 = services.scope_create(server=server, network="10.30.0.0/16", name="Guests")
    pools = [
        services.pool_create(scope=scope, first_address="10.10.0.10", last_address="10.10.0.20"),
        services.pool_create(scope=scope, first_address="10.10.0.30", last_address="10.10.0.40"),
        services.pool_create(scope=scope2, first_address="10.20.0.10", last_address="10.20.0.99"),
        services.pool_create(scope=scope3, first_address="10.30.1.1", last_address="10.30.1.254"),
        services.pool_create(scope=scope3, first_address="10.30.2.1", last_address="10.30.2.254"),
    ]
    other_scope = services.scope_create(server=other_server, network="10.10.0.0/24")
    other_pool = services.pool_create(
        scope=other_scope, first_address="10.10.0.10", last_address="10.10.0.20"
    )
    return {"server": server, "pools": pools, "other_pool": other_pool, "scopes": [scope, scope2]}


def add_peer(server, name, **overrides) -> FailoverPeer:
    return services.peer_create(server=server, name=name, **{**PRIMARY, **overrides}).peer


# --- servers ---------------------------------------------------------------------------------


def test_server_create_and_record(editor):
    server = services.server_create(
        name="dhcp-c", address="dhcp-c.example", description="Branch", actor=editor
    )
    assert DhcpServer.objects.get(pk=server.pk).address == "dhcp-c.example"
    record = ChangeRecord.objects.get(action="server_create")
    assert record.user == editor
    assert "dhcp-c" in record.summary


def test_server_create_rejected_saves_nothing(server):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.server_create(name=server.name, address="not a host")
    assert set(exc.value.message_dict) == {"name", "address"}
    assert snapshot() == before


def test_server_update(server, editor):
    services.server_update(server=server, name="dhcp-a2", address="192.0.2.10", actor=editor)
    server.refresh_from_db()
    assert (server.name, server.address) == ("dhcp-a2", "192.0.2.10")
    assert ChangeRecord.objects.filter(action="server_update", user=editor).exists()


def test_server_update_rejected_changes_nothing(server, other_server):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.server_update(server=server, name=other_server.name)
    assert "name" in exc.value.message_dict
    assert snapshot() == before


def test_server_delete_cascades(estate, other_server, editor):
    server = estate["server"]
    fo = add_peer(server, "fo-pair")
    add_peer(server, "fo-spare")
    other_peer = add_peer(other_server, "fo-pair", **SECONDARY)

    plan = services.server_delete_plan(server=server)
    assert (len(plan.scopes), len(plan.pools), len(plan.peers)) == (3, 5, 2)
    assert fo in plan.peers

    services.server_delete(server=server, actor=editor)

    assert not DhcpServer.objects.filter(pk=server.pk).exists()
    assert not Scope.objects.filter(server_id=server.pk).exists()
    assert not AddressPool.objects.filter(pk__in=[p.pk for p in estate["pools"]]).exists()
    assert not FailoverPeer.objects.filter(server_id=server.pk).exists()
    # the other server keeps everything
    assert peer_of(estate["other_pool"]) == other_peer
    record = ChangeRecord.objects.get(action="server_delete")
    assert record.user == editor
    assert "3 scope(s), 5 pool(s) and 2 failover peer(s)" in record.summary


# --- scopes ----------------------------------------------------------------------------------


def test_scope_create_update(server, editor):
    scope = services.scope_create(
        server=server,
        network="10.40.0.0/24",
        name="Printers",
        routers="10.40.0.1",
        domain_name_servers="10.40.0.2, 10.40.0.3",
        domain_name="example.com",
        default_lease_time=600,
        max_lease_time=7200,
        actor=editor,
    )
    services.scope_update(scope=scope, network="10.40.0.0/23", name="Printers+", actor=editor)
    scope.refresh_from_db()
    assert (scope.network, scope.name) == ("10.40.0.0/23", "Printers+")
    assert set(ChangeRecord.objects.values_list("action", flat=True)) == {
        "server_create",
        "scope_create",
        "scope_update",
    }


def test_scope_create_overlap_rejected(scope):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.scope_create(server=scope.server, network="10.10.0.0/23")
    assert "network" in exc.value.message_dict
    assert snapshot() == before


def test_scope_update_that_strands_a_pool_rejected(pool):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.scope_update(scope=pool.scope, network="10.10.1.0/24")
    assert "network" in exc.value.message_dict
    assert snapshot() == before


def test_scope_delete_takes_its_pools_and_orphaned_peers(estate, editor):
    server = estate["server"]
    scope, scope2 = estate["scopes"]
    pool_a, pool_b, pool_lab, pool_g1, pool_g2 = estate["pools"]
    fo = add_peer(server, "fo-pair")  # first peer: every pool refers to it
    lab_only = add_peer(server, "fo-lab")
    services.pool_update(
        pool=pool_lab,
        first_address=pool_lab.first_address,
        last_address=pool_lab.last_address,
        failover_peer=lab_only,
    )

    plan = services.scope_delete_plan(scope=scope2)
    assert plan.pools == [pool_lab]
    assert plan.peers == [lab_only]

    services.scope_delete(scope=scope2, actor=editor)

    assert not Scope.objects.filter(pk=scope2.pk).exists()
    assert not AddressPool.objects.filter(pk=pool_lab.pk).exists()
    assert not FailoverPeer.objects.filter(pk=lab_only.pk).exists()
    assert FailoverPeer.objects.filter(pk=fo.pk).exists()  # other scopes still refer to it
    assert peer_of(pool_a) == fo
    actions = list(ChangeRecord.objects.filter(user=editor).values_list("action", flat=True))
    assert sorted(actions) == ["peer_delete", "scope_delete"]


def test_scope_delete_keeps_a_peer_other_scopes_refer_to(estate):
    fo = add_peer(estate["server"], "fo-pair")
    scope = estate["scopes"][0]
    assert services.scope_delete_plan(scope=scope).peers == []
    services.scope_delete(scope=scope)
    assert FailoverPeer.objects.filter(pk=fo.pk).exists()
    assert fo.pools.count() == 3


# --- pools -----------------------------------------------------------------------------------


def test_pool_create_with_peer(primary_peer, scope, editor):
    pool = services.pool_create(
        scope=scope,
        first_address="10.10.0.10",
        last_address="10.10.0.20",
        failover_peer=primary_peer,
        actor=editor,
    )
    assert peer_of(pool) == primary_peer
    record = ChangeRecord.objects.get(action="pool_create", user=editor)
    assert "fo-pair" in record.summary


def test_pool_create_rejected_saves_nothing(primary_peer, scope):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.pool_create(scope=scope, first_address="10.10.0.140", last_address="10.10.0.160")
    assert "first_address" in exc.value.message_dict
    assert snapshot() == before


def test_pool_create_with_peer_of_another_server_rejected(scope, other_server):
    foreign = add_peer(other_server, "fo-pair", **SECONDARY)
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.pool_create(
            scope=scope,
            first_address="10.10.0.10",
            last_address="10.10.0.20",
            failover_peer=foreign,
        )
    assert "failover_peer" in exc.value.message_dict
    assert snapshot() == before


def test_pool_update_addresses_keeps_peer_without_confirmation(primary_peer, pool):
    result = services.pool_update(
        pool=pool,
        first_address="10.10.0.90",
        last_address="10.10.0.199",
        failover_peer=primary_peer,
    )
    assert result.deleted_peers == []
    pool.refresh_from_db()
    assert (pool.first_address, pool.last_address, pool.failover_peer) == (
        "10.10.0.90",
        "10.10.0.199",
        primary_peer,
    )


def test_pool_update_invalid_changes_nothing(primary_peer, pool):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.pool_update(
            pool=pool,
            first_address="10.10.0.200",
            last_address="10.10.0.100",
            failover_peer=primary_peer,
        )
    assert "last_address" in exc.value.message_dict
    assert snapshot() == before


def test_pool_delete_deletes_its_orphaned_peer(primary_peer, pool, editor):
    plan = services.pool_delete_plan(pool=pool)
    assert plan.peers == [primary_peer]
    services.pool_delete(pool=pool, actor=editor)
    assert not AddressPool.objects.filter(pk=pool.pk).exists()
    assert not FailoverPeer.objects.filter(pk=primary_peer.pk).exists()
    assert ChangeRecord.objects.filter(action="peer_delete", user=editor).exists()


def test_pool_delete_keeps_a_peer_other_pools_refer_to(primary_peer, pool, scope):
    services.pool_create(
        scope=scope,
        first_address="10.10.0.10",
        last_address="10.10.0.20",
        failover_peer=primary_peer,
    )
    assert services.pool_delete_plan(pool=pool).peers == []
    services.pool_delete(pool=pool)
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


def test_pool_delete_without_peer(pool):
    services.pool_delete(pool=pool)
    assert not AddressPool.objects.exists()


# --- first peer ------------------------------------------------------------------------------


def test_first_peer_is_assigned_to_every_pool_of_the_server(estate, editor):
    result = services.peer_create(server=estate["server"], name="fo-pair", actor=editor, **PRIMARY)
    assert result.pools_assigned == 5
    assert all(peer_of(p) == result.peer for p in estate["pools"])
    # pools on another server are untouched
    assert peer_of(estate["other_pool"]) is None
    record = ChangeRecord.objects.get(action="peer_create")
    assert record.user == editor
    assert "5 pool(s) now refer to it" in record.summary


def test_second_peer_reassigns_nothing(estate):
    first = add_peer(estate["server"], "fo-pair")
    result = services.peer_create(server=estate["server"], name="fo-two", **PRIMARY)
    assert result.pools_assigned == 0
    assert all(peer_of(p) == first for p in estate["pools"])
    assert result.peer.pools.count() == 0


def test_first_peer_of_a_server_without_pools(server):
    result = services.peer_create(server=server, name="fo-pair", **SECONDARY)
    assert result.pools_assigned == 0
    assert result.peer.role == FailoverPeer.Role.SECONDARY


def test_first_peer_on_the_other_server_only_takes_its_pools(estate, other_server):
    mine = add_peer(estate["server"], "fo-pair")
    result = services.peer_create(server=other_server, name="fo-pair", **SECONDARY)
    assert result.pools_assigned == 1
    assert peer_of(estate["other_pool"]) == result.peer
    assert all(peer_of(p) == mine for p in estate["pools"])


def test_first_peer_again_after_the_last_one_went(primary_peer, pool, scope):
    services.peer_delete(peer=primary_peer)  # remove case: the pool loses its peer
    services.pool_create(scope=scope, first_address="10.10.0.10", last_address="10.10.0.20")
    result = services.peer_create(server=scope.server, name="fo-new", **PRIMARY)
    assert result.pools_assigned == 2


def _pools_on_new_server(n: int, name: str) -> DhcpServer:
    server = services.server_create(name=name, address="192.0.2.50")
    for s in range(n):
        scope = services.scope_create(server=server, network=f"10.{100 + s}.0.0/24")
        services.pool_create(
            scope=scope, first_address=f"10.{100 + s}.0.10", last_address=f"10.{100 + s}.0.20"
        )
    return server


def test_first_peer_assignment_is_one_bulk_update(db, django_assert_num_queries):
    one = _pools_on_new_server(1, "one-pool")
    with CaptureQueriesContext(connection) as small:
        services.peer_create(server=one, name="fo-pair", **PRIMARY)

    many = _pools_on_new_server(12, "twelve-pools")
    with django_assert_num_queries(len(small.captured_queries)) as big:
        result = services.peer_create(server=many, name="fo-pair", **PRIMARY)
    assert result.pools_assigned == 12
    pool_updates = [
        q["sql"]
        for q in big.captured_queries
        if q["sql"].startswith("UPDATE") and "failover_addresspool" in q["sql"]
    ]
    assert len(pool_updates) == 1, pool_updates


def test_peer_create_rejected_assigns_nothing(estate):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.peer_create(server=estate["server"], name="fo pair", **{**PRIMARY, "mclt": None})
    assert {"name", "mclt"} <= set(exc.value.message_dict)
    assert snapshot() == before


def test_peer_create_is_atomic(estate, monkeypatch):
    """A failure after the bulk update (here: writing the record) leaves nothing behind."""
    before = snapshot()

    def broken_record(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.peers, "_record", broken_record)
    with pytest.raises(RuntimeError):
        services.peer_create(server=estate["server"], name="fo-pair", **PRIMARY)
    assert snapshot() == before
    assert all(peer_of(p) is None for p in estate["pools"])


# --- peer update -----------------------------------------------------------------------------


def test_peer_update(primary_peer, editor):
    services.peer_update(
        peer=primary_peer, port=648, split=None, hba=":".join(["0f"] * 32), actor=editor
    )
    primary_peer.refresh_from_db()
    assert (primary_peer.port, primary_peer.split) == (648, None)
    assert ChangeRecord.objects.filter(action="peer_update", user=editor).exists()


def test_peer_update_to_secondary_drops_primary_statements(primary_peer):
    services.peer_update(peer=primary_peer, role="secondary")
    primary_peer.refresh_from_db()
    assert (primary_peer.mclt, primary_peer.split, primary_peer.hba) == (None, None, "")


def test_peer_update_to_secondary_with_mclt_given_rejected(primary_peer):
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.peer_update(peer=primary_peer, role="secondary", mclt=3600)
    assert "mclt" in exc.value.message_dict
    assert snapshot() == before


def test_peer_update_name_taken_rejected(primary_peer, server):
    add_peer(server, "fo-two")
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.peer_update(peer=primary_peer, name="fo-two")
    assert "name" in exc.value.message_dict
    assert snapshot() == before


# --- peer delete: the three cases of the seed ------------------------------------------------


def test_peer_delete_last_peer_removes_references(estate, editor):
    fo = add_peer(estate["server"], "fo-pair")
    plan = services.peer_delete_plan(peer=fo)
    assert plan.case == plan.REMOVE
    assert plan.replacement is None
    assert {p.pk for p in plan.pools} == {p.pk for p in estate["pools"]}

    services.peer_delete(peer=fo, actor=editor)

    assert not FailoverPeer.objects.filter(pk=fo.pk).exists()
    assert all(peer_of(p) is None for p in estate["pools"])
    record = ChangeRecord.objects.get(action="peer_delete")
    assert record.user == editor
    assert "5 pool(s) no longer refer to a peer" in record.summary


def test_peer_delete_with_one_other_repoints(estate):
    fo = add_peer(estate["server"], "fo-pair")
    spare = add_peer(estate["server"], "fo-spare")
    plan = services.peer_delete_plan(peer=fo)
    assert plan.case == plan.REPOINT
    assert plan.replacement == spare

    services.peer_delete(peer=fo)

    assert not FailoverPeer.objects.filter(pk=fo.pk).exists()
    assert all(peer_of(p) == spare for p in estate["pools"])
    assert "now refer to 'fo-spare'" in ChangeRecord.objects.get(action="peer_delete").summary


def test_peer_delete_with_one_other_refuses_a_foreign_replacement(estate, other_server):
    fo = add_peer(estate["server"], "fo-pair")
    add_peer(estate["server"], "fo-spare")
    foreign = add_peer(other_server, "fo-pair", **SECONDARY)
    before = snapshot()
    with pytest.raises(ValidationError):
        services.peer_delete(peer=fo, replacement=foreign)
    assert snapshot() == before


def test_peer_delete_with_two_others_requires_a_choice(estate):
    fo = add_peer(estate["server"], "fo-pair")
    add_peer(estate["server"], "fo-b")
    add_peer(estate["server"], "fo-c")
    plan = services.peer_delete_plan(peer=fo)
    assert plan.case == plan.CHOOSE
    assert [p.name for p in plan.others] == ["fo-b", "fo-c"]
    assert plan.replacement is None

    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.peer_delete(peer=fo)
    assert "Choose" in exc.value.messages[0]
    assert snapshot() == before


def test_peer_delete_with_two_others_refuses_a_foreign_or_self_replacement(estate, other_server):
    fo = add_peer(estate["server"], "fo-pair")
    add_peer(estate["server"], "fo-b")
    add_peer(estate["server"], "fo-c")
    foreign = add_peer(other_server, "fo-b", **SECONDARY)
    before = snapshot()
    for wrong in (foreign, fo):
        with pytest.raises(ValidationError) as exc:
            services.peer_delete(peer=fo, replacement=wrong)
        assert "same server" in exc.value.messages[0]
    assert snapshot() == before


def test_peer_delete_with_two_others_moves_pools_to_the_chosen_one(estate, editor):
    fo = add_peer(estate["server"], "fo-pair")
    fo_b = add_peer(estate["server"], "fo-b")
    fo_c = add_peer(estate["server"], "fo-c")
    services.peer_delete(peer=fo, replacement=fo_c, actor=editor)
    assert not FailoverPeer.objects.filter(pk=fo.pk).exists()
    assert all(peer_of(p) == fo_c for p in estate["pools"])
    assert fo_b.pools.count() == 0
    assert ChangeRecord.objects.get(action="peer_delete").user == editor


def test_peer_delete_leaves_other_pools_alone(estate):
    server = estate["server"]
    fo = add_peer(server, "fo-pair")
    fo_b = add_peer(server, "fo-b")
    fo_c = add_peer(server, "fo-c")
    kept = estate["pools"][0]
    services.pool_update(
        pool=kept,
        first_address=kept.first_address,
        last_address=kept.last_address,
        failover_peer=fo_b,
    )
    services.peer_delete(peer=fo, replacement=fo_c)
    assert peer_of(kept) == fo_b
    assert fo_c.pools.count() == 4


# --- the last-referrer rule ------------------------------------------------------------------


@pytest.fixture
def two_peers(primary_peer, pool, server):
    """fo-pair (the first peer, referred to by ``pool`` only) and fo-two (no pools)."""
    return primary_peer, add_peer(server, "fo-two")


def _move(pool, peer, **kwargs):
    return services.pool_update(
        pool=pool,
        first_address=pool.first_address,
        last_address=pool.last_address,
        failover_peer=peer,
        **kwargs,
    )


def _effect(pool, peer):
    """The peers the last-referrer rule would delete (pool_update_plan, what pool_update does)."""
    return services.pool_update_plan(
        pool=pool,
        first_address=pool.first_address,
        last_address=pool.last_address,
        failover_peer=peer,
    ).peers_to_delete


def test_last_referrer_change_needs_confirmation(two_peers, pool):
    old, new = two_peers
    assert _effect(pool, new) == [old]
    before = snapshot()
    with pytest.raises(services.ConfirmationRequired) as exc:
        _move(pool, new)
    assert exc.value.peers_to_delete == [old]
    assert "will delete" in exc.value.message and "fo-pair" in exc.value.message
    assert snapshot() == before


def test_last_referrer_change_confirmed_deletes_the_old_peer(two_peers, pool, editor):
    old, new = two_peers
    result = _move(pool, new, confirm_peer_deletion=True, actor=editor)
    assert [p.name for p in result.deleted_peers] == [old.name]
    assert peer_of(pool) == new
    assert not FailoverPeer.objects.filter(pk=old.pk).exists()
    actions = set(ChangeRecord.objects.filter(user=editor).values_list("action", flat=True))
    assert actions == {"pool_update", "peer_delete"}


def test_last_referrer_change_to_no_peer_also_needs_confirmation(two_peers, pool):
    old, _ = two_peers
    with pytest.raises(services.ConfirmationRequired):
        _move(pool, None)
    assert peer_of(pool) == old
    _move(pool, None, confirm_peer_deletion=True)
    assert peer_of(pool) is None
    assert not FailoverPeer.objects.filter(pk=old.pk).exists()


def test_no_confirmation_when_other_pools_still_refer(two_peers, pool, scope):
    old, new = two_peers
    services.pool_create(
        scope=scope, first_address="10.10.0.10", last_address="10.10.0.20", failover_peer=old
    )
    assert _effect(pool, new) == []
    result = _move(pool, new)
    assert result.deleted_peers == []
    assert peer_of(pool) == new
    assert FailoverPeer.objects.filter(pk=old.pk).exists()


def test_effect_reads_the_stored_pool_not_the_instance(two_peers, pool):
    """A bound ModelForm has already put the new peer on the instance; the warning must
    still be given (and a stale instance must not hide it either)."""
    old, new = two_peers
    fresh = AddressPool.objects.get(pk=pool.pk)
    fresh.failover_peer = new  # what form.is_valid() does to form.instance
    assert _effect(fresh, new) == [old]
    assert pool.failover_peer_id is None  # the fixture's instance predates the first peer
    assert _effect(pool, new) == [old]
    assert services.pool_delete_plan(pool=pool).peers == [old]


def test_no_confirmation_when_the_peer_stays(two_peers, pool):
    old, _ = two_peers
    assert _effect(pool, old) == []
    _move(pool, old)
    assert peer_of(pool) == old


def test_confirmed_but_invalid_change_deletes_nothing(two_peers, pool, other_server):
    old, _ = two_peers
    foreign = add_peer(other_server, "fo-pair", **SECONDARY)
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        _move(pool, foreign, confirm_peer_deletion=True)
    assert "failover_peer" in exc.value.message_dict
    assert snapshot() == before


# --- pools_set_failover_peer (the admin's bulk actions) --------------------------------------


def test_set_peer_on_many_pools(estate, editor):
    server = estate["server"]
    fo = add_peer(server, "fo-pair")
    fo_b = add_peer(server, "fo-b")
    pools = estate["pools"][:3]
    # fo keeps two pools, so nothing is orphaned
    result = services.pools_set_failover_peer(pools=pools, failover_peer=fo_b, actor=editor)
    assert result.changed == 3
    assert result.deleted_peers == []
    assert [peer_of(p) for p in estate["pools"]] == [fo_b, fo_b, fo_b, fo, fo]
    record = ChangeRecord.objects.get(action="pools_set_peer")
    assert record.user == editor
    assert "3 pool(s) to failover peer 'fo-b'" in record.summary


def test_set_peer_counts_only_pools_that_change(estate):
    fo = add_peer(estate["server"], "fo-pair")
    result = services.pools_set_failover_peer(pools=estate["pools"], failover_peer=fo)
    assert result.changed == 0


def test_set_peer_across_servers_rejected_and_nothing_changed(estate, other_server):
    fo = add_peer(estate["server"], "fo-pair")
    fo_b = add_peer(estate["server"], "fo-b")
    add_peer(other_server, "fo-pair", **SECONDARY)
    before = snapshot()
    pools = [*estate["pools"][:2], estate["other_pool"]]
    with pytest.raises(ValidationError) as exc:
        services.pools_set_failover_peer(pools=pools, failover_peer=fo_b)
    assert "dhcp-b" in exc.value.messages[0]
    assert snapshot() == before
    assert peer_of(estate["pools"][0]) == fo


def test_set_peer_last_referrer_needs_confirmation(estate):
    fo = add_peer(estate["server"], "fo-pair")
    fo_b = add_peer(estate["server"], "fo-b")
    before = snapshot()
    with pytest.raises(services.ConfirmationRequired) as exc:
        services.pools_set_failover_peer(pools=estate["pools"], failover_peer=fo_b)
    assert exc.value.peers_to_delete == [fo]
    assert snapshot() == before

    result = services.pools_set_failover_peer(
        pools=estate["pools"], failover_peer=fo_b, confirm_peer_deletion=True
    )
    assert result.changed == 5
    assert [p.name for p in result.deleted_peers] == [fo.name]
    assert not FailoverPeer.objects.filter(pk=fo.pk).exists()
    assert all(peer_of(p) == fo_b for p in estate["pools"])


def test_remove_peer_from_pools(estate):
    fo = add_peer(estate["server"], "fo-pair")
    result = services.pools_set_failover_peer(pools=estate["pools"][:2], failover_peer=None)
    assert result.changed == 2
    assert [peer_of(p) for p in estate["pools"]] == [None, None, fo, fo, fo]
    with pytest.raises(services.ConfirmationRequired):
        services.pools_set_failover_peer(pools=estate["pools"], failover_peer=None)
    assert FailoverPeer.objects.filter(pk=fo.pk).exists()


def test_set_peer_failure_in_the_middle_changes_none(estate):
    """The first scope's pools are saved before the broken pool of the next scope fails its
    validation; the transaction must take those saves back."""
    server = estate["server"]
    fo = add_peer(server, "fo-pair")
    fo_b = add_peer(server, "fo-b")
    broken = estate["pools"][3]  # in 10.30.0.0/16, processed after the 10.10/10.20 pools
    AddressPool.objects.filter(pk=broken.pk).update(
        first_address="10.99.0.1", last_address="10.99.0.9"
    )
    before = snapshot()
    with pytest.raises(ValidationError):
        services.pools_set_failover_peer(pools=estate["pools"][:4], failover_peer=fo_b)
    assert snapshot() == before
    assert all(peer_of(p) == fo for p in estate["pools"])
    assert not ChangeRecord.objects.filter(action="pools_set_peer").exists()


# --- change records --------------------------------------------------------------------------


@pytest.mark.parametrize("actor", [None, AnonymousUser()])
def test_change_record_without_a_user(db, actor):
    services.server_create(name="dhcp-z", address="192.0.2.99", actor=actor)
    record = ChangeRecord.objects.get()
    assert record.user is None
    assert record.action == "server_create"


def test_every_operation_of_an_editor_is_recorded(estate, editor):
    server = estate["server"]
    before = ChangeRecord.objects.count()
    fo = services.peer_create(server=server, name="fo-pair", actor=editor, **PRIMARY).peer
    services.peer_update(peer=fo, port=700, actor=editor)
    services.pool_delete(pool=estate["pools"][0], actor=editor)
    services.scope_delete(scope=estate["scopes"][1], actor=editor)
    services.server_delete(server=server, actor=editor)
    records = ChangeRecord.objects.order_by("pk")[before:]
    assert [r.action for r in records] == [
        "peer_create",
        "peer_update",
        "pool_delete",
        "scope_delete",
        "server_delete",
    ]
    assert all(r.user == editor for r in records)
