"""manage.py seed_demo: a mirrored failover pair, users, and safe to run twice."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from failover.management.commands import seed_demo
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from tests.conftest import require_binary


def run() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (DhcpServer, Scope, AddressPool, FailoverPeer, User, ChangeRecord)
    }


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db) -> str:
    return run()


def test_it_creates_the_pair(seeded):
    assert set(DhcpServer.objects.values_list("name", flat=True)) == {"dhcp-a", "dhcp-b"}
    assert set(DhcpServer.objects.values_list("omapi_port", flat=True)) == {7911}
    assert Scope.objects.count() == 2 * len(seed_demo.SCOPES)
    assert "Demo data loaded" in seeded
    assert "first peer of dhcp-a, so 5 pool(s) now refer to it" in seeded


def test_running_twice_changes_nothing(seeded):
    before = counts()
    second = run()
    assert counts() == before
    assert "nothing changed" in second
    assert "created" not in second


def test_it_completes_what_is_missing(seeded):
    AddressPool.objects.filter(scope__server__name="dhcp-b", first_address="10.40.2.1").delete()
    out = run()
    assert "created pool 10.40.2.1-10.40.3.250 in 10.40.0.0/22 on dhcp-b" in out
    pool = AddressPool.objects.get(scope__server__name="dhcp-b", first_address="10.40.2.1")
    assert pool.failover_peer.name == seed_demo.PEER_NAME


def test_the_peers_mirror_each_other(seeded):
    a = FailoverPeer.objects.get(server__name="dhcp-a")
    b = FailoverPeer.objects.get(server__name="dhcp-b")
    assert a.name == b.name == "campus-failover"
    assert (a.role, b.role) == ("primary", "secondary")
    assert (a.address, a.port) == (b.peer_address, b.peer_port)
    assert (b.address, b.port) == (a.peer_address, a.peer_port)
    assert a.port != b.port  # the mirroring is visible
    assert (a.mclt, a.split) == (3600, 128)
    assert (b.mclt, b.split, b.hba) == (None, None, "")
    assert (a.partner_server, b.partner_server) == (b.server, a.server)
    for peer in (a, b):
        peer.full_clean()  # every model rule holds


def test_both_servers_carry_identical_pools_and_every_pool_refers_to_the_peer(seeded):
    def layout(server: str) -> list[tuple]:
        return list(
            AddressPool.objects.filter(scope__server__name=server)
            .order_by("scope__network", "first_address")
            .values_list("scope__network", "first_address", "last_address")
        )

    assert layout("dhcp-a") == layout("dhcp-b")
    assert len(layout("dhcp-a")) == sum(len(s["pools"]) for s in seed_demo.SCOPES)
    for pool in AddressPool.objects.select_related("failover_peer", "scope__server"):
        assert pool.failover_peer is not None
        assert pool.failover_peer.name == "campus-failover"
        assert pool.failover_peer.server == pool.scope.server
        pool.full_clean()


def test_scopes_have_realistic_options(seeded):
    for scope in Scope.objects.all():
        assert scope.routers and scope.domain_name_servers and scope.domain_name
        assert scope.default_lease_time <= scope.max_lease_time
        scope.full_clean()


def test_it_creates_an_admin_and_a_read_only_user(seeded):
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("dhcpadmin-demo")
    viewer = User.objects.get(username="viewer")
    assert not viewer.is_superuser
    assert viewer.has_perm("failover.view_failoverpeer")
    assert not viewer.has_perm("failover.change_failoverpeer")
    assert not viewer.has_perm("failover.add_addresspool")
    assert "Log in as 'admin' with password 'dhcpadmin-demo'" in seeded
    assert "'viewer'" in seeded and "read-only" in seeded


def test_it_leaves_a_changed_password_alone(seeded):
    admin = User.objects.get(username="admin")
    admin.set_password("something-else")
    admin.save()
    out = run()
    assert "exists with another password" in out
    assert "password 'dhcpadmin-demo'" not in out.split("'viewer'")[0]
    admin.refresh_from_db()
    assert admin.check_password("something-else")


def test_every_write_went_through_the_services(seeded):
    actions = set(ChangeRecord.objects.values_list("action", flat=True))
    assert {"server_create", "scope_create", "pool_create", "peer_create"} <= actions


def test_the_demo_pair_passes_the_pair_check_and_the_real_dhcpd(seeded, tmp_path):
    require_binary("dhcpd")
    out = StringIO()
    call_command("check_failover", stdout=out)
    assert "0 finding(s)" in out.getvalue()
    out = StringIO()
    call_command("render_dhcpd", "--all", "--output-dir", str(tmp_path), "--check", stdout=out)
    assert out.getvalue().count("dhcpd -t accepts this configuration") == 2
    assert 'failover peer "campus-failover"' in (tmp_path / "dhcp-a.conf").read_text()
