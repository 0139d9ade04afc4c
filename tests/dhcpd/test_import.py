"""Importing dhcpd.conf files into the model (failover.dhcpd.importer, services.config_import).

- every good config of the parser's corpus: import -> render -> the real ``dhcpd -t``
  accepts it, and the rendered file imports to the same model (peers with the same
  statements, subnets, pools with the same ranges and peers, the same kept statements, in
  the same places); importing the rendered file again changes nothing;
- every bad config: its error (file, line, column, message) and nothing saved;
- files the model cannot hold: a clear error at the line, nothing saved;
- drift: a changed file shows its differences, applying them makes the model equal to the
  file, and then the diff is empty;
- the import is its own operation: no first-peer rule, stale previews refused;
- query counts do not grow with the number of subnets.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.management import call_command

from failover import services
from failover.dhcpd import pair
from failover.dhcpd.check import check_config
from failover.dhcpd.importer import ConfigImportError, desired_state
from failover.dhcpd.parser import ParseError, parse_file, parse_text
from failover.dhcpd.render import render_server
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope, ScopeGroup
from tests.conftest import PRIMARY

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "corpus"
GOOD = CORPUS / "good"
BAD = CORPUS / "bad"
GOOD_FILES = sorted(GOOD.glob("*.conf"))
BAD_FILES = sorted(BAD.glob("*.conf"))


def new_server(name: str = "imported", address: str = "192.0.2.1") -> DhcpServer:
    return services.server_create(name=name, address=address)


def import_text(server: DhcpServer, text: str, **kwargs):
    return services.config_import(server=server, text=text, filename="test.conf", **kwargs)


def texts(entries) -> list:
    """Kept statements and place holders in order, without their positions' numbers."""
    return [entry[1] for entry in sorted(entries or [], key=lambda e: e[0])]


def snapshot(server: DhcpServer) -> dict:
    """Everything the import stores for a server, as plain comparable data."""
    server = DhcpServer.objects.get(pk=server.pk)
    groups = {g.pk: g for g in ScopeGroup.objects.filter(server=server)}

    def path(group_id):
        parts = []
        while group_id is not None:
            group = groups[group_id]
            parts.append((group.kind, group.name, group.quoted, group.position))
            group_id = group.parent_id
        return tuple(reversed(parts))

    skip = {"id", "server", "partner_server"}
    peer_fields = [f.name for f in FailoverPeer._meta.concrete_fields if f.name not in skip]
    return {
        "server": (server.omapi_port, texts(server.statements)),
        "peers": {
            p.name: {f: getattr(p, f) for f in peer_fields if f != "statements"}
            | {"statements": texts(p.statements)}
            for p in server.failover_peers.all()
        },
        "groups": sorted((path(pk), texts(g.statements)) for pk, g in groups.items()),
        "scopes": {
            s.network: (
                s.routers,
                s.domain_name_servers,
                s.domain_name,
                s.default_lease_time,
                s.max_lease_time,
                path(s.group_id),
                s.position,
                texts(s.statements),
            )
            for s in server.scopes.all()
        },
        "pools": {
            (p.first_address, p.last_address): (
                p.scope.network,
                p.failover_peer.name if p.failover_peer_id else None,
                path(p.group_id),
                p.position,
                p.bare,
                p.dynamic_bootp,
                p.peer_statement,
                texts(p.statements),
            )
            for p in AddressPool.objects.filter(scope__server=server).select_related(
                "scope", "failover_peer"
            )
        },
    }


def row_counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (DhcpServer, FailoverPeer, ScopeGroup, Scope, AddressPool, ChangeRecord)
    }


# --- the corpus, both ways ----------------------------------------------------------------


@pytest.mark.dhcpd
@pytest.mark.parametrize("conf", GOOD_FILES, ids=lambda p: p.name)
def test_good_config_imports_renders_for_dhcpd_and_round_trips(conf, dhcpd):
    tree = parse_file(conf)
    server = new_server()
    services.config_import(server=server, tree=tree, filename=conf.name)
    text = render_server(server)
    result = check_config(text, dhcpd_path=dhcpd)
    assert result.ok, f"dhcpd -t rejected the rendered import:\n{result.output}\n---\n{text}"

    # The rendered file declares the same things, in the same places...
    assert desired_state(parse_text(text, filename="rendered")) == desired_state(tree)
    # ...and imported into another server gives the same model.
    other = new_server("from-rendered", "192.0.2.9")
    import_text(other, text)
    assert snapshot(other) == snapshot(server)
    # Importing the rendered file again changes nothing, and renders the same bytes.
    assert services.config_import_plan(server=server, text=text).is_empty
    assert render_server(server) == text


