"""The parts without a network: command templates and quoting, validators, the leases
tokenizer, the meaning comparison, the balance arithmetic (dhcpd's own rule)."""

from __future__ import annotations

import shlex

import pytest
from django.core.exceptions import ValidationError

from failover import services as core
from failover.deploy import ssh
from failover.deploy.leases import LeasesError, parse_leases
from failover.deploy.meaning import compare
from failover.deploy.models import SshTarget
from failover.dhcpd.parser import parse_text

# --- commands: argv only, every value quoted or refused -----------------------------------


def target(**fields) -> SshTarget:
    return SshTarget(**fields)


def test_command_template_gives_argv_with_the_file_as_one_argument():
    t = target(check_command="dhcpd -t -cf {file}")
    path = "/etc/dhcp/new conf;$(reboot)'x\".tmp"
    argv = t.command("check_command", file=path)
    assert argv == ["dhcpd", "-t", "-cf", path]
    line = ssh.quote_argv(argv)
    assert shlex.split(line) == argv  # the remote shell sees exactly these words
    assert "$(reboot)" not in line.replace(shlex.quote(path), "")


def test_sudo_prefix_is_a_word_of_its_own():
    class FakeTransport:
        pass

    conn = ssh.Connection(target(use_sudo=True), FakeTransport(), 1.0)  # type: ignore[arg-type]
    assert shlex.split(conn.command_line(["systemctl", "restart", "x y"])) == [
        "sudo",
        "-n",
        "systemctl",
        "restart",
        "x y",
    ]


@pytest.mark.parametrize("bad", ["a\nb", "a\x00b", "a\rb", "a\x1bb", "a\x7fb"])
def test_control_characters_are_refused_everywhere(bad):
    with pytest.raises(ssh.SshError, match="control character"):
        ssh.quote_argv(["echo", bad])
    with pytest.raises(ValidationError):
        target(check_command="dhcpd -t -cf {file}").command("check_command", file=bad)
    t = target(config_path="/etc/" + bad, check_command="dhcpd " + bad)
    with pytest.raises(ValidationError) as info:
        t.clean_fields(exclude=["server"])
    assert {"config_path", "check_command"} <= set(info.value.message_dict)


@pytest.mark.parametrize(
    "template, message",
    [
        ("dhcpd -t -cf {path}", "Only the place holder"),
        ("dhcpd 'unclosed", "cannot be split"),
        ("   ", "Enter a command"),
    ],
)
def test_bad_command_templates(template, message):
    t = target(restart_command=template)
    with pytest.raises(ValidationError) as info:
        t.clean_fields(exclude=["server"])
    assert message in str(info.value.message_dict["restart_command"])


def test_paths_must_be_absolute_and_user_a_user_name():
    t = target(leases_path="var/lib/x", user="root; rm")
    with pytest.raises(ValidationError) as info:
        t.clean_fields(exclude=["server"])
    assert set(info.value.message_dict) == {"leases_path", "user"}


def test_documentation_addresses():
    assert ssh.is_documentation_address("192.0.2.10")
    assert ssh.is_documentation_address("203.0.113.1")
    assert not ssh.is_documentation_address("198.18.0.2")
    assert not ssh.is_documentation_address("dhcp-a.example.net")


def test_an_unreadable_stored_key_is_a_message(db):
    server = core.server_create(name="k", address="198.18.250.1")
    t = SshTarget.objects.create(server=server, key_secret="not a key")
    with pytest.raises(ssh.SshError, match="cannot be read"):
        ssh.connect(t, timeout=1)
    t.key_secret, t.key_path = "", "/nonexistent/id_ed25519"
    with pytest.raises(ssh.SshError, match="does not exist"):
        ssh.connect(t, timeout=1)


def test_the_key_is_encrypted_at_rest(db):
    from django.db import connection

    server = core.server_create(name="k", address="198.18.250.1")
    secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"
    t = SshTarget.objects.create(server=server, key_secret=secret)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key_secret FROM failover_sshtarget WHERE id = %s", [t.pk])
        stored = cursor.fetchone()[0]
    assert stored.startswith("fernet:") and "abc" not in stored
    assert SshTarget.objects.get(pk=t.pk).key_secret == secret


# --- the leases tokenizer ------------------------------------------------------------------

