"""Network-namespace lab shared by the tests that run real daemons (dhcpd pairs, OMAPI,
SSH, Kea).

``Lab`` creates namespaces with random names and the links between them, starts processes
inside them in their own sessions, and ``close()`` stops every process it started and deletes
every namespace it made, also when the test failed. ``netns_lab()`` is the context manager the
fixtures use: it checks for root and the binaries first (``require``: skip locally, fail under
CI=true), and asserts afterwards that no namespace of the lab is left.

The standard topology of ``Lab.build()`` (no namespace has a default route, so no packet
leaves them)::

    ns a  fo0 10.99.0.1/24 ---- veth ---- fo0 10.99.0.2/24  ns b      (failover link)
          lan0 10.99.1.1/24                lan0 10.99.1.2/24
              |                                |
             veth                             veth
              |                                |
    ns c      pa ---------- br0 (bridge) ------ pb
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import require, require_binary

REPO = Path(__file__).resolve().parents[1]


class Lab:
    """Namespaces and processes of one test; ``close()`` removes every one of them."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        suffix = secrets.token_hex(3)
        self.ns = {side: f"dhcpadmin-{side}-{suffix}" for side in ("a", "b", "c")}
        self.suffix = suffix
        self.created: list[str] = []
        self.procs: list[tuple[subprocess.Popen, object]] = []
        self.host_links: dict[str, str] = {}

    def ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=20)

    def exec(self, side: str, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns[side], *cmd]

    def build(self) -> None:
        a, b, c = self.ns["a"], self.ns["b"], self.ns["c"]
        for ns in (a, b, c):
            self.ip("netns", "add", ns)
            self.created.append(ns)
            self.ip("-n", ns, "link", "set", "lo", "up")
        self.ip("link", "add", "fo0", "netns", a, "type", "veth", "peer", "name", "fo0", "netns", b)
        self.ip("link", "add", "lan0", "netns", a, "type", "veth", "peer", "name", "pa", "netns", c)
        self.ip("link", "add", "lan0", "netns", b, "type", "veth", "peer", "name", "pb", "netns", c)
        for ns, fo, lan in (
            (a, "10.99.0.1/24", "10.99.1.1/24"),
            (b, "10.99.0.2/24", "10.99.1.2/24"),
        ):
            self.ip("-n", ns, "addr", "add", fo, "dev", "fo0")
            self.ip("-n", ns, "addr", "add", lan, "dev", "lan0")
            self.ip("-n", ns, "link", "set", "fo0", "up")
            self.ip("-n", ns, "link", "set", "lan0", "up")
        self.ip("-n", c, "link", "add", "br0", "type", "bridge", "stp_state", "0")
        for port in ("pa", "pb"):
            self.ip("-n", c, "link", "set", port, "master", "br0")
            self.ip("-n", c, "link", "set", port, "up")
        self.ip("-n", c, "link", "set", "br0", "up")

    def start(self, side: str, cmd: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.workdir / log_name, "wb")  # noqa: SIM115 - closed in close()
        proc = subprocess.Popen(
            self.exec(side, *cmd), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append((proc, log))
        return proc

    def link_host(self, side: str) -> str:
        """Connect namespace ``side`` to the test's own (host) namespace and return the address
        the host reaches it at, so the app under test (web server, worker: they run in the
        host namespace) can talk to daemons inside the lab: OMAPI, SSH, Kea's control agent.

        A veth pair ``dhl<suffix><side>`` (host) / ``mgmt0`` (in the namespace) on a /30 of
        198.18.0.0/15 (RFC 2544's benchmarking range, never routed on real networks), picked at
        random among the ones the host does not use yet. Only the connected /30 route is added
        on the host; the namespace gets no default route. Deleting the namespace deletes both
        ends, so ``close()`` cleans it up with the namespace.
        """
        if side in self.host_links:
            return self.host_links[side]
        used = subprocess.run(
            ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, timeout=20
        ).stdout
        for _ in range(100):
            second, third = secrets.choice((18, 19)), secrets.randbelow(256)
            fourth = secrets.randbelow(64) * 4
            prefix = f"198.{second}.{third}."
            host_addr, ns_addr = f"{prefix}{fourth + 1}", f"{prefix}{fourth + 2}"
            if f" {host_addr}/" not in used and f" {ns_addr}/" not in used:
                break
        else:  # pragma: no cover - 32,768 subnets
            raise RuntimeError("no free /30 in 198.18.0.0/15")
        host_if = f"dhl{self.suffix}{side}"
        ns = self.ns[side]
        self.ip("link", "add", host_if, "type", "veth", "peer", "name", "mgmt0", "netns", ns)
        self.ip("addr", "add", f"{host_addr}/30", "dev", host_if)
        self.ip("link", "set", host_if, "up")
        self.ip("-n", ns, "addr", "add", f"{ns_addr}/30", "dev", "mgmt0")
        self.ip("-n", ns, "link", "set", "mgmt0", "up")
        self.host_links[side] = ns_addr
        return ns_addr

    def dhclient_lease(
        self, interface: str = "br0", *, name: str = "client", timeout: float = 60
    ) -> ipaddress.IPv4Address:
        """Run a real ``dhclient`` on ``interface`` of ns c (``-1``: one try, bounded by
        ``timeout``) and return the address it got; its leases file, pid file and log are
        ``<name>.leases``, ``<name>.pid`` and ``<name>.log`` in the workdir."""
        leases = self.workdir / f"{name}.leases"
        cmd = [require_binary("dhclient"), "-d", "-1", "-v", "-sf", "/bin/true"]
        cmd += ["-lf", str(leases), "-pf", str(self.workdir / f"{name}.pid"), interface]
        client = self.start("c", cmd, f"{name}.log")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if leases.exists():
                found = re.findall(r"fixed-address (\d+\.\d+\.\d+\.\d+);", leases.read_text())
                if found:
                    return ipaddress.IPv4Address(found[-1])
            assert client.poll() is None, f"dhclient gave up:\n{log_tail(self, f'{name}.log')}"
            time.sleep(0.25)
        raise AssertionError(f"no lease within {timeout} s:\n{log_tail(self, f'{name}.log')}")

    def omapi_state(self, side: str, port: int, peer_name: str) -> dict:
        """The failover state of the dhcpd in ``side``, read over OMAPI from inside its
        namespace (``python -m failover.dhcpd.omapi``, no key), or ``{"error": …}``."""
        result = subprocess.run(
            self.exec(
                side,
                sys.executable,
                "-m",
                "failover.dhcpd.omapi",
                "127.0.0.1",
                str(port),
                peer_name,
            ),
            capture_output=True,
            text=True,
            timeout=15,
            cwd=REPO,
        )
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            return {"error": result.stdout + result.stderr}

    def close(self) -> None:
        for proc, log in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # its own session: only what we started
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            log.close()
        for ns in reversed(self.created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)
        self.created.clear()
        for side in self.host_links:  # gone with the namespace; make sure
            subprocess.run(
                ["ip", "link", "del", f"dhl{self.suffix}{side}"], capture_output=True, timeout=20
            )
        self.host_links.clear()


@contextlib.contextmanager
def netns_lab(workdir: Path, binaries: tuple[str, ...] = ("ip",)) -> Iterator[Lab]:
    """A built lab (the topology above), closed and checked for leftovers afterwards."""
    require(os.geteuid() == 0, "root (for ip netns)")
    for name in ("ip", *binaries):
        require_binary(name)
    lab = Lab(workdir)
    try:
        lab.build()
    except subprocess.CalledProcessError as exc:
        lab.close()
        require(False, f"network namespaces ({exc.stderr.decode(errors='replace').strip()})")
    try:
        yield lab
    finally:
        lab.close()
        leftovers = subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, timeout=20
        ).stdout
        assert not any(ns in leftovers for ns in lab.ns.values())
        links = subprocess.run(
            ["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=20
        ).stdout
        assert f"dhl{lab.suffix}" not in links


def log_tail(lab: Lab, name: str) -> str:
    path = lab.workdir / name
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""
