"""Proof with real daemons: a pair built through the domain functions reaches `normal`, and a
real DHCP client gets a lease from the pool.

Topology (three network namespaces with random names; nothing is connected to the host's
namespace, and no namespace has a default route, so no packet leaves them):

    ns A  fo0 10.99.0.1/24 ---- veth ---- fo0 10.99.0.2/24  ns B      (failover link)
          lan0 10.99.1.1/24                lan0 10.99.1.2/24
              |                                |
             veth                             veth
              |                                |
    ns C      pa ---------- br0 (bridge) ------ pb
                            dhclient runs on br0

Both dhcpd run in the foreground with the rendered configs (``omapi-port`` included), listen
on lan0 only, and are stopped by PID; the namespaces are deleted afterwards, also when the
test fails.
"""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path

import pytest

from failover.dhcpd.check import check_config
from failover.dhcpd.render import render_server
from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair
from tests.netns import log_tail, netns_lab

pytestmark = [pytest.mark.dhcpd, pytest.mark.netns, pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]
OMAPI_PORT = 7911
PEER_NAME = "fo-pair"
STATE_WAIT = 60  # seconds until both report normal
LEASE_WAIT = 60  # seconds until the client holds a lease


@pytest.fixture
def lab(tmp_path):
    with netns_lab(tmp_path, ("dhcpd", "dhclient")) as lab:
        yield lab


def test_pair_reaches_normal_and_serves_a_lease(lab):
    dhcpd = require_binary("dhcpd")
    a, b = build_pair(
        a_address="10.99.0.1",
        b_address="10.99.0.2",
        networks=("10.99.1.0/24", "10.99.2.0/24"),
        mclt=60,
        omapi_port=OMAPI_PORT,
    )
    pool = ipaddress.IPv4Address("10.99.1.100"), ipaddress.IPv4Address("10.99.1.150")
    procs = {}
    for side, server in (("a", a), ("b", b)):
        text = render_server(server)
        assert f"omapi-port {OMAPI_PORT};" in text
        assert check_config(text, dhcpd_path=dhcpd).ok
        conf = lab.workdir / f"{side}.conf"
        conf.write_text(text)
        leases = lab.workdir / f"{side}.leases"
        leases.touch()
        cmd = [dhcpd, "-f", "-d", "-4", "-cf", str(conf), "-lf", str(leases)]
        cmd += ["-pf", str(lab.workdir / f"{side}.pid"), "lan0"]
        procs[side] = lab.start(side, cmd, f"dhcpd-{side}.log")

    states: dict[str, dict] = {}
    deadline = time.monotonic() + STATE_WAIT
    while time.monotonic() < deadline:
        for side, proc in procs.items():
            assert proc.poll() is None, (
                f"dhcpd {side} exited:\n{log_tail(lab, f'dhcpd-{side}.log')}"
            )
        states = {side: lab.omapi_state(side, OMAPI_PORT, PEER_NAME) for side in ("a", "b")}
        if all(s.get("local-state-name") == "normal" for s in states.values()):
            break
        time.sleep(1)
    assert states["a"].get("local-state-name") == "normal", (states, log_tail(lab, "dhcpd-a.log"))
    assert states["b"].get("local-state-name") == "normal", (states, log_tail(lab, "dhcpd-b.log"))
    assert states["a"]["partner-state-name"] == states["b"]["partner-state-name"] == "normal"
    assert states["a"]["role"] == "primary" and states["b"]["role"] == "secondary"
    assert states["a"]["mclt"] == 60

    address = lab.dhclient_lease(timeout=LEASE_WAIT)
    assert pool[0] <= address <= pool[1]
