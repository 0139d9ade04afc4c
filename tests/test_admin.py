"""The Django admin: every write goes through failover.services, so the seed's rules hold."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from failover import services
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from tests.conftest import PRIMARY, SECONDARY

MODELS = ("dhcpserver", "scope", "addresspool", "failoverpeer", "changerecord")


def changelist(model: str) -> str:
    return reverse(f"admin:failover_{model}_changelist")


def url(model: str, action: str, obj) -> str:
    return reverse(f"admin:failover_{model}_{action}", args=[obj.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def make_peer(server: DhcpServer, name: str, **overrides) -> FailoverPeer:
    return services.peer_create(server=server, name=name, **{**PRIMARY, **overrides}).peer


def make_pool(scope: Scope, first: str, last: str, peer=None) -> AddressPool:
    return services.pool_create(
        scope=scope, first_address=first, last_address=last, failover_peer=peer
    )


def peer_form(server: DhcpServer, **overrides) -> dict:
    data = {
        "server": server.pk,
        "name": "fo-new",
        "role": "primary",
        "address": "192.0.2.1",
        "port": 647,
        "peer_address": "192.0.2.2",
        "peer_port": 847,
        "max_response_delay": 60,
        "max_unacked_updates": 10,
        "mclt": 3600,
        "split": 128,
        "load_balance_max_seconds": 3,
        "partner_server": "",
        "hba": "",
        "auto_partner_down": "",
        "max_lease_misbalance": "",
        "max_lease_ownership": "",
        "min_balance": "",
        "max_balance": "",
        "_save": "Save",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def run_action(client, action: str, pools, *, follow: bool = False, **extra):
    data = {"action": action, "_selected_action": [p.pk for p in pools], **extra}
    return client.post(changelist("addresspool"), data, follow=follow)


@pytest.fixture
def two_pools(pool):
    """The fixture pool 10.10.0.100-150 and a second one, 160-170, without a peer."""
    return pool, make_pool(pool.scope, "10.10.0.160", "10.10.0.170")


@pytest.fixture
def other_server(db):
    server = services.server_create(name="dhcp-b", address="192.0.2.2")
    scope = services.scope_create(server=server, network="10.10.0.0/24", name="Office")
    pool = make_pool(scope, "10.10.0.100", "10.10.0.150")
    peer = make_peer(
        server, "fo-pair", **dict(SECONDARY, address="192.0.2.2", peer_address="192.0.2.1")
    )
    pool.refresh_from_db()
    return server, pool, peer


# --- pages load --------------------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_it_shows_every_changelist(admin_client, primary_peer, model):
    response = admin_client.get(changelist(model))
    assert response.status_code == 200


@pytest.mark.parametrize("model", ["dhcpserver", "scope", "addresspool", "failoverpeer"])
def test_it_shows_add_and_change_forms(admin_client, primary_peer, pool, model):
    obj = {
        "dhcpserver": primary_peer.server,
        "scope": pool.scope,
        "addresspool": pool,
        "failoverpeer": primary_peer,
    }[model]
    assert admin_client.get(reverse(f"admin:failover_{model}_add")).status_code == 200
    assert admin_client.get(url(model, "change", obj)).status_code == 200


def test_changelist_search_and_filters(admin_client, primary_peer, pool):
    response = admin_client.get(changelist("addresspool"), {"q": "fo-pair"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [pool]
    response = admin_client.get(changelist("addresspool"), {"failover_peer__isnull": "True"})
    assert list(response.context["cl"].result_list) == []
    response = admin_client.get(changelist("failoverpeer"), {"role__exact": "secondary"})
    assert list(response.context["cl"].result_list) == []


def test_change_records_are_read_only(admin_client, primary_peer):
    record = ChangeRecord.objects.first()
    assert admin_client.get(reverse("admin:failover_changerecord_add")).status_code == 403
    response = admin_client.get(url("changerecord", "change", record))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert admin_client.post(url("changerecord", "delete", record)).status_code == 403
    assert ChangeRecord.objects.filter(pk=record.pk).exists()


def test_a_view_only_staff_user_cannot_change(client, pool):
    user = User.objects.create_user("staff-viewer", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover", codename__startswith="view_")
    )
    client.force_login(user)
    assert client.get(changelist("addresspool")).status_code == 200
    response = client.post(
        url("addresspool", "change", pool),
        {"first_address": "10.10.0.100", "last_address": "10.10.0.101", "failover_peer": ""},
    )
    assert response.status_code == 403
    pool.refresh_from_db()
    assert pool.last_address == "10.10.0.150"


# --- servers and scopes go through the services -----------------------------------------


def test_adding_a_server_uses_the_service(admin_client, db):
    response = admin_client.post(
        reverse("admin:failover_dhcpserver_add"),
        {"name": "dhcp-c", "address": "192.0.2.30", "description": "", "omapi_port": "7911"},
    )
    assert response.status_code == 302
    server = DhcpServer.objects.get(name="dhcp-c")
    assert server.omapi_port == 7911
    assert ChangeRecord.objects.filter(action="server_create").count() == 1


def test_an_invalid_server_is_rejected(admin_client, db):
    response = admin_client.post(
        reverse("admin:failover_dhcpserver_add"),
        {"name": 'bad"; }', "address": "192.0.2.30", "description": ""},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"]
    assert not DhcpServer.objects.exists()


def test_adding_and_changing_a_scope_uses_the_service(admin_client, server):
    response = admin_client.post(
        reverse("admin:failover_scope_add"),
        {
            "server": server.pk,
            "network": "10.20.0.0/24",
            "name": "Staff",
            "routers": "10.20.0.1",
            "domain_name_servers": "",
            "domain_name": "",
            "default_lease_time": "",
            "max_lease_time": "",
        },
    )
    assert response.status_code == 302
    scope = Scope.objects.get(network="10.20.0.0/24")
    response = admin_client.post(
        url("scope", "change", scope),
        {
            "network": "10.20.0.0/24",
            "name": "Staff LAN",
            "routers": "10.20.0.1",
            "domain_name_servers": "",
            "domain_name": "staff.example.org",
            "default_lease_time": "3600",
            "max_lease_time": "7200",
        },
    )
    assert response.status_code == 302
    scope.refresh_from_db()
    assert (scope.name, scope.max_lease_time) == ("Staff LAN", 7200)
    actions = set(ChangeRecord.objects.values_list("action", flat=True))
    assert {"scope_create", "scope_update"} <= actions


def test_an_overlapping_scope_is_rejected(admin_client, scope):
    response = admin_client.post(
        reverse("admin:failover_scope_add"),
        {"server": scope.server.pk, "network": "10.10.0.0/16", "name": "Big"},
    )
    assert response.status_code == 200
    assert "Overlaps" in str(response.context["adminform"].form.errors["network"])
    assert Scope.objects.count() == 1


def test_deleting_a_scope_lists_and_deletes_the_peer_only_its_pools_used(
    admin_client, primary_peer, pool
):
    scope = pool.scope
    response = admin_client.get(url("scope", "delete", scope))
    assert response.status_code == 200
    assert "Failover peer: fo-pair" in response.content.decode()
    response = admin_client.post(url("scope", "delete", scope), {"post": "yes"})
    assert response.status_code == 302
    assert not Scope.objects.exists()
    assert not FailoverPeer.objects.exists()
    assert ChangeRecord.objects.filter(action="scope_delete").exists()


def test_deleting_a_server_takes_everything_with_it(admin_client, primary_peer, pool):
    server = primary_peer.server
    response = admin_client.post(url("dhcpserver", "delete", server), {"post": "yes"})
    assert response.status_code == 302
    assert not DhcpServer.objects.exists()
    assert not AddressPool.objects.exists()
    assert ChangeRecord.objects.filter(action="server_delete").exists()


# --- failover peers ----------------------------------------------------------------------


def test_adding_the_first_peer_assigns_all_pools(admin_client, two_pools, server):
    assert AddressPool.objects.filter(failover_peer__isnull=True).count() == 2
    response = admin_client.post(
        reverse("admin:failover_failoverpeer_add"), peer_form(server), follow=True
    )
    assert response.status_code == 200
    peer = FailoverPeer.objects.get(name="fo-new")
    assert AddressPool.objects.filter(failover_peer=peer).count() == 2
    assert any("2 address pool(s) now refer to it" in m for m in messages_of(response))


def test_adding_a_second_peer_assigns_nothing(admin_client, primary_peer, two_pools):
    # two_pools' second pool was created after the first peer, without a peer
    response = admin_client.post(
        reverse("admin:failover_failoverpeer_add"),
        peer_form(primary_peer.server, name="fo-second"),
    )
    assert response.status_code == 302
    second = FailoverPeer.objects.get(name="fo-second")
    assert not second.pools.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        (dict(role="secondary", split="", mclt="3600"), "mclt"),
        (dict(role="secondary", mclt="", split="128"), "split"),
        (dict(role="primary", split="", hba=""), "split"),
        (dict(role="primary", mclt=""), "mclt"),
        (dict(address="192.0.2.9", peer_address="192.0.2.9"), "peer_address"),
        (dict(port="70000"), "port"),
        (dict(split="300"), "split"),
        (dict(hba="ff:00"), "hba"),
        (dict(name='x"; } subnet 10.0.0.0'), "name"),
    ],
)
def test_an_invalid_peer_is_rejected_by_the_admin_form(admin_client, server, overrides, field):
    response = admin_client.post(
        reverse("admin:failover_failoverpeer_add"), peer_form(server, **overrides)
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert not FailoverPeer.objects.exists()


def test_a_valid_secondary_is_accepted(admin_client, server):
    response = admin_client.post(
        reverse("admin:failover_failoverpeer_add"),
        peer_form(server, role="secondary", mclt="", split=""),
    )
    assert response.status_code == 302
    peer = FailoverPeer.objects.get()
    assert (peer.role, peer.mclt, peer.split) == ("secondary", None, None)


def test_changing_a_peer_uses_the_service_and_keeps_the_rules(admin_client, primary_peer):
    change = url("failoverpeer", "change", primary_peer)
    data = peer_form(primary_peer.server, name="fo-pair", mclt="1800")
    del data["server"]  # read-only once created
    assert admin_client.post(change, data).status_code == 302
    primary_peer.refresh_from_db()
    assert primary_peer.mclt == 1800
    assert ChangeRecord.objects.filter(action="peer_update").exists()
    bad = dict(data, role="secondary")  # still has mclt and split
    response = admin_client.post(change, bad)
    assert response.status_code == 200
    primary_peer.refresh_from_db()
    assert primary_peer.role == "primary"


def test_deleting_the_last_peer_removes_references(admin_client, primary_peer, pool):
    response = admin_client.get(url("failoverpeer", "delete", primary_peer))
    assert response.status_code == 200
    text = response.content.decode()
    assert "is the last failover peer" in text
    assert "10.10.0.100-10.10.0.150" in text
    response = admin_client.post(url("failoverpeer", "delete", primary_peer), {"post": "yes"})
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.failover_peer is None
    assert not FailoverPeer.objects.exists()


def test_deleting_a_peer_with_one_other_repoints(admin_client, primary_peer, pool):
    other = make_peer(primary_peer.server, "fo-other")
    response = admin_client.get(url("failoverpeer", "delete", primary_peer))
    assert "will refer to &#x27;fo-other&#x27;" in response.content.decode()
    response = admin_client.post(url("failoverpeer", "delete", primary_peer), {"post": "yes"})
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.failover_peer == other


def test_deleting_a_peer_with_two_others_asks_which_one(admin_client, primary_peer, pool):
    make_peer(primary_peer.server, "fo-b")
    c = make_peer(primary_peer.server, "fo-c")
    delete = url("failoverpeer", "delete", primary_peer)
    response = admin_client.get(delete)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'name="replacement"' in text and "fo-b" in text and "fo-c" in text

    # Not choosing changes nothing.
    response = admin_client.post(delete, {"post": "yes"}, follow=True)
    assert any("Choose which failover peer" in m for m in messages_of(response))
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()
    pool.refresh_from_db()
    assert pool.failover_peer == primary_peer

    # A peer of another server is no choice either.
    stranger_server = services.server_create(name="dhcp-x", address="192.0.2.99")
    stranger = make_peer(stranger_server, "fo-x")
    admin_client.post(delete, {"post": "yes", "replacement": stranger.pk})
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()

    response = admin_client.post(delete, {"post": "yes", "replacement": c.pk})
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.failover_peer == c
    assert not FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


def test_bulk_deleting_peers_that_need_a_choice_is_refused(admin_client, primary_peer, pool):
    make_peer(primary_peer.server, "fo-b")
    make_peer(primary_peer.server, "fo-c")
    response = admin_client.post(
        changelist("failoverpeer"),
        {"action": "delete_selected", "_selected_action": [primary_peer.pk], "post": "yes"},
        follow=True,
    )
    assert any("Nothing was deleted" in m for m in messages_of(response))
    assert FailoverPeer.objects.count() == 3
    pool.refresh_from_db()
    assert pool.failover_peer == primary_peer


def test_bulk_deleting_peers_repoints_to_the_one_left(admin_client, primary_peer, pool):
    b = make_peer(primary_peer.server, "fo-b")
    c = make_peer(primary_peer.server, "fo-c")
    pool2 = make_pool(pool.scope, "10.10.0.200", "10.10.0.210", peer=b)
    selected = {"action": "delete_selected", "_selected_action": [primary_peer.pk, b.pk]}
    response = admin_client.post(changelist("failoverpeer"), selected)
    assert response.status_code == 200  # Django's confirmation page, with our preview
    assert "will refer to &#x27;fo-c&#x27;" in response.content.decode()
    response = admin_client.post(changelist("failoverpeer"), {**selected, "post": "yes"})
    assert response.status_code == 302
    assert list(FailoverPeer.objects.all()) == [c]
    assert AddressPool.objects.filter(pk__in=[pool.pk, pool2.pk], failover_peer=c).count() == 2


def test_bulk_deleting_all_peers_removes_references(admin_client, primary_peer, pool):
    b = make_peer(primary_peer.server, "fo-b")
    c = make_peer(primary_peer.server, "fo-c")
    make_pool(pool.scope, "10.10.0.200", "10.10.0.210", peer=b)
    response = admin_client.post(
        changelist("failoverpeer"),
        {
            "action": "delete_selected",
            "_selected_action": [primary_peer.pk, b.pk, c.pk],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not FailoverPeer.objects.exists()
    assert not AddressPool.objects.filter(failover_peer__isnull=False).exists()


# --- address pools -----------------------------------------------------------------------


def test_adding_a_pool_offers_only_the_scopes_server_peers(
    admin_client, primary_peer, other_server
):
    add = reverse("admin:failover_addresspool_add")
    response = admin_client.get(add, {"scope": primary_peer.server.scopes.get().pk})
    offered = list(response.context["adminform"].form.fields["failover_peer"].queryset)
    assert offered == [primary_peer]

    foreign_peer = other_server[2]
    response = admin_client.post(
        add,
        {
            "scope": primary_peer.server.scopes.get().pk,
            "first_address": "10.10.0.200",
            "last_address": "10.10.0.210",
            "failover_peer": foreign_peer.pk,
        },
    )
    assert response.status_code == 200
    assert "failover_peer" in response.context["adminform"].form.errors
    assert AddressPool.objects.count() == 2

    response = admin_client.post(
        add,
        {
            "scope": primary_peer.server.scopes.get().pk,
            "first_address": "10.10.0.200",
            "last_address": "10.10.0.210",
            "failover_peer": primary_peer.pk,
        },
    )
    assert response.status_code == 302
    assert AddressPool.objects.get(first_address="10.10.0.200").failover_peer == primary_peer


def test_an_overlapping_pool_is_rejected(admin_client, pool):
    response = admin_client.post(
        reverse("admin:failover_addresspool_add"),
        {"scope": pool.scope.pk, "first_address": "10.10.0.140", "last_address": "10.10.0.160"},
    )
    assert response.status_code == 200
    assert "Overlaps" in str(response.context["adminform"].form.errors)


def test_changing_a_pools_peer_asks_before_deleting_the_old_one(admin_client, primary_peer, pool):
    other = make_peer(primary_peer.server, "fo-other")
    change = url("addresspool", "change", pool)
    data = {
        "first_address": "10.10.0.100",
        "last_address": "10.10.0.150",
        "failover_peer": other.pk,
    }
    response = admin_client.post(change, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert services.orphan_message([primary_peer]) in errors["confirm_peer_deletion"][0]
    pool.refresh_from_db()
    assert pool.failover_peer == primary_peer
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()

    response = admin_client.post(change, {**data, "confirm_peer_deletion": "on"})
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.failover_peer == other
    assert not FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


def test_changing_a_pools_addresses_needs_no_confirmation(admin_client, primary_peer, pool):
    response = admin_client.post(
        url("addresspool", "change", pool),
        {
            "first_address": "10.10.0.100",
            "last_address": "10.10.0.120",
            "failover_peer": primary_peer.pk,
        },
    )
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.last_address == "10.10.0.120"


def test_deleting_a_pool_lists_and_deletes_its_orphaned_peer(admin_client, primary_peer, pool):
    response = admin_client.get(url("addresspool", "delete", pool))
    assert "Failover peer: fo-pair" in response.content.decode()
    response = admin_client.post(url("addresspool", "delete", pool), {"post": "yes"})
    assert response.status_code == 302
    assert not AddressPool.objects.exists()
    assert not FailoverPeer.objects.exists()


def test_bulk_deleting_pools_goes_through_the_service(admin_client, primary_peer, two_pools):
    pools = list(AddressPool.objects.all())
    selected = {"action": "delete_selected", "_selected_action": [p.pk for p in pools]}
    response = admin_client.post(changelist("addresspool"), selected)
    assert response.status_code == 200
    assert "Failover peer: fo-pair" in response.content.decode()
    response = admin_client.post(changelist("addresspool"), {**selected, "post": "yes"})
    assert response.status_code == 302
    assert not AddressPool.objects.exists()
    assert not FailoverPeer.objects.exists()
    assert ChangeRecord.objects.filter(action="pool_delete").count() == 2


def test_deleting_one_of_two_pools_keeps_the_peer(admin_client, primary_peer, two_pools):
    _, second = two_pools
    services.pool_update(
        pool=second,
        first_address=second.first_address,
        last_address=second.last_address,
        failover_peer=primary_peer,
    )
    response = admin_client.get(url("addresspool", "delete", second))
    assert "Failover peer:" not in response.content.decode()
    admin_client.post(url("addresspool", "delete", second), {"post": "yes"})
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


# --- bulk actions ------------------------------------------------------------------------


def test_set_failover_peer_shows_a_page_then_changes_the_pools(
    admin_client, primary_peer, two_pools
):
    pools = list(AddressPool.objects.all())
    other = make_peer(primary_peer.server, "fo-other")
    stranger = make_peer(services.server_create(name="dhcp-x", address="192.0.2.99"), "fo-stranger")
    response = run_action(admin_client, "set_failover_peer", pools, index=0)
    assert response.status_code == 200
    offered = set(response.context["form"].fields["failover_peer"].queryset)
    assert offered == {primary_peer, other}
    assert stranger not in offered
    text = response.content.decode()
    assert 'name="failover_peer"' in text and "fo-other" in text

    # The pools refer to fo-pair and a pool without a peer: fo-pair keeps no pool -> confirm.
    response = run_action(
        admin_client, "set_failover_peer", pools, apply="yes", failover_peer=other.pk
    )
    assert response.status_code == 200
    assert response.context["confirmation"].peers_to_delete == [primary_peer]
    assert AddressPool.objects.filter(failover_peer=other).count() == 0

    response = run_action(
        admin_client,
        "set_failover_peer",
        pools,
        apply="yes",
        failover_peer=other.pk,
        confirm_peer_deletion="True",
    )
    assert response.status_code == 302
    assert AddressPool.objects.filter(failover_peer=other).count() == 2
    assert not FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


def test_set_failover_peer_without_deleting_anything_needs_no_confirmation(
    admin_client, primary_peer, two_pools
):
    _, second = two_pools  # no peer
    response = run_action(
        admin_client, "set_failover_peer", [second], apply="yes", failover_peer=primary_peer.pk
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.failover_peer == primary_peer


def test_set_failover_peer_refuses_pools_on_several_servers(
    admin_client, primary_peer, pool, other_server
):
    _, foreign_pool, _ = other_server
    response = run_action(
        admin_client, "set_failover_peer", [pool, foreign_pool], index=0, follow=True
    )
    assert any("several servers" in m for m in messages_of(response))
    pool.refresh_from_db()
    foreign_pool.refresh_from_db()
    assert (pool.failover_peer, foreign_pool.failover_peer) == (primary_peer, other_server[2])


def test_set_failover_peer_refuses_a_peer_of_another_server(
    admin_client, primary_peer, pool, other_server
):
    _, _, foreign_peer = other_server
    response = run_action(
        admin_client, "set_failover_peer", [pool], apply="yes", failover_peer=foreign_peer.pk
    )
    assert response.status_code == 200
    assert "failover_peer" in response.context["form"].errors
    pool.refresh_from_db()
    assert pool.failover_peer == primary_peer


def test_set_failover_peer_on_a_server_without_peers(admin_client, pool):
    response = run_action(admin_client, "set_failover_peer", [pool], index=0, follow=True)
    assert any("has no failover peers" in m for m in messages_of(response))


def test_remove_failover_peer_confirms_the_peer_deletion(admin_client, primary_peer, pool):
    response = run_action(admin_client, "remove_failover_peer", [pool], index=0)
    assert response.status_code == 200
    assert "this change will delete that failover peer" in response.content.decode()
    pool.refresh_from_db()
    assert pool.failover_peer == primary_peer

    response = run_action(admin_client, "remove_failover_peer", [pool], confirm_peer_deletion="yes")
    assert response.status_code == 302
    pool.refresh_from_db()
    assert pool.failover_peer is None
    assert not FailoverPeer.objects.exists()


def test_remove_failover_peer_without_orphans_just_removes(admin_client, primary_peer, two_pools):
    _, second = two_pools
    services.pools_set_failover_peer(pools=[second], failover_peer=primary_peer)
    response = run_action(admin_client, "remove_failover_peer", [second], index=0, follow=True)
    assert any(
        "1 address pool(s) now refer to no failover peer" in m for m in messages_of(response)
    )
    second.refresh_from_db()
    assert second.failover_peer is None
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


# --- query counts ------------------------------------------------------------------------


def _grow(n: int, offset: int) -> None:
    for i in range(offset, offset + n):
        server = services.server_create(name=f"srv-{i}", address=f"192.0.2.{i + 10}")
        scope = services.scope_create(server=server, network="10.1.0.0/24", name=f"S{i}")
        make_pool(scope, "10.1.0.10", "10.1.0.20")
        make_peer(server, f"fo-{i}", address=f"192.0.2.{i + 10}", peer_address="198.51.100.1")
        make_pool(scope, "10.1.0.30", "10.1.0.40")


@pytest.mark.parametrize("model", MODELS)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, db, model):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(changelist(model)).status_code == 200
        return len(ctx.captured_queries)

    _grow(2, 0)
    few = count()
    _grow(6, 2)
    many = count()
    # The list filters list servers/peers in one query each, whatever their number.
    assert many == few, f"{model}: {few} queries for 2 servers, {many} for 8"


# --- a service error after the form validated is a message, never a 500 ----------------


def test_a_service_error_after_validation_is_shown_not_raised(
    admin_client, primary_peer, pool, monkeypatch
):
    def refuse(**kwargs):
        raise services.ConfirmationRequired("Someone else changed it.", peers_to_delete=[])

    monkeypatch.setattr(services, "pool_update", refuse)
    response = admin_client.post(
        url("addresspool", "change", pool),
        {
            "first_address": "10.10.0.100",
            "last_address": "10.10.0.120",
            "failover_peer": primary_peer.pk,
        },
        follow=True,
    )
    assert response.status_code == 200
    assert any("Nothing was changed: Someone else changed it." in m for m in messages_of(response))
    pool.refresh_from_db()
    assert pool.last_address == "10.10.0.150"


def test_a_failed_bulk_delete_changes_nothing(admin_client, primary_peer, two_pools, monkeypatch):
    real_delete = services.pool_delete
    calls = []

    def fail_second(*, pool, actor=None):
        calls.append(pool.pk)
        if len(calls) == 2:
            raise services.ValidationError("The database said no.")
        return real_delete(pool=pool, actor=actor)

    monkeypatch.setattr(services, "pool_delete", fail_second)
    pools = list(AddressPool.objects.all())
    response = admin_client.post(
        changelist("addresspool"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in pools], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert any("The database said no." in m for m in messages_of(response))
    assert AddressPool.objects.count() == 2  # the first delete was rolled back too


def _bulk(n: int, offset: int = 0) -> None:
    """``n`` servers, each with a scope, a pool and a peer the pool refers to (bulk inserts:
    the changelists are what is measured, not the services)."""
    servers = DhcpServer.objects.bulk_create(
        DhcpServer(name=f"bulk-{i}", address=f"10.{i // 250}.{i % 250}.1")
        for i in range(offset, offset + n)
    )
    scopes = Scope.objects.bulk_create(
        Scope(server=s, network="10.1.0.0/24", name=s.name) for s in servers
    )
    peers = FailoverPeer.objects.bulk_create(
        FailoverPeer(
            server=s,
            name="fo-bulk",
            role="primary",
            address=s.address,
            port=647,
            peer_address="198.51.100.1",
            peer_port=847,
            max_response_delay=60,
            max_unacked_updates=10,
            mclt=3600,
            split=128,
        )
        for s in servers
    )
    AddressPool.objects.bulk_create(
        AddressPool(scope=sc, first_address="10.1.0.10", last_address="10.1.0.20", failover_peer=p)
        for sc, p in zip(scopes, peers, strict=True)
    )


@pytest.mark.parametrize("model", ("dhcpserver", "scope", "failoverpeer", "addresspool"))
def test_changelist_query_count_is_the_same_at_10_and_1000_rows(admin_client, db, model):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(changelist(model)).status_code == 200
        return len(ctx.captured_queries)

    _bulk(10)
    ten = count()
    _bulk(990, offset=10)
    assert count() == ten


def test_changelist_counts_are_per_row_subqueries_and_sortable(admin_client, primary_peer, pool):
    _bulk(5)
    server = primary_peer.server
    services.scope_create(server=server, network="10.11.0.0/24", name="Second")
    services.scope_create(server=server, network="10.12.0.0/24", name="Third")
    make_pool(pool.scope, "10.10.0.200", "10.10.0.210", peer=primary_peer)

    with CaptureQueriesContext(connection) as ctx:
        response = admin_client.get(changelist("dhcpserver"), {"o": "-4"})  # Scopes, descending
    rows = list(response.context["cl"].result_list)
    assert rows[0] == server and (rows[0].scope_count, rows[0].peer_count) == (3, 1)
    assert [r.scope_count for r in rows[1:]] == [1] * 5
    listing = [q["sql"] for q in ctx.captured_queries if 'FROM "failover_dhcpserver"' in q["sql"]]
    # No join grouped by every server (the whole table before the LIMIT): subqueries per row.
    assert listing and not any('GROUP BY "failover_dhcpserver"' in sql for sql in listing)

    response = admin_client.get(changelist("scope"), {"o": "-4"})  # Pools, descending
    rows = list(response.context["cl"].result_list)
    assert rows[0] == pool.scope and rows[0].pool_count == 2

    response = admin_client.get(changelist("failoverpeer"), {"o": "-10"})  # Pools, descending
    rows = list(response.context["cl"].result_list)
    assert rows[0] == primary_peer and rows[0].pool_count == 2
    response = admin_client.get(changelist("failoverpeer"), {"o": "10"})
    assert list(response.context["cl"].result_list)[-1] == primary_peer


def test_admin_peer_fieldsets_hold_every_statement_once(admin_client, primary_peer):
    from failover.admin import FailoverPeerAdmin, ScopeAdmin

    fields = [f for _, opts in FailoverPeerAdmin.fieldsets for f in opts["fields"]]
    assert sorted(fields) == sorted(
        ["server", "name", "partner_server", *FailoverPeer.STATEMENT_FIELDS]
    )
    scope_fields = [f for _, opts in ScopeAdmin.fieldsets for f in opts["fields"]]
    assert scope_fields == ["server", "network", "name", *Scope.OPTION_FIELDS]