LEASES = """# The format of this file is documented in the dhcpd.leases(5) manual page.
authoring-byte-order little-endian;
server-duid "\\000\\001\\000\\001}{;";

failover peer "fo-pair" state {
  my state normal at 2 2026/12/01 05:00:00;
  partner state normal at 2 2026/12/01 05:00:01;
  mclt 60;
}

lease 10.0.0.10 {
  starts 2 2026/12/01 05:00:00;
  ends never;
  tstp 2 2026/12/01 05:00:00;
  cltt 2 2026/12/01 05:00:00;
  binding state free;
}
lease 10.0.0.11 {
  starts epoch 1764565200; # Tue Dec 01 05:00:00 2026 } { ;
  # binding state active;
  binding state backup;
}
lease 10.0.0.12 {
  starts 2 2026/12/01 05:00:00;
  ends 2 2026/12/01 05:10:00;
  binding state active;
  next binding state expired;
  rewind binding state free;
  hardware ethernet 00:16:3E:AA:BB:CC;
  uid "\\001\\000\\026>\\252\\273\\314";
  set vendor-class-identifier = "a } b;";
  client-hostname "laptop";
  on expiry { set x = "y"; }
}
host static-1 { dynamic; hardware ethernet 00:00:00:00:00:01; fixed-address 10.0.0.99; }
lease 10.0.0.10 {
  binding state active;
  hardware ethernet 00:16:3e:00:00:10;
}
lease 10.0.0.13 { binding state abandoned; }
lease 10.0.0.14 { binding state released; }
lease 10.0.0.15 { binding state expired; }
lease 10.0.0.16 { binding state reset; }
"""


def test_leases_last_entry_wins_and_failover_states_are_read():
    parsed = parse_leases(LEASES)
    assert parsed.entries == 8
    assert parsed.states() == {
        "10.0.0.10": "active",  # the later entry of the journal
        "10.0.0.11": "backup",
        "10.0.0.12": "active",  # 'next'/'rewind binding state' are not its state
        "10.0.0.13": "abandoned",
        "10.0.0.14": "released",
        "10.0.0.15": "expired",
        "10.0.0.16": "reset",
    }
    lease = parsed.leases["10.0.0.12"]
    assert (lease.hardware, lease.hostname, lease.ends) == (
        "00:16:3e:aa:bb:cc",
        "laptop",
        "2 2026/12/01 05:10:00",
    )
    assert "10.0.0.99" not in parsed.leases  # a host entry is not a lease


@pytest.mark.parametrize(
    "text, message",
    [
        ("lease 10.0.0.1 {\n binding state free;\n", "ends inside a block"),
        ("}\n", "without a block"),
        ('lease 10.0.0.1 { uid "abc; }', "not closed"),
        ("lease 10.0.0.300 { binding state free; }", "not an IPv4 address"),
        ("lease \x00", "binary"),
    ],
)
def test_leases_errors_are_messages_with_their_line(text, message):
    with pytest.raises(LeasesError, match=message):
        parse_leases(text)


def test_a_generated_journal_reads_back():
    from bench.leases_bench import STATES, generate

    parsed = parse_leases(generate(600, 3))
    assert parsed.entries == 1800 and len(parsed.leases) == 600
    states = list(parsed.states().values())
    assert {state: states.count(state) for state in STATES} == dict.fromkeys(STATES, 100)


def test_an_empty_leases_file():
    assert parse_leases("").leases == {}


# --- the meaning comparison ----------------------------------------------------------------

BASE = """authoritative;
failover peer "fo" {
  primary; address 10.0.0.1; port 647; peer address 10.0.0.2; peer port 647;
  max-response-delay 60; max-unacked-updates 10; mclt 600; split 128;
}
subnet 10.0.0.0 netmask 255.255.255.0 {
  option routers 10.0.0.1;
  option domain-name "example.test";
  pool { failover peer "fo"; range 10.0.0.100 10.0.0.150; }
}
"""


def test_spacing_comments_and_order_inside_a_block_mean_nothing():
    other = """# by hand
authoritative ;
failover peer "fo" { primary; address 10.0.0.1; port 647; peer address 10.0.0.2;
  peer port 647; max-response-delay 60; max-unacked-updates 10; mclt 600; split 128; }
subnet 10.0.0.0 netmask 255.255.255.0 {
  option domain-name "example.test";   # swapped
  option routers 10.0.0.1;
  pool { failover peer "fo"; range 10.0.0.100 10.0.0.150; }
}
"""
    assert compare(parse_text(other), parse_text(BASE)) == []


