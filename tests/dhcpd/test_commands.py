"""render_dhcpd and check_failover."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from failover import services
from failover.dhcpd.check import check_config
from failover.dhcpd.render import render_server
from failover.models import Scope
from tests.dhcpd.conftest import build_pair

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_render_one_server_to_stdout(dhcpd):
    a, b = build_pair()
    out, _ = run("render_dhcpd", "dhcp-a")
    assert out == render_server(a)
    assert check_config(out, dhcpd_path=dhcpd).ok


def test_render_one_server_to_a_file(tmp_path, dhcpd):
    a, b = build_pair()
    target = tmp_path / "b.conf"
    run("render_dhcpd", "dhcp-b", "--output", str(target))
    assert target.read_text() == render_server(b)
    assert check_config(target.read_text(), dhcpd_path=dhcpd).ok


def test_render_all_to_a_directory(tmp_path, dhcpd):
    a, b = build_pair()
    out, _ = run("render_dhcpd", "--all", "--output-dir", str(tmp_path / "confs"))
    files = sorted(p.name for p in (tmp_path / "confs").iterdir())
    assert files == ["dhcp-a.conf", "dhcp-b.conf"]
    for server in (a, b):
        text = (tmp_path / "confs" / f"{server.name}.conf").read_text()
        assert text == render_server(server)
        assert check_config(text, dhcpd_path=dhcpd).ok
    assert "dhcp-a.conf" in out


def test_render_with_check(tmp_path, dhcpd, settings):
    settings.DHCPD_PATH = dhcpd
    build_pair()
    out, _ = run("render_dhcpd", "--all", "--output-dir", str(tmp_path), "--check")
    assert out.count("dhcpd -t accepts this configuration.") == 2


def test_render_with_check_fails_without_dhcpd(tmp_path, settings):
    settings.DHCPD_PATH = str(tmp_path / "missing-dhcpd")
    build_pair()
    with pytest.raises(CommandError, match="dhcpd -t rejects"):
        run("render_dhcpd", "dhcp-a", "--output", str(tmp_path / "a.conf"), "--check")


@pytest.mark.parametrize(
    "args, message",
    [
        (("render_dhcpd", "nope"), "No DHCP server named 'nope'"),
        (("render_dhcpd",), "Name a server"),
        (("render_dhcpd", "--all"), "--output-dir"),
        (("render_dhcpd", "dhcp-a", "--all", "--output-dir", "x"), "--all takes"),
    ],
)
def test_render_usage_errors(server, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_check_failover_clean_pair_exits_0():
    build_pair()
    out, _ = run("check_failover")
    assert out.strip() == "1 relationship(s), 0 finding(s)."


def test_check_failover_prints_one_line_per_finding_and_fails():
    a, b = build_pair(migrate=False)
    services.server_create(name="dhcp-c", address="192.0.2.3")
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("check_failover", stdout=out)
    assert raised.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert lines == [
        "WARNING fo-pair: Scope 10.10.0.0/24 is not on dhcp-b yet (not finalized): migrate the "
        "scope to the failover peer.",
        "WARNING fo-pair: Scope 10.20.0.0/24 is not on dhcp-b yet (not finalized): migrate the "
        "scope to the failover peer.",
    ]
    assert "2 finding(s)" in str(raised.value)
    # Only one server's relationships:
    out, _ = run("check_failover", "--server", "dhcp-c")
    assert "0 relationship(s), 0 finding(s)." in out


def test_check_failover_exit_status_of_the_real_command(tmp_path):
    """The shell sees exit status 1 (run as a process against a throw-away database)."""
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEBUG": "1",
        "PATH": "/usr/bin:/bin",
    }
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=REPO, timeout=120)
    script = "from tests.dhcpd.conftest import build_pair; build_pair(migrate=False)"
    subprocess.run([*manage, "shell", "-c", script], env=env, check=True, cwd=REPO, timeout=60)
    failing = subprocess.run(
        [*manage, "check_failover"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert failing.returncode == 1
    assert failing.stdout.count("not finalized") == 2
    script = (
        "from failover import services; from failover.models import Scope\n"
        "for s in Scope.objects.all(): services.scope_migrate_to_partner(scope=s)"
    )
    subprocess.run([*manage, "shell", "-c", script], env=env, check=True, cwd=REPO, timeout=60)
    passing = subprocess.run(
        [*manage, "check_failover"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert passing.returncode == 0, passing.stderr


def test_render_data_that_bypassed_validation_is_a_message_not_a_traceback(tmp_path, scope):
    """Stored data that cannot be written safely (changed with raw SQL, past every rule):
    the command says why and exits 1, for one server and with --all (the others are still
    written)."""
    services.server_create(name="dhcp-ok", address="192.0.2.9")
    Scope.objects.filter(pk=scope.pk).update(routers="10.10.0.1\nbogus")
    with pytest.raises(CommandError) as info:
        call_command("render_dhcpd", scope.server.name, stdout=StringIO())
    assert str(info.value).startswith(f"The configuration of {scope.server.name} cannot be")
    assert info.value.returncode == 1
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command(
            "render_dhcpd", "--all", "--output-dir", str(tmp_path), stdout=StringIO(), stderr=err
        )
    assert f"Not rendered, or rejected by dhcpd -t: {scope.server.name}" in str(info.value)
    assert "cannot be rendered" in err.getvalue()
    assert (tmp_path / "dhcp-ok.conf").exists()
    assert not (tmp_path / f"{scope.server.name}.conf").exists()
