"""The deploy pages without real servers: preview, refusals, start (queued for the worker),
progress, history, permissions and query counts. The servers are at documentation
addresses, which the SSH layer never contacts, so the preview says the live file could not
be read and diffs against the last deployed text."""

from __future__ import annotations

import pytest
from django.urls import reverse

from failover import services
from failover.deploy import rollout
from failover.deploy.models import SshTarget
from failover.deploy.rollout_models import Deployment, DeployStatus, DeployStep, Rollout
from failover.models import ChangeRecord
from tests.conftest import PRIMARY
from tests.dhcpd.conftest import build_pair

pytestmark = pytest.mark.django_db


def _ssh(server) -> SshTarget:
    return SshTarget.objects.create(
        server=server,
        key_secret="-----BEGIN OPENSSH PRIVATE KEY-----\nnot used\n",
        host_key_type="ssh-ed25519",
        host_key="AAAAC3NzaC1lZDI1NTE5AAAAIOv8z3nOqJqvS0b0yRkz6C4z3bX9bZf0bXr9m1mJ3m2h",
    )


@pytest.fixture
def pair(db):
    a, b = build_pair()
    _ssh(a)
    _ssh(b)
    return a, b


def test_server_preview_and_start(editor_client, pair, django_assert_max_num_queries):
    a, b = pair
    url = reverse("failover:deploy_server", args=[b.pk])
    response = editor_client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert "dhcpd -t accepts this configuration." in page
    assert "The pair check has no finding." in page
    assert "The live file could not be read" in page and "documentation address" in page
    assert "nothing (never deployed)" in page
    assert "+failover peer" in page.replace('"', "")  # the whole text is new
    token = response.context["plan"].token

    response = editor_client.post(url, {"token": token})
    ro = Rollout.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("failover:deploy_rollout", args=[ro.pk])
    dep = ro.deployments.get()
    assert (dep.server_id, dep.status, ro.status) == (b.pk, "queued", "queued")
    assert dep.text_sha256 == rollout.sha256(dep.text)
    assert ChangeRecord.objects.filter(action="deploy_start", summary__contains="dhcp-b").exists()
    from django_tasks_db.models import DBTaskResult

    task = DBTaskResult.objects.get()
    assert task.task_path == "failover.deploy.rollout.run_rollout" and task.args_kwargs["args"] == [
        ro.pk
    ]

    # a second deploy of the same server while the first is queued: refused, nothing saved
    response = editor_client.post(url, {"token": token})
    assert response.status_code == 409
    assert "a deploy is already queued" in response.content.decode()
    assert Rollout.objects.count() == 1

    # progress: the page and its polling part
    for step, name in enumerate(("connect", "read"), start=1):
        DeployStep.objects.create(
            deployment=dep, position=step, name=name, status="ok", started_at=dep.created
        )
    with django_assert_max_num_queries(8):
        response = editor_client.get(reverse("failover:deploy_rollout_progress", args=[ro.pk]))
    body = response.content.decode()
    assert 'hx-trigger="every 1s"' in body and 'data-testid="step-dhcp-b-read"' in body
    response = editor_client.get(reverse("failover:deploy_rollout", args=[ro.pk]))
    assert "waiting for the worker" in response.content.decode()


def test_relationship_preview_orders_the_secondary_first(editor_client, pair):
    a, b = pair
    peer = a.failover_peers.get()
    page = editor_client.get(reverse("failover:relationship_detail", args=[peer.pk]))
    assert reverse("failover:deploy_relationship", args=[peer.pk]) in page.content.decode()
    response = editor_client.get(reverse("failover:deploy_relationship", args=[peer.pk]))
    assert response.status_code == 200
    assert [s.server for s in response.context["plan"].servers] == [b, a]
    response = editor_client.post(
        reverse("failover:deploy_relationship", args=[peer.pk]),
        {"token": response.context["plan"].token},
    )
    ro = Rollout.objects.get()
    assert ro.relationship == peer.name
    assert [d.server_id for d in ro.deployments.order_by("position")] == [b.pk, a.pk]


def test_changed_configuration_since_the_preview_is_refused(editor_client, pair):
    a, b = pair
    url = reverse("failover:deploy_server", args=[b.pk])
    token = editor_client.get(url).context["plan"].token
    scope = b.scopes.first()
    services.scope_update(scope=scope, domain_name="changed.example")
    response = editor_client.post(url, {"token": token})
    assert response.status_code == 409
    assert "The configuration changed since the preview" in response.content.decode()
    assert not Rollout.objects.exists()


def test_findings_block_unless_a_reason_is_typed(editor_client, db):
    server = services.server_create(name="lonely", address="192.0.2.5")
    scope = services.scope_create(server=server, network="10.30.0.0/24")
    services.pool_create(scope=scope, first_address="10.30.0.10", last_address="10.30.0.20")
    services.peer_create(server=server, name="fo-nobody", **PRIMARY)  # partner not managed
    _ssh(server)
    url = reverse("failover:deploy_server", args=[server.pk])
    response = editor_client.get(url)
    assert response.context["plan"].blockers
    assert 'name="override_reason"' in response.content.decode()
    token = response.context["plan"].token
    response = editor_client.post(url, {"token": token})
    assert response.status_code == 409
    assert "Findings block this deploy" in response.content.decode()
    assert not Rollout.objects.exists()
    response = editor_client.post(url, {"token": token, "override_reason": "partner set up later"})
    assert response.status_code == 302
    ro = Rollout.objects.get()
    assert ro.override_reason == "partner set up later"
    record = ChangeRecord.objects.get(action="deploy_start")
    assert "findings overridden: partner set up later" in record.summary


