"""Test Connection, host keys and live drift against real servers: sshd + dhcpd in each server
namespace of the lab (tests/deploy/conftest.py), through the pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from failover.deploy import services, ssh
from failover.deploy.models import SshTarget
from failover.models import ChangeRecord, Scope
from tests.conftest import PASSWORD
from tests.deploy.conftest import make_ssh_pair

pytestmark = [pytest.mark.netns, pytest.mark.dhcpd, pytest.mark.django_db]


@pytest.fixture
def admin_client(client, db):
    user = User.objects.create_user("admin-ops", password=PASSWORD)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="failover"))
    client.force_login(user)
    return client


def checks_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-testid="check-([a-z-]+)" data-state="(\w+)"', html))


def test_test_connection_all_green(ssh_pair, admin_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(9):
        response = admin_client.post(
            reverse("failover:ssh_test", args=[ssh_pair.a.pk]), HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert response.status_code == 200
    assert checks_of(html) == {
        "ssh": "ok",
        "config-readable": "ok",
        "check-command": "ok",
        "leases-readable": "ok",
        "omapi-reachable": "ok",
    }, html
    assert "dhcpd -t -cf" in html and "exit 0" in html
    # server b authenticates with a key file instead of a stored key
    report = services.connection_report(ssh_pair.b)
    assert [c.state for c in report.checks] == ["ok"] * 5, report.checks


def test_first_connection_shows_the_fingerprint_and_pins_only_when_accepted(tmp_path, admin_client):
    with make_ssh_pair(tmp_path, start_dhcpd=False, pin_host_keys=False) as pair:
        server = pair.a
        _, key = pair.host_key("a")
        shown = ssh.fingerprint(key)
        html = admin_client.post(
            reverse("failover:ssh_test", args=[server.pk]), HTTP_HX_REQUEST="true"
        ).content.decode()
        assert checks_of(html)["ssh"] == "failed"
        assert "not accepted yet" in html and shown in html
        target = SshTarget.objects.get(server=server)
        assert target.host_key == "" and target.offered_key == key  # not pinned yet
        # nothing works until it is accepted (no credential was sent either)
        with pytest.raises(ssh.HostKeyRefused):
            ssh.connect(target)
        page = admin_client.get(reverse("failover:ssh_host_key", args=[server.pk]))
        assert shown in page.content.decode()
        answer = admin_client.post(
            reverse("failover:ssh_host_key", args=[server.pk]), {"fingerprint": shown}
        )
        assert answer.status_code == 302
        target.refresh_from_db()
        assert (target.host_key, target.offered_key) == (key, "")
        assert ChangeRecord.objects.filter(action="host key accept", summary__contains=shown)
        report = services.connection_report(server)
        assert report.checks[0].ok, report.checks
        # no config was put there in this test: said, not a crash
        assert report.checks[1].ok is False and "does not exist" in report.checks[1].detail


def test_changed_host_key_refuses_every_operation_until_accepted(ssh_pair, admin_client):
    server = ssh_pair.b
    old_fp = SshTarget.objects.get(server=server).host_key_fingerprint
    _, new_key = ssh_pair.change_host_key("b")
    new_fp = ssh.fingerprint(new_key)
    html = admin_client.post(
        reverse("failover:ssh_test", args=[server.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert checks_of(html)["ssh"] == "failed"
    assert "has CHANGED" in html and new_fp in html and old_fp in html
    assert checks_of(html)["config-readable"] == "skipped"
    live = admin_client.get(reverse("failover:live_config", args=[server.pk])).content.decode()
    assert "has CHANGED" in live and 'data-testid="live-error"' in live
    assert services.drift_check(server).drift_status == "unreachable"
    assert services.pool_balance(server).files[0].error.startswith("The host key")
    # accepting with a fingerprint other than the offered one changes nothing
    target = SshTarget.objects.get(server=server)
    wrong = admin_client.post(
        reverse("failover:ssh_host_key", args=[server.pk]), {"fingerprint": old_fp}
    )
    assert wrong.status_code == 409 and "now offers another key" in wrong.content.decode()
    target.refresh_from_db()
    assert target.host_key_fingerprint == old_fp
    # an operator who may deploy but not change servers cannot accept it
    operator = User.objects.create_user("operator", password=PASSWORD)
    operator.user_permissions.set(
        Permission.objects.filter(codename__in=["deploy_server", "view_dhcpserver"])
    )
    admin_client.force_login(operator)
    url = reverse("failover:ssh_host_key", args=[server.pk])
    assert admin_client.post(url, {"fingerprint": new_fp}).status_code == 403
    operator.user_permissions.add(Permission.objects.get(codename="change_dhcpserver"))
    admin_client.force_login(User.objects.get(pk=operator.pk))
    assert admin_client.post(url, {"fingerprint": new_fp}).status_code == 302
    assert [c.state for c in services.connection_report(server).checks] == ["ok"] * 5


def test_drift_a_line_changed_by_hand_shows_and_adopting_imports_it(
    ssh_pair, admin_client, django_assert_max_num_queries
):
    server = ssh_pair.a
    url = reverse("failover:live_config", args=[server.pk])
    html = admin_client.get(url).content.decode()
    assert 'data-testid="live-same"' in html, html
    # by hand, on the server: another lease time in one subnet
    text = ssh_pair.read("a").decode()
    changed = text.replace("default-lease-time 600;", "default-lease-time 900;", 1)
    assert changed != text
    ssh_pair.write("a", changed.encode())
    with django_assert_max_num_queries(14):  # the page's cost: not the size of the file
        html = admin_client.get(url).content.decode()
    assert 'data-testid="live-differs"' in html
    diff = html[html.index('id="live-diff"') :]
    assert re.search(r'class="del">-\s+default-lease-time 900;<', diff), diff[:3000]
    assert re.search(r'class="add">\+\s+default-lease-time 600;<', diff), diff[:3000]
    assert 'data-testid="meaning-subnets"' in html and "10.99.1.0/24" in html
    assert re.search(r'data-testid="live-only">default-lease-time 900;\n<', html)
    assert re.search(r'data-testid="rendered-only">default-lease-time 600;\n<', html)
    target = SshTarget.objects.get(server=server)
    assert target.drift_status in ("drift", "never deployed")
    if services.deployed(server) is None:  # no deploy history installed: judged by the text
        assert target.drift_status == "drift"
    listing = admin_client.get(reverse("failover:server_list")).content.decode()
    assert f">{target.drift_status}</span>" in listing
    # Adopt: the fetched text goes into the import flow (preview, then OK)
    fetched = re.search(
        r'<textarea name="text" hidden aria-hidden="true">\n(.*?)</textarea>', html, re.S
    )
    assert fetched is not None
    import html as html_lib

    text_sent = html_lib.unescape(fetched.group(1))
    assert text_sent == changed
    preview = admin_client.post(
        reverse("failover:server_import", args=[server.pk]), {"step": "preview", "text": text_sent}
    ).content.decode()
    assert "default-lease-time" in preview.lower() or "Default Lease Time" in preview
    form = dict(re.findall(r'name="(text|filename|fingerprint)" value="([^"]*)"', preview))
    confirm = admin_client.post(
        reverse("failover:server_import", args=[server.pk]),
        {
            "step": "confirm",
            "text": text_sent,
            "filename": form["filename"],
            "fingerprint": form["fingerprint"],
        },
    )
    assert confirm.status_code == 302, confirm.content.decode()[:3000]
    scope = Scope.objects.get(server=server, network="10.99.1.0/24")
    assert scope.default_lease_time == 900
    # the model now says what the server runs
    live = services.live_config(server)
    assert live.meaning == [], live.meaning
    services.drift_check(server)
    target.refresh_from_db()
    assert target.drift_status in ("in sync", "never deployed")
