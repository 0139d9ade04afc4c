"""Deploy a failover pair from the model to real servers (sshd + dhcpd in network
namespaces), through the real worker: both files are the rendered text, both dhcpd run, the
pair is normal, a real client gets a lease; the secondary is deployed first."""

from __future__ import annotations

import time

import pytest

from failover import services
from failover.deploy import rollout
from failover.deploy.models import SshTarget
from failover.deploy.rollout_models import Deployment, DeployStatus
from failover.dhcpd.render import render_server
from failover.models import ChangeRecord, Scope
from tests.deploy.conftest import make_ssh_pair
from tests.deploy.rollout_helpers import client_lease, make_operator, run_worker_batch

pytestmark = [pytest.mark.netns, pytest.mark.dhcpd]


@pytest.fixture
def operator(transactional_db):
    return make_operator()


def _change_both(pair) -> None:
    """A change of the model on both servers (so the deploy has something to put there)."""
    for server in (pair.a, pair.b):
        for scope in Scope.objects.filter(server=server):
            services.scope_update(scope=scope, domain_name="deployed.example")


def test_deploy_a_pair_from_the_model(ssh_pair, operator, settings):
    pair = ssh_pair
    pair.wait_normal()
    _change_both(pair)
    rendered = {side: render_server(pair.server(side)) for side in ("a", "b")}
    assert all(b"deployed.example" not in pair.read(side) for side in ("a", "b"))

    peer = pair.a.failover_peers.get()
    relationship, servers = rollout.relationship_servers(peer)
    assert [s.name for s in servers] == [pair.b.name, pair.a.name]  # the secondary first
    plan = rollout.deploy_plan(servers, relationship=relationship.name)
    for sp in plan.servers:
        assert sp.base_label == "live file", sp.base_note
        assert '+  option domain-name "deployed.example";' in sp.diff
        assert sp.check is not None and sp.check.ok, sp.check.output
        assert sp.findings == [] and sp.problems == []

    started = time.monotonic()
    ro = rollout.deploy_start(
        servers, actor=operator, relationship=relationship.name, token=plan.token
    )
    run_worker_batch()
    elapsed = time.monotonic() - started
    ro.refresh_from_db()
    deps = list(ro.deployments.order_by("position"))
    assert ro.status == DeployStatus.SUCCEEDED, [d.outcome for d in deps]
    assert [d.server_id for d in deps] == [pair.b.pk, pair.a.pk]

    # both files are exactly the rendered text, both dhcpd run, the pair is normal
    for side in ("a", "b"):
        assert pair.read(side) == rendered[side].encode()
        assert pair.dhcpd_running(side)
    states = pair.wait_normal(timeout=5)
    assert states["a"]["partner-state-name"] == "normal"

    # every step, in order, ok; the primary was touched only after the secondary was normal
    names = ["connect", "read", "upload", "check", "backup", "replace", "restart"]
    names += ["verify", "normal"]
    for dep in deps:
        steps = list(dep.steps.order_by("position"))
        assert [s.name for s in steps] == names, [(s.name, s.output) for s in steps]
        assert all(s.status == "ok" for s in steps), [(s.name, s.output) for s in steps]
        assert dep.backup_path and "deployed.example" in dep.diff
        assert dep.previous_sha256 and dep.text_sha256 == rollout.sha256(
            rendered["b" if dep.server_id == pair.b.pk else "a"]
        )
    first_normal = deps[0].steps.get(name="normal")
    assert "fo-pair: normal" in first_normal.output
    assert first_normal.finished_at <= deps[1].steps.get(name="connect").started_at

    # backups beside the config, named with the time; the old text is in it
    backup = deps[0].backup_path
    assert ".dhcpadmin-backup-" in backup
    assert b"deployed.example" not in pair.read("b", backup)

    # a real client gets a lease from the pool
    address = client_lease(pair.lab)
    assert str(address).startswith("10.99.1.")

    for server in (pair.a, pair.b):  # the server list's drift column, checked after the deploy
        assert SshTarget.objects.get(server=server).drift_status == "in sync"

    records = list(ChangeRecord.objects.filter(action__startswith="deploy_"))
    assert {r.action for r in records} == {"deploy_start", "deploy_done"}
    assert all(r.user_id == operator.pk for r in records)
    assert Deployment.objects.filter(status__in=["queued", "running"]).count() == 0
    print(f"\npair deploy end to end (enqueue to both normal): {elapsed:.1f} s")


def test_first_deploy_of_a_pair_that_runs_nothing_yet(tmp_path, operator):
    """No config on either server and no dhcpd: the secondary is deployed without waiting
    for a normal it cannot reach alone (a warning says so); the primary, the last server,
    waits for the pair to become normal."""
    with make_ssh_pair(tmp_path, start_dhcpd=False) as pair:
        assert not pair.side("a").config_path.exists() and not pair.dhcpd_running("b")
        peer = pair.a.failover_peers.get()
        relationship, servers = rollout.relationship_servers(peer)
        ro = rollout.deploy_start(servers, actor=operator, relationship=relationship.name)
        run_worker_batch()
        ro.refresh_from_db()
        first, second = ro.deployments.order_by("position")
        assert ro.status == DeployStatus.SUCCEEDED, [first.outcome, second.outcome]
        assert first.steps.get(name="read").output.startswith(
            f"{pair.side('b').config_path} does not exist yet."
        )
        assert first.steps.get(name="backup").status == "skipped"
        normal_b = first.steps.get(name="normal")
        assert normal_b.status == "warning" and "not required to be normal" in normal_b.output
        normal_a = second.steps.get(name="normal")
        assert normal_a.status == "ok" and "fo-pair: normal after" in normal_a.output
        for side in ("a", "b"):
            assert pair.read(side) == render_server(pair.server(side)).encode()
            assert pair.dhcpd_running(side)
        pair.wait_normal(timeout=5)
