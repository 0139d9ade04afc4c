"""dhcpadmin's own check of the HA part (what Kea 2.2's -t does not check) and kea-dhcp4 -t."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from failover.kea.checks import check_ha, kea_test
from failover.kea.services import export_of_peer
from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair

pytestmark = pytest.mark.django_db

A, B = "dhcp-a-kea-dhcp4.json", "dhcp-b-kea-dhcp4.json"
CA_A = "dhcp-a-kea-ctrl-agent.json"


@pytest.fixture
def files() -> dict[str, str]:
    a, _ = build_pair(a_address="10.1.0.1", b_address="10.1.0.2")
    return export_of_peer(a.failover_peers.get())[1].files()


def ha(data: dict[str, Any]) -> dict[str, Any]:
    return data["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]


def altered(files: dict[str, str], change: Callable[[str, dict], None]) -> dict[str, str]:
    out = {}
    for name, text in files.items():
        data = json.loads(text)
        change(name, data)
        out[name] = json.dumps(data)
    return out


def messages(files: dict[str, str], name: str | None = None) -> list[str]:
    return [p.message for p in check_ha(files) if name is None or p.file == name]


def test_export_passes(files):
    assert check_ha(files) == []


def _on_dhcp4(func: Callable[[dict], None]) -> Callable[[str, dict], None]:
    def change(name: str, data: dict) -> None:
        if "Dhcp4" in data:
            func(data)

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: ha(d).update({"this-server-name": "nobody"}),
            "this-server-name 'nobody' is not among the peers",
        ),
        (
            lambda d: [p.update(role="primary") for p in ha(d)["peers"]],
            "2 primary servers specified; load-balancing needs exactly 1.",
        ),
        (lambda d: ha(d).update(mode="load-sharing"), "Mode 'load-sharing' is not one of"),
        (
            lambda d: ha(d)["peers"][1].update(role="standby"),
            "role 'standby' is not one of ['backup', 'primary', 'secondary']",
        ),
        (
            lambda d: ha(d)["peers"][0].update(url="https://10.1.0.1:8000/"),
            "must start with http://",
        ),
        (
            lambda d: ha(d)["peers"][0].update(url="http://kea-a.example:8000/"),
            "must name an IPv4 address",
        ),
        (lambda d: ha(d)["peers"][0].update(url="http://10.1.0.1/"), "must name the control"),
        (
            lambda d: ha(d).update({"heartbeat-delays": 100}),
            "Unknown HA key 'heartbeat-delays' (Kea ignores it silently).",
        ),
        (
            lambda d: ha(d)["peers"][0].update({"auto-failvoer": True}),
            "unknown key 'auto-failvoer'",
        ),
        (lambda d: ha(d).update({"heartbeat-delay": -1}), "heartbeat-delay must be a whole"),
        (
            lambda d: ha(d).update({"heartbeat-delay": 70000}),
            "max-response-delay must be greater than heartbeat-delay.",
        ),
        (
            lambda d: d["Dhcp4"]["hooks-libraries"].pop(0),
            "libdhcp_lease_cmds.so is not loaded (HA needs it).",
        ),
        (
            lambda d: d["Dhcp4"]["hooks-libraries"].reverse(),
            "must be loaded before libdhcp_ha.so",
        ),
        (
            lambda d: d["Dhcp4"]["subnet4"][0]["pools"][0].update({"client-class": "HA_x"}),
            "class 'HA_x' is not one of the peers'",
        ),
        (
            lambda d: d["Dhcp4"]["subnet4"][0]["pools"][0].pop("client-class"),
            "has no HA_ class",
        ),
    ],
)
def test_check_finds(files, change, expected):
    found = messages(altered(files, _on_dhcp4(change)), A)
    assert any(expected in m for m in found), found


def test_control_agent_must_listen_where_the_url_points(files):
    def change(name: str, data: dict) -> None:
        if name == CA_A:
            data["Control-agent"]["http-port"] = 8081

    found = messages(altered(files, change), A)
    assert any("is not where its control agent" in m for m in found), found


def test_control_agent_socket_must_be_the_servers(files):
    def change(name: str, data: dict) -> None:
        if name == CA_A:
            data["Control-agent"]["control-sockets"]["dhcp4"]["socket-name"] = "/run/x"

    found = messages(altered(files, change), CA_A)
    assert any("is not the control-socket" in m for m in found), found


def test_servers_must_agree(files):
    def change(name: str, data: dict) -> None:
        if name == B:
            ha(data)["mode"] = "hot-standby"
            ha(data)["peers"][1]["role"] = "standby"

    found = messages(altered(files, change), B)
    assert "mode differs from dhcp-a-kea-dhcp4.json." in found
    assert "peers differs from dhcp-a-kea-dhcp4.json." in found


def test_not_json_and_not_kea(files):
    broken = dict(files, **{A: "{not json", B: "[1]"})
    found = [str(p) for p in check_ha(broken)]
    assert any(s.startswith(f"{A}: Not JSON") for s in found)
    assert f"{B}: Not a JSON object." in found


def test_kea_dhcp4_t_accepts_the_export_and_rejects_a_broken_file(files):
    require_binary("kea-dhcp4")
    require_binary("kea-ctrl-agent")
    results = kea_test(files)
    assert [r.file for r in results] == list(files)
    assert all(r.ok for r in results), [(r.file, r.output) for r in results]
    bad = altered(files, _on_dhcp4(lambda d: d["Dhcp4"]["subnet4"][0].update(subnet="10.1.0.0/33")))
    result = kea_test({A: bad[A]})[0]
    assert not result.ok and result.summary == "rejected."
    assert "10.1.0.0/33" in result.output or "subnet" in result.output.lower()


def test_kea_test_names_interfaces_missing_here(files):
    require_binary("kea-dhcp4")
    lan = altered(
        files, _on_dhcp4(lambda d: d["Dhcp4"]["interfaces-config"].update(interfaces=["nosuch9"]))
    )
    result = kea_test({A: lan[A]})[0]
    assert result.ok, result.output
    assert result.notes == ["Checked with interfaces '*': nosuch9 not on this machine."]


def test_kea_test_without_binary(files, settings):
    settings.KEA_DHCP4_PATH = "/nonexistent/kea-dhcp4"
    result = kea_test({A: files[A]})[0]
    assert result.missing_binary and not result.ok
    assert result.summary == "not installed here: not run."