def bad_expected(conf: Path) -> str:
    text = conf.with_suffix(".expected").read_text(encoding="utf-8").strip()
    return text.replace("{corpus_bad}", os.path.realpath(BAD))


@pytest.mark.parametrize("conf", BAD_FILES, ids=lambda p: p.name)
def test_bad_config_gives_its_error_and_saves_nothing(conf, capsys):
    before = row_counts()
    with pytest.raises(SystemExit) as info:
        call_command("import_dhcpd_conf", str(conf), "--server", "new", "--create")
    assert info.value.code == 1
    err = capsys.readouterr().err.strip()
    first = err.splitlines()[0]
    assert first.replace(str(BAD) + os.sep, "") == bad_expected(conf)
    assert row_counts() == before


def test_bad_config_into_an_existing_server_changes_nothing(server, scope, pool, primary_peer):
    before, kept = row_counts(), snapshot(server)
    with pytest.raises(ParseError) as info:
        import_text(
            server, "subnet 10.1.0.0 netmask 255.255.255.0 {\n  range 10.1.0.5 10.1.1.9;\n}\n"
        )
    assert (info.value.line, info.value.column) == (2, 3)
    assert "not inside subnet 10.1.0.0/24" in info.value.message
    assert row_counts() == before and snapshot(server) == kept


# --- what the model cannot hold ------------------------------------------------------------

PEER = """failover peer "p" {
  primary; address 192.0.2.1; peer address 192.0.2.2;
  max-response-delay 60; max-unacked-updates 10; mclt 3600; split 128;
}
"""

CANNOT_HOLD = {
    "overlapping subnets": (
        # (with a range: a subnet without pools or ranges is kept verbatim, with a warning)
        "subnet 10.0.0.0 netmask 255.255.0.0 { }\n"
        "subnet 10.0.1.0 netmask 255.255.255.0 { range 10.0.1.5 10.0.1.6; }\n",
        (
            2,
            1,
            "subnet 10.0.1.0/24 overlaps subnet 10.0.0.0/16 (line 1); dhcpadmin does not hold "
            "overlapping scopes",
        ),
    ),
    "the same subnet twice": (
        "subnet 10.0.1.0 netmask 255.255.255.0 { }\n"
        "subnet 10.0.1.0 netmask 255.255.255.0 { range 10.0.1.5; }\n",
        (2, 1, "subnet 10.0.1.0/24 is declared twice (first at line 1)"),
    ),
    "a /32 subnet": (
        "subnet 10.0.1.1 netmask 255.255.255.255 { range 10.0.1.1; }\n",
        (1, 1, "subnet 10.0.1.1/32: Network: The prefix length must be between /8 and /30."),
    ),
    "overlapping ranges": (
        "subnet 10.0.1.0 netmask 255.255.255.0 {\n  range 10.0.1.10 10.0.1.20;\n"
        "  pool { range 10.0.1.15 10.0.1.30; }\n}\n",
        (3, 10, "range 10.0.1.15 10.0.1.30 overlaps range 10.0.1.10 10.0.1.20 (line 2)"),
    ),
    "a range on the network address": (
        "subnet 10.0.1.0 netmask 255.255.255.0 { range 10.0.1.0 10.0.1.9; }\n",
        (
            1,
            41,
            "range 10.0.1.0 10.0.1.9: First Address: 10.0.1.0 is the network address of "
            "10.0.1.0/24.",
        ),
    ),
    "a peer without its own address": (
        PEER.replace("address 192.0.2.1; peer", "peer"),
        (
            1,
            1,
            "failover peer \"p\" has no 'address' statement; dhcpadmin needs the address this "
            "server listens on (dhcpd -t accepts it, but dhcpd then takes the address from "
            "'server-identifier' or exits at start with 'no local address')",
        ),
    ),
    "a peer name dhcpadmin does not take": (
        PEER.replace('"p"', '"my peer"'),
        (1, 1, "failover peer \"my peer\": Name: Use only letters, digits, '-', '_' and '.'."),
    ),
    "address and peer address the same": (
        PEER.replace("peer address 192.0.2.2", "peer address 192.0.2.1"),
        (1, 1, 'failover peer "p": Peer Address: The peer address must differ from the address.'),
    ),
    "an empty shared-network": (
        'shared-network empty { option domain-name "x.example"; }\n',
        (1, 1, "shared-network empty holds no subnet (dhcpd refuses an empty shared-network)"),
    ),
    "a subnet in a group in a subnet": (
        "subnet 10.0.1.0 netmask 255.255.255.0 {\n  group {\n"
        "    subnet 10.0.2.0 netmask 255.255.255.0 { }\n  }\n}\n",
        (
            2,
            3,
            "a group that declares subnets or pools inside subnet 10.0.1.0/24 cannot be held "
            "by dhcpadmin (declare the subnet outside it)",
        ),
    ),
    "dynamic-bootp in a pool that inherits a peer declared in the shared-network": (
        'shared-network n {\n  failover peer "p" {\n    primary; address 192.0.2.1;\n'
        "    peer address 192.0.2.2; max-response-delay 60; max-unacked-updates 10;\n"
        "    mclt 3600; split 128;\n  }\n  subnet 10.0.1.0 netmask 255.255.255.0 {\n"
        '    pool { failover peer "p"; range 10.0.1.10 10.0.1.20; }\n'
        "    pool { range dynamic-bootp 10.0.1.30 10.0.1.40; }\n  }\n}\n",
        (
            9,
            12,
            "range 10.0.1.30 10.0.1.40: Failover Peer: A 'range dynamic-bootp' cannot be in a "
            "failover pool (the failover protocol does not support dynamic BOOTP).",
        ),
    ),
    "a range outside the pools that dhcpd puts into a failover pool": (
        PEER + "subnet 10.0.1.0 netmask 255.255.255.0 {\n"
        '  pool { failover peer "p"; range 10.0.1.10 10.0.1.20; }\n'
        "  range 10.0.1.30 10.0.1.40;\n  range 10.0.1.50 10.0.1.60;\n}\n",
        (
            8,
            3,
            "range 10.0.1.50 10.0.1.60: dhcpd puts this range, written outside any pool, into "
            'the pool at line 6, which has failover peer "p"; dhcpadmin cannot hold that: '
            "write the range inside a pool",
        ),
    ),
}


