"""The importer stores nothing that fails the model's own rules (issue 8, point 4).

Every object an import creates or changes passes the checks of one made in the app
(``full_clean``), or the file is refused at its line; a number dhcpd reads in another way
than it is written (octal, wrapped) never lands in a field.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from failover import services
from failover.dhcpd.check import check_config
from failover.dhcpd.importer import ConfigImportError
from failover.dhcpd.render import render_server
from failover.dhcpd.tokenizer import ParseError
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope, ScopeGroup
from tests.conftest import require_binary

pytestmark = pytest.mark.django_db

GOOD = Path(__file__).parent / "corpus" / "good"

# The file of the issue: dhcpd -t accepts a quoted name with a newline in it.
NEWLINE_NAME = (
    'shared-network "a\nb" { subnet 10.5.0.0 netmask 255.255.255.0 '
    "{ range 10.5.0.10 10.5.0.20; } }\n"
)


def stored() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (DhcpServer, ScopeGroup, Scope, AddressPool, FailoverPeer)
    )


@pytest.mark.dhcpd
def test_dhcpd_accepts_the_file_of_the_issue():
    result = check_config(NEWLINE_NAME, dhcpd_path=require_binary("dhcpd"))
    assert result.ok, result.output


def test_a_group_name_with_a_control_character_is_refused_at_its_line_by_the_plan():
    with pytest.raises(ConfigImportError) as refused:
        services.config_import_plan(
            server=DhcpServer(name="dhcp-a", address="192.0.2.1"), text=NEWLINE_NAME
        )
    (error,) = refused.value.errors
    assert (error.line, error.column) == (1, 1)
    assert "Control characters are not allowed in the name" in error.message
    assert error.message.startswith("shared-network a\nb")


def test_a_group_name_with_a_control_character_is_refused_by_the_import(server):
    before = stored()
    with pytest.raises(ConfigImportError, match="Control characters are not allowed"):
        services.config_import(server=server, text=NEWLINE_NAME)
    assert stored() == before
    assert not DhcpServer.objects.get(pk=server.pk).imported
    # A new server is not created either.
    with pytest.raises(ConfigImportError):
        services.config_import(
            server=DhcpServer(name="new", address="192.0.2.9"), text=NEWLINE_NAME
        )
    assert stored() == before


def test_a_group_name_with_a_control_character_is_refused_by_the_command(db, tmp_path):
    path = tmp_path / "dhcpd.conf"
    path.write_text(NEWLINE_NAME)
    before = stored()
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command(
            "import_dhcpd_conf",
            str(path),
            "--server",
            "dhcp-a",
            "--create",
            "--address",
            "192.0.2.1",
            stdout=out,
            stderr=err,
        )
    assert exited.value.code == 1
    assert f"{path}, line 1, column 1:" in err.getvalue()
    assert "Control characters are not allowed in the name" in err.getvalue()
    assert stored() == before


def test_a_quoted_name_without_control_characters_is_kept_and_renders(server):
    text = NEWLINE_NAME.replace("a\nb", "a b.c")
    services.config_import(server=server, text=text)
    group = ScopeGroup.objects.get(server=server)
    group.full_clean()
    assert (group.name, group.quoted) == ("a b.c", True)
    assert 'shared-network "a b.c" {' in render_server(server)


def test_every_object_an_import_stores_passes_full_clean():
    """The good corpus, imported: every stored object passes the checks of the app."""
    imported = 0
    for path in sorted(GOOD.glob("*.conf")):
        server = DhcpServer(name=path.stem.replace("+", "-")[:60], address="192.0.2.250")
        try:
            services.config_import(server=server, text=path.read_text(), filename=path.name)
        except ParseError:
            continue  # refused as a whole (or includes): nothing stored
        imported += 1
    assert imported >= 5
    for model in (DhcpServer, ScopeGroup, Scope, FailoverPeer, AddressPool):
        for obj in model.objects.all():
            obj.full_clean()


# --- numbers dhcpd reads in another way than they are written --------------------------------


def plan_for(text: str):
    return services.config_import_plan(
        server=DhcpServer(name="dhcp-a", address="192.0.2.1"), text=text
    )


SUBNET = (
    "subnet 10.5.0.0 netmask 255.255.255.0 {{\n  {statement}\n  range 10.5.0.10 10.5.0.20;\n}}\n"
)


def test_an_octal_lease_time_is_kept_verbatim_not_read_as_decimal(server):
    text = SUBNET.format(statement="default-lease-time 010;")
    plan = plan_for(text)
    (scope,) = plan.scopes_create
    assert scope.default_lease_time is None  # dhcpd reads 010 as 8, not 10
    assert any("line 2:" in note and "octal" in note for note in plan.notes), plan.notes
    services.config_import(server=server, text=text)
    assert "  default-lease-time 010;" in render_server(server)


@pytest.mark.parametrize(
    "statement, message",
    [
        ("default-lease-time 09;", "dhcpd reads a leading 0 as octal and refuses it"),
        ("max-lease-time 4294967296;", "dhcpd reads it modulo 2**32, as 0"),
        ("max-lease-time 4294967396;", "dhcpd reads it modulo 2**32, as 100"),
    ],
)
def test_a_lease_time_dhcpd_refuses_or_wraps_is_refused_at_its_line(statement, message):
    with pytest.raises(ConfigImportError) as refused:
        plan_for(SUBNET.format(statement=statement))
    (error,) = refused.value.errors
    assert error.line == 2
    assert message in error.message


@pytest.mark.parametrize(
    "statement, message",
    [
        ("omapi-port 65536;", "dhcpd refuses a value above 65535"),
        ("omapi-port 4294967297;", "dhcpd reads it modulo 2**32, as 1"),
    ],
)
def test_an_omapi_port_dhcpd_refuses_or_wraps_is_refused_at_its_line(statement, message):
    with pytest.raises(ConfigImportError) as refused:
        plan_for(f"authoritative;\n{statement}\n")
    assert refused.value.errors[0].line == 2
    assert message in refused.value.errors[0].message


@pytest.mark.dhcpd
@pytest.mark.parametrize(
    "statement", ["max-lease-time 4294967296;", "omapi-port 4294967297;", "mclt 4294967296;"]
)
def test_dhcpd_itself_accepts_those_wrapped_numbers(statement):
    """Why the importer refuses them: dhcpd -t says nothing and runs with another value."""
    peer = (
        'failover peer "fo" { primary; address 192.0.2.1; peer address 192.0.2.2; '
        "max-response-delay 60; max-unacked-updates 10; mclt 3600; split 128; }\n"
    )
    pool = 'pool { failover peer "fo"; range 10.5.0.10 10.5.0.20; }'
    if statement.startswith("mclt"):
        # mclt 4294967296 is mclt 0: dhcpd then refuses the primary.
        text = peer.replace("mclt 3600;", statement) + SUBNET.format(statement=pool).replace(
            "  range 10.5.0.10 10.5.0.20;\n", ""
        )
        result = check_config(text, dhcpd_path=require_binary("dhcpd"))
        assert not result.ok and "primary failover server must have mclt" in result.output
        return
    text = f"{statement}\n" + SUBNET.format(statement="")
    result = check_config(text, dhcpd_path=require_binary("dhcpd"))
    assert result.ok, result.output
