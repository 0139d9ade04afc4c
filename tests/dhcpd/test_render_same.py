"""The fast renderer writes exactly what the renderer before issue 7 wrote.

failover.dhcpd.render reads rows instead of model instances and checks each value with a
regular expression (once per distinct value where it can) instead of ``ipaddress``; the old
renderer is kept as an oracle in tests/dhcpd/render_before.py. Both render the same data:
the parser's corpus, the benchmark file, generated files, servers made here, hostile values
and data that bypassed validation (both refuse it). The query count of a render does not
grow with the number of scopes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.gen_config import generate
from failover import services
from failover.dhcpd import render as fast
from failover.dhcpd.parser import parse_file
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope, ScopeGroup
from tests.conftest import PRIMARY
from tests.dhcpd import render_before as before
from tests.dhcpd.conftest import build_pair
from tests.dhcpd.test_import_property import configs, isolated

pytestmark = pytest.mark.django_db

GOOD = sorted((Path(__file__).parent / "corpus" / "good").glob("*.conf"))


def same(server: DhcpServer) -> str:
    """Render ``server`` with both renderers (and from loaded models); assert one text."""
    server = DhcpServer.objects.get(pk=server.pk)
    text = fast.render_server(server)
    assert text == before.render_server(server)
    loaded = fast.render(
        server,
        FailoverPeer.objects.filter(server=server),
        Scope.objects.filter(server=server).with_pools(),
        ScopeGroup.objects.filter(server=server) if server.imported else [],
    )
    assert loaded == text
    return text


def imported(text: str, name: str = "imported") -> DhcpServer:
    server = services.server_create(name=name, address="192.0.2.1")
    services.config_import(server=server, text=text, filename=f"{name}.conf")
    return server


@pytest.mark.parametrize("conf", GOOD, ids=lambda p: p.name)
def test_the_corpus_renders_the_same(conf):
    server = services.server_create(name="corpus", address="192.0.2.1")
    services.config_import(server=server, tree=parse_file(conf), filename=conf.name)
    text = same(server)
    assert text.count("\n") > 3


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_the_benchmark_file_renders_the_same(role):
    server = imported(generate(200, role))
    text = same(server)
    assert text.count("subnet 10.") == 200
    assert text.count('    failover peer "fo-bench";\n') == 200


def test_changes_made_here_render_the_same_in_an_imported_server():
    server = imported(generate(20))
    scope = Scope.objects.get(server=server, network="10.0.3.0/24")
    services.scope_update(
        scope=scope,
        name='Lobby "east" \\ é\u2028',
        routers="10.0.3.1;10.0.3.4",
        domain_name_servers=" 10.0.3.2 ,10.0.3.3 ",
        domain_name="lobby.example.",
        default_lease_time=600,
    )
    new = services.scope_create(server=server, network="10.200.0.0/16", name="New")
    services.pool_create(scope=new, first_address="10.200.1.0", last_address="10.200.1.9")
    services.pool_create(scope=new, first_address="10.200.0.5", last_address="10.200.0.9")
    text = same(server)
    assert 'option domain-name "lobby.example.";' in text
    assert "option routers 10.0.3.1, 10.0.3.4;" in text
    assert '# Scope 10.0.3.0/24: Lobby "east" \\ é\\u2028' in text


def test_a_pair_made_here_renders_the_same():
    for server in build_pair(networks=("10.10.0.0/24", "10.20.0.0/24", "10.9.0.0/16")):
        text = same(server)
        assert "failover peer" in text


def test_a_server_without_scopes_and_one_with_everything_render_the_same():
    empty = services.server_create(name="empty", address="192.0.2.7", description="a\nb\r\nc")
    assert "# a\n# b\n# c\n" in same(empty)
    full = services.server_create(name="full", address="dhcp.example", omapi_port=7911)
    scope = services.scope_create(
        server=full,
        network="172.16.0.0/12",
        name="All",
        routers="172.16.0.1",
        domain_name_servers="172.16.0.2, 172.16.0.3",
        domain_name="all.example",
        default_lease_time=60,
        max_lease_time=120,
    )
    services.pool_create(scope=scope, first_address="172.16.0.10", last_address="172.16.0.20")
    fields = dict(PRIMARY, name="fo-full", address="dhcp.example", hba=":".join(["0f"] * 32))
    services.peer_create(server=full, **dict(fields, split=None))
    services.scope_create(server=full, network="192.168.1.0/24")  # no pool: a bare subnet
    text = same(full)
    assert "omapi-port 7911;" in text and "hba 0f:" in text


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=configs())
def test_generated_files_render_the_same(db, text):
    def check():
        rendered = same(imported(text, "gen"))
        assert rendered.startswith("# dhcpd.conf for DHCP server gen")

    isolated(check)


BYPASSED = [  # (model, field, value): stored with a raw update, past validation
    (Scope, "network", "10.0.0.1/24"),
    (Scope, "network", "10.0.0.0/33"),
    (Scope, "network", "nonsense"),
    (Scope, "routers", "10.0.0.1, 10.0.0.300"),
    (Scope, "domain_name_servers", "10.0.0.1\n10.0.0.2"),
    (Scope, "domain_name", 'x";\n}'),
    (Scope, "domain_name", "a\\b\x7f"),
    (AddressPool, "first_address", "10.0.0.010"),
    (FailoverPeer, "name", 'evil" {'),
    (FailoverPeer, "address", "1.2.3.4; }"),
]


@pytest.mark.parametrize("model,field,value", BYPASSED)
def test_data_that_bypassed_validation_is_refused_by_both(model, field, value):
    if model is AddressPool and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's inet column holds addresses only")
    server = imported(generate(3))
    model.objects.filter(pk=model.objects.order_by("pk").values("pk")[:1]).update(**{field: value})
    with pytest.raises(ValueError) as new:
        fast.render_server(server)
    with pytest.raises(ValueError) as old:
        before.render_server(server)
    assert type(new.value) is type(old.value)


def test_overlapping_networks_that_bypassed_validation_keep_the_model_order():
    server = services.server_create(name="made", address="192.0.2.9")
    services.scope_create(server=server, network="10.0.0.0/24")
    services.scope_create(server=server, network="10.1.0.0/24")
    Scope.objects.filter(server=server, network="10.1.0.0/24").update(
        network="10.0.0.0/16", first_int=10 << 24, last_int=(10 << 24) + 0xFFFF
    )
    text = same(server)
    assert text.index("# Scope 10.0.0.0/16") < text.index("# Scope 10.0.0.0/24")


def test_values_in_an_unusual_form_render_the_same():
    """Forms the model accepts but does not write itself: taken through ``ipaddress``."""
    server = imported(generate(3))
    Scope.objects.filter(server=server, network="10.0.1.0/24").update(
        routers=" 10.0.1.1 ;10.0.1.5", domain_name_servers="10.0.1.2,10.0.1.3"
    )
    text = same(server)
    assert "option routers 10.0.1.1, 10.0.1.5;" in text
    assert "option domain-name-servers 10.0.1.2, 10.0.1.3;" in text


@pytest.mark.parametrize("value", ["10.0.0.1", "10.0.0.1, 10.0.0.2", "255.255.255.255"])
def test_ipv4_lists_in_the_usual_form_are_written_as_they_are(value):
    assert fast.ipv4_list(value) == value == before.ipv4_list(value)


@given(st.text(alphabet="0123456789., ;x", max_size=24))
def test_ipv4_lists_agree_with_the_old_renderer(value):
    try:
        expected = before.ipv4_list(value)
    except ValueError:
        with pytest.raises(ValueError):
            fast.ipv4_list(value)
    else:
        assert fast.ipv4_list(value) == expected


@given(st.text(alphabet="0123456789./ x", max_size=22))
def test_subnets_agree_with_ipaddress(value):
    import ipaddress

    try:
        net = ipaddress.IPv4Network(value)
    except ValueError:
        with pytest.raises(ValueError):
            fast._subnet(value)
    else:
        assert fast._subnet(value) == (
            int(net.network_address),
            str(net),
            f"subnet {net.network_address} netmask {net.netmask}",
        )


@pytest.mark.parametrize("value", ["é" * 600, "x" * 1025, "€" * 341 + "x", "x" * 1024])
def test_long_strings_are_refused_by_both(value):
    if len(value.encode()) > fast.MAX_STRING_BYTES:
        for renderer in (fast, before):
            with pytest.raises(ValueError, match="longer than"):
                renderer.quote(value)
    else:
        assert fast.quote(value) == before.quote(value) == f'"{value}"'


@given(st.text(max_size=30))
def test_quote_and_comment_agree_with_the_old_renderer(value):
    assert fast.comment(value) == before.comment(value)
    try:
        expected = before.quote(value)
    except ValueError:
        with pytest.raises(ValueError):
            fast.quote(value)
    else:
        assert fast.quote(value) == expected


def render_queries(server: DhcpServer) -> int:
    with CaptureQueriesContext(connection) as queries:
        fast.render_server(server)
    return len(queries)


def test_the_query_count_does_not_grow_with_the_scopes():
    small, large = imported(generate(10), "small"), imported(generate(1000), "large")
    counts = (render_queries(small), render_queries(large))
    assert counts == (4, 4)  # peers, scopes, pools, shared networks and groups
    made_here = services.server_create(name="made", address="192.0.2.9")
    for i in range(12):
        scope = services.scope_create(server=made_here, network=f"10.50.{i}.0/24")
        services.pool_create(
            scope=scope, first_address=f"10.50.{i}.10", last_address=f"10.50.{i}.20"
        )
    assert render_queries(made_here) == 3  # no groups to read