@pytest.mark.dhcpd
def test_dhcpd_itself_puts_that_range_into_the_failover_pool(dhcpd):
    """The case above, as dhcpd 4.4 reads it: the second range outside the pools joins the
    pool before the first one's ad-hoc pool -- with dynamic-bootp, dhcpd refuses it."""
    text, _ = CANNOT_HOLD["a range outside the pools that dhcpd puts into a failover pool"]
    bootp = text.replace("range 10.0.1.30", "range dynamic-bootp 10.0.1.30").replace(
        "range 10.0.1.50", "range dynamic-bootp 10.0.1.50"
    )
    result = check_config(bootp, dhcpd_path=dhcpd)
    assert not result.ok
    assert result.errors[0].line == 8  # the second one; the first made an ad-hoc pool
    assert "dynamic-bootp flag is not permitted" in result.errors[0].message


def test_ranges_outside_the_pools_next_to_pools_without_peers_are_fine(server):
    text = PEER + (
        "subnet 10.0.1.0 netmask 255.255.255.0 {\n"
        "  pool { range 10.0.1.5 10.0.1.8; }\n"
        "  range 10.0.1.10 10.0.1.20;\n  range 10.0.1.30 10.0.1.40;\n}\n"
        'subnet 10.0.2.0 netmask 255.255.255.0 { pool { failover peer "p"; '
        "range 10.0.2.10 10.0.2.20; } }\n"
    )
    import_text(server, text)
    bare = AddressPool.objects.filter(bare=True)
    assert sorted(bare.values_list("first_address", "failover_peer")) == [
        ("10.0.1.10", None),
        ("10.0.1.30", None),
    ]


