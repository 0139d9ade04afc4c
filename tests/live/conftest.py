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
from tests.conftest import require_binary, shared_database_url
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


# --- the real background processes (db_worker and the scheduler) ------------------------

REPO = Path(__file__).resolve().parents[2]


class Processes:
    """Background processes of one test (each in its own session, stopped by its pid)."""

    def __init__(self, workdir: Path, env: dict[str, str]):
        self.workdir = workdir
        self.env = env
        self.procs: list[tuple[subprocess.Popen, object]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop_all
        proc = subprocess.Popen(
            [os.environ.get("PYTHON", str(REPO / ".venv/bin/python")), "manage.py", *args],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append((proc, log))
        return proc

    def worker(self, name: str = "worker") -> subprocess.Popen:
        return self.start(
            name, "db_worker", "--interval", "0.2", "--no-startup-delay", "--no-reload"
        )

    def scheduler(self, name: str = "scheduler") -> subprocess.Popen:
        return self.start(name, "run_scheduler", "--interval", "0.3")

    def alive(self) -> dict[str, bool]:
        """Each started process (by its log name): still running?"""
        return {
            Path(log.name).stem: proc.poll() is None  # type: ignore[attr-defined]
            for proc, log in self.procs
        }

    def stop_all(self) -> None:
        import signal

        for proc, log in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=10)
            log.close()  # type: ignore[attr-defined]
        self.procs.clear()

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture
def background(tmp_path, transactional_db, settings) -> Iterator[Processes]:
    """Start real ``db_worker`` / ``run_scheduler`` processes on the test database (polling
    every second); all stopped afterwards."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=shared_database_url(),
        SECRET_KEY=settings.SECRET_KEY,
        DHCPADMIN_ENCRYPTION_KEY=",".join(settings.DHCPADMIN_ENCRYPTION_KEYS),
        DHCPADMIN_POLL_SECONDS="1",
        DHCPADMIN_OMAPI_TIMEOUT="2",
        PYTHONUNBUFFERED="1",
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    procs = Processes(tmp_path, env)
    try:
        yield procs
    finally:
        procs.stop_all()
