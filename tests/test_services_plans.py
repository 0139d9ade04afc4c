"""The ``*_plan`` functions of failover.services: each says what its operation would do,
changes nothing, and equals what the operation then does. Also the typed field sets, and
deleting several peers across servers (peers_delete_plan / peers_delete)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from failover import services
from failover.forms import FailoverPeerForm, ScopeForm, ServerForm
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from tests.conftest import PRIMARY, SECONDARY
from tests.test_services import peer_of, snapshot

# --- the typed field sets have one home: the models' field lists ------------------------


def test_the_typed_field_sets_are_the_models_field_lists():
    assert tuple(services.ScopeOptions.__annotations__) == Scope.OPTION_FIELDS
    assert set(services.ScopeFields.__annotations__) == {"network", "name", *Scope.OPTION_FIELDS}
    assert tuple(services.PeerStatements.__annotations__) == FailoverPeer.STATEMENT_FIELDS
    assert set(services.PeerFields.__annotations__) == {
        "name",
        "partner_server",
        *FailoverPeer.STATEMENT_FIELDS,
    }
    editable = {
        f.name for f in DhcpServer._meta.concrete_fields if f.editable and not f.primary_key
    }
    assert set(services.ServerFields.__annotations__) == editable


def test_the_pages_forms_send_only_typed_fields():
    """Views pass ``**instance_values(form)``: every form field is a typed keyword."""
    assert set(ServerForm._meta.fields) <= set(services.ServerFields.__annotations__)
    assert set(ScopeForm._meta.fields) <= set(services.ScopeFields.__annotations__)
    assert set(FailoverPeerForm._meta.fields) <= set(services.PeerFields.__annotations__)


# --- create/update plans validate and return what would be saved --------------------------


def test_server_create_plan_is_what_create_saves(db):
    plan = services.server_create_plan(name="dhcp-c", address="192.0.2.30", omapi_port=7911)
    assert plan.pk is None and not DhcpServer.objects.exists()
    server = services.server_create(name="dhcp-c", address="192.0.2.30", omapi_port=7911)
    assert (server.name, server.address, server.omapi_port) == (
        plan.name,
        plan.address,
        plan.omapi_port,
    )
    with pytest.raises(ValidationError) as exc:
        services.server_create_plan(name="dhcp-c", address="192.0.2.31")
    assert "name" in exc.value.message_dict  # the name is taken
    assert DhcpServer.objects.count() == 1


def test_update_plans_leave_the_instance_and_the_database_alone(scope):
    server = scope.server
    before = snapshot()
    candidate = services.server_update_plan(server=server, name="dhcp-a2")
    assert candidate.name == "dhcp-a2" and server.name == "dhcp-a"
    scope_candidate = services.scope_update_plan(scope=scope, name="Printers", routers="10.10.0.1")
    assert (scope_candidate.name, scope_candidate.routers) == ("Printers", "10.10.0.1")
    assert scope.name == "Office"
    assert snapshot() == before
    with pytest.raises(ValidationError):
        services.scope_update_plan(scope=scope, network="10.10.0.0/33")
    assert snapshot() == before

    services.scope_update(scope=scope, name="Printers", routers="10.10.0.1")
    stored = Scope.objects.get(pk=scope.pk)
    assert (stored.name, stored.routers) == (scope_candidate.name, scope_candidate.routers)
    assert (scope.name, scope.routers) == ("Printers", "10.10.0.1")


def test_scope_and_pool_create_plans(server):
    plan = services.scope_create_plan(server=server, network="10.20.0.0/24", name="Staff")
    assert plan.pk is None and not Scope.objects.exists()
    scope = services.scope_create(server=server, network="10.20.0.0/24", name="Staff")
    pool_plan = services.pool_create_plan(
        scope=scope, first_address="10.20.0.10", last_address="10.20.0.20"
    )
    assert pool_plan.pk is None and not AddressPool.objects.exists()
    assert pool_plan.size == 11
    with pytest.raises(ValidationError):
        services.pool_create_plan(scope=scope, first_address="10.30.0.1", last_address="10.30.0.9")


@pytest.mark.parametrize("pools_before", [0, 2])
def test_peer_create_plan_counts_the_pools_the_first_peer_rule_assigns(server, pools_before):
    scope = services.scope_create(server=server, network="10.10.0.0/24", name="Office")
    for i in range(pools_before):
        services.pool_create(
            scope=scope, first_address=f"10.10.0.{10 * i + 1}", last_address=f"10.10.0.{10 * i + 9}"
        )
    before = snapshot()
    plan = services.peer_create_plan(server=server, name="fo-pair", **PRIMARY)
    assert snapshot() == before
    assert plan.first and plan.peer.pk is None and plan.pools_assigned == pools_before
    result = services.peer_create(server=server, name="fo-pair", **PRIMARY)
    assert result.pools_assigned == plan.pools_assigned
    # The second peer is not the first: nothing is assigned.
    second = services.peer_create_plan(
        server=server, name="fo-two", **dict(PRIMARY, port=648, peer_port=848)
    )
    assert not second.first and second.pools_assigned == 0


def test_peer_update_plan_drops_primary_only_statements_like_the_update(primary_peer):
    candidate = services.peer_update_plan(peer=primary_peer, role="secondary")
    assert (candidate.mclt, candidate.split, candidate.hba) == (None, None, "")
    assert FailoverPeer.objects.get(pk=primary_peer.pk).mclt is not None
    services.peer_update(peer=primary_peer, role="secondary")
    stored = FailoverPeer.objects.get(pk=primary_peer.pk)
    assert (stored.role, stored.mclt, stored.split) == (candidate.role, None, None)


# --- pool plans ---------------------------------------------------------------------------


@pytest.fixture
def two_peers(primary_peer):
    other = services.peer_create(
        server=primary_peer.server, name="fo-two", **dict(PRIMARY, port=648, peer_port=848)
    ).peer
    return primary_peer, other


def test_pool_update_plan_is_what_pool_update_does(two_peers, pool):
    old, new = two_peers
    before = snapshot()
    plan = services.pool_update_plan(
        pool=pool, first_address="10.10.0.100", last_address="10.10.0.120", failover_peer=new
    )
    assert snapshot() == before
    assert plan.peers_to_delete == [old]
    assert (plan.pool.last_address, plan.pool.failover_peer) == ("10.10.0.120", new)
    result = services.pool_update(
        pool=pool,
        first_address="10.10.0.100",
        last_address="10.10.0.120",
        failover_peer=new,
        confirm_peer_deletion=True,
    )
    assert [p.name for p in result.deleted_peers] == [p.name for p in plan.peers_to_delete]
    stored = AddressPool.objects.get(pk=pool.pk)
    assert (stored.last_address, stored.failover_peer_id) == ("10.10.0.120", new.pk)


def test_pool_update_plan_refuses_invalid_addresses(two_peers, pool):
    with pytest.raises(ValidationError):
        services.pool_update_plan(
            pool=pool, first_address="10.10.0.200", last_address="10.10.0.100", failover_peer=None
        )


def test_pools_set_failover_peer_plan_is_what_the_action_does(two_peers, scope, pool):
    old, new = two_peers
    second = services.pool_create(
        scope=scope, first_address="10.10.0.200", last_address="10.10.0.210", failover_peer=new
    )
    before = snapshot()
    plan = services.pools_set_failover_peer_plan(pools=[pool, second], failover_peer=new)
    assert snapshot() == before
    assert [p.pk for p in plan.changing] == [pool.pk]  # the second already refers to it
    assert plan.peers_to_delete == [old]
    with pytest.raises(services.ConfirmationRequired) as exc:
        services.pools_set_failover_peer(pools=[pool, second], failover_peer=new)
    assert exc.value.message == services.orphan_message([old])
    result = services.pools_set_failover_peer(
        pools=[pool, second], failover_peer=new, confirm_peer_deletion=True
    )
    assert result.changed == len(plan.changing)
    assert [p.name for p in result.deleted_peers] == [p.name for p in plan.peers_to_delete]


def test_pools_set_failover_peer_plan_refuses_a_peer_of_another_server(primary_peer, pool):
    other = services.server_create(name="dhcp-b", address="192.0.2.2")
    foreign = services.peer_create(server=other, name="fo-pair", **SECONDARY).peer
    with pytest.raises(ValidationError):
        services.pools_set_failover_peer_plan(pools=[pool], failover_peer=foreign)


# --- deleting several peers across servers -----------------------------------------------


def _server_with_peers(name: str, address: str, network: str, peers: int):
    """A server with ``peers`` peers, each referred to by one pool of its own."""
    server = services.server_create(name=name, address=address)
    scope = services.scope_create(server=server, network=f"{network}.0/24", name=name)
    made = []
    for i in range(peers):
        peer = services.peer_create(
            server=server,
            name=f"fo-{name}-{i}",
            **dict(
                PRIMARY,
                address=address,
                peer_address="198.51.100.1",
                port=700 + i,
                peer_port=800 + i,
            ),
        ).peer
        pool = services.pool_create(
            scope=scope,
            first_address=f"{network}.{10 * i + 10}",
            last_address=f"{network}.{10 * i + 19}",
            failover_peer=peer,
        )
        made.append((peer, pool))
    return server, made


@pytest.fixture
def estate(db):
    """Server a: 1 peer (deleting it removes references); b: 2 (repoint); c: 3 (choose)."""
    return {
        "a": _server_with_peers("a", "192.0.2.1", "10.1.0", 1),
        "b": _server_with_peers("b", "192.0.2.2", "10.2.0", 2),
        "c": _server_with_peers("c", "192.0.2.3", "10.3.0", 3),
    }


def _selection(estate):
    (_, [(a0, a_pool)]) = estate["a"]
    (_, [(b0, b_pool), (b1, _)]) = estate["b"]
    (_, [(c0, c_pool), (c1, _), (c2, _)]) = estate["c"]
    return [a0, b0, c0], (a_pool, b_pool, c_pool), (b1, c1, c2)


def test_peers_delete_plan_gives_each_server_its_case(estate):
    peers, _, (b1, c1, c2) = _selection(estate)
    before = snapshot()
    plan = services.peers_delete_plan(peers=peers)
    assert snapshot() == before
    cases = {group.server.name: (group.case, group.target) for group in plan.servers}
    assert cases == {"a": ("remove", None), "b": ("repoint", b1), "c": ("choose", None)}
    assert [group.server.name for group in plan.needs_choice] == ["c"]
    assert plan.needs_choice[0].remaining == [c1, c2]
    assert plan.pool_count == 3
    lines = plan.preview()
    assert "Failover peer: fo-a-0 on a" in lines
    text = repr(lines)
    assert "will no longer refer to a failover peer" in text
    assert "will refer to 'fo-b-1'" in text
    assert "will refer to the failover peer you choose" in text


def test_peers_delete_refuses_when_a_choice_is_needed_and_changes_nothing(estate):
    peers, _, _ = _selection(estate)
    before = snapshot()
    with pytest.raises(ValidationError) as exc:
        services.peers_delete(peers=peers)
    assert "Choose which failover peer" in " ".join(exc.value.messages)
    assert "fo-c-1, fo-c-2" in " ".join(exc.value.messages)
    assert snapshot() == before
    # A replacement of another server is no choice for c either.
    stranger = estate["b"][1][1][0]
    with pytest.raises(ValidationError):
        services.peers_delete(peers=peers, replacement=stranger)
    assert snapshot() == before


def test_peers_delete_applies_the_plan(estate, editor):
    peers, (a_pool, b_pool, c_pool), (b1, c1, c2) = _selection(estate)
    plan = services.peers_delete_plan(peers=peers, replacement=c2)
    assert not plan.needs_choice
    expected = {group.server.name: group.target for group in plan.servers}
    assert expected == {"a": None, "b": b1, "c": c2}
    services.peers_delete(peers=peers, replacement=c2, actor=editor)
    assert (peer_of(a_pool), peer_of(b_pool), peer_of(c_pool)) == (None, b1, c2)
    assert not FailoverPeer.objects.filter(pk__in=[p.pk for p in peers]).exists()
    assert ChangeRecord.objects.filter(action="peer_delete", user=editor).count() == 3


def test_peers_delete_of_all_or_all_but_one_peer_of_a_server(estate):
    (_, made) = estate["c"]
    (c0, p0), (c1, p1), (c2, p2) = made
    services.peers_delete(peers=[c0, c1])  # one is left: the pools move to it, no choice
    assert (peer_of(p0), peer_of(p1), peer_of(p2)) == (c2, c2, c2)
    services.peers_delete(peers=[c2])  # the last one: references are removed
    assert (peer_of(p0), peer_of(p1), peer_of(p2)) == (None, None, None)


def test_peers_delete_is_atomic(estate, monkeypatch):
    peers, _, (_, _, c2) = _selection(estate)
    before = snapshot()
    real = services.peers._delete_peer
    calls = []

    def fail_third(peer, target, actor):
        calls.append(peer.pk)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(peer, target, actor)

    monkeypatch.setattr(services.peers, "_delete_peer", fail_third)
    with pytest.raises(RuntimeError):
        services.peers_delete(peers=peers, replacement=c2)
    assert len(calls) == 3
    assert snapshot() == before