@pytest.mark.parametrize("case", sorted(CANNOT_HOLD), ids=str)
def test_a_file_the_model_cannot_hold_is_an_error_at_its_line(case, server, scope, pool):
    text, (line, column, message) = CANNOT_HOLD[case]
    before, kept = row_counts(), snapshot(server)
    with pytest.raises(ConfigImportError) as info:
        import_text(server, text)
    error = info.value
    assert (error.file, error.line, error.column, error.message) == (
        "test.conf",
        line,
        column,
        message,
    ), str(error)
    assert str(error).startswith(f"test.conf, line {line}, column {column}: ")
    assert row_counts() == before and snapshot(server) == kept


def test_every_problem_of_a_file_is_reported_in_file_order(server):
    text = (
        "subnet 10.0.1.0 netmask 255.255.255.0 { range 10.0.1.0 10.0.1.9; }\n"
        "subnet 10.0.0.0 netmask 255.255.0.0 { range 10.0.5.1 10.0.5.2; }\n"
    )
    with pytest.raises(ConfigImportError) as info:
        import_text(server, text)
    assert [(e.line, e.column) for e in info.value.errors] == [(1, 41), (2, 1)]
    assert len(str(info.value).splitlines()) == 2


# --- what is held, and how ------------------------------------------------------------------

OFFICE = """# the office
authoritative;
omapi-port 7911;
failover peer "fo" {
  primary; address 192.0.2.1; peer address 192.0.2.2; port 519; peer port 520;
  max-response-delay 30; max-unacked-updates 10; mclt 1800; split 255;
  load balance max seconds 5; peer max-response-delay 20;
}
class "phones" { match if substring (option vendor-class-identifier, 0, 7) = "Polycom"; }
subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  option domain-name-servers 10.1.0.2, 10.1.0.3;
  option domain-name "office.example";
  default-lease-time 600;
  max-lease-time 7200;
  host printer { hardware ethernet 00:16:3e:00:00:01; fixed-address 10.1.0.5; }
  pool {
    failover peer "fo";
    deny members of "phones";
    range 10.1.0.100 10.1.0.150;
    range 10.1.0.160 10.1.0.170;
  }
  pool { range 10.1.0.200 10.1.0.210; }
  range 10.1.0.220;
}
"""


def test_it_holds_what_the_model_has_fields_for(server):
    plan = import_text(server, OFFICE)
    server.refresh_from_db()
    assert server.omapi_port == 7911
    peer = FailoverPeer.objects.get(server=server, name="fo")
    assert (peer.role, peer.address, peer.port, peer.peer_address, peer.peer_port) == (
        "primary",
        "192.0.2.1",
        519,
        "192.0.2.2",
        520,
    )
    assert (peer.max_response_delay, peer.mclt, peer.split, peer.load_balance_max_seconds) == (
        30,
        1800,
        255,
        5,
    )
    assert texts(peer.statements) == ["peer max-response-delay 20;"]
    scope = Scope.objects.get(server=server)
    assert (scope.network, scope.routers, scope.domain_name_servers, scope.domain_name) == (
        "10.1.0.0/24",
        "10.1.0.1",
        "10.1.0.2, 10.1.0.3",
        "office.example",
    )
    assert (scope.default_lease_time, scope.max_lease_time) == (600, 7200)
    assert texts(scope.statements)[-1].startswith("host printer {")
    pools = {(p.first_address, p.last_address): p for p in AddressPool.objects.filter(scope=scope)}
    assert sorted(pools) == [
        ("10.1.0.100", "10.1.0.150"),
        ("10.1.0.160", "10.1.0.170"),
        ("10.1.0.200", "10.1.0.210"),
        ("10.1.0.220", "10.1.0.220"),
    ]
    block = [pools[("10.1.0.100", "10.1.0.150")], pools[("10.1.0.160", "10.1.0.170")]]
    assert {p.failover_peer_id for p in block} == {peer.pk}
    assert block[0].position == block[1].position  # one pool { } with two ranges
    assert texts(block[0].statements) == ['deny members of "phones";']
    assert pools[("10.1.0.200", "10.1.0.210")].failover_peer is None  # no first-peer rule
    assert pools[("10.1.0.220", "10.1.0.220")].bare
    assert texts(server.statements) == [
        "# the office\nauthoritative;",  # a comment is kept with the statement after it
        {"field": "omapi_port"},
        {"peers": True},
        'class "phones" {\n    match if substring (option vendor-class-identifier, 0, 7) = '
        '"Polycom";\n}',
    ]
    # peer, scope, four ranges; the server's top level; authoritative, the class, the host,
    # the pool's deny and the peer's "peer max-response-delay".
    assert plan.counts() == {"created": 6, "changed": 1, "deleted": 0, "kept": 5}
    text = render_server(server)
    assert '  pool {\n    failover peer "fo";\n    deny members of "phones";\n' in text
    assert "    range 10.1.0.100 10.1.0.150;\n    range 10.1.0.160 10.1.0.170;\n  }" in text
    assert "  range 10.1.0.220;\n" in text  # as written


