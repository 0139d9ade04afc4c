"""Every model rule of issue 2, section 2: one accepted and one rejected case each.

Rejected cases call ``full_clean()`` and check that the error lands on the field the form shows
it beside. The last part bypasses ``clean()`` and shows that the database constraints still
refuse what ``clean()`` would.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from failover import services
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope
from tests.conftest import PRIMARY, SECONDARY

HBA_32 = ":".join(["ff"] * 32)


def field_errors(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        obj.full_clean()
    return exc.value.message_dict


def assert_rejected_on(obj, field: str) -> list[str]:
    errors = field_errors(obj)
    assert field in errors, errors
    assert NON_FIELD_ERRORS not in errors, errors
    return errors[field]


@pytest.fixture
def other_server(db) -> DhcpServer:
    return services.server_create(name="dhcp-b", address="192.0.2.2")


# --- DHCP server -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, address",
    [
        ("dhcp-b", "192.0.2.2"),
        ("dhcp_1.example", "dhcp1.example.com"),
        ("B" * 64, "dhcp-b"),
    ],
)
def test_server_accepted(db, name, address):
    DhcpServer(name=name, address=address).full_clean()


@pytest.mark.parametrize(
    "name",
    ["dhcp b", 'dhcp"b', "dhcp;b", "dhcp-b\n", "dhcp\tb", "b" * 65, ""],
)
def test_server_name_rejected(db, name):
    assert_rejected_on(DhcpServer(name=name, address="192.0.2.2"), "name")


def test_server_name_unique(server):
    messages = assert_rejected_on(DhcpServer(name=server.name, address="192.0.2.9"), "name")
    assert "already exists" in messages[0]


@pytest.mark.parametrize(
    "address", ["192.0.2.300", "192.0.2", "2001:db8::1", "-bad.example", "bad_host", "a b", ""]
)
def test_server_address_rejected(db, address):
    assert_rejected_on(DhcpServer(name="dhcp-b", address=address), "address")


@pytest.mark.parametrize("port, ok", [(None, True), (1, True), (7911, True), (65535, True)])
def test_server_omapi_port_accepted(db, port, ok):
    DhcpServer(name="dhcp-b", address="192.0.2.2", omapi_port=port).full_clean()


@pytest.mark.parametrize("port", [0, 65536])
def test_server_omapi_port_rejected(db, port):
    assert_rejected_on(
        DhcpServer(name="dhcp-b", address="192.0.2.2", omapi_port=port), "omapi_port"
    )


# --- Scope -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "network, stored",
    [
        ("10.20.0.0/24", "10.20.0.0/24"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("192.168.1.0/30", "192.168.1.0/30"),
        (" 172.16.0.0/16 ", "172.16.0.0/16"),
    ],
)
def test_scope_network_accepted(server, network, stored):
    scope = Scope(server=server, network=network)
    scope.full_clean()
    assert scope.network == stored


@pytest.mark.parametrize(
    "network, hint",
    [
        ("10.20.0.1/24", "host bits"),
        ("10.20.0.0", "CIDR"),
        ("2001:db8::/64", "CIDR"),
        ("10.20.0.0/255.255.255.0x", "CIDR"),
        ("garbage", "CIDR"),
        ("10.0.0.0/7", "prefix length"),
        ("10.20.0.0/31", "prefix length"),
        ("10.20.0.1/32", "prefix length"),
        ("10.20.0.0/33", "CIDR"),
    ],
)
def test_scope_network_rejected(server, network, hint):
    messages = assert_rejected_on(Scope(server=server, network=network), "network")
    assert any(hint in m for m in messages), messages


def test_scope_network_host_bits_suggests_the_network(server):
    messages = assert_rejected_on(Scope(server=server, network="10.20.0.7/24"), "network")
    assert "10.20.0.0/24" in messages[0]


def test_scope_network_unique_per_server(scope):
    messages = assert_rejected_on(Scope(server=scope.server, network=scope.network), "network")
    assert "already has a scope" in messages[0]


def test_scope_same_network_on_another_server_accepted(scope, other_server):
    Scope(server=other_server, network=scope.network).full_clean()


@pytest.mark.parametrize("network", ["10.10.0.0/16", "10.10.0.128/25", "10.0.0.0/8"])
def test_scope_overlap_on_one_server_rejected(scope, network):
    messages = assert_rejected_on(Scope(server=scope.server, network=network), "network")
    assert "Overlaps scope 10.10.0.0/24" in messages[0]


@pytest.mark.parametrize("network", ["10.10.1.0/24", "10.11.0.0/16"])
def test_scope_beside_another_accepted(scope, network):
    Scope(server=scope.server, network=network).full_clean()


def test_scope_overlap_on_another_server_accepted(scope, other_server):
    Scope(server=other_server, network="10.10.0.0/16").full_clean()


def test_scope_edit_does_not_overlap_itself(scope):
    scope.name = "Renamed"
    scope.full_clean()


def test_scope_network_change_that_strands_a_pool_rejected(pool):
    scope = pool.scope
    scope.network = "10.10.1.0/24"
    messages = assert_rejected_on(scope, "network")
    assert "10.10.0.100-10.10.0.150" in messages[0]


def test_scope_network_change_that_keeps_pools_inside_accepted(pool):
    scope = pool.scope
    scope.network = "10.10.0.0/23"
    scope.full_clean()


@pytest.mark.parametrize(
    "default, maximum", [(600, 7200), (3600, 3600), (None, 7200), (600, None), (None, None)]
)
def test_scope_lease_times_accepted(server, default, maximum):
    Scope(
        server=server, network="10.20.0.0/24", default_lease_time=default, max_lease_time=maximum
    ).full_clean()


@pytest.mark.parametrize(
    "default, maximum, field",
    [
        (7200, 600, "default_lease_time"),
        (0, 600, "default_lease_time"),
        (600, 0, "max_lease_time"),
        (-1, 600, "default_lease_time"),
    ],
)
def test_scope_lease_times_rejected(server, default, maximum, field):
    scope = Scope(
        server=server, network="10.20.0.0/24", default_lease_time=default, max_lease_time=maximum
    )
    assert_rejected_on(scope, field)


@pytest.mark.parametrize("field", ["routers", "domain_name_servers"])
@pytest.mark.parametrize("value", ["", "10.20.0.1", "10.20.0.1, 10.20.0.2"])
def test_scope_address_lists_accepted(server, field, value):
    Scope(server=server, network="10.20.0.0/24", **{field: value}).full_clean()


@pytest.mark.parametrize("field", ["routers", "domain_name_servers"])
@pytest.mark.parametrize(
    "value", ["10.20.0.256", "gw.example", "10.20.0.1, x", "10.20.0.1\n", "10.20.0.1,\n10.20.0.2"]
)
def test_scope_address_lists_rejected(server, field, value):
    assert_rejected_on(Scope(server=server, network="10.20.0.0/24", **{field: value}), field)


@pytest.mark.parametrize("value", ["example.com", "corp.example.", ""])
def test_scope_domain_name_accepted(server, value):
    Scope(server=server, network="10.20.0.0/24", domain_name=value).full_clean()


@pytest.mark.parametrize("value", ["bad domain", 'x"; }', "example.com\n"])
def test_scope_domain_name_rejected(server, value):
    assert_rejected_on(
        Scope(server=server, network="10.20.0.0/24", domain_name=value), "domain_name"
    )


def test_scope_name_accepts_free_text(server):
    Scope(server=server, network="10.20.0.0/24", name='Office 2 – "Floor" 3').full_clean()


@pytest.mark.parametrize("value", ["Office\nsubnet 0.0.0.0", "Office\x00", "Office\t2"])
def test_scope_name_control_characters_rejected(server, value):
    assert_rejected_on(Scope(server=server, network="10.20.0.0/24", name=value), "name")


# --- Address pool ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first, last",
    [
        ("10.10.0.10", "10.10.0.20"),
        ("10.10.0.1", "10.10.0.1"),
        ("10.10.0.1", "10.10.0.99"),
        ("10.10.0.151", "10.10.0.254"),
    ],
)
def test_pool_accepted(pool, first, last):
    AddressPool(scope=pool.scope, first_address=first, last_address=last).full_clean()


@pytest.mark.parametrize(
    "first, last, field, hint",
    [
        ("10.10.1.5", "10.10.1.9", "first_address", "outside"),
        ("10.10.0.5", "10.10.1.9", "last_address", "outside"),
        ("10.10.0.0", "10.10.0.9", "first_address", "network address"),
        ("10.10.0.200", "10.10.0.255", "last_address", "broadcast address"),
        ("10.10.0.20", "10.10.0.10", "last_address", "not be lower"),
        ("10.10.0.300", "10.10.0.10", "first_address", "IPv4"),
        ("10.10.0.10", "2001:db8::1", "last_address", "IPv4"),
        ("", "10.10.0.10", "first_address", "blank"),
    ],
)
def test_pool_addresses_rejected(scope, first, last, field, hint):
    pool = AddressPool(scope=scope, first_address=first, last_address=last)
    messages = assert_rejected_on(pool, field)
    assert any(hint in m for m in messages), messages


@pytest.mark.parametrize(
    "first, last",
    [
        ("10.10.0.90", "10.10.0.100"),
        ("10.10.0.150", "10.10.0.160"),
        ("10.10.0.120", "10.10.0.130"),
        ("10.10.0.50", "10.10.0.200"),
    ],
)
def test_pool_overlap_with_another_pool_of_the_scope_rejected(pool, first, last):
    other = AddressPool(scope=pool.scope, first_address=first, last_address=last)
    messages = assert_rejected_on(other, "first_address")
    assert "Overlaps the pool 10.10.0.100-10.10.0.150" in messages[0]


def test_pool_same_range_in_another_scope_accepted(pool, other_server):
    scope = services.scope_create(server=other_server, network="10.10.0.0/24")
    AddressPool(scope=scope, first_address="10.10.0.100", last_address="10.10.0.150").full_clean()


def test_pool_edit_does_not_overlap_itself(pool):
    pool.last_address = "10.10.0.160"
    pool.full_clean()


def test_pool_peer_of_the_same_server_accepted(primary_peer, scope):
    AddressPool(
        scope=scope,
        first_address="10.10.0.10",
        last_address="10.10.0.20",
        failover_peer=primary_peer,
    ).full_clean()


def test_pool_peer_of_another_server_rejected(scope, other_server):
    foreign = services.peer_create(server=other_server, name="fo-pair", **SECONDARY).peer
    pool = AddressPool(
        scope=scope, first_address="10.10.0.10", last_address="10.10.0.20", failover_peer=foreign
    )
    messages = assert_rejected_on(pool, "failover_peer")
    assert "same server" in messages[0]


# --- Failover peer ---------------------------------------------------------------------------


def make_peer(server, **overrides) -> FailoverPeer:
    return FailoverPeer(server=server, **{"name": "fo-new", **PRIMARY, **overrides})


def test_peer_defaults(server):
    peer = FailoverPeer(server=server, name="fo-new", address="192.0.2.1", peer_address="192.0.2.2")
    assert peer.role == FailoverPeer.Role.PRIMARY
    assert (peer.port, peer.peer_port) == (647, 647)
    assert peer.max_response_delay == 60
    assert peer.max_unacked_updates == 10
    assert peer.mclt == 3600
    assert peer.split == 128
    assert peer.load_balance_max_seconds == 3
    assert peer.hba == ""
    assert peer.auto_partner_down is None
    peer.full_clean()  # the defaults alone make a valid primary


def test_peer_primary_accepted(server):
    make_peer(server).full_clean()


def test_peer_secondary_accepted(server):
    make_peer(server, **SECONDARY).full_clean()


def test_peer_name_unique_per_server(primary_peer):
    peer = make_peer(primary_peer.server, name=primary_peer.name)
    messages = assert_rejected_on(peer, "name")
    assert "already has a failover peer" in messages[0]


def test_peer_same_name_on_another_server_accepted(primary_peer, other_server):
    make_peer(other_server, name=primary_peer.name, **SECONDARY).full_clean()


def test_peer_edit_keeps_its_own_name(primary_peer):
    primary_peer.port = 648
    primary_peer.full_clean()


@pytest.mark.parametrize("name", ["fo-pair", "fo_pair.1", "A" * 64, "0"])
def test_peer_name_accepted(server, name):
    make_peer(server, name=name).full_clean()


@pytest.mark.parametrize(
    "name",
    [
        "fo pair",
        'fo"pair',
        "fo;pair",
        "fo\\pair",
        'x"; } subnet 10.0.0.0 netmask 255.0.0.0 { #',
        "fo\npair",
        "fo-pair\n",
        "fo\x00",
        "pär",
        "a" * 65,
        "",
    ],
)
def test_peer_name_rejected(server, name):
    assert_rejected_on(make_peer(server, name=name), "name")


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_peer_role_accepted(server, role):
    overrides = SECONDARY if role == "secondary" else {}
    make_peer(server, **{**overrides, "role": role}).full_clean()


@pytest.mark.parametrize("role", ["tertiary", "", "Primary"])
def test_peer_role_rejected(server, role):
    assert_rejected_on(make_peer(server, role=role, mclt=None, split=None), "role")


def test_peer_primary_needs_mclt(server):
    messages = assert_rejected_on(make_peer(server, mclt=None), "mclt")
    assert "max client lead time" in messages[0]


@pytest.mark.parametrize("split, hba", [(128, ""), (0, ""), (256, ""), (None, HBA_32)])
def test_peer_primary_split_or_hba_accepted(server, split, hba):
    make_peer(server, split=split, hba=hba).full_clean()


def test_peer_primary_split_and_hba_rejected(server):
    messages = assert_rejected_on(make_peer(server, split=128, hba=HBA_32), "hba")
    assert "not both" in messages[0]


def test_peer_primary_without_split_or_hba_rejected(server):
    assert_rejected_on(make_peer(server, split=None, hba=""), "split")


@pytest.mark.parametrize(
    "field, value", [("mclt", 3600), ("split", 128), ("split", 0), ("hba", HBA_32), ("mclt", 0)]
)
def test_peer_secondary_has_no_primary_statements(server, field, value):
    peer = make_peer(server, **{**SECONDARY, field: value})
    messages = assert_rejected_on(peer, field)
    # mclt 0 is also below the field's limit (failover.validators.LIMITS): both are said.
    assert any("only specified on the primary" in message for message in messages), messages


@pytest.mark.parametrize("field", ["port", "peer_port"])
@pytest.mark.parametrize("value", [1, 647, 65535])
def test_peer_ports_accepted(server, field, value):
    make_peer(server, **{field: value}).full_clean()


@pytest.mark.parametrize("field", ["port", "peer_port"])
@pytest.mark.parametrize("value", [0, 65536, -1])
def test_peer_ports_rejected(server, field, value):
    assert_rejected_on(make_peer(server, **{field: value}), field)


def test_peer_split_257_rejected(server):
    assert_rejected_on(make_peer(server, split=257), "split")


@pytest.mark.parametrize(
    "hba", [":".join(["ff"] * 31), ":".join(["ff"] * 33), ":".join(["zz"] * 32), HBA_32 + "\n"]
)
def test_peer_hba_rejected(server, hba):
    assert_rejected_on(make_peer(server, split=None, hba=hba), "hba")


@pytest.mark.parametrize(
    "address, peer_address",
    [("192.0.2.1", "192.0.2.2"), ("dhcp-a.example", "dhcp-b.example"), ("dhcp-a", "192.0.2.2")],
)
def test_peer_addresses_accepted(server, address, peer_address):
    make_peer(server, address=address, peer_address=peer_address).full_clean()


def test_peer_address_equal_to_peer_address_rejected(server):
    peer = make_peer(server, address="192.0.2.1", peer_address="192.0.2.1")
    messages = assert_rejected_on(peer, "peer_address")
    assert "differ" in messages[0]


@pytest.mark.parametrize("field", ["address", "peer_address"])
@pytest.mark.parametrize("value", ["192.0.2.300", "2001:db8::2", "bad_host", "dhcp.example\n", ""])
def test_peer_addresses_rejected(server, field, value):
    assert_rejected_on(make_peer(server, **{field: value}), field)


@pytest.mark.parametrize("field", ["max_response_delay", "max_unacked_updates"])
def test_peer_timers_must_be_positive(server, field):
    make_peer(server, **{field: 1}).full_clean()
    assert_rejected_on(make_peer(server, **{field: 0}), field)


@pytest.mark.parametrize(
    "ownership, misbalance",
    [(10, 15), (None, 15), (10, None), (5, None), (None, 20), (None, None), (1, 2)],
)
def test_peer_lease_ownership_below_misbalance_accepted(server, ownership, misbalance):
    make_peer(server, max_lease_ownership=ownership, max_lease_misbalance=misbalance).full_clean()


@pytest.mark.parametrize(
    "ownership, misbalance, field",
    [
        (15, 15, "max_lease_ownership"),
        (20, 15, "max_lease_ownership"),
        (20, None, "max_lease_ownership"),  # dhcpd's default misbalance is 15
        (None, 10, "max_lease_misbalance"),  # dhcpd's default ownership is 10
        (None, 101, "max_lease_misbalance"),
    ],
)
def test_peer_lease_ownership_below_misbalance_rejected(server, ownership, misbalance, field):
    peer = make_peer(server, max_lease_ownership=ownership, max_lease_misbalance=misbalance)
    assert_rejected_on(peer, field)


@pytest.mark.parametrize(
    "min_balance, max_balance", [(60, 3600), (None, None), (120, None), (None, 600), (5, 5)]
)
def test_peer_min_max_balance_accepted(server, min_balance, max_balance):
    make_peer(server, min_balance=min_balance, max_balance=max_balance).full_clean()


@pytest.mark.parametrize(
    "min_balance, max_balance, field",
    [(4000, 3600, "min_balance"), (4000, None, "min_balance"), (None, 30, "max_balance")],
)
def test_peer_min_max_balance_rejected(server, min_balance, max_balance, field):
    assert_rejected_on(make_peer(server, min_balance=min_balance, max_balance=max_balance), field)


def test_peer_partner_server(server, other_server):
    make_peer(server, partner_server=other_server).full_clean()
    assert_rejected_on(make_peer(server, partner_server=server), "partner_server")


def test_peer_optional_advanced_fields_accepted(server):
    make_peer(
        server,
        auto_partner_down=300,
        max_lease_misbalance=15,
        max_lease_ownership=10,
        min_balance=60,
        max_balance=3600,
        load_balance_max_seconds=0,
    ).full_clean()


# --- the database refuses what clean() refuses, also when clean() is bypassed ----------------


def _assert_db_refuses(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_db_accepts_a_valid_peer_created_directly(server):
    FailoverPeer.objects.create(server=server, name="fo-direct", **PRIMARY)
    FailoverPeer.objects.create(server=server, name="fo-direct-2", **SECONDARY)
    assert server.failover_peers.count() == 2


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({**SECONDARY, "mclt": 3600}, id="secondary-with-mclt"),
        pytest.param({**SECONDARY, "split": 128}, id="secondary-with-split"),
        pytest.param({**SECONDARY, "hba": HBA_32}, id="secondary-with-hba"),
        pytest.param({"mclt": None}, id="primary-without-mclt"),
        pytest.param({"split": 128, "hba": HBA_32}, id="primary-with-split-and-hba"),
        pytest.param({"split": None, "hba": ""}, id="primary-without-split-or-hba"),
        pytest.param({"port": 0}, id="port-0"),
        pytest.param({"port": 65536}, id="port-65536"),
        pytest.param({"peer_port": 0}, id="peer-port-0"),
        pytest.param({"peer_port": 65536}, id="peer-port-65536"),
        pytest.param({"split": 257}, id="split-257"),
        pytest.param({"role": "tertiary", "mclt": None, "split": None}, id="role"),
        pytest.param({"peer_address": PRIMARY["address"]}, id="same-addresses"),
    ],
)
def test_db_check_constraints_hold_without_clean(server, overrides):
    _assert_db_refuses(
        lambda: FailoverPeer.objects.create(
            server=server, name="fo-direct", **{**PRIMARY, **overrides}
        )
    )
    assert not FailoverPeer.objects.filter(name="fo-direct").exists()


def test_db_unique_peer_name_per_server(primary_peer, other_server):
    _assert_db_refuses(
        lambda: FailoverPeer.objects.create(server=primary_peer.server, name="fo-pair", **PRIMARY)
    )
    FailoverPeer.objects.create(server=other_server, name="fo-pair", **SECONDARY)


def test_db_unique_scope_network_per_server(scope, other_server):
    _assert_db_refuses(lambda: Scope.objects.create(server=scope.server, network=scope.network))
    Scope.objects.create(server=other_server, network=scope.network)


def test_db_unique_server_name(server):
    _assert_db_refuses(lambda: DhcpServer.objects.create(name=server.name, address="192.0.2.9"))


def test_db_peer_still_referred_to_cannot_be_deleted(primary_peer):
    """RESTRICT: a peer goes only through failover.services, which re-points its pools first."""
    from django.db.models import RestrictedError

    with pytest.raises(RestrictedError):
        primary_peer.delete()
    assert FailoverPeer.objects.filter(pk=primary_peer.pk).exists()


# --- small helpers the views and the renderer rely on ----------------------------------------


def test_pool_size_and_contains(pool):
    import ipaddress

    assert pool.size == 51
    assert pool.contains(ipaddress.IPv4Address("10.10.0.100"))
    assert pool.contains(ipaddress.IPv4Address("10.10.0.150"))
    assert not pool.contains(ipaddress.IPv4Address("10.10.0.151"))
    assert str(pool) == "10.10.0.100-10.10.0.150"


def test_peer_pool_counts(primary_peer, pool, scope):
    services.pool_create(scope=scope, first_address="10.10.0.10", last_address="10.10.0.20")
    counted = FailoverPeer.objects.with_pool_counts().get(pk=primary_peer.pk)
    assert counted.pool_count == 1  # the first peer took the only pool; the new one has none
    assert list(AddressPool.objects.for_peer(primary_peer)) == [pool]


# --- a NUL byte anywhere is a field error, never a database error (PostgreSQL refuses NUL) ----


@pytest.mark.parametrize(
    "build, field",
    [
        (lambda s: DhcpServer(name="dhcp\x00", address="192.0.2.9"), "name"),
        (lambda s: DhcpServer(name="dhcp-z", address="dhcp\x00.example"), "address"),
        (lambda s: Scope(server=s, network="10.20.0.0/24\x00"), "network"),
        (lambda s: Scope(server=s, network="10.20.0.0/24", name="Lab\x00"), "name"),
        (lambda s: Scope(server=s, network="10.20.0.0/24", routers="10.20.0.1\x00"), "routers"),
        (
            lambda s: Scope(server=s, network="10.20.0.0/24", domain_name="ex\x00.com"),
            "domain_name",
        ),
        (lambda s: make_peer(s, name="fo-pair\x00"), "name"),
        (lambda s: make_peer(s, address="192.0.2.1\x00"), "address"),
        (lambda s: make_peer(s, peer_address="dhcp\x00"), "peer_address"),
        (lambda s: make_peer(s, split=None, hba=":".join(["ff"] * 31) + ":f\x00"), "hba"),
        (lambda s: make_peer(s, role="primary\x00"), "role"),
    ],
)
def test_nul_byte_is_a_field_error(primary_peer, build, field):
    assert_rejected_on(build(primary_peer.server), field)


def test_nul_byte_in_pool_address_is_a_field_error(scope):
    pool = AddressPool(scope=scope, first_address="10.10.0.1\x00", last_address="10.10.0.9")
    assert_rejected_on(pool, "first_address")


def test_server_description_refuses_nul_but_keeps_newlines(db):
    """PostgreSQL cannot store NUL in text: it must be a field error, not a DataError."""
    ok = DhcpServer(name="dhcp-nul", address="192.0.2.9", description="line 1\nline 2")
    ok.full_clean()
    bad = DhcpServer(name="dhcp-nul", address="192.0.2.9", description="a\x00b")
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert set(exc.value.message_dict) == {"description"}
