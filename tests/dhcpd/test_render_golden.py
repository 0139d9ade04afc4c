"""The renderer writes, byte for byte, the golden files in tests/dhcpd/golden/.

Each case below builds a server (the parser's corpus imported, the benchmark file, servers
made through the services, an imported server changed afterwards, an empty and a full
server, values in an unusual form, overlapping networks that bypassed validation) and
renders it with failover.dhcpd.render; the text must equal ``golden/<case>.conf``. The
golden files were written by the renderer as it was before issue 7 (model instances,
``ipaddress`` for every value): the faster renderer writes the same bytes. Rendering from
rows (``render_server``) and from loaded models (``render``) gives the same text too.

When the rendered output is meant to change, regenerate the golden files and review their
diff like any other change::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -p no:cacheprovider tests/dhcpd/test_render_golden.py

With ``UPDATE_GOLDEN=1`` (and only then) each case writes its golden file instead of
comparing with it. The other tests check the renderer's helpers against ``ipaddress`` and
their specification, data that bypassed validation (refused), and that the query count of
a render does not grow with the number of scopes.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.gen_config import generate
from failover import services
from failover.dhcpd import render as fast
from failover.dhcpd.importer import desired_state
from failover.dhcpd.parser import parse_file, parse_text
from failover.dhcpd.render import render_server
from failover.dhcpd.tokenizer import EOF, STRING, tokenize
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope, ScopeGroup
from failover.validators import split_list
from tests.conftest import PRIMARY
from tests.dhcpd.conftest import build_pair
from tests.dhcpd.test_import_property import configs, isolated

pytestmark = pytest.mark.django_db

HERE = Path(__file__).parent
GOOD = sorted((HERE / "corpus" / "good").glob("*.conf"))
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
BENCH_SUBNETS = 200


def first_difference(expected: str, actual: str) -> str:
    """Where two texts part: the first differing line, as the golden file and the render
    have it."""
    old, new = expected.splitlines(keepends=True), actual.splitlines(keepends=True)
    for number, (a, b) in enumerate(zip(old, new, strict=False), start=1):
        if a != b:
            return f"line {number} differs:\n  golden:   {a!r}\n  rendered: {b!r}"
    number = min(len(old), len(new)) + 1
    if len(old) > len(new):
        return f"line {number}: the render ends here; the golden file has {old[number - 1]!r}"
    return f"line {number}: the golden file ends here; the render has {new[number - 1]!r}"


def loaded_render(server: DhcpServer) -> str:
    """``server`` rendered from loaded models (scopes with their pools prefetched)."""
    return fast.render(
        server,
        FailoverPeer.objects.filter(server=server),
        Scope.objects.filter(server=server).with_pools(),
        ScopeGroup.objects.filter(server=server) if server.imported else [],
    )


def golden(case: str, server: DhcpServer) -> str:
    """Render ``server`` (from rows and from loaded models: one text) and compare it with
    ``golden/<case>.conf`` byte for byte (or write that file, under UPDATE_GOLDEN=1)."""
    server = DhcpServer.objects.get(pk=server.pk)
    text = render_server(server)
    assert loaded_render(server) == text, "rendering loaded models differs from rendering rows"
    path = GOLDEN / f"{case}.conf"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return text
    if not path.exists():
        pytest.fail(f"{path} is missing (UPDATE_GOLDEN=1 writes it)", pytrace=False)
    expected = path.read_bytes().decode("utf-8")
    if text != expected:
        pytest.fail(
            f"{case}: the render differs from {path.relative_to(HERE)}, "
            f"{first_difference(expected, text)}\n"
            "(if the change is meant, UPDATE_GOLDEN=1 rewrites the golden files)",
            pytrace=False,
        )
    return text


def imported(text: str, name: str = "imported") -> DhcpServer:
    server = services.server_create(name=name, address="192.0.2.1")
    services.config_import(server=server, text=text, filename=f"{name}.conf")
    return server


# --- golden files ------------------------------------------------------------------------


@pytest.mark.parametrize("conf", GOOD, ids=lambda p: p.name)
def test_the_corpus_renders_as_its_golden_file(conf):
    server = services.server_create(name="corpus", address="192.0.2.1")
    services.config_import(server=server, tree=parse_file(conf), filename=conf.name)
    text = golden(f"corpus-{conf.stem}", server)
    assert text.count("\n") > 3


@pytest.mark.parametrize("role", ["primary", "secondary"])
def test_the_benchmark_file_renders_as_its_golden_file(role):
    server = imported(generate(BENCH_SUBNETS, role))
    text = golden(f"benchmark-{role}", server)
    assert text.count("subnet 10.") == BENCH_SUBNETS
    assert text.count('    failover peer "fo-bench";\n') == BENCH_SUBNETS


def test_an_imported_server_changed_here_renders_as_its_golden_file():
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
    text = golden("imported-then-changed", server)
    assert 'option domain-name "lobby.example.";' in text
    assert "option routers 10.0.3.1, 10.0.3.4;" in text
    assert '# Scope 10.0.3.0/24: Lobby "east" \\ é\\u2028' in text


def test_a_pair_made_here_renders_as_its_golden_files():
    for server in build_pair(networks=("10.10.0.0/24", "10.20.0.0/24", "10.9.0.0/16")):
        text = golden(f"pair-{server.name}", server)
        assert "failover peer" in text


def test_a_server_without_scopes_and_one_with_everything_render_as_their_golden_files():
    empty = services.server_create(name="empty", address="192.0.2.7", description="a\nb\r\nc")
    assert "# a\n# b\n# c\n" in golden("server-empty", empty)
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
    text = golden("server-full", full)
    assert "omapi-port 7911;" in text and "hba 0f:" in text


def test_overlapping_networks_that_bypassed_validation_keep_the_model_order():
    server = services.server_create(name="made", address="192.0.2.9")
    services.scope_create(server=server, network="10.0.0.0/24")
    services.scope_create(server=server, network="10.1.0.0/24")
    Scope.objects.filter(server=server, network="10.1.0.0/24").update(
        network="10.0.0.0/16", first_int=10 << 24, last_int=(10 << 24) + 0xFFFF
    )
    text = golden("overlapping-networks", server)
    assert text.index("# Scope 10.0.0.0/16") < text.index("# Scope 10.0.0.0/24")


def test_values_in_an_unusual_form_render_as_their_golden_file():
    """Forms the model accepts but does not write itself: taken through ``ipaddress``."""
    server = imported(generate(3))
    Scope.objects.filter(server=server, network="10.0.1.0/24").update(
        routers=" 10.0.1.1 ;10.0.1.5", domain_name_servers="10.0.1.2,10.0.1.3"
    )
    text = golden("unusual-forms", server)
    assert "option routers 10.0.1.1, 10.0.1.5;" in text
    assert "option domain-name-servers 10.0.1.2, 10.0.1.3;" in text


# --- properties ----------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=configs())
def test_generated_files_render_the_same_from_rows_and_models_and_parse_back(db, text):
    def check():
        server = imported(text, "gen")
        rendered = render_server(server)
        assert rendered.startswith("# dhcpd.conf for DHCP server gen")
        assert loaded_render(server) == rendered
        assert desired_state(parse_text(rendered)) == desired_state(parse_text(text))

    isolated(check)


BYPASSED = [  # (model, field, value, what the renderer before issue 7 raised too)
    (Scope, "network", "10.0.0.1/24", ValueError),
    (Scope, "network", "10.0.0.0/33", ipaddress.NetmaskValueError),
    (Scope, "network", "nonsense", ipaddress.AddressValueError),
    (Scope, "routers", "10.0.0.1, 10.0.0.300", ipaddress.AddressValueError),
    (Scope, "domain_name_servers", "10.0.0.1\n10.0.0.2", ipaddress.AddressValueError),
    (Scope, "domain_name", 'x";\n}', ValueError),
    (Scope, "domain_name", "a\\b\x7f", ValueError),
    (AddressPool, "first_address", "10.0.0.010", ipaddress.AddressValueError),
    (FailoverPeer, "name", 'evil" {', ValueError),
    (FailoverPeer, "address", "1.2.3.4; }", ValueError),
]


@pytest.mark.parametrize("model,field,value,error", BYPASSED)
def test_data_that_bypassed_validation_is_refused(model, field, value, error):
    """Stored with a raw update, past validation: the render raises, never writes it."""
    if model is AddressPool and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's inet column holds addresses only")
    server = imported(generate(3))
    model.objects.filter(pk=model.objects.order_by("pk").values("pk")[:1]).update(**{field: value})
    with pytest.raises(ValueError) as raised:
        render_server(server)
    assert type(raised.value) is error


@pytest.mark.parametrize("value", ["10.0.0.1", "10.0.0.1, 10.0.0.2", "255.255.255.255"])
def test_ipv4_lists_in_the_usual_form_are_written_as_they_are(value):
    assert fast.ipv4_list(value) == value


@given(st.text(alphabet="0123456789., ;x", max_size=24))
def test_ipv4_lists_agree_with_ipaddress(value):
    try:
        expected = ", ".join(str(ipaddress.IPv4Address(item)) for item in split_list(value))
    except ValueError:
        with pytest.raises(ValueError):
            fast.ipv4_list(value)
    else:
        assert fast.ipv4_list(value) == expected


@given(st.text(alphabet="0123456789./ x", max_size=22))
def test_subnets_agree_with_ipaddress(value):
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
def test_long_strings_are_refused(value):
    if len(value.encode()) > fast.MAX_STRING_BYTES:
        with pytest.raises(ValueError, match="longer than"):
            fast.quote(value)
    else:
        assert fast.quote(value) == f'"{value}"'


@given(st.text(max_size=30))
def test_quote_escapes_backslash_and_quote_and_reads_back(value):
    """Control characters are refused; otherwise only ``\\`` and ``"`` are escaped, and
    dhcpd's tokenizer reads the literal back as the value."""
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        with pytest.raises(ValueError, match="control characters"):
            fast.quote(value)
        return
    quoted = fast.quote(value)
    assert quoted == '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    token, end = list(tokenize(quoted))
    assert (token.kind, token.value, end.kind) == (STRING, value, EOF)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("plain", "# plain"),
        ("trailing  ", "# trailing"),
        ("", "#"),
        ("a\nb", "# a\\u000ab"),
        ("tab\there", "# tab\\u0009here"),
        ("é\u2028ü", "# é\\u2028ü"),
        ("nul\x00", "# nul\\u0000"),
    ],
)
def test_comments_show_what_is_not_printable_as_an_escape(text, expected):
    assert fast.comment(text) == expected


@given(st.text(max_size=30))
def test_a_comment_is_one_printable_line_that_keeps_printable_text(value):
    line = fast.comment(value)
    assert line.isprintable() and line.startswith("#") and line == line.rstrip()
    assert [t.kind for t in tokenize(line)] == [EOF]  # dhcpd reads nothing but a comment
    if value.isprintable():
        assert line == f"# {value}".rstrip()


# --- query count -----------------------------------------------------------------------------


def render_queries(server: DhcpServer) -> int:
    with CaptureQueriesContext(connection) as queries:
        render_server(server)
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