def test_values_a_field_cannot_hold_are_kept_verbatim_with_a_note(server):
    text = (
        "subnet 10.1.0.0 netmask 255.255.255.0 {\n"
        "  option routers gw.example.com;\n"
        '  option domain-name "a.example";\n  option domain-name "b.example";\n'
        "  default-lease-time 9000;\n  max-lease-time 600;\n}\n"
    )
    plan = import_text(server, text)
    scope = Scope.objects.get(server=server)
    assert (scope.routers, scope.domain_name) == ("", "")
    assert scope.default_lease_time is None and scope.max_lease_time is None
    assert texts(scope.statements) == [
        "option routers gw.example.com;",
        'option domain-name "a.example";',
        'option domain-name "b.example";',
        "default-lease-time 9000;",
        "max-lease-time 600;",
    ]
    notes = "\n".join(plan.notes)
    assert "option routers gw.example.com is not a list of IPv4 addresses; kept verbatim" in notes
    assert "'option domain-name' is given 2 times; all kept verbatim" in notes
    assert "default-lease-time 9000 is above max-lease-time 600; both kept verbatim" in notes


def test_defaults_dhcpd_applies_are_stored_and_said(server):
    text = PEER.replace("primary; ", "") + (
        'subnet 10.1.0.0 netmask 255.255.255.0 { pool { failover peer "p"; '
        "range 10.1.0.10 10.1.0.20; } }\n"
    )
    plan = import_text(server, text)
    peer = FailoverPeer.objects.get(server=server)
    assert (peer.role, peer.port, peer.peer_port) == ("primary", 647, 647)
    assert any("names no role: stored as primary" in note for note in plan.notes)


def test_shared_network_pools_inherit_and_cancel_the_peer(server):
    tree = parse_file(GOOD / "shared-network.conf")
    services.config_import(server=server, tree=tree, filename="shared-network.conf")
    pools = {
        p.first_address: p
        for p in AddressPool.objects.filter(scope__server=server).select_related("failover_peer")
    }
    assert pools["10.30.0.50"].failover_peer.name == "east"
    assert pools["10.31.0.50"].failover_peer.name == "east"
    assert pools["10.31.0.50"].scope.network == "10.31.0.0/24"  # a range of the second subnet
    assert pools["10.30.0.50"].group.name == "campus-east"  # declared in the shared network
    assert pools["10.30.0.200"].failover_peer is None  # "no failover peer"
    assert pools["10.30.0.200"].peer_statement == AddressPool.PeerStatement.NONE
    assert pools["10.32.0.10"].failover_peer is None
    groups = ScopeGroup.objects.filter(server=server).order_by("position")
    assert [(g.kind, g.name, g.quoted) for g in groups] == [
        ("shared-network", "campus-east", True),
        ("shared-network", "backbone.example.com", False),
    ]
    # The peer declared in the shared network is written at the top, referred to there.
    assert texts(groups[0].statements) == [
        'option domain-name "east.example.com";',
        {"peer": "east"},
        {"peer": "east"},
    ]


def test_a_pool_that_only_inherits_its_peer_keeps_it_that_way(server, dhcpd):
    text = (
        PEER + 'shared-network n {\n  failover peer "p";\n'
        "  subnet 10.0.1.0 netmask 255.255.255.0 {\n"
        '    pool { failover peer "p"; range 10.0.1.10 10.0.1.20; }\n'
        "    pool { range 10.0.1.30 10.0.1.40; }\n  }\n}\n"
    )
    import_text(server, text)
    inherited = AddressPool.objects.get(first_address="10.0.1.30")
    assert inherited.failover_peer.name == "p"
    assert inherited.peer_statement == AddressPool.PeerStatement.INHERIT
    rendered = render_server(server)
    assert "    pool {\n      range 10.0.1.30 10.0.1.40;\n    }" in rendered
    assert check_config(rendered, dhcpd_path=dhcpd).ok
    # Taken off the peer in dhcpadmin, the pool must say so: dhcpd would give it the peer.
    services.pool_update(
        pool=inherited,
        first_address="10.0.1.30",
        last_address="10.0.1.40",
        failover_peer=None,
    )
    rendered = render_server(server)
    assert "    pool {\n      no failover peer\n      range 10.0.1.30 10.0.1.40;\n    }" in rendered
    assert check_config(rendered, dhcpd_path=dhcpd).ok


