"""The checker runs the real ``dhcpd -t``; only the missing-binary and timeout cases use a
stand-in (a path that does not exist, a script that sleeps)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from failover.dhcpd.check import check_config, resolve_binary

pytestmark = pytest.mark.dhcpd

GOOD = """\
failover peer "fo" {
  primary;
  address 10.0.0.1;
  peer address 10.0.0.2;
  max-response-delay 60;
  max-unacked-updates 10;
  mclt 3600;
  split 128;
}
subnet 10.1.0.0 netmask 255.255.255.0 {
  pool {
    failover peer "fo";
    range 10.1.0.100 10.1.0.150;
  }
}
"""


def test_it_accepts_a_good_config(dhcpd):
    result = check_config(GOOD, dhcpd_path=dhcpd)
    assert result.ok, result.output
    assert result.errors == [] and not result.missing_binary and not result.timed_out
    assert "accepts" in result.summary
    assert result.duration > 0


def test_it_reports_errors_with_line_numbers_mapped_to_the_text(dhcpd):
    broken = GOOD.replace("  split 128;\n", "  split 128\n  load balance max seconds 3;\n")
    broken = broken.replace('"fo";', '"other";')
    result = check_config(broken, dhcpd_path=dhcpd)
    assert not result.ok
    by_line = {e.line: e for e in result.errors}
    assert sorted(by_line) == [9, 13]
    # dhcpd reports the missing semicolon at the next token, on the following line.
    assert by_line[9].message == "semicolon expected."
    assert by_line[9].source_line == "  load balance max seconds 3;"
    assert by_line[13].message == "failover peer other: not found"
    assert by_line[13].source_line == '    failover peer "other";'
    assert "line 13: failover peer other: not found" in [str(e) for e in result.errors]
    assert "2 error(s)" in result.summary


def test_it_reports_errors_without_a_line_number(dhcpd):
    unreferenced = GOOD.replace('    failover peer "fo";\n', "")
    result = check_config(unreferenced, dhcpd_path=dhcpd)
    assert not result.ok
    assert result.errors[0].line is None
    assert "has no referring pools" in result.errors[0].message
    outside = GOOD.replace("range 10.1.0.100", "range 10.2.0.100")
    result = check_config(outside, dhcpd_path=dhcpd)
    assert not result.ok
    assert any("not in subnet" in e.message for e in result.errors)


def test_it_uses_its_own_lease_and_pid_files(dhcpd):
    result = check_config(GOOD, dhcpd_path=dhcpd)
    assert result.ok
    assert "dhcpadmin-check-" in result.output  # the lease file in its temporary directory
    assert "/var/lib/dhcp" not in result.output
    assert "PID file: dhcpd.pid" in result.output


def test_it_keeps_warnings_of_an_accepted_config(dhcpd):
    result = check_config(GOOD, dhcpd_path=dhcpd)  # no "load balance max seconds"
    assert result.ok
    assert any("load balancing will be disabled" in w for w in result.warnings)


def test_it_reports_a_missing_binary(tmp_path):
    result = check_config(GOOD, dhcpd_path=str(tmp_path / "no-dhcpd"))
    assert not result.ok and result.missing_binary and not result.timed_out
    assert "cannot be run" in result.errors[0].message
    assert "DHCPD_PATH" in result.errors[0].message
    assert "not found" in result.summary


def test_it_reports_a_file_that_is_not_executable(tmp_path):
    plain = tmp_path / "dhcpd"
    plain.write_text("not a program")
    result = check_config(GOOD, dhcpd_path=str(plain))
    assert result.missing_binary and "not executable" in result.errors[0].message


def test_it_reports_a_timeout(tmp_path):
    slow = tmp_path / "slow-dhcpd"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    result = check_config(GOOD, dhcpd_path=str(slow), timeout=0.5)
    assert not result.ok and result.timed_out and not result.missing_binary
    assert "stopped after 0.5 s" in result.errors[0].message
    assert result.duration < 10


def test_it_uses_the_setting(tmp_path):
    with override_settings(DHCPD_PATH=str(tmp_path / "configured-dhcpd")):
        result = check_config(GOOD)
    assert result.missing_binary and "configured-dhcpd" in result.errors[0].message


def test_a_bare_name_is_found_in_sbin(dhcpd, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    assert resolve_binary("dhcpd") == dhcpd
    assert check_config(GOOD, dhcpd_path="dhcpd").ok
