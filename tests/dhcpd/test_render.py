"""The renderer: structure, determinism, role rules, quoting. Every rendered config is also
validated with the real dhcpd (``assert_valid``)."""

from __future__ import annotations

import pytest

from failover import services
from failover.dhcpd.render import comment, quote, render_server
from failover.models import FailoverPeer
from tests.conftest import PRIMARY, SECONDARY
from tests.dhcpd.conftest import assert_valid, build_pair

pytestmark = [pytest.mark.django_db, pytest.mark.dhcpd]

HBA = ":".join(["ff"] * 16 + ["00"] * 16)


def block(text: str, opening: str) -> str:
    """The text of the block that starts with ``opening`` up to its closing brace."""
    start = text.index(opening)
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    raise AssertionError(f"unclosed block {opening!r}")


def test_it_renders_peer_subnet_and_pool(primary_peer, server, scope, dhcpd):
    services.scope_update(
        scope=scope,
        routers="10.10.0.1",
        domain_name_servers="10.10.0.53, 10.10.0.54",
        domain_name="office.example",
        default_lease_time=600,
        max_lease_time=7200,
    )
    text = assert_valid(server, dhcpd)
    assert text.startswith("# dhcpd.conf for DHCP server dhcp-a (192.0.2.1)\n")
    assert "authoritative;\n" in text and "ddns-update-style none;\n" in text
    assert "omapi-port" not in text  # no OMAPI port set on the server
    peer = block(text, 'failover peer "fo-pair" {')
    assert peer.splitlines()[1:-1] == [
        "  primary;",
        "  address 192.0.2.1;",
        "  port 647;",
        "  peer address 192.0.2.2;",
        "  peer port 647;",
        "  max-response-delay 60;",
        "  max-unacked-updates 10;",
        "  mclt 3600;",
        "  split 128;",
        "  load balance max seconds 3;",
    ]
    subnet = block(text, "subnet 10.10.0.0 netmask 255.255.255.0 {")
    assert subnet.splitlines()[1:] == [
        "  option routers 10.10.0.1;",
        "  option domain-name-servers 10.10.0.53, 10.10.0.54;",
        '  option domain-name "office.example";',
        "  default-lease-time 600;",
        "  max-lease-time 7200;",
        "  pool {",
        '    failover peer "fo-pair";',
        "    range 10.10.0.100 10.10.0.150;",
        "  }",
        "}",
    ]
    assert "# Scope 10.10.0.0/24: Office\nsubnet" in text


def test_it_is_deterministic(db, dhcpd):
    a, b = build_pair()
    for server in (a, b):
        first = assert_valid(server, dhcpd)
        assert render_server(server) == first  # byte-identical
        assert render_server(type(server).objects.get(pk=server.pk)) == first


def test_it_orders_scopes_numerically_and_pools_by_address(server, dhcpd):
    for network in ("10.100.0.0/24", "10.20.0.0/24", "9.0.0.0/24", "10.3.0.0/24"):
        services.scope_create(server=server, network=network)
    scope = server.scopes.get(network="10.20.0.0/24")
    for first, last in (("10.20.0.200", "10.20.0.210"), ("10.20.0.20", "10.20.0.30")):
        services.pool_create(scope=scope, first_address=first, last_address=last)
    text = assert_valid(server, dhcpd)
    positions = [
        text.index(f"subnet {net} ") for net in ("9.0.0.0", "10.3.0.0", "10.20.0.0", "10.100.0.0")
    ]
    assert positions == sorted(positions)
    assert text.index("range 10.20.0.20 ") < text.index("range 10.20.0.200 ")


def test_it_writes_primary_only_statements_only_on_the_primary(db, dhcpd):
    a, b = build_pair()
    primary = block(assert_valid(a, dhcpd), 'failover peer "fo-pair" {')
    secondary = block(assert_valid(b, dhcpd), 'failover peer "fo-pair" {')
    assert "  primary;" in primary and "mclt 3600;" in primary and "split 128;" in primary
    assert "  secondary;" in secondary
    for statement in ("mclt", "split", "hba"):
        assert statement not in secondary
    assert "load balance max seconds 3;" in secondary


def test_it_writes_hba_instead_of_split(server, pool, dhcpd):
    services.peer_create(server=server, name="fo-hba", **dict(PRIMARY, split=None, hba=HBA))
    peer = block(assert_valid(server, dhcpd), 'failover peer "fo-hba" {')
    assert f"hba {HBA};" in peer and "split" not in peer