def test_a_pool_block_whose_ranges_got_different_peers_is_written_as_two(server, dhcpd):
    import_text(server, OFFICE)
    other = services.peer_create(server=server, name="fo2", **PRIMARY).peer
    pool = AddressPool.objects.get(first_address="10.1.0.160")
    services.pool_update(
        pool=pool, first_address="10.1.0.160", last_address="10.1.0.170", failover_peer=other
    )
    text = render_server(server)
    assert text.count('deny members of "phones";') == 2
    assert check_config(text, dhcpd_path=dhcpd).ok
    reimported = new_server("again", "192.0.2.7")
    import_text(reimported, text)
    peers = {
        p.first_address: p.failover_peer.name
        for p in AddressPool.objects.filter(scope__server=reimported, failover_peer__isnull=False)
    }
    assert peers == {"10.1.0.100": "fo", "10.1.0.160": "fo2"}


# --- the import is its own operation ----------------------------------------------------------


def test_no_first_peer_rule_and_the_file_is_reproduced(server, scope, pool):
    assert pool.failover_peer is None
    # The server's own file, with a peer and a scope whose second pool names no peer.
    text = render_server(server).replace("authoritative;", PEER + "authoritative;")
    text += (
        "subnet 10.2.0.0 netmask 255.255.255.0 {\n"
        '  pool { failover peer "p"; range 10.2.0.10 10.2.0.20; }\n'
        "  pool { range 10.2.0.30 10.2.0.40; }\n}\n"
    )
    import_text(server, text)
    peers = dict(
        AddressPool.objects.filter(scope__server=server).values_list(
            "first_address", "failover_peer__name"
        )
    )
    assert peers == {"10.10.0.100": None, "10.2.0.10": "p", "10.2.0.30": None}


def test_importing_the_rendered_config_of_a_server_made_here_keeps_its_model(
    server, scope, pool, primary_peer, dhcpd
):
    services.scope_update(scope=scope, routers="10.10.0.1", domain_name="office.example")
    before = render_server(server)
    model = {
        "peers": list(FailoverPeer.objects.values_list("name", "role", "address", "mclt")),
        "scopes": list(Scope.objects.values_list("network", "name", "routers", "domain_name")),
        "pools": list(
            AddressPool.objects.values_list("first_address", "last_address", "failover_peer")
        ),
    }
    plan = import_text(server, before)
    assert not plan.created and not plan.deleted
    assert {c.kind for c in plan.changed} <= {"server", "scope", "address pool"}
    assert render_server(server) == before  # byte-identical
    assert model == {
        "peers": list(FailoverPeer.objects.values_list("name", "role", "address", "mclt")),
        "scopes": list(Scope.objects.values_list("network", "name", "routers", "domain_name")),
        "pools": list(
            AddressPool.objects.values_list("first_address", "last_address", "failover_peer")
        ),
    }
    assert services.config_import_plan(server=server, text=before).is_empty


def test_a_stale_preview_is_refused_and_changes_nothing(server):
    plan = services.config_import_plan(server=server, text=OFFICE)
    services.scope_create(server=server, network="10.9.0.0/24")  # meanwhile
    before = row_counts()
    with pytest.raises(services.StaleImportPlan) as info:
        import_text(server, OFFICE, expected_fingerprint=plan.fingerprint)
    assert row_counts() == before
    assert [c.label for c in info.value.plan.deleted] == ["10.9.0.0/24"]
    import_text(server, OFFICE, expected_fingerprint=info.value.plan.fingerprint)
    assert not Scope.objects.filter(network="10.9.0.0/24").exists()


def test_the_same_text_gives_the_same_fingerprint_whatever_its_line_endings(server):
    a = services.config_import_plan(server=server, text=OFFICE)
    b = services.config_import_plan(server=server, text=OFFICE.replace("\n", "\r\n"))
    assert a.fingerprint == b.fingerprint
    c = services.config_import_plan(server=server, text=OFFICE.replace("600", "601"))
    assert c.fingerprint != a.fingerprint


