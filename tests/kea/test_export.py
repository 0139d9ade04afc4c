"""The export builder: the four configurations as data, the mode from split/hba, the pools
split into HA_<server> classes, timing, settings, Kea 2.7.5's form, and the report of what
does not translate (each item with its object)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.exceptions import ValidationError

from failover import services
from failover.kea.checks import check_ha, kea_test
from failover.kea.export import mode_of
from failover.kea.services import export_of_peer, kea_settings_save
from failover.models import ChangeRecord, DhcpServer, FailoverPeer
from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair

pytestmark = pytest.mark.django_db


def export(a: DhcpServer, name: str | None = None):
    peers = a.failover_peers.all()
    return export_of_peer(peers.get(name=name) if name else peers.order_by("pk").first())[1]


def ha_of(side) -> dict:
    return side.dhcp4["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0]


def items(exp, fragment: str) -> list[str]:
    return [str(i) for i in exp.report if fragment in str(i)]


def test_pair_exports_four_json_files_with_matching_sockets_and_urls():
    a, b = build_pair(a_address="10.1.0.1", b_address="10.1.0.2")
    exp = export(a)
    files = exp.files()
    assert list(files) == [
        "dhcp-a-kea-dhcp4.json",
        "dhcp-a-kea-ctrl-agent.json",
        "dhcp-b-kea-dhcp4.json",
        "dhcp-b-kea-ctrl-agent.json",
    ]
    for text in files.values():
        json.loads(text)
    assert exp.mode == "load-balancing"
    for side, this in zip(exp.servers, ("dhcp-a", "dhcp-b"), strict=True):
        dhcp4 = side.dhcp4["Dhcp4"]
        hooks = [h["library"] for h in dhcp4["hooks-libraries"]]
        assert hooks == [
            "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so",
            "/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_ha.so",
        ]
        ha = ha_of(side)
        assert ha["this-server-name"] == this
        assert ha["mode"] == "load-balancing"
        assert ha["max-response-delay"] == 60000  # PRIMARY: 60 s
        assert ha["heartbeat-delay"] == 10000
        assert ha["peers"] == [
            {
                "name": "dhcp-a",
                "url": "http://10.1.0.1:8000/",
                "role": "primary",
                "auto-failover": False,
            },
            {
                "name": "dhcp-b",
                "url": "http://10.1.0.2:8000/",
                "role": "secondary",
                "auto-failover": False,
            },
        ]
        assert dhcp4["interfaces-config"] == {"interfaces": ["*"]}
        ca = side.ctrl_agent["Control-agent"]
        assert ca["http-host"] == side.server.address and ca["http-port"] == 8000
        assert (
            ca["control-sockets"]["dhcp4"]["socket-name"] == dhcp4["control-socket"]["socket-name"]
        )
        assert dhcp4["loggers"][0]["output_options"] == [{"output": "stdout"}]
        subnet = dhcp4["subnet4"][0]
        assert subnet["id"] == 1 and subnet["subnet"] == "10.10.0.0/24"
        assert subnet["valid-lifetime"] == 600 and subnet["max-valid-lifetime"] == 3600
        assert {"name": "routers", "data": "10.10.0.1"} in subnet["option-data"]
        assert {"name": "domain-name", "data": "example.test"} in subnet["option-data"]
        # 10.10.0.100-150 (51 addresses): the lower half (26) to the primary.
        assert subnet["pools"] == [
            {"pool": "10.10.0.100-10.10.0.125", "client-class": "HA_dhcp-a"},
            {"pool": "10.10.0.126-10.10.0.150", "client-class": "HA_dhcp-b"},
        ]
        assert [s["id"] for s in dhcp4["subnet4"]] == [1, 2]
    assert check_ha(files) == []


def test_report_names_what_does_not_translate():
    a, b = build_pair()
    exp = export(a)
    assert items(exp, "failover peer fo-pair on dhcp-a: Max Client Lead Time 3600: not carried")
    assert items(exp, "failover peer fo-pair on dhcp-a: Max Unacked Updates 10: not carried")
    assert items(exp, "failover peer fo-pair on dhcp-b: Max Unacked Updates 10")
    assert items(exp, "Load Balance Max Seconds 3: not carried over")
    assert items(exp, "No Auto Partner Down → auto-failover false")
    assert items(exp, "port 647") and exp.errors == []
    # A scope without failover pool, a second relationship, a non-failover pool.
    lonely = services.scope_create(server=a, network="10.30.0.0/24")
    services.pool_create(scope=lonely, first_address="10.30.0.10", last_address="10.30.0.20")
    shared = a.scopes.get(network="10.10.0.0/24")
    services.pool_create(scope=shared, first_address="10.10.0.200", last_address="10.10.0.210")
    exp = export(a)
    assert items(
        exp, "WARNING scope 10.30.0.0/24 on dhcp-a: Not exported: the scope has no failover"
    )
    assert items(
        exp, "WARNING pool 10.10.0.200-10.10.0.210 on dhcp-a: Not exported: a pool without"
    )
    services.peer_create(
        server=a,
        name="other",
        role="primary",
        address="192.0.2.1",
        peer_address="192.0.2.99",
        mclt=60,
        split=128,
    )
    exp = export(a)
    assert items(exp, "failover peer other on dhcp-a: Not exported: a Kea 2.2 instance serves one")


@pytest.mark.parametrize(
    ("split", "hba", "mode", "kea_primary", "warned"),
    [
        (128, "", "load-balancing", "dhcp-a", False),
        (256, "", "hot-standby", "dhcp-a", False),
        (0, "", "hot-standby", "dhcp-b", False),
        (100, "", "load-balancing", "dhcp-a", True),
        (250, "", "hot-standby", "dhcp-a", True),
        (10, "", "hot-standby", "dhcp-b", True),
        (None, ":".join(["ff"] * 16 + ["00"] * 16), "load-balancing", "dhcp-a", False),
        (None, ":".join(["0f"] * 32), "load-balancing", "dhcp-a", True),
        (None, ":".join(["ff"] * 32), "hot-standby", "dhcp-a", False),
    ],
)
def test_mode_from_split_or_hba(split, hba, mode, kea_primary, warned):
    a, b = build_pair()
    peer = a.failover_peers.get()
    services.peer_update(peer=peer, split=split, hba=hba)
    exp = export(a)
    assert exp.mode == mode
    roles = {p["name"]: p["role"] for p in ha_of(exp.servers[0])["peers"]}
    other = "secondary" if mode == "load-balancing" else "standby"
    assert roles == {kea_primary: "primary", ({"dhcp-a", "dhcp-b"} - {kea_primary}).pop(): other}
    uneven = [i for i in exp.report if i.object == "relationship fo-pair" and "Uneven" in i.message]
    not_first_half = items(exp, "not buckets 0-127")
    assert bool(uneven or not_first_half) == warned
    pools = exp.servers[0].dhcp4["Dhcp4"]["subnet4"][0]["pools"]
    if mode == "hot-standby":
        assert pools == [{"pool": "10.10.0.100-10.10.0.150"}]
    assert check_ha(exp.files()) == []


def test_mode_of_counts_hba_buckets():
    peer = FailoverPeer(role="primary", hba=":".join(["01"] * 32), split=None)
    assert mode_of(peer).mode == "hot-standby"  # 32 of 256 buckets: nearest is 0
    assert not mode_of(peer).primary_is_dhcpd_primary


def test_auto_partner_down_and_timing():
    a, b = build_pair()
    peer = a.failover_peers.get()
    services.peer_update(peer=peer, auto_partner_down=30, max_response_delay=3)
    exp = export(a)
    assert items(exp, "Max Response Delay differs (3 s on dhcp-a, 60 s on dhcp-b)")
    assert ha_of(exp.servers[0])["max-response-delay"] == 60000  # the larger
    services.peer_update(peer=b.failover_peers.get(), max_response_delay=3)
    exp = export(a)
    ha = ha_of(exp.servers[0])
    assert ha["max-response-delay"] == 3000 and ha["heartbeat-delay"] == 1500
    assert ha["max-unacked-clients"] == 0
    assert all(p["auto-failover"] for p in ha["peers"])
    assert items(exp, "Auto Partner Down (30 s on dhcp-a")


def test_settings_interfaces_agent_and_kea_275_form():
    a, b = build_pair(a_address="10.1.0.1", b_address="10.1.0.2")
    kea_settings_save(
        server=a,
        interfaces="eth1, eth2",
        control_agent_address="10.9.0.1",
        control_agent_listen="0.0.0.0",
        control_agent_port=8080,
        control_socket="/run/kea/a.sock",
        lease_file="/var/lib/kea/a.csv",
        target="2.7.5",
    )
    assert ChangeRecord.objects.filter(action="kea_settings_save").count() == 1
    exp = export(a)
    side_a = exp.servers[0]
    dhcp4 = side_a.dhcp4["Dhcp4"]
    assert dhcp4["interfaces-config"]["interfaces"] == ["eth1", "eth2"]
    assert dhcp4["control-socket"]["socket-name"] == "/run/kea/a.sock"
    assert dhcp4["lease-database"]["name"] == "/var/lib/kea/a.csv"
    assert dhcp4["subnet4"][0]["pools"][0] == {
        "pool": "10.10.0.100-10.10.0.125",
        "client-classes": ["HA_dhcp-a"],
    }
    assert "output-options" in dhcp4["loggers"][0]
    ca = side_a.ctrl_agent["Control-agent"]
    assert (ca["http-host"], ca["http-port"]) == ("0.0.0.0", 8080)
    for side in exp.servers:  # both servers name a's agent the same way
        assert ha_of(side)["peers"][0]["url"] == "http://10.9.0.1:8080/"
    assert exp.servers[1].dhcp4["Dhcp4"]["subnet4"][0]["pools"][0]["client-class"] == "HA_dhcp-a"
    assert check_ha(exp.files()) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interfaces", "eth0; rm -rf"),
        ("interfaces", ""),
        ("control_socket", "relative/sock"),
        ("lease_file", "/var/../etc/passwd"),
        ("control_agent_address", "kea.example"),
        ("control_agent_port", 70000),
        ("target", "3.0"),
    ],
)
def test_bad_settings_are_refused_and_nothing_saved(field, value):
    a, b = build_pair()
    with pytest.raises(ValidationError):
        kea_settings_save(server=a, **{field: value})
    assert not ChangeRecord.objects.filter(action="kea_settings_save").exists()


def test_server_with_dns_name_is_an_error_in_the_report():
    a, b = build_pair()
    services.server_update(server=a, address="dhcp-a.example.test")
    services.peer_update(peer=a.failover_peers.get(), partner_server=b)
    services.peer_update(peer=b.failover_peers.get(), partner_server=a)
    exp = export(a)
    assert items(exp, "ERROR server dhcp-a: The control agent address 'dhcp-a.example.test'")
    assert any("must name an IPv4 address" in p.message for p in check_ha(exp.files()))


def test_not_finalized_scope_is_an_error():
    a, b = build_pair(migrate=False)
    services.scope_migrate_to_partner(scope=a.scopes.get(network="10.10.0.0/24"))
    exp = export(a)
    assert items(exp, "ERROR scope 10.20.0.0/24: Not on dhcp-b (not finalized)")
    assert len(exp.servers[0].dhcp4["Dhcp4"]["subnet4"]) == 2
    assert len(exp.servers[1].dhcp4["Dhcp4"]["subnet4"]) == 1
    assert any("subnets and pools differ" in p.message for p in check_ha(exp.files()))


IMPORTED = """
authoritative;
ddns-update-style none;
default-lease-time 900;
option domain-name-servers 10.0.0.53, 10.0.0.54;
option domain-search "a.test", "b.test";
log-facility local7;
failover peer "imp" {
  ROLE;
  address SELF;
  port 647;
  peer address PEER;
  peer port 647;
  max-response-delay 30;
  max-unacked-updates 10;
  MCLT
  load balance max seconds 3;
}
host roaming {
  hardware ethernet 02:00:00:00:00:01;
  fixed-address 10.50.0.30;
}
group {
option interface-mtu 1400;
option time-offset 7200;
shared-network campus {
  option time-offset 3600;
  ignore client-updates;
  subnet 10.50.0.0 netmask 255.255.255.0 {
    option routers 10.50.0.1;
    option ntp-servers ntp.example.test;
    next-server 10.50.0.5;
    filename "pxelinux.0";
    host printer {
      hardware ethernet 02:00:00:00:00:02;
      fixed-address 10.50.0.20;
      option host-name "printer";
    }
    host nomac { fixed-address 10.50.0.21; }
    pool {
      failover peer "imp";
      deny dynamic bootp clients;
      range 10.50.0.100 10.50.0.199;
    }
  }
}
}
"""


def _imported(role: str, self_: str, peer: str) -> str:
    mclt = "mclt 600;\n  split 128;" if role == "primary" else ""
    return (
        IMPORTED.replace("ROLE", role)
        .replace("SELF", self_)
        .replace("PEER", peer)
        .replace("MCLT", mclt)
    )


def test_imported_statements_translated_or_reported():
    services.config_import(
        server=DhcpServer(name="i-a", address="10.0.0.1"),
        text=_imported("primary", "10.0.0.1", "10.0.0.2"),
    )
    services.config_import(
        server=DhcpServer(name="i-b", address="10.0.0.2"),
        text=_imported("secondary", "10.0.0.2", "10.0.0.1"),
    )
    a = DhcpServer.objects.get(name="i-a")
    exp = export(a)
    dhcp4 = exp.servers[0].dhcp4["Dhcp4"]
    assert dhcp4["authoritative"] is True
    assert dhcp4["valid-lifetime"] == 900
    assert dhcp4["option-data"] == [
        {"name": "domain-name-servers", "data": "10.0.0.53, 10.0.0.54"},
        {"name": "domain-search", "data": "a.test, b.test"},
    ]
    assert dhcp4["subnet4"] == []
    (shared,) = dhcp4["shared-networks"]
    assert shared["name"] == "campus"
    assert shared["option-data"] == [  # its own, then the enclosing group's not set nearer
        {"name": "time-offset", "data": "3600"},
        {"name": "interface-mtu", "data": "1400"},
    ]
    subnet = shared["subnet4"][0]
    assert subnet["next-server"] == "10.50.0.5"
    assert subnet["boot-file-name"] == "pxelinux.0"
    assert {"name": "routers", "data": "10.50.0.1"} in subnet["option-data"]
    assert {
        "hw-address": "02:00:00:00:00:02",
        "ip-address": "10.50.0.20",
        "hostname": "printer",
    } in subnet["reservations"]
    assert {"hw-address": "02:00:00:00:00:01", "ip-address": "10.50.0.30"} in subnet["reservations"]
    assert items(exp, "WARNING server i-a: 'log-facility local7;': dropped")
    assert items(exp, "option ntp-servers ntp.example.test;': dropped (not translated)")
    assert items(exp, "host nomac on i-a: Dropped: Kea reservations here need")
    assert items(exp, "'deny dynamic bootp clients;': dropped")
    assert items(exp, "INFO shared-network campus on i-a: → Kea shared network 'campus'.")
    assert items(exp, "'option time-offset 3600;' → the shared network's option-data.")
    assert items(exp, "INFO group on i-a: 'option interface-mtu 1400;' → the option-data of its")
    assert items(exp, "WARNING shared-network campus on i-a: 'ignore client-updates;': dropped")
    assert items(exp, "INFO host printer on i-a: → reservation")
    require_binary("kea-dhcp4")
    for result in kea_test(exp.files()):  # the real Kea reads the shared network
        assert result.ok, (result.file, result.output)
    assert items(exp, "INFO server i-a: 'authoritative;' → authoritative true.")
    assert items(exp, "INFO server i-a: 'ddns-update-style none;': nothing to write")
    assert check_ha(exp.files()) == []


def test_archive_holds_the_four_files_and_the_report():
    a, b = build_pair()
    exp = export(a)
    with zipfile.ZipFile(io.BytesIO(exp.archive())) as zf:
        names = zf.namelist()
        assert names == [f"fo-pair-kea/{n}" for n in exp.files()] + ["fo-pair-kea/REPORT.txt"]
        assert (
            zf.read("fo-pair-kea/dhcp-a-kea-dhcp4.json").decode()
            == exp.files()["dhcp-a-kea-dhcp4.json"]
        )
        assert "Max Client Lead Time" in zf.read("fo-pair-kea/REPORT.txt").decode()
    assert exp.archive() == exp.archive()  # same data, same bytes


GROUPED = """
failover peer "grp" {
  ROLE;
  address SELF;
  peer address PEER;
  max-response-delay 30;
  max-unacked-updates 10;
  MCLT
}
group {
  option interface-mtu 1400;
  option routers 10.60.0.254;
  subnet 10.60.0.0 netmask 255.255.255.0 {
    option routers 10.60.0.1;
    pool { failover peer "grp"; range 10.60.0.10 10.60.0.20; }
  }
}
"""


def test_group_options_go_into_its_subnets_where_not_set():
    for name, role, self_, peer in (
        ("g-a", "primary", "10.0.0.1", "10.0.0.2"),
        ("g-b", "secondary", "10.0.0.2", "10.0.0.1"),
    ):
        mclt = "mclt 600;\n  split 128;" if role == "primary" else ""
        text = GROUPED.replace("ROLE", role).replace("SELF", self_).replace("PEER", peer)
        services.config_import(
            server=DhcpServer(name=name, address=self_), text=text.replace("MCLT", mclt)
        )
    exp = export(DhcpServer.objects.get(name="g-a"))
    (subnet,) = exp.servers[0].dhcp4["Dhcp4"]["subnet4"]
    assert subnet["option-data"] == [
        {"name": "routers", "data": "10.60.0.1"},  # the subnet's own wins
        {"name": "interface-mtu", "data": "1400"},
    ]
    assert "shared-networks" not in exp.servers[0].dhcp4["Dhcp4"]
    assert check_ha(exp.files()) == []


def test_pair_check_findings_of_the_relationship_come_first():
    a, b = build_pair()
    services.peer_update(peer=b.failover_peers.get(), peer_port=648)
    exp = export(a)
    assert str(exp.report[0]).startswith("ERROR relationship fo-pair: Pair check: dhcp-a listens")


def test_a_key_secret_never_reaches_the_report():
    text = _imported("primary", "10.0.0.1", "10.0.0.2")
    key = 'key "omapi-key" {\n  algorithm hmac-md5;\n  secret "c2VjcmV0LXZhbHVlLTEyMw==";\n}\n'
    services.config_import(server=DhcpServer(name="i-a", address="10.0.0.1"), text=key + text)
    services.config_import(
        server=DhcpServer(name="i-b", address="10.0.0.2"),
        text=_imported("secondary", "10.0.0.2", "10.0.0.1"),
    )
    exp = export(DhcpServer.objects.get(name="i-a"))
    assert items(exp, "secret …")
    assert "c2VjcmV0" not in exp.report_text()
    assert "c2VjcmV0" not in "".join(exp.files().values())
