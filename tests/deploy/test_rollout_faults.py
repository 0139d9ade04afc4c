"""Faults during a deploy to real servers (sshd + dhcpd in network namespaces), run by the
real worker. Each leaves the live file byte-identical to what it was and dhcpd running; the
outcome names the failed step and server with the command's output.

- the server's check command rejects the file;
- the restart fails (dhcpd does not come back);
- the SSH connection drops during the upload (the server side of the session is killed);
- the disk is full (a small tmpfs mounted as the config directory inside the server's
  own mount namespace: sshd's, entered with nsenter; never on the host's paths);
- the pair does not return to normal in time (the failover link is down);
- a changed host key refuses the deploy;
- a second deploy during the first is refused.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from failover.deploy import rollout
from failover.deploy.rollout_models import ACTIVE, Deployment, DeployStatus
from failover.dhcpd.render import render_server
from tests.conftest import require, require_binary
from tests.deploy.conftest import make_ssh_pair
from tests.deploy.rollout_helpers import (
    BackgroundWorker,
    make_operator,
    run_worker_batch,
    wait_for,
)

pytestmark = [pytest.mark.netns, pytest.mark.dhcpd]


@pytest.fixture
def operator(transactional_db):
    return make_operator()


def _deploy(servers, operator, **kwargs):
    ro = rollout.deploy_start(servers, actor=operator, **kwargs)
    run_worker_batch()
    ro.refresh_from_db()
    return ro


def _only(ro) -> Deployment:
    return ro.deployments.get()


def _leftovers(path: str | Path) -> list[str]:
    directory = Path(path).parent
    return [n for n in os.listdir(directory) if rollout.TEMP_MARK in n]


def _assert_untouched(pair, side: str, before: bytes) -> None:
    assert pair.read(side) == before
    assert pair.dhcpd_running(side)
    assert _leftovers(pair.side(side).config_path) == []


def test_check_command_fails(ssh_pair, operator):
    pair = ssh_pair
    before = pair.read("b")
    bad = render_server(pair.b) + "\nmax-lease-time {;\n"
    plan = rollout.deploy_plan([pair.b], texts={pair.b.pk: bad})
    assert plan.blockers  # the local dhcpd -t sees it too: an operator must override
    with pytest.raises(rollout.DeployRefused):
        rollout.deploy_start([pair.b], actor=operator, texts={pair.b.pk: bad})
    ro = _deploy([pair.b], operator, texts={pair.b.pk: bad}, override_reason="test the guard")
    dep = _only(ro)
    assert ro.status == DeployStatus.FAILED and dep.status == DeployStatus.FAILED
    assert dep.failed_step == "check"
    assert "Step 'check' failed on dhcp-b" in dep.outcome
    assert "exit status 1" in dep.outcome and "line" in dep.outcome  # dhcpd's own words
    assert "The live file was not changed; dhcpd runs." in dep.outcome
    _assert_untouched(pair, "b", before)
    steps = [(s.name, s.status) for s in dep.steps.order_by("position")]
    assert steps[:4] == [("connect", "ok"), ("read", "ok"), ("upload", "ok"), ("check", "failed")]
    assert ("restore", "ok") in steps and ("replace", "ok") not in steps


def test_restart_fails(ssh_pair, operator, settings):
    pair = ssh_pair
    settings.DHCPADMIN_DEPLOY_VERIFY_SECONDS = 10
    before = pair.read("b")
    pair.fail_restarts("b", 1)  # the deploy's restart stops dhcpd and fails
    ro = _deploy([pair.b], operator, texts={pair.b.pk: render_server(pair.b) + "# new\n"})
    dep = _only(ro)
    assert dep.status == DeployStatus.FAILED and dep.failed_step == "restart"
    assert "restart made to fail by the test" in dep.outcome
    assert "The previous file was restored (byte-identical), dhcpd restarted and runs." in (
        dep.outcome
    )
    _assert_untouched(pair, "b", before)
    names = [s.name for s in dep.steps.order_by("position")]
    assert names[-3:] == ["restore", "restart", "verify"]
    pair.wait_normal()


def _kill_sessions(pair, side: str) -> int:
    """SIGKILL the per-connection processes of the side's sshd (its children): the
    connection drops as when the network or the server fails. Only processes of this
    test's sshd, by pid."""
    listener = pair.side(side).sshd.pid
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == listener and b"sshd" in cmdline:
            os.kill(int(entry.name), 9)
            killed += 1
    return killed