def test_the_import_is_recorded(server, editor):
    import_text(server, OFFICE, actor=editor)
    record = ChangeRecord.objects.filter(action="config_import").get()
    assert record.user == editor
    assert record.summary == (
        "Imported test.conf into dhcp-a: 6 created, 1 changed, 0 deleted, "
        "5 statement(s) kept verbatim"
    )


def test_includes_are_refused_without_an_include_directory(server):
    with pytest.raises(ParseError) as info:
        import_text(server, 'include "/etc/passwd";\n')
    assert "not allowed: no include directory was given" in info.value.message
    assert "root:" not in str(info.value)


# --- drift ----------------------------------------------------------------------------------


def test_drift_shows_the_differences_applies_them_and_then_there_are_none(server):
    import_text(server, OFFICE)
    changed = (
        OFFICE.replace("mclt 1800;", "mclt 3600;")
        .replace("range 10.1.0.160 10.1.0.170;\n", "")
        .replace("  pool { range 10.1.0.200 10.1.0.210; }\n", "")
        .replace("host printer {", "host copier {")
        .replace("option routers 10.1.0.1;", "option routers 10.1.0.254;")
        + "subnet 10.2.0.0 netmask 255.255.255.0 { range 10.2.0.10 10.2.0.20; }\n"
    )
    plan = services.config_import_plan(server=server, text=changed)
    created = {(c.kind, c.label) for c in plan.created}
    assert created == {("scope", "10.2.0.0/24"), ("address pool", "10.2.0.10-10.2.0.20")}
    deleted = {(c.kind, c.label) for c in plan.deleted}
    assert deleted == {
        ("address pool", "10.1.0.160-10.1.0.170"),
        ("address pool", "10.1.0.200-10.1.0.210"),
    }
    changes = {(c.kind, c.label): c.fields for c in plan.changed}
    [mclt] = changes[("failover peer", "fo")]
    assert (mclt.field, mclt.old, mclt.new) == ("mclt", 1800, 3600)
    scope_fields = {f.field: f for f in changes[("scope", "10.1.0.0/24")]}
    assert (scope_fields["routers"].old, scope_fields["routers"].new) == ("10.1.0.1", "10.1.0.254")
    statements = scope_fields["statements"]
    assert any("host printer" in t for t in statements.old)
    assert any("host copier" in t for t in statements.new)
    assert AddressPool.objects.filter(first_address="10.1.0.160").exists()  # not applied yet

    import_text(server, changed)
    assert FailoverPeer.objects.get(server=server, name="fo").mclt == 3600
    assert not AddressPool.objects.filter(first_address="10.1.0.160").exists()
    assert Scope.objects.get(network="10.1.0.0/24").routers == "10.1.0.254"
    assert services.config_import_plan(server=server, text=changed).is_empty
    assert desired_state(parse_text(render_server(server))) == desired_state(parse_text(changed))


def test_drift_moves_a_range_to_a_new_scope_and_replaces_peers(server):
    import_text(server, OFFICE)
    wider = OFFICE.replace(
        "subnet 10.1.0.0 netmask 255.255.255.0", "subnet 10.1.0.0 netmask 255.255.254.0"
    )
    wider = wider.replace('"fo"', '"fo-new"')
    plan = services.config_import_plan(server=server, text=wider)
    assert {(c.kind, c.label) for c in plan.deleted} == {
        ("failover peer", "fo"),
        ("scope", "10.1.0.0/24"),
    }
    moved = {c.label: {f.field: (f.old, f.new) for f in c.fields} for c in plan.changed}
    assert moved["10.1.0.100-10.1.0.150"]["scope"] == ("10.1.0.0/24", "10.1.0.0/23")
    assert moved["10.1.0.100-10.1.0.150"]["failover_peer"] == ("fo", "fo-new")
    ids = set(AddressPool.objects.values_list("pk", flat=True))
    import_text(server, wider)
    assert set(AddressPool.objects.values_list("pk", flat=True)) == ids  # moved, not recreated
    assert list(FailoverPeer.objects.values_list("name", flat=True)) == ["fo-new"]
    assert services.config_import_plan(server=server, text=wider).is_empty


