"""The field validators shared by every model: one accepted and one rejected case each, and
the control characters (trailing newlines included) that must never reach a dhcpd.conf."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from failover.validators import (
    split_list,
    validate_domain_name,
    validate_hba,
    validate_host,
    validate_hostname,
    validate_ipv4_list,
    validate_no_control_chars,
    validate_safe_name,
)

HBA_32 = ":".join(["ff"] * 32)


def _rejects(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        validator(value)
    return exc.value


@pytest.mark.parametrize("value", ["fo-pair", "dhcp_1.example", "A", "a" * 64, "0.1-x_Y"])
def test_safe_name_accepts(value):
    validate_safe_name(value)


@pytest.mark.parametrize(
    "value",
    [
        "fo pair",
        'fo"pair',
        "fo;pair",
        "fo{pair}",
        'x"; } subnet 10.0.0.0 netmask 255.0.0.0 {',
        "pär",
        "fo\npair",
        "fo-pair\n",  # "$" would match before a trailing newline
        "\nfo-pair",
        "fo\tpair",
        "",
    ],
)
def test_safe_name_rejects(value):
    assert _rejects(validate_safe_name, value).code == "invalid_name"


@pytest.mark.parametrize(
    "value", ["dhcp", "dhcp-a.example.com", "a1.b2", "x" * 63 + ".example", "10-0-0-1.example"]
)
def test_hostname_accepts(value):
    validate_hostname(value)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-dhcp.example",
        "dhcp-.example",
        "bad_host.example",
        "two words.example",
        "x" * 64 + ".example",
        "a." * 127 + "ab",  # 256 characters
        "dhcp.example.",
        "dhcp..example",
        "dhcp.example\n",
    ],
)
def test_hostname_rejects(value):
    assert _rejects(validate_hostname, value).code == "hostname"


@pytest.mark.parametrize("value", ["192.0.2.1", "10.255.255.254", "dhcp-b.example.com", "dhcp-b"])
def test_host_accepts_ipv4_or_dns_name(value):
    validate_host(value)


@pytest.mark.parametrize(
    "value, code",
    [
        ("192.0.2.300", "ip"),
        ("192.0.2", "ip"),
        ("1.2.3.4.5", "ip"),
        ("2001:db8::1", "host"),  # failover is DHCPv4 only
        ("bad_host", "host"),
        ("host name", "host"),
        ("192.0.2.1\n", "host"),
        ("dhcp.example\n", "host"),
        ('dhcp"; }', "host"),
        ("", "host"),
    ],
)
def test_host_rejects(value, code):
    assert _rejects(validate_host, value).code == code


@pytest.mark.parametrize("value", [HBA_32, ":".join(["0A"] * 32), ":".join(["3c"] * 32), ""])
def test_hba_accepts_32_hex_bytes(value):
    validate_hba(value)


@pytest.mark.parametrize(
    "value",
    [
        ":".join(["ff"] * 31),
        ":".join(["ff"] * 33),
        ":".join(["gg"] * 32),
        "-".join(["ff"] * 32),
        ":".join(["f"] * 32),
        ":".join(["fff"] * 32),
        HBA_32 + "\n",
        HBA_32 + ":",
    ],
)
def test_hba_rejects(value):
    assert _rejects(validate_hba, value).code == "hba"


@pytest.mark.parametrize("value", ["", "10.0.0.1", "10.0.0.1, 10.0.0.2", "10.0.0.1;10.0.0.2"])
def test_ipv4_list_accepts(value):
    validate_ipv4_list(value)


@pytest.mark.parametrize(
    "value, code",
    [
        ("10.0.0.256", "ip_list"),
        ("router.example", "ip_list"),
        ("10.0.0.1, 2001:db8::1", "ip_list"),
        ("10.0.0.1, rm -rf", "ip_list"),
        ("10.0.0.1\n", "control"),
        ("10.0.0.1,\n10.0.0.2", "control"),
    ],
)
def test_ipv4_list_rejects(value, code):
    assert _rejects(validate_ipv4_list, value).code == code


def test_split_list_takes_commas_and_semicolons():
    assert split_list(" 10.0.0.1 ,10.0.0.2; 10.0.0.3,, ") == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    assert split_list("") == []


@pytest.mark.parametrize("value", ["", "example.com", "example.com.", "corp"])
def test_domain_name_accepts(value):
    validate_domain_name(value)


@pytest.mark.parametrize("value", ["bad domain", 'a"b.example', "example.com\n", "-x.example"])
def test_domain_name_rejects(value):
    assert _rejects(validate_domain_name, value).code == "hostname"


@pytest.mark.parametrize("value", ["", "Office 2 – Floor 3", "Büro"])
def test_no_control_chars_accepts(value):
    validate_no_control_chars(value)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\x7fb", "trailing\n"])
def test_no_control_chars_rejects(value):
    assert _rejects(validate_no_control_chars, value).code == "control"
