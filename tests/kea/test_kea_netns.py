"""Proof with the real Kea 2.2: exported pairs run in network namespaces.

- a relationship built through the services (split 128) reaches load-balancing on both
  servers through ha-heartbeat; real dhclients get leases from both halves of the pool;
  stopping one server moves the other to partner-down and a new client still gets a lease
  (also one of the stopped server's half);
- the same files altered to have two primaries: dhcpadmin's check reports it, and the real
  start fails with HA_CONFIGURATION_FAILED;
- a relationship imported from two dhcpd.conf files (split 256) reaches hot-standby and
  serves a client, its host declaration carried over as a reservation.

The states and timings seen are printed (``-s``) and written into the notes by hand.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from failover import services
from failover.kea.checks import check_ha, kea_test
from failover.kea.services import export_of_peer
from failover.models import DhcpServer
from tests.kea.kealab import (
    KeaPair,
    build_lab_pair,
    configure,
    half_of,
    kea_dir,
    pool_halves,
)
from tests.netns import netns_lab

pytestmark = [pytest.mark.netns, pytest.mark.django_db(transaction=False)]

BINARIES = ("kea-dhcp4", "kea-ctrl-agent", "dhclient")
MAX_CLIENTS = 10  # new clients tried until both halves are seen (each half: 1/2 a client)


@pytest.fixture
def lab(tmp_path):
    with netns_lab(tmp_path, BINARIES) as lab:
        yield lab


def test_services_pair_load_balancing_failover_and_two_primaries(lab):
    a, b = build_lab_pair(split=128, auto_partner_down=10)
    configure(lab, {"a": a, "b": b})
    relationship, export = export_of_peer(a.failover_peers.get())
    assert export.mode == "load-balancing"
    files = export.files()
    assert check_ha(files) == []
    for result in kea_test(files):
        assert result.ok, (result.file, result.output)
    pair = KeaPair(lab, export, {"a": "kea-a", "b": "kea-b"})
    pair.start()
    took = pair.wait_states({"a": "load-balancing", "b": "load-balancing"})
    print(f"\nload-balancing on both after {took:.1f} s: {pair.seen}")

    halves = pool_halves(export)
    assert set(halves) == {"HA_kea-a", "HA_kea-b"}
    seen: dict[str, list[ipaddress.IPv4Address]] = {}
    for _ in range(MAX_CLIENTS):
        address = pair.client_lease()
        seen.setdefault(half_of(halves, address), []).append(address)
        if len(seen) == 2 and sum(map(len, seen.values())) >= 2:
            break
    print(f"leases by half: {seen}")
    assert set(seen) == {"HA_kea-a", "HA_kea-b"}, seen
    # Each lease was copied to the partner (lease updates through the control agents).
    for side in ("a", "b"):
        leases = (kea_dir(lab, side) / "leases4.csv").read_text()
        for addresses in seen.values():
            for address in addresses:
                assert str(address) in leases, (side, address)

    pair.stop_dhcp4("b")
    took = pair.wait_states({"a": "partner-down"})
    print(f"a in partner-down {took:.1f} s after b stopped: {pair.seen}")
    assert pair.scopes("a") == ["kea-a", "kea-b"]  # auto-failover: the partner's clients too
    partner_half = None
    for _ in range(MAX_CLIENTS):
        address = pair.client_lease()
        assert half_of(halves, address) != "none"
        if half_of(halves, address) == "HA_kea-b":
            partner_half = address
            break
    print(f"a served the partner's half while b was down: {partner_half}")
    assert partner_half is not None

    # Two primaries: dhcpadmin's check says so first; the real start refuses them.
    altered = {}
    for name, text in files.items():
        data = json.loads(text)
        if "Dhcp4" in data:
            ha = data["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]
            for peer in ha["peers"]:
                peer["role"] = "primary"
        altered[name] = json.dumps(data, indent=2)
    problems = check_ha(altered)
    assert any("2 primary servers specified" in p.message for p in problems), problems
    assert {p.file for p in problems} >= {"kea-a-kea-dhcp4.json", "kea-b-kea-dhcp4.json"}
    path = kea_dir(lab, "b") / "two-primaries.json"
    path.write_text(altered["kea-b-kea-dhcp4.json"])
    proc = pair.start_dhcp4("b", path, "two-primaries.log")
    proc.wait(timeout=20)
    log = (lab.workdir / "two-primaries.log").read_text()
    assert proc.returncode != 0, log
    assert "HA_CONFIGURATION_FAILED" in log, log
    assert "multiple primary servers" in log, log


def test_without_auto_partner_down_the_survivor_keeps_its_own_clients(lab):
    """No auto-partner-down in dhcpd → auto-failover false, max-unacked-clients 10 (Kea's
    default): when the partner stops, the survivor goes to communication-recovery and keeps
    serving its own clients only, until an operator acts (as the report says)."""
    a, b = build_lab_pair(split=128, auto_partner_down=None)
    configure(lab, {"a": a, "b": b})
    _, export = export_of_peer(a.failover_peers.get())
    assert any("auto-failover false" in str(item) for item in export.report)
    pair = KeaPair(lab, export, {"a": "kea-a", "b": "kea-b"})
    pair.start()
    pair.wait_states({"a": "load-balancing", "b": "load-balancing"})
    assert pair.scopes("a") == ["kea-a"]
    pair.stop_dhcp4("b")
    took = pair.wait_states({"a": "communication-recovery"})
    print(f"\na in communication-recovery {took:.1f} s after b stopped: {pair.seen}")
    assert pair.scopes("a") == ["kea-a"]


PRIMARY_CONF = """
authoritative;
ddns-update-style none;
default-lease-time 600;
max-lease-time 1200;
option domain-name-servers 10.99.1.53;
failover peer "imported-pair" {
  primary;
  address 10.99.0.1;
  port 647;
  peer address 10.99.0.2;
  peer port 647;
  max-response-delay 2;
  max-unacked-updates 10;
  mclt 60;
  split 256;
  auto-partner-down 10;
}
subnet 10.99.1.0 netmask 255.255.255.0 {
  option routers 10.99.1.254;
  option ntp-servers 10.99.1.123;
  host printer {
    hardware ethernet 02:00:00:00:00:99;
    fixed-address 10.99.1.20;
  }
  pool {
    failover peer "imported-pair";
    range 10.99.1.100 10.99.1.149;
  }
}
"""

SECONDARY_CONF = (
    PRIMARY_CONF.replace("  primary;", "  secondary;")
    .replace("address 10.99.0.1;", "address 10.99.0.X;")
    .replace("peer address 10.99.0.2;", "peer address 10.99.0.1;")
    .replace("address 10.99.0.X;", "address 10.99.0.2;")
    .replace("  mclt 60;\n  split 256;\n", "")
)


def test_imported_pair_reaches_hot_standby_and_serves(lab):
    a = services.config_import(
        server=DhcpServer(name="imp-a", address="10.99.0.1"), text=PRIMARY_CONF
    )
    del a
    services.config_import(
        server=DhcpServer(name="imp-b", address="10.99.0.2"), text=SECONDARY_CONF
    )
    a = DhcpServer.objects.get(name="imp-a")
    b = DhcpServer.objects.get(name="imp-b")
    configure(lab, {"a": a, "b": b})
    relationship, export = export_of_peer(a.failover_peers.get())
    assert relationship.managed
    assert export.mode == "hot-standby"
    files = export.files()
    assert check_ha(files) == []
    dhcp4 = export.servers[0].dhcp4["Dhcp4"]
    subnet = dhcp4["subnet4"][0]
    assert subnet["reservations"] == [
        {"hw-address": "02:00:00:00:00:99", "ip-address": "10.99.1.20"}
    ]
    assert {"name": "ntp-servers", "data": "10.99.1.123"} in subnet["option-data"]
    assert dhcp4["option-data"] == [{"name": "domain-name-servers", "data": "10.99.1.53"}]
    pair = KeaPair(lab, export, {"a": "imp-a", "b": "imp-b"})
    pair.start()
    took = pair.wait_states({"a": "hot-standby", "b": "hot-standby"})
    print(f"\nhot-standby on both after {took:.1f} s: {pair.seen}")
    address = pair.client_lease()
    print(f"client lease {address}")
    assert ipaddress.IPv4Address("10.99.1.100") <= address <= ipaddress.IPv4Address("10.99.1.149")
