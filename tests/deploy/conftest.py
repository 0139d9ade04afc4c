"""Real servers for the deploy tests: in a ``tests/netns.py`` lab, each server namespace (a,
b) runs a real OpenSSH server (its own host key, the test's authorized key, reachable from
the test's namespace at ``lab.link_host(side)``) and a real dhcpd started from the config
path by a small restart script of the test (the servers' restart command).

``ssh_pair`` yields an :class:`SshPair`: ``.a``/``.b`` (DhcpServer with ``ssh`` set and the
host key pinned; ``omapi_host`` = the link address), ``.lab``, ``.side(name)`` with the paths,
helpers to read/write files on a server (the namespaces share the file system, so the
test reads them directly), to start/stop/restart dhcpd, change the host key, make the next
restarts fail. Every wait is bounded; everything is stopped and removed afterwards, also
when the test fails (every process left in the lab's namespaces is killed by its id).

``make_ssh_pair(tmp_path, ...)`` is the factory for tests that need other settings
(config directories, no dhcpd at the start, a config text of their own).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from failover.deploy.models import SshTarget
from failover.dhcpd.render import render_server
from failover.models import DhcpServer
from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair
from tests.netns import Lab, log_tail, netns_lab

REPO = Path(__file__).resolve().parents[2]
SSH_PORT = 2222
OMAPI_PORT = 7911
PEER_NAME = "fo-pair"
NETWORKS = ("10.99.1.0/24", "10.99.2.0/24")
WAIT = 20  # seconds for sshd to listen, dhcpd to start or stop
NORMAL_WAIT = 60  # seconds for the pair to reach normal

RESTART_SCRIPT = """#!/bin/sh
# Made by the test: restarts the dhcpd of server {side} (its restart command).
PIDFILE={pid}
FAILS={fails}
if [ -s "$PIDFILE" ]; then
  pid=$(cat "$PIDFILE")
  if grep -q dhcpd "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    i=0
    while kill -0 "$pid" 2>/dev/null; do
      i=$((i+1))
      [ "$i" -eq 100 ] && kill -9 "$pid" 2>/dev/null
      [ "$i" -gt 150 ] && echo "dhcpd $pid does not stop" >&2 && exit 1
      sleep 0.1
    done
  fi
  rm -f "$PIDFILE"
fi
if [ -s "$FAILS" ]; then
  n=$(cat "$FAILS")
  if [ "$n" -gt 0 ]; then
    echo $((n-1)) > "$FAILS"
    echo "restart made to fail by the test: dhcpd not started" >&2
    exit 1
  fi
fi
exec {dhcpd} -4 -q -cf {conf} -lf {leases} -pf "$PIDFILE" lan0
"""

STATUS_SCRIPT = """#!/bin/sh
# Made by the test: exits 0 when the dhcpd of server {side} runs (its status command).
PIDFILE={pid}
[ -s "$PIDFILE" ] || {{ echo "no pid file: dhcpd is not running" >&2; exit 3; }}
pid=$(cat "$PIDFILE")
if ! grep -q dhcpd "/proc/$pid/cmdline" 2>/dev/null; then
  echo "dhcpd $pid is not running" >&2
  exit 3
