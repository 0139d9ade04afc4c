"""Backups (the last N, named with the time, beside the config) and Roll back to an earlier
deployed version (a deploy of that text with the same steps), against a real server."""

from __future__ import annotations

import os

import pytest

from failover.deploy import rollout
from failover.deploy.rollout_models import DeployStatus
from failover.dhcpd.render import render_server
from failover.models import ChangeRecord
from tests.deploy.rollout_helpers import make_operator, run_worker_batch

pytestmark = [pytest.mark.netns, pytest.mark.dhcpd]


@pytest.fixture
def operator(transactional_db):
    return make_operator()


def test_last_n_backups_and_roll_back(ssh_pair, operator, settings):
    pair = ssh_pair
    settings.DHCPADMIN_DEPLOY_BACKUPS = 2
    original = pair.read("b")
    base = render_server(pair.b)
    deployments = []
    for version in ("v1", "v2", "v3"):
        ro = rollout.deploy_start(
            [pair.b], actor=operator, texts={pair.b.pk: f"{base}# {version}\n"}
        )
        run_worker_batch()
        ro.refresh_from_db()
        dep = ro.deployments.get()
        assert dep.status == DeployStatus.SUCCEEDED, dep.outcome
        deployments.append(dep)
    assert pair.read("b") == f"{base}# v3\n".encode()

    directory = pair.side("b").config_path.parent
    backups = sorted(n for n in os.listdir(directory) if rollout.BACKUP_MARK in n)
    assert len(backups) == 2  # the setting: the oldest (the original file) was removed
    assert [pair.read("b", directory / n) for n in backups] == [
        f"{base}# v1\n".encode(),
        f"{base}# v2\n".encode(),
    ]
    assert all(n.startswith("dhcpd.conf.dhcpadmin-backup-20") for n in backups)
    third_backup = deployments[2].steps.get(name="backup")
    assert "2 backup(s) kept; removed dhcpd.conf.dhcpadmin-backup-" in third_backup.output
    assert original != pair.read("b", directory / backups[0])

    # roll back to v1: a deploy of that text, with the same steps
    ro = rollout.rollback_start(deployments[0], actor=operator)
    run_worker_batch()
    ro.refresh_from_db()
    dep = ro.deployments.get()
    assert ro.kind == "rollback" and dep.rollback_of_id == deployments[0].pk
    assert dep.status == DeployStatus.SUCCEEDED, dep.outcome
    assert pair.read("b") == f"{base}# v1\n".encode()
    assert pair.dhcpd_running("b")
    assert [s.name for s in dep.steps.order_by("position")][2:7] == [
        "upload",
        "check",
        "backup",
        "replace",
        "restart",
    ]
    assert "-# v3" in dep.diff and "+# v1" in dep.diff
    assert ChangeRecord.objects.filter(action="rollback_done").count() == 1
    # only a deployed version can be rolled back to
    failed = rollout.deploy_start([pair.b], actor=operator, enqueue=False)
    with pytest.raises(rollout.DeployRefused):
        rollout.rollback_start(failed.deployments.get(), actor=operator)
