"""Running exported Kea pairs in the shared network-namespace lab (tests/netns.py).

ns a and ns b are the two Kea servers (kea-dhcp4 on lan0, kea-ctrl-agent on the fo0
address, HA heartbeats over fo0), ns c's bridge br0 is the LAN where real dhclients run,
each on its own veth (its own MAC address). Each server gets its own directory in the
lab's workdir for leases, control socket, PID and lock files (KEA_PIDFILE_DIR,
KEA_LOCKFILE_DIR). Every wait is bounded; the lab stops every process and deletes the
namespaces afterwards.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from failover import services
from failover.kea.export import KeaExport
from failover.kea.services import kea_settings_save
from failover.models import DhcpServer
from tests.conftest import require_binary
from tests.netns import Lab, log_tail

SIDES = {"a": "10.99.0.1", "b": "10.99.0.2"}
PORT = 8000
STATE_WAIT = 40.0  # seconds until a state is reached
LEASE_WAIT = 30.0  # seconds a client may take for its lease
KEA_DIR_NAME = "kea-{side}"

_COMMAND = """
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=json.dumps(
    {"command": sys.argv[2], "service": ["dhcp4"]}).encode(),
    headers={"Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(req, timeout=3).read().decode())
except Exception as exc:
    print(json.dumps({"error": str(exc)}))
"""


def kea_dir(lab: Lab, side: str) -> Path:
    path = lab.workdir / KEA_DIR_NAME.format(side=side)
    path.mkdir(exist_ok=True)
    return path


def configure(lab: Lab, servers: dict[str, DhcpServer], **extra: str) -> None:
    """Each server's Kea settings for the lab: lan0, its own socket and lease file."""
    for side, server in servers.items():
        d = kea_dir(lab, side)
        kea_settings_save(
            server=server,
            interfaces="lan0",
            control_socket=str(d / "ctrl.sock"),
            lease_file=str(d / "leases4.csv"),
            **extra,
        )


@dataclass
class KeaPair:
    lab: Lab
    export: KeaExport
    sides: dict[str, str]  # side -> server name
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    clients: int = 0
    seen: dict[str, list[str]] = field(default_factory=dict)  # states of the last wait

    def files_for(self, side: str) -> tuple[Path, Path]:
        name = self.sides[side]
        files = self.export.files()
        d = kea_dir(self.lab, side)
        dhcp4, ca = d / f"{name}-kea-dhcp4.json", d / f"{name}-kea-ctrl-agent.json"
        dhcp4.write_text(files[dhcp4.name])
        ca.write_text(files[ca.name])
        return dhcp4, ca

    def start_dhcp4(self, side: str, config: Path, log: str | None = None) -> subprocess.Popen:
        d = kea_dir(self.lab, side)
        cmd = [
            "env",
            f"KEA_PIDFILE_DIR={d}",
            f"KEA_LOCKFILE_DIR={d}",
            require_binary("kea-dhcp4"),
            "-c",
            str(config),
        ]
        proc = self.lab.start(side, cmd, log or f"kea-dhcp4-{side}.log")
        self.procs[f"dhcp4-{side}"] = proc
        return proc

    def start(self) -> None:
        for side in self.sides:
            dhcp4, ca = self.files_for(side)
            self.start_dhcp4(side, dhcp4)
            d = kea_dir(self.lab, side)
            cmd = [
                "env",
                f"KEA_PIDFILE_DIR={d}",
                f"KEA_LOCKFILE_DIR={d}",
                require_binary("kea-ctrl-agent"),
                "-c",
                str(ca),
            ]
            self.procs[f"ca-{side}"] = self.lab.start(side, cmd, f"kea-ctrl-agent-{side}.log")

    def stop_dhcp4(self, side: str) -> None:
        proc = self.procs[f"dhcp4-{side}"]
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: only what the test started
        proc.wait(timeout=15)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{log_tail(self.lab, name)}"
            for name in sorted(os.listdir(self.lab.workdir))
            if name.endswith(".log")
        )

    def command(self, side: str, command: str) -> object:
        """A control command to ``side``'s kea-dhcp4 through its control agent (from inside
        the namespace); the JSON answer, or None."""
        url = f"http://{SIDES[side]}:{PORT}/"
        try:
            out = subprocess.run(
                self.lab.exec(side, sys.executable, "-c", _COMMAND, url, command),
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            return json.loads(out)
        except (subprocess.TimeoutExpired, ValueError):
            return None

    def state(self, side: str) -> str:
        """The ``ha-heartbeat`` state of ``side``'s server."""
        answer = self.command(side, "ha-heartbeat")
        if isinstance(answer, list) and answer and isinstance(answer[0], dict):
            return str((answer[0].get("arguments") or {}).get("state", answer[0].get("text")))
        return str(answer)

    def scopes(self, side: str) -> list[str]:
        """The HA scopes ``side``'s server serves now (``status-get``)."""
        answer = self.command(side, "status-get")
        assert isinstance(answer, list) and answer, answer
        ha = answer[0]["arguments"]["high-availability"][0]
        return sorted(ha["ha-servers"]["local"]["scopes"])

    def wait_states(self, wanted: dict[str, str], timeout: float = STATE_WAIT) -> float:
        """Seconds until every side in ``wanted`` reports its state (asserts otherwise)."""
        started = time.monotonic()
        states: dict[str, str] = {}
        self.seen = {side: [] for side in wanted}
        while time.monotonic() - started < timeout:
            for name, proc in self.procs.items():
                if name.startswith("dhcp4-") and name[-1] in wanted:
                    assert proc.poll() is None, f"{name} exited:\n{self.logs()}"
            states = {side: self.state(side) for side in wanted}
            for side, state in states.items():  # the states passed through, in order
                if not self.seen[side] or self.seen[side][-1] != state:
                    self.seen[side].append(state)
            if states == wanted:
                return time.monotonic() - started
            time.sleep(0.25)
        raise AssertionError(f"states {states}, wanted {wanted}\n{self.logs()}")

    def client_lease(self) -> ipaddress.IPv4Address:
        """A new dhclient on its own veth (own MAC) on br0; the address it was given."""
        self.clients += 1
        n = self.clients
        ns = self.lab.ns["c"]
        self.lab.ip("-n", ns, "link", "add", f"cl{n}", "type", "veth", "peer", "name", f"cl{n}p")
        self.lab.ip("-n", ns, "link", "set", f"cl{n}p", "master", "br0")
        self.lab.ip("-n", ns, "link", "set", f"cl{n}p", "up")
        self.lab.ip("-n", ns, "link", "set", f"cl{n}", "up")
        try:
            return self.lab.dhclient_lease(f"cl{n}", name=f"client{n}", timeout=LEASE_WAIT)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None


def pool_halves(export: KeaExport) -> dict[str, list[tuple[int, int]]]:
    """Class → its pool ranges (as integers), from the first server's file."""
    out: dict[str, list[tuple[int, int]]] = {}
    dhcp4 = export.servers[0].dhcp4["Dhcp4"]
    for subnet in dhcp4["subnet4"]:
        for pool in subnet["pools"]:
            first, last = pool["pool"].split("-")
            cls = pool.get("client-class") or (pool.get("client-classes") or ["-"])[0]
            out.setdefault(cls, []).append(
                (int(ipaddress.IPv4Address(first)), int(ipaddress.IPv4Address(last)))
            )
    return out


def half_of(halves: dict[str, list[tuple[int, int]]], address: ipaddress.IPv4Address) -> str:
    number = int(address)
    for cls, ranges in halves.items():
        if any(low <= number <= high for low, high in ranges):
            return cls
    return "none"


def build_lab_pair(
    *, split: int = 128, auto_partner_down: int | None = 10
) -> tuple[DhcpServer, DhcpServer]:
    """A pair built through the services, as a user builds it: a scope with a pool on A,
    A's first peer (primary), the scope migrated to B."""
    a = services.server_create(name="kea-a", address=SIDES["a"])
    b = services.server_create(name="kea-b", address=SIDES["b"])
    scope = services.scope_create(
        server=a,
        network="10.99.1.0/24",
        name="Lab LAN",
        routers="10.99.1.254",
        domain_name="lab.test",
        default_lease_time=600,
        max_lease_time=1200,
    )
    services.pool_create(scope=scope, first_address="10.99.1.100", last_address="10.99.1.149")
    services.peer_create(
        server=a,
        name="lab-pair",
        role="primary",
        address=SIDES["a"],
        port=647,
        peer_address=SIDES["b"],
        peer_port=647,
        max_response_delay=2,
        max_unacked_updates=10,
        mclt=60,
        split=split,
        load_balance_max_seconds=3,
        auto_partner_down=auto_partner_down,
    )
    services.scope_migrate_to_partner(scope=scope)
    return a, b
