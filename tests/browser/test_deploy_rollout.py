"""Browser: Deploy on a server with real servers behind it (sshd + dhcpd in network
namespaces): the preview with its diff, the deploy with its progress updating in place
(htmx polling), the history, and Roll back to the first version."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from failover import services
from failover.deploy.rollout_models import Deployment
from failover.models import Scope
from tests.deploy.conftest import make_ssh_pair
from tests.deploy.rollout_helpers import BackgroundWorker

pytestmark = [pytest.mark.netns, pytest.mark.dhcpd]

WAIT_MS = 120_000


@pytest.fixture
def pair(tmp_path, transactional_db):
    with make_ssh_pair(tmp_path) as pair:
        yield pair


def _set_domain(server, name: str) -> None:
    for scope in Scope.objects.filter(server=server):
        services.scope_update(scope=scope, domain_name=name)


def _deploy_from_preview(page) -> None:
    page.locator("#deploy-submit").click()
    expect(page.get_by_test_id("deploy-progress")).to_be_visible()
    expect(page.get_by_test_id("rollout-status")).to_contain_text("succeeded", timeout=WAIT_MS)


def test_preview_deploy_progress_history_rollback(logged_in_page, live_url, pair):
    page = logged_in_page
    b = pair.b
    worker = BackgroundWorker()  # the real db_worker process
    worker.start()
    try:
        _set_domain(b, "first.example")
        page.goto(f"{live_url}/servers/{b.pk}/")
        page.locator("#deploy-server").click()
        expect(page.get_by_role("heading", name="Deploy to dhcp-b")).to_be_visible()
        plan = page.get_by_test_id("deploy-plan-dhcp-b")
        expect(plan.get_by_test_id("deploy-check-dhcp-b")).to_have_text(
            "dhcpd -t accepts this configuration."
        )
        expect(plan.get_by_test_id("deploy-diff")).to_contain_text("live file")
        expect(plan.locator(".deploy-diff .add")).to_contain_text(['"first.example"'])
        _deploy_from_preview(page)
        # the steps appeared in place, without reloading the page
        for step in ("connect", "upload", "check", "backup", "replace", "restart", "verify"):
            expect(page.get_by_test_id(f"step-dhcp-b-{step}")).to_have_attribute(
                "data-status", "ok"
            )
        first = Deployment.objects.get()
        assert pair.read("b") == first.text.encode()

        # a second version, then the history, then Roll back to the first
        _set_domain(b, "second.example")
        page.goto(f"{live_url}/servers/{b.pk}/deploy/")
        _deploy_from_preview(page)
        assert b"second.example" in pair.read("b")
        page.get_by_role("link", name=re.compile("Deploy history of dhcp-b")).click()
        history = page.get_by_test_id("deploy-history")
        expect(history.locator("tbody tr")).to_have_count(2)
        expect(history).to_contain_text("succeeded")
        page.get_by_test_id(f"rollback-{first.pk}").click()
        expect(page.get_by_role("heading", name=f"Roll back dhcp-b to deployment #{first.pk}"))
        expect(page.locator(".deploy-diff .del")).to_contain_text(['"second.example"'])
        expect(page.locator("#deploy-submit")).to_have_text("Roll back")
        _deploy_from_preview(page)
        assert pair.read("b") == first.text.encode()
        assert pair.dhcpd_running("b")
        page.get_by_role("link", name="diff and details").click()
        expect(page.get_by_test_id("deployment-status")).to_have_text("succeeded")
        expect(page.locator("dl")).to_contain_text(f"roll back to #{first.pk}")
    finally:
        worker.stop()