def test_each_part_that_differs_is_named():
    live = (
        BASE.replace("mclt 600", "mclt 900")
        .replace("range 10.0.0.100 10.0.0.150", "range 10.0.0.100 10.0.0.160")
        .replace("authoritative;", "authoritative;\nlog-facility local7;")
        + "subnet 10.1.0.0 netmask 255.255.0.0 { }\n"
    )
    changes = {(c.section, c.key, c.kind) for c in compare(parse_text(live), parse_text(BASE))}
    assert changes == {
        ("Failover peers", "fo", "differs"),
        ("Subnets", "10.1.0.0/16", "only on the server"),
        ("Pools", "10.0.0.0/24 10.0.0.100-10.0.0.160", "only on the server"),
        ("Pools", "10.0.0.0/24 10.0.0.100-10.0.0.150", "only in dhcpadmin"),
        ("Other statements", "log-facility local7;", "only on the server"),
    }


# --- the balance arithmetic (dhcpd's dhcp_failover_pool_dobalance) ---------------------------


def balance_of(states: dict[str, int], size: int = 100, misbalance: int = 15, warn=10.0):
    from failover.deploy.leases import Lease, LeasesFile
    from failover.deploy.services import SideLeases, _count
    from failover.models import AddressPool, DhcpServer

    pool = AddressPool(first_address="10.0.0.1", last_address=f"10.0.0.{size}")
    pool.first_int, pool.last_int = 167772161, 167772160 + size
    leases = LeasesFile()
    n = 1
    for state, count in states.items():
        for _ in range(count):
            leases.leases[f"10.0.0.{n}"] = Lease(f"10.0.0.{n}", state)
            n += 1
    side = SideLeases(DhcpServer(name="dhcp-a"), "primary", leases)
    return _count(pool, side, misbalance, warn)


def test_balanced_pool_has_no_warning():
    counts = balance_of({"free": 45, "backup": 45, "active": 10})
    assert (counts.primary_free, counts.secondary_free, counts.lts, counts.thresh) == (
        45,
        45,
        0,
        14,
    )
    assert counts.warnings == [] and counts.missing == 0


def test_off_balance_as_dhcpd_computes_it():
    # total 90: thresh = (90*15+50)//100 = 14; lts = (60-30)//2 = 15 > 14: off
    counts = balance_of({"free": 60, "backup": 30, "active": 10})
    assert (counts.lts, counts.thresh) == (15, 14)
    assert len(counts.warnings) == 1 and "primary holds 15 more" in counts.warnings[0]
    # 58/32: lts 13 <= 14: dhcpd would not move leases
    assert balance_of({"free": 58, "backup": 32, "active": 10}).warnings == []
    # the secondary's side, truncated towards zero like C: (31-60)/2 = -14
    assert balance_of({"free": 31, "backup": 60, "active": 9}).lts == -14


def test_low_free_leases_warn_per_side():
    counts = balance_of({"free": 5, "backup": 40, "active": 55})
    assert any("gives the primary 5 free leases, below 10%" in w for w in counts.warnings)
    counts = balance_of({"free": 5, "backup": 5, "active": 90}, misbalance=15)
    assert sum("below 10%" in w for w in counts.warnings) == 2
    assert counts.missing == 0 and counts.counts["active"] == 90


def test_a_server_that_never_speaks_ssh_is_an_error_not_a_hang(db):
    import socket
    import threading

    server = core.server_create(name="silent", address="127.0.0.1")
    key = io_key()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    t = SshTarget.objects.create(server=server, port=listener.getsockname()[1], key_secret=key)
    try:
        with pytest.raises(ssh.SshError, match="SSH with 127.0.0.1"):
            ssh.connect(t, timeout=1)
    finally:
        for conn in accepted:
            conn.close()
        listener.close()


def io_key() -> str:
    import io

    import paramiko

    out = io.StringIO()
    paramiko.RSAKey.generate(1024).write_private_key(out)
    return out.getvalue()


def test_the_guard_closes_a_connection_that_does_not_answer():
    import threading

    closed = threading.Event()

    class SilentTransport:
        def close(self) -> None:
            closed.set()

    conn = ssh.Connection(target(host="198.18.0.9"), SilentTransport(), 0.2)  # type: ignore[arg-type]
    with pytest.raises(ssh.SshError, match="no answer from 198.18.0.9 within 0.2 seconds"):
        with conn.guard(0.2, "Opening SFTP"):
            assert closed.wait(5)  # what paramiko's unbounded wait sees: the transport closes
            raise EOFError


def test_a_key_file_that_is_no_key_says_nothing_of_its_content(db, tmp_path):
    secret = tmp_path / "not-a-key"
    secret.write_text("root:$6$very-secret-hash:19000:0:99999:7:::\n")
    server = core.server_create(name="k2", address="198.18.250.2")
    t = SshTarget.objects.create(server=server, key_path=str(secret))
    with pytest.raises(ssh.SshError) as info:
        ssh.connect(t, timeout=1)
    assert "cannot be used" in str(info.value) and "very-secret" not in str(info.value)