def test_ssh_connection_drops_during_upload(ssh_pair, operator):
    pair = ssh_pair
    before = pair.read("b")
    # 20 MB: the upload takes long enough to be cut in the middle
    big = render_server(pair.b) + ("# " + "x" * 98 + "\n") * 200_000
    directory = pair.side("b").config_path.parent
    killed: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            if any(rollout.TEMP_MARK in n for n in os.listdir(directory)):
                killed.append(_kill_sessions(pair, "b"))
                return
            time.sleep(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        ro = _deploy([pair.b], operator, texts={pair.b.pk: big})
    finally:
        stop.set()
        watcher.join(10)
    dep = _only(ro)
    assert killed and killed[0] >= 1
    assert dep.status == DeployStatus.FAILED and dep.failed_step == "upload", dep.outcome
    assert "The live file was not changed; dhcpd runs." in dep.outcome
    _assert_untouched(pair, "b", before)  # and the partial upload was removed


def _nsenter(pid: int, *cmd: str, input: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["nsenter", "-t", str(pid), "-m", *cmd],
        input=input,
        capture_output=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_disk_full(tmp_path, operator):
    require_binary("nsenter")
    conf_dir = tmp_path / "b-etc"
    with make_ssh_pair(tmp_path, config_dirs={"b": conf_dir}) as pair:
        sshd = pair.side("b").sshd.pid
        conf = str(pair.side("b").config_path)
        before = pair.read("b")
        host_ns = os.readlink("/proc/self/ns/mnt")
        require(os.readlink(f"/proc/{sshd}/ns/mnt") != host_ns, "sshd in its own mount namespace")
        # a 16 KiB tmpfs over the config directory, in sshd's mount namespace only
        _nsenter(sshd, "mount", "-t", "tmpfs", "-o", "size=16k", "dhcpadmin-test", str(conf_dir))
        try:
            _nsenter(sshd, "sh", "-c", 'cat > "$1"', "sh", conf, input=before)
            assert b"dhcpadmin-test" not in Path("/proc/self/mounts").read_bytes()
            assert before  # the host still sees its own file; the server sees the tmpfs
            new = render_server(pair.b) + ("# filler " + "y" * 90 + "\n") * 400  # > 16 KiB
            ro = _deploy([pair.b], operator, texts={pair.b.pk: new})
            dep = _only(ro)
            assert dep.status == DeployStatus.FAILED and dep.failed_step == "upload"
            assert "The live file was not changed; dhcpd runs." in dep.outcome
            inside = _nsenter(sshd, "cat", conf)
            assert inside == before  # byte-identical, seen from the server
            listing = _nsenter(sshd, "ls", "-a", str(conf_dir)).decode()
            assert rollout.TEMP_MARK not in listing
            assert pair.dhcpd_running("b")
        finally:
            subprocess.run(
                ["nsenter", "-t", str(sshd), "-m", "umount", str(conf_dir)],
                capture_output=True,
                timeout=20,
            )


def test_pair_does_not_return_to_normal_in_time(ssh_pair, operator, settings):
    pair = ssh_pair
    settings.DHCPADMIN_DEPLOY_NORMAL_SECONDS = 8
    pair.wait_normal()
    before = pair.read("b")
    lab = pair.lab
    # the failover link goes down; b still says normal (max-response-delay is 60 s)
    lab.ip("-n", lab.ns["a"], "link", "set", "fo0", "down")
    try:
        ro = _deploy([pair.b], operator, texts={pair.b.pk: render_server(pair.b) + "# v2\n"})
    finally:
        lab.ip("-n", lab.ns["a"], "link", "set", "fo0", "up")
    dep = _only(ro)
    read = dep.steps.get(name="read")
    assert "failover fo-pair: normal" in read.output
    assert dep.status == DeployStatus.FAILED and dep.failed_step == "normal", dep.outcome
    assert "not normal within 8 s" in dep.outcome
    assert "The previous file was restored (byte-identical), dhcpd restarted and runs." in (
        dep.outcome
    )
    _assert_untouched(pair, "b", before)
    pair.wait_normal(timeout=120)


def test_changed_host_key_refuses_the_deploy(ssh_pair, operator):
    pair = ssh_pair
    before = pair.read("b")
    pair.change_host_key("b")
    ro = _deploy([pair.b], operator, texts={pair.b.pk: render_server(pair.b) + "# v2\n"})
    dep = _only(ro)
    assert dep.status == DeployStatus.FAILED and dep.failed_step == "connect"
    assert "CHANGED" in dep.outcome and "Nothing was changed on the server." in dep.outcome
    _assert_untouched(pair, "b", before)
    # now the offered key is known: every further deploy is refused before it starts
    pair.b.refresh_from_db()
    with pytest.raises(rollout.DeployRefused) as info:
        rollout.deploy_start([pair.b], actor=operator)
    assert "host key has changed" in str(info.value)


def test_second_deploy_during_the_first_is_refused(ssh_pair, operator):
    pair = ssh_pair
    peer = pair.a.failover_peers.get()
    relationship, servers = rollout.relationship_servers(peer)
    first = rollout.deploy_start([pair.b], actor=operator)
    for again in ([pair.b], servers):
        with pytest.raises(rollout.DeployRefused) as info:
            rollout.deploy_start(again, actor=operator, relationship=relationship.name)
        assert "dhcp-b: a deploy is already queued" in str(info.value)
    assert Deployment.objects.count() == 1
    # while it runs (the real worker in the background), still refused
    worker = BackgroundWorker()
    worker.start()
    try:
        wait_for(
            lambda: (
                Deployment.objects.filter(status="running").exists()
                or not Deployment.objects.filter(status="queued").exists()
            ),
            "the worker takes the deploy",
        )
        if Deployment.objects.filter(status="running").exists():
            with pytest.raises(rollout.DeployRefused) as info:
                rollout.deploy_start(servers, actor=operator)
            assert "a deploy is already running" in str(info.value)
        # the rollout ends after its last deployment (and the drift check after it)
        wait_for(
            lambda: type(first).objects.get(pk=first.pk).status not in ACTIVE,
            "the deploy ends",
            timeout=300,
        )
    finally:
        worker.stop()
    first.refresh_from_db()
    assert first.status == DeployStatus.SUCCEEDED
    # once it is over, the next deploy is accepted
    second = rollout.deploy_start(servers, actor=operator, relationship=relationship.name)
    assert second.status == DeployStatus.QUEUED
    run_worker_batch()
    second.refresh_from_db()
    assert second.status == DeployStatus.SUCCEEDED


def test_two_deploys_at_the_same_moment_one_wins(ssh_pair, operator):
    """Two requests at once (two threads, two database connections): exactly one rollout
    is recorded, the other is refused (PostgreSQL: the partial unique index waits for the
    first transaction, then refuses; SQLite: the write lock serializes them)."""
    pair = ssh_pair
    results: list[object] = []
    barrier = threading.Barrier(2)

    def start() -> None:
        try:
            barrier.wait(10)
            results.append(rollout.deploy_start([pair.b, pair.a], actor=operator))
        except Exception as exc:  # noqa: BLE001 - collected
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    refused = [r for r in results if isinstance(r, rollout.DeployRefused)]
    started = [r for r in results if isinstance(r, rollout.Rollout)]
    assert len(started) == 1 and len(refused) == 1, results
    assert Deployment.objects.filter(status="queued").count() == 2