def test_without_ssh_the_deploy_is_refused(editor_client, db):
    server = services.server_create(name="nossh", address="192.0.2.7")
    response = editor_client.get(reverse("failover:deploy_server", args=[server.pk]))
    assert "SSH is not configured" in response.content.decode()
    assert 'id="deploy-form"' not in response.content.decode()
    response = editor_client.post(reverse("failover:deploy_server", args=[server.pk]), {})
    assert response.status_code == 409 and not Rollout.objects.exists()


def test_viewer_sees_history_but_may_not_deploy(viewer_client, editor, pair):
    a, b = pair
    ro = rollout.deploy_start([b], actor=editor, enqueue=False)
    dep = ro.deployments.get()
    Deployment.objects.filter(pk=dep.pk).update(status=DeployStatus.SUCCEEDED, diff="+x\n-y\n")
    Rollout.objects.filter(pk=ro.pk).update(status=DeployStatus.SUCCEEDED)
    assert viewer_client.get(reverse("failover:deploy_server", args=[b.pk])).status_code == 403
    assert viewer_client.post(reverse("failover:deploy_server", args=[b.pk])).status_code == 403
    rollback = reverse("failover:deploy_rollback", args=[dep.pk])
    assert viewer_client.get(rollback).status_code == 403
    page = viewer_client.get(reverse("failover:deploy_history", args=[b.pk])).content.decode()
    assert f"#{dep.pk}" in page and "editor" in page and "Roll back" not in page
    detail = viewer_client.get(reverse("failover:deployment_detail", args=[dep.pk]))
    assert detail.status_code == 200 and "Roll back" not in detail.content.decode()
    server_page = viewer_client.get(reverse("failover:server_detail", args=[b.pk]))
    assert 'id="deploy-history"' in server_page.content.decode()
    assert 'id="deploy-server"' not in server_page.content.decode()


def test_history_query_count_does_not_grow(
    editor_client, editor, pair, django_assert_max_num_queries
):
    a, b = pair
    for _ in range(25):
        ro = rollout.deploy_start([b], actor=editor, enqueue=False)
        Deployment.objects.filter(rollout=ro).update(status=DeployStatus.SUCCEEDED)
        Rollout.objects.filter(pk=ro.pk).update(status=DeployStatus.SUCCEEDED)
    with django_assert_max_num_queries(8):
        response = editor_client.get(reverse("failover:deploy_history", args=[b.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('data-testid="history-') == 20
    assert response.content.decode().count("Roll back") == 20


def test_rollback_preview_and_start(editor_client, editor, pair):
    a, b = pair
    ro = rollout.deploy_start([b], actor=editor, enqueue=False)
    dep = ro.deployments.get()
    Deployment.objects.filter(pk=dep.pk).update(status=DeployStatus.SUCCEEDED)
    Rollout.objects.filter(pk=ro.pk).update(status=DeployStatus.SUCCEEDED)
    services.scope_update(scope=b.scopes.first(), domain_name="later.example")
    url = reverse("failover:deploy_rollback", args=[dep.pk])
    response = editor_client.get(url)
    assert response.status_code == 200
    assert f"Roll back dhcp-b to deployment #{dep.pk}" in response.content.decode()
    response = editor_client.post(url, {"token": response.context["plan"].token})
    assert response.status_code == 302
    again = Rollout.objects.get(kind="rollback")
    new = again.deployments.get()
    assert new.rollback_of_id == dep.pk and new.text == dep.text
    assert "later.example" not in new.text


def test_a_deploy_whose_worker_died_is_abandoned_at_the_next_start(editor, pair, settings):
    from datetime import timedelta

    from django.utils import timezone

    a, b = pair
    settings.DHCPADMIN_DEPLOY_STALE_SECONDS = 60
    old = rollout.deploy_start([b], actor=editor, enqueue=False)
    Deployment.objects.filter(rollout=old).update(
        status=DeployStatus.RUNNING, heartbeat=timezone.now() - timedelta(seconds=30)
    )
    with pytest.raises(rollout.DeployRefused):  # still alive: refused
        rollout.deploy_start([b], actor=editor, enqueue=False)
    Deployment.objects.filter(rollout=old).update(heartbeat=timezone.now() - timedelta(seconds=120))
    new = rollout.deploy_start([b], actor=editor, enqueue=False)
    dead = old.deployments.get()
    assert dead.status == DeployStatus.ABANDONED and "The worker stopped" in dead.outcome
    assert new.deployments.get().status == DeployStatus.QUEUED


def test_preview_queries_do_not_grow_with_history(
    editor_client, editor, pair, django_assert_max_num_queries
):
    a, b = pair
    url = reverse("failover:deploy_server", args=[b.pk])
    for _ in range(10):
        ro = rollout.deploy_start([b], actor=editor, enqueue=False)
        Deployment.objects.filter(rollout=ro).update(status=DeployStatus.SUCCEEDED)
    with django_assert_max_num_queries(20):
        response = editor_client.get(url)
    assert response.status_code == 200
    assert "last deployed version" in response.content.decode()