fi
echo active
"""

SSHD_CONFIG = """ListenAddress {address}
Port {port}
HostKey {host_key}
PidFile {pid}
AuthorizedKeysFile {authorized}
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
Subsystem sftp internal-sftp
LogLevel VERBOSE
"""


@dataclass
class Side:
    name: str
    dir: Path
    host: str  # where the test's namespace reaches the namespace (link_host)
    config_path: Path
    leases_path: Path
    pid_path: Path
    restart_script: Path
    status_script: Path
    fails_path: Path
    host_key_path: Path
    sshd_config: Path
    sshd: subprocess.Popen | None = None


def _wait(predicate: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} (waited {timeout} s)")


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def public_key(path: Path) -> tuple[str, str]:
    """(type, base64) of an OpenSSH ``.pub`` file."""
    key_type, key = path.read_text().split()[:2]
    return key_type, key


class SshPair:
    """A failover pair whose servers run sshd + dhcpd in the lab."""

    def __init__(self, lab: Lab, a: DhcpServer, b: DhcpServer, client_key: Path):
        self.lab = lab
        self.a = a
        self.b = b
        self.client_key = client_key
        self.peer_name = PEER_NAME
        self.omapi_port = OMAPI_PORT
        self.sides: dict[str, Side] = {}
        self.dhcpd = require_binary("dhcpd")
        self.sshd = require_binary("sshd")
        self.keygen = require_binary("ssh-keygen")

    def server(self, side: str) -> DhcpServer:
        return {"a": self.a, "b": self.b}[side]

    def side(self, side: str) -> Side:
        return self.sides[side]

    # --- files on the servers (the namespaces share the file system) ---
    def read(self, side: str, path: str | Path | None = None) -> bytes:
        return Path(path or self.sides[side].config_path).read_bytes()

    def write(self, side: str, data: bytes, path: str | Path | None = None) -> None:
        Path(path or self.sides[side].config_path).write_bytes(data)

    # --- sshd ---
    def _keygen(self, path: Path) -> None:
        for old in (path, path.with_suffix(".pub")):
            old.unlink(missing_ok=True)
        subprocess.run(
            [self.keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
            check=True,
            capture_output=True,
            timeout=WAIT,
        )

    def start_sshd(self, side: str) -> None:
        s = self.sides[side]
        s.sshd = self.lab.start(
            side, [self.sshd, "-D", "-e", "-f", str(s.sshd_config)], f"sshd-{side}.log"
        )
        _wait(
            lambda: _listening(s.host, SSH_PORT) or s.sshd.poll() is not None,  # type: ignore[union-attr]
            f"sshd {side} does not listen",
        )
        assert s.sshd.poll() is None, (
            f"sshd {side} exited:\n{log_tail(self.lab, f'sshd-{side}.log')}"
        )

    def stop_sshd(self, side: str) -> None:
        s = self.sides[side]
        if s.sshd is not None and s.sshd.poll() is None:
            os.killpg(s.sshd.pid, signal.SIGTERM)
            s.sshd.wait(timeout=WAIT)
        s.sshd = None

    def host_key(self, side: str) -> tuple[str, str]:
        return public_key(self.sides[side].host_key_path.with_suffix(".pub"))

    def change_host_key(self, side: str) -> tuple[str, str]:
        """A new host key for the server's sshd (restarted); returns (type, base64)."""
        self.stop_sshd(side)
        self._keygen(self.sides[side].host_key_path)
        self.start_sshd(side)
        return self.host_key(side)

    # --- dhcpd ---
    def restart(self, side: str) -> subprocess.CompletedProcess:
        """Run the server's restart script inside its namespace (as the deploy would)."""
        return subprocess.run(
            self.lab.exec(side, "sh", str(self.sides[side].restart_script)),
            capture_output=True,
            text=True,
            timeout=WAIT + 10,
        )

    def dhcpd_pid(self, side: str) -> int | None:
        try:
            pid = int(self.sides[side].pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        return pid if b"dhcpd" in cmdline else None

    def dhcpd_running(self, side: str) -> bool:
        return self.dhcpd_pid(side) is not None

    def start_dhcpd(self, side: str, text: str | None = None) -> None:
        """Write ``text`` (default: the rendered config) to the config path and restart."""
        if text is None:
            text = render_server(self.server(side))
        self.write(side, text.encode())
        result = self.restart(side)
        assert result.returncode == 0, f"dhcpd {side} did not start:\n{result.stderr}"
        _wait(lambda: self.dhcpd_running(side), f"dhcpd {side} does not run")

    def stop_dhcpd(self, side: str) -> None:
        pid = self.dhcpd_pid(side)
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            _wait(lambda: not Path(f"/proc/{pid}").exists(), f"dhcpd {side} does not stop")

    def fail_restarts(self, side: str, count: int = 1) -> None:
        """The next ``count`` restarts stop dhcpd and fail without starting it again."""
        self.sides[side].fails_path.write_text(f"{count}\n")

    # --- failover state (OMAPI from inside the namespace, as tests/dhcpd/test_pair_netns) ---
    def omapi_state(self, side: str) -> dict:
        return self.lab.omapi_state(side, OMAPI_PORT, PEER_NAME)

    def wait_normal(self, timeout: float = NORMAL_WAIT) -> dict[str, dict]:
        states: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = {side: self.omapi_state(side) for side in ("a", "b")}
            if all(s.get("local-state-name") == "normal" for s in states.values()):
                return states
            time.sleep(1)
        raise AssertionError(f"the pair is not normal after {timeout} s: {states}")

    def kill_namespace_processes(self) -> None:
        """Every process left in the lab's namespaces (daemonized dhcpd, sshd sessions):
        all of them were started by this test; killed by their ids."""
        for ns in self.lab.ns.values():
            out = subprocess.run(
                ["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=WAIT
            ).stdout
            pids = [int(p) for p in out.split() if p.isdigit()]
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while pids and time.monotonic() < deadline:
                pids = [p for p in pids if _running(p)]
                time.sleep(0.1)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """The process exists and has not ended (a zombie — ended, not yet reaped by the process
    that started it, e.g. this test's Popen — counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _prepare_side(pair: SshPair, side: str, config_dir: Path | None) -> Side:
    lab = pair.lab
    base = lab.workdir / f"server-{side}"
    base.mkdir(parents=True, exist_ok=True)
    conf_dir = config_dir or (base / "etc")
    conf_dir.mkdir(parents=True, exist_ok=True)
    host = lab.link_host(side)
    s = Side(
        name=side,
        dir=base,
        host=host,
        config_path=conf_dir / "dhcpd.conf",
        leases_path=base / "dhcpd.leases",
        pid_path=base / "dhcpd.pid",
        restart_script=base / "restart-dhcpd.sh",
        status_script=base / "status-dhcpd.sh",
        fails_path=base / "restart-fails",
        host_key_path=base / "ssh_host_ed25519_key",
        sshd_config=base / "sshd_config",
    )
    s.leases_path.touch()
    s.restart_script.write_text(
        RESTART_SCRIPT.format(
            side=side,
            pid=shlex.quote(str(s.pid_path)),
            fails=shlex.quote(str(s.fails_path)),
            dhcpd=shlex.quote(pair.dhcpd),
            conf=shlex.quote(str(s.config_path)),
            leases=shlex.quote(str(s.leases_path)),
        )
    )
    s.restart_script.chmod(0o755)
    s.status_script.write_text(STATUS_SCRIPT.format(side=side, pid=shlex.quote(str(s.pid_path))))
    s.status_script.chmod(0o755)
    pair._keygen(s.host_key_path)
    s.sshd_config.write_text(
        SSHD_CONFIG.format(
            address=host,
            port=SSH_PORT,
            host_key=s.host_key_path,
            pid=base / "sshd.pid",
            authorized=lab.workdir / "authorized_keys",
        )
    )
    pair.sides[side] = s
    return s


@contextlib.contextmanager
def make_ssh_pair(
    workdir: Path,
    *,
    config_dirs: dict[str, Path] | None = None,
    start_dhcpd: bool = True,
    pin_host_keys: bool = True,
) -> Iterator[SshPair]:
    """The lab, the pair in the model (through the services), sshd on both servers, dhcpd
    with the rendered configs (``start_dhcpd``), SshTarget set (server a: the key stored
    encrypted; server b: a key file) with the host keys pinned (``pin_host_keys``)."""
    with netns_lab(workdir, ("dhcpd", "sshd", "ssh-keygen")) as lab:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        a, b = build_pair(
            a_address="10.99.0.1",
            b_address="10.99.0.2",
            networks=NETWORKS,
            mclt=60,
            omapi_port=OMAPI_PORT,
        )
        client_key = workdir / "client_ed25519"
        pair = SshPair(lab, a, b, client_key)
        try:
            pair._keygen(client_key)
            (workdir / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
            for side, server in (("a", a), ("b", b)):
                s = _prepare_side(pair, side, (config_dirs or {}).get(side))
                DhcpServer.objects.filter(pk=server.pk).update(omapi_host=s.host)
                server.omapi_host = s.host
                key_type, key = pair.host_key(side) if pin_host_keys else ("", "")
                target = SshTarget(
                    server=server,
                    host=s.host,
                    port=SSH_PORT,
                    user="root",
                    config_path=str(s.config_path),
                    leases_path=str(s.leases_path),
                    check_command="dhcpd -t -cf {file}",
                    restart_command=f"sh {shlex.quote(str(s.restart_script))}",
                    status_command=f"sh {shlex.quote(str(s.status_script))}",
                    host_key_type=key_type,
                    host_key=key,
                )
                if side == "a":
                    target.key_secret = client_key.read_text()
                else:
                    target.key_path = str(client_key)
                target.full_clean()
                target.save()
                pair.start_sshd(side)
            if start_dhcpd:
                for side in ("a", "b"):
                    pair.start_dhcpd(side)
            for server in (a, b):
                server.refresh_from_db()
            yield pair
        finally:
            pair.kill_namespace_processes()


@pytest.fixture
def ssh_pair(tmp_path, db) -> Iterator[SshPair]:
    with make_ssh_pair(tmp_path) as pair:
        yield pair
