"""The running pair of the live-state tests: a failover pair built through the services with
OMAPI keys, rendered from the model, both dhcpd running in the network-namespace lab, their
OMAPI reachable from the test process (and its worker subprocesses) through
``lab.link_host``.

``running_pair`` yields a :class:`RunningPair`: ``.a``/``.b`` the servers (primary,
secondary), ``.lab``, ``.peer_name``, ``.stop(side)``/``.start(side)`` and
``.wait_for(side, predicate)``. Every wait is bounded; the lab removes every namespace and
process afterwards, also when the test fails.
"""

from __future__ import annotations

import base64
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from failover import services
from failover.dhcpd.check import check_config
from failover.dhcpd.render import render_server
from failover.live.omapi import Reading, read_peer
from failover.models import DhcpServer
from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair
from tests.netns import Lab, log_tail, netns_lab

OMAPI_PORT = 7911
PEER_NAME = "fo-pair"
KEY_NAME = "dhcpadmin-omapi"
MCLT = 10  # short, so recover -> normal takes seconds
START_WAIT = 20  # seconds until dhcpd answers OMAPI after a start
STATE_WAIT = 90  # seconds until a state is reached


def new_secret() -> str:
    return base64.b64encode(os.urandom(16)).decode("ascii")


@dataclass
class RunningPair:
    lab: Lab
    a: DhcpServer
    b: DhcpServer
    dhcpd: str
    peer_name: str = PEER_NAME
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    def server(self, side: str) -> DhcpServer:
        return self.a if side == "a" else self.b

    def start(self, side: str) -> None:
        """Render the side's config from the model (again) and start its dhcpd; returns when
        its OMAPI answers (bounded)."""
        server = self.server(side)
        server.refresh_from_db()
        text = render_server(server)
        workdir = self.lab.workdir
        conf = workdir / f"{side}.conf"
        conf.write_text(text)
        conf.chmod(0o600)
        leases = workdir / f"{side}.leases"
        leases.touch()
        cmd = [self.dhcpd, "-f", "-d", "-4", "-cf", str(conf), "-lf", str(leases)]
        cmd += ["-pf", str(workdir / f"{side}.pid"), "lan0"]
        self.procs[side] = self.lab.start(side, cmd, f"dhcpd-{side}.log")
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline:
            assert self.procs[side].poll() is None, (
                f"dhcpd {side} exited:\n{log_tail(self.lab, f'dhcpd-{side}.log')}"
            )
            if read_peer(server, self.peer_name, timeout=2).ok:
                return
            time.sleep(0.3)
        raise AssertionError(f"dhcpd {side} did not answer OMAPI in {START_WAIT} s")

    def stop(self, side: str) -> None:
        """Stop the side's dhcpd (SIGTERM, bounded)."""
        proc = self.procs.pop(side)
        if proc.poll() is None:
            proc.terminate()  # ip netns exec execs dhcpd: this is dhcpd itself
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def read(self, side: str) -> Reading:
        return read_peer(self.server(side), self.peer_name, timeout=3)

    def wait_for(
        self, side: str, predicate: Callable[[Reading], bool], timeout: float = STATE_WAIT
    ) -> Reading:
        """Poll the side over OMAPI until ``predicate(reading)`` (bounded; returns the last
        reading, the caller asserts)."""
        deadline = time.monotonic() + timeout
        reading = self.read(side)
        while not predicate(reading) and time.monotonic() < deadline:
            time.sleep(0.5)
            reading = self.read(side)
        return reading

    def log(self, side: str) -> str:
        return log_tail(self.lab, f"dhcpd-{side}.log")


def state_is(name: str) -> Callable[[Reading], bool]:
    return lambda r: r.ok and r.values.get("local-state-name") == name


def make_pair(lab: Lab, *, mclt: int = MCLT) -> tuple[DhcpServer, DhcpServer]:
    """The pair through the services: failover addresses in the lab, OMAPI at the lab's
    host links, one key per server."""
    a, b = build_pair(
        a_address="10.99.0.1",
        b_address="10.99.0.2",
        networks=("10.99.1.0/24", "10.99.2.0/24"),
        mclt=mclt,
        omapi_port=OMAPI_PORT,
    )
    for side, server in (("a", a), ("b", b)):
        services.server_update(
            server=server,
            omapi_host=lab.link_host(side),
            omapi_key_name=KEY_NAME,
            omapi_key_secret=new_secret(),
        )
    return a, b


@pytest.fixture
def pair_lab(tmp_path: Path) -> Iterator[Lab]:
    with netns_lab(tmp_path, ("dhcpd",)) as lab:
        yield lab


@pytest.fixture
def running_pair(pair_lab: Lab, transactional_db) -> Iterator[RunningPair]:
    """Both dhcpd of a keyed pair running (not yet necessarily `normal`: use
    ``wait_for(side, state_is("normal"))``). Uses ``transactional_db`` so worker
    subprocesses see the rows."""
    dhcpd = require_binary("dhcpd")
    a, b = make_pair(pair_lab)
    for server in (a, b):
        text = render_server(server)
        assert f"omapi-key {KEY_NAME};" in text
        assert check_config(text, dhcpd_path=dhcpd).ok
    pair = RunningPair(lab=pair_lab, a=a, b=b, dhcpd=dhcpd)
    pair.start("b")
    pair.start("a")
    yield pair
