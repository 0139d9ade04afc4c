"""``manage.py import_dhcpd_conf --server NAME [--create] [--dry-run] FILE``."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from failover import services
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope

pytestmark = pytest.mark.django_db

GOOD = Path(__file__).parent / "corpus" / "good"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_dhcpd_conf", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (DhcpServer, FailoverPeer, Scope, AddressPool, ChangeRecord)
    )


def test_it_creates_the_server_and_imports_the_file():
    out, err = run(str(GOOD / "failover-primary.conf"), "--server", "dhcp-a", "--create")
    assert err == ""
    server = DhcpServer.objects.get(name="dhcp-a")
    assert server.address == "192.0.2.1"  # where its failover peer listens
    assert server.imported
    assert out.splitlines()[0] == (
        f"Imported {GOOD / 'failover-primary.conf'} into server dhcp-a: 4 to create, "
        "0 to change, 0 to delete, 4 statement(s) kept verbatim."
    )
    assert "  + failover peer dhcp-pair (primary, 192.0.2.1:647 ↔ 192.0.2.2:647)" in out
    assert "  + address pool 10.10.0.100-10.10.0.200 (in 10.10.0.0/24, failover peer" in out
    assert "Failover relationships:" in out and "not a server managed here" in out
    assert Scope.objects.get(server=server).routers == "10.10.0.1"


def test_the_address_of_a_new_server_can_be_given():
    run(str(GOOD / "hosts.conf"), "--server", "plain", "--create", "--address", "10.50.0.2")
    assert DhcpServer.objects.get(name="plain").address == "10.50.0.2"


def test_a_new_server_without_peers_is_made_at_its_name_and_the_output_says_so():
    out, _ = run(str(GOOD / "hosts.conf"), "--server", "plain", "--create")
    assert DhcpServer.objects.get(name="plain").address == "plain"
    assert (
        "Address of the new server plain: plain (the server's name, as its DNS name; give "
        "--address to choose another, or change it on the server's page)."
    ) in out.splitlines()


def test_a_new_server_takes_the_files_server_identifier(tmp_path):
    conf = tmp_path / "dhcpd.conf"
    conf.write_text("server-identifier 10.60.0.2;\nsubnet 10.60.0.0 netmask 255.255.255.0 { }\n")
    out, _ = run(str(conf), "--server", "plain", "--create")
    assert DhcpServer.objects.get(name="plain").address == "10.60.0.2"
    assert "Address of the new server plain: 10.60.0.2 (the file's server-identifier;" in out


def test_a_new_server_needs_an_address_when_nothing_gives_one():
    before = counts()
    with pytest.raises(CommandError, match="Give the new server's address with --address: the"):
        run(str(GOOD / "hosts.conf"), "--server", "plain_1", "--create")
    assert counts() == before


def test_without_create_the_server_must_exist():
    with pytest.raises(CommandError, match="No DHCP server named 'nobody'"):
        run(str(GOOD / "hosts.conf"), "--server", "nobody")


def test_dry_run_prints_the_plan_and_saves_nothing(server, scope, pool):
    before = counts()
    out, _ = run(str(GOOD / "realistic.conf"), "--server", "dhcp-a", "--dry-run")
    assert counts() == before
    assert out.startswith(f"Would import {GOOD / 'realistic.conf'} into server dhcp-a: ")
    assert "  - scope 10.10.0.0/24" in out  # the stored scope the file does not have
    assert "  + scope 172.16.1.0/24" in out
    assert "Kept verbatim (15 statement(s) the model has no field for):" in out
    assert out.rstrip().endswith("Dry run: nothing was saved.")


def test_dry_run_with_create_creates_nothing():
    before = counts()
    out, _ = run(str(GOOD / "failover-primary.conf"), "--server", "new", "--create", "--dry-run")
    assert counts() == before
    assert "  + server new (192.0.2.1)" in out


def test_reimporting_the_same_file_changes_nothing():
    path = str(GOOD / "shared-network.conf")
    run(path, "--server", "east", "--create")
    out, _ = run(path, "--server", "east")
    assert ": 0 to create, 0 to change, 0 to delete," in out.splitlines()[0]


def test_errors_give_file_line_column_and_exit_code_1(tmp_path, capsys):
    conf = tmp_path / "broken.conf"
    conf.write_text("subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.1.9;\n}\n")
    before = counts()
    with pytest.raises(SystemExit) as info:
        call_command("import_dhcpd_conf", str(conf), "--server", "x", "--create")
    assert info.value.code == 1
    assert capsys.readouterr().err.strip() == (
        f"{conf}, line 2, column 3: range 10.0.0.5 10.0.1.9: the range is not inside subnet "
        "10.0.0.0/24"
    )
    assert counts() == before


def test_every_problem_the_model_finds_is_listed(tmp_path, capsys, server):
    conf = tmp_path / "overlaps.conf"
    conf.write_text(
        "subnet 10.0.0.0 netmask 255.255.0.0 { }\n"
        "subnet 10.0.1.0 netmask 255.255.255.0 { range 10.0.1.0 10.0.1.9; }\n"
    )
    with pytest.raises(SystemExit):
        call_command("import_dhcpd_conf", str(conf), "--server", "dhcp-a")
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{conf}, line 2, column 1",
        f"{conf}, line 2, column 41",
    ]


def test_includes_follow_the_include_directory_setting(tmp_path, settings, capsys):
    # By default: beside the imported file.
    run(str(GOOD / "includes.conf"), "--server", "inc", "--create")
    assert FailoverPeer.objects.filter(server__name="inc", name="inc-pair").exists()
    # With the setting, only inside that directory; nothing from outside is shown.
    settings.DHCPD_IMPORT_INCLUDE_ROOT = str(tmp_path)
    with pytest.raises(SystemExit):
        call_command("import_dhcpd_conf", str(GOOD / "includes.conf"), "--server", "inc")
    err = capsys.readouterr().err
    assert "is outside the allowed include directory" in err
    assert "inc-pair" not in err and "192.0.2" not in err


def test_a_file_over_the_parser_limit_is_refused_before_reading(tmp_path, capsys):
    big = tmp_path / "big.conf"
    with big.open("wb") as f:
        f.truncate(17 * 1024 * 1024)
    with pytest.raises(SystemExit):
        call_command("import_dhcpd_conf", str(big), "--server", "x", "--create")
    assert "larger than the limit of 16,777,216 bytes" in capsys.readouterr().err


def test_the_first_peer_rule_does_not_apply(tmp_path):
    services.server_create(name="a", address="192.0.2.1")
    conf = tmp_path / "a.conf"
    conf.write_text(
        'failover peer "p" { primary; address 192.0.2.1; peer address 192.0.2.2;\n'
        "  max-response-delay 60; max-unacked-updates 10; mclt 3600; split 128; }\n"
        "subnet 10.0.0.0 netmask 255.255.255.0 {\n"
        '  pool { failover peer "p"; range 10.0.0.10 10.0.0.20; }\n'
        "  pool { range 10.0.0.30 10.0.0.40; }\n}\n"
    )
    run(str(conf), "--server", "a")
    assert dict(AddressPool.objects.values_list("first_address", "failover_peer__name")) == {
        "10.0.0.10": "p",
        "10.0.0.30": None,
    }