def test_drift_in_shared_networks_and_groups(server):
    tree = parse_file(GOOD / "group.conf")
    services.config_import(server=server, tree=tree, filename="group.conf")
    assert ScopeGroup.objects.filter(server=server).count() == 1  # only the group with a subnet
    text = (GOOD / "group.conf").read_text().replace("default-lease-time 600;", "")
    text += "shared-network extra { subnet 10.41.0.0 netmask 255.255.255.0 { } }\n"
    plan = services.config_import_plan(server=server, text=text)
    assert [(c.kind, c.label) for c in plan.created] == [
        ("shared network or group", "shared-network extra"),
        ("scope", "10.41.0.0/24"),
    ]
    [change] = [c for c in plan.changed if c.kind == "shared network or group"]
    assert change.label == "group #1"
    import_text(server, text)
    assert services.config_import_plan(server=server, text=text).is_empty
    text = text.replace("shared-network extra { subnet 10.41.0.0 netmask 255.255.255.0 { } }\n", "")
    plan = services.config_import_plan(server=server, text=text)
    assert {(c.kind, c.label) for c in plan.deleted} == {
        ("shared network or group", "shared-network extra"),
        ("scope", "10.41.0.0/24"),
    }
    import_text(server, text)
    assert not ScopeGroup.objects.filter(name="extra").exists()


# --- relationships --------------------------------------------------------------------------


def test_importing_both_servers_finds_their_relationship():
    a = new_server("dhcp-a", "192.0.2.1")
    b = new_server("dhcp-b", "192.0.2.2")
    services.config_import(server=a, tree=parse_file(GOOD / "failover-primary.conf"))
    plan = services.config_import(server=b, tree=parse_file(GOOD / "failover-secondary.conf"))
    [rel] = plan.relationships
    assert (rel.name, rel.primary_server.name, rel.secondary_server.name) == (
        "dhcp-pair",
        "dhcp-a",
        "dhcp-b",
    )
    assert rel.ok, [str(f) for f in rel.findings]
    [stored] = pair.relationships()
    assert stored.ok and stored.primary_peer.server == a and stored.secondary_peer.server == b
    assert stored.scopes[0].finalized


def test_conflicts_between_the_two_files_are_reported():
    a = new_server("dhcp-a", "192.0.2.1")
    b = new_server("dhcp-b", "192.0.2.2")
    services.config_import(server=a, tree=parse_file(GOOD / "failover-primary.conf"))
    secondary = (GOOD / "failover-secondary.conf").read_text()
    both_primary = secondary.replace(
        "    secondary;\n", "    primary;\n    mclt 3600;\n    split 128;\n"
    )
    plan = services.config_import_plan(server=b, text=both_primary)
    codes = {f.code for f in plan.findings}
    assert "roles" in codes
    other_pools = secondary.replace(
        "range 10.10.0.100 10.10.0.200;", "range 10.10.0.100 10.10.0.150;"
    )
    plan = services.config_import_plan(server=b, text=other_pools)
    [finding] = plan.findings
    assert finding.code == "pools_differ"
    assert "10.10.0.100-10.10.0.200" in finding.message
    # The preview does not save them; once imported, the stored check says the same.
    import_text(b, other_pools)
    assert {f.code for f in pair.all_findings(pair.relationships())} == {"pools_differ"}


# --- query counts -----------------------------------------------------------------------------


def generated(subnets: int) -> str:
    lines = [PEER]
    for i in range(subnets):
        net = f"10.{i // 256}.{i % 256}"
        lines.append(
            f"subnet {net}.0 netmask 255.255.255.0 {{ option routers {net}.1; "
            f'pool {{ failover peer "p"; range {net}.10 {net}.200; }} }}'
        )
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("subnets", [20, 200])
def test_import_queries_do_not_grow_with_the_subnets(subnets, django_assert_max_num_queries):
    text = generated(subnets)
    server = new_server()
    with django_assert_max_num_queries(30):
        import_text(server, text)
    assert AddressPool.objects.filter(scope__server=server).count() == subnets
    changed = text.replace("option routers", "option domain-name-servers")
    with django_assert_max_num_queries(30):
        import_text(server, changed)  # every scope changes: bulk updates
    with django_assert_max_num_queries(30):
        import_text(server, PEER)  # every scope and pool deleted
    assert not Scope.objects.filter(server=server).exists()