def test_it_omits_empty_statements_and_writes_the_advanced_ones(server, pool, dhcpd):
    services.peer_create(
        server=server, name="fo-pair", **dict(PRIMARY, load_balance_max_seconds=None)
    )
    peer = block(assert_valid(server, dhcpd), 'failover peer "fo-pair" {')
    for statement in ("load balance", "auto-partner-down", "min-balance", "max-balance", "hba"):
        assert statement not in peer
    advanced = dict(
        auto_partner_down=3600,
        max_lease_misbalance=20,
        max_lease_ownership=12,
        min_balance=30,
        max_balance=1800,
        load_balance_max_seconds=5,
    )
    services.peer_update(peer=FailoverPeer.objects.get(name="fo-pair"), **advanced)
    peer = block(assert_valid(server, dhcpd), 'failover peer "fo-pair" {')
    for line in (
        "auto-partner-down 3600;",
        "max-lease-misbalance 20;",
        "max-lease-ownership 12;",
        "min-balance 30;",
        "max-balance 1800;",
        "load balance max seconds 5;",
    ):
        assert f"  {line}\n" in peer


def test_it_writes_omapi_port_when_set(server, pool, dhcpd):
    services.server_update(server=server, omapi_port=7911)
    assert "\nomapi-port 7911;\n" in assert_valid(server, dhcpd)


def test_a_pool_without_peer_is_still_a_pool(server, pool, dhcpd):
    subnet = block(assert_valid(server, dhcpd), "subnet 10.10.0.0 ")
    assert "  pool {\n    range 10.10.0.100 10.10.0.150;\n  }" in subnet
    assert "failover" not in subnet


def test_a_scope_without_pools_is_an_empty_subnet(server, dhcpd):
    services.scope_create(server=server, network="10.30.0.0/16")
    assert "subnet 10.30.0.0 netmask 255.255.0.0 {\n}" in assert_valid(server, dhcpd)


def test_an_unreferenced_peer_is_left_out_as_a_comment(server, pool, dhcpd):
    services.peer_create(server=server, name="fo-pair", **PRIMARY)  # first peer: gets the pool
    services.peer_create(server=server, name="fo-spare", **dict(SECONDARY, port=648))
    text = assert_valid(server, dhcpd)  # dhcpd would refuse the declaration
    assert 'failover peer "fo-spare" {' not in text
    assert '# Failover peer "fo-spare" is not declared here:' in text
    assert 'failover peer "fo-pair" {' in text


def test_the_description_is_a_comment_line_by_line(server, pool, dhcpd):
    services.server_update(server=server, description='Rack 4\nsubnet 1.2.3.0 { "x" }\r\nend')
    text = assert_valid(server, dhcpd)
    assert '# Rack 4\n# subnet 1.2.3.0 { "x" }\n# end\n' in text
    assert text.count("subnet ") == 2  # the real one and the commented one


def test_an_empty_server_renders(server, dhcpd):
    text = assert_valid(server, dhcpd)
    assert "subnet" not in text and "failover" not in text


# --- the helpers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("plain", '"plain"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ('\\"; } subnet', r'"\\\"; } subnet"'),
        ("", '""'),
    ],
)
def test_quote_escapes(value, expected):
    assert quote(value) == expected


@pytest.mark.parametrize("value", ["new\nline", "nul\x00", "tab\t", "cr\r", "del\x7f"])
def test_quote_refuses_control_characters(value):
    with pytest.raises(ValueError):
        quote(value)


def test_quote_refuses_very_long_strings():
    with pytest.raises(ValueError):
        quote("x" * 2000)


def test_comment_stays_on_one_line():
    assert comment("a\nb\x00c\u2028d") == "# a\\u000ab\\u0000c\\u2028d"


def test_render_refuses_a_value_that_bypassed_validation(server, pool):
    services.peer_create(server=server, name="fo-pair", **PRIMARY)
    # queryset.update() skips validation; the renderer checks addresses and names again.
    FailoverPeer.objects.filter(name="fo-pair").update(peer_address="1.2.3.4; } evil {")
    with pytest.raises(ValueError):
        render_server(server)
    FailoverPeer.objects.filter(name="fo-pair").update(
        peer_address="192.0.2.2", name='x"; } subnet 1.0.0.0 netmask 255.0.0.0 { #'
    )
    with pytest.raises(ValueError):
        render_server(server)
