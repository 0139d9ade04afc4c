"""The pages of the connection part without a real server: permissions, the SSH settings
dialog (write-only key), what a failed connection shows, the drift column of the server list
and its queries."""

from __future__ import annotations

import io
import socket

import paramiko
import pytest
from django.urls import reverse

from failover import services as core
from failover.deploy import services
from failover.deploy.models import SshTarget
from failover.models import ChangeRecord


@pytest.fixture
def private_key() -> str:
    out = io.StringIO()
    paramiko.RSAKey.generate(1024).write_private_key(out)
    return out.getvalue()


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once closed


PAGES = ("ssh_settings", "ssh_test", "ssh_host_key", "live_config", "pool_balance")


@pytest.mark.parametrize("name", PAGES)
def test_read_only_users_cannot_contact_or_configure(viewer_client, server, name):
    url = reverse(f"failover:{name}", args=[server.pk])
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url).status_code == 403


def test_ssh_settings_key_is_write_only_and_recorded_without_it(editor_client, server, private_key):
    url = reverse("failover:ssh_settings", args=[server.pk])
    form = editor_client.get(url).content.decode()
    assert 'name="key_secret"' in form and 'name="check_command"' in form
    data = {
        "host": "127.0.0.1",
        "port": "2222",
        "user": "deploy",
        "key_path": "",
        "key_secret": private_key,
        "config_path": "/etc/dhcp/dhcpd.conf",
        "leases_path": "/var/lib/dhcp/dhcpd.leases",
        "check_command": "dhcpd -t -cf {file}",
        "restart_command": "systemctl restart isc-dhcp-server",
        "status_command": "systemctl is-active isc-dhcp-server",
        "use_sudo": "on",
    }
    assert editor_client.post(url, data).status_code == 302
    target = SshTarget.objects.get(server=server)
    assert target.key_secret == private_key and target.use_sudo and target.port == 2222
    body = private_key.splitlines()[1]
    page = editor_client.get(url).content.decode()
    assert body not in page and "A key is stored" in page
    detail = editor_client.get(reverse("failover:server_detail", args=[server.pk])).content
    assert body.encode() not in detail and b"deploy@127.0.0.1:2222" in detail
    record = ChangeRecord.objects.get(action="ssh settings")
    assert body not in record.summary and "set" in record.summary
    # saving again without a key keeps the stored one; a new host forgets the pinned key
    SshTarget.objects.filter(pk=target.pk).update(host_key_type="ssh-ed25519", host_key="AAAA")
    assert editor_client.post(url, dict(data, key_secret="", host="127.0.0.2")).status_code == 302
    target.refresh_from_db()
    assert target.key_secret == private_key and target.host_key == ""
    assert "forgotten" in ChangeRecord.objects.filter(action="ssh settings").first().summary


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("config_path", "/etc/dhcp/a\nb", "Control characters"),
        ("check_command", "dhcpd -t -cf {path}", "Only the place holder"),
        ("key_secret", "hello", "Paste a private key"),
        ("port", "70000", "65535"),
    ],
)
def test_ssh_settings_refuse_bad_values(editor_client, server, field, value, message):
    url = reverse("failover:ssh_settings", args=[server.pk])
    data = {
        "host": "",
        "port": "22",
        "user": "root",
        "key_path": "/root/.ssh/id_ed25519",
        "config_path": "/etc/dhcp/dhcpd.conf",
        "leases_path": "/var/lib/dhcp/dhcpd.leases",
        "check_command": "dhcpd -t -cf {file}",
        "restart_command": "systemctl restart isc-dhcp-server",
        "status_command": "systemctl is-active isc-dhcp-server",
        field: value,
    }
    response = editor_client.post(url, data)
    assert response.status_code == 200 and message in response.content.decode()
    assert not SshTarget.objects.exists()


def test_a_key_is_required(editor_client, server):
    url = reverse("failover:ssh_settings", args=[server.pk])
    response = editor_client.post(url, {"port": "22", "user": "root"})
    assert "Give a private key file" in response.content.decode()


def test_test_connection_says_what_failed_and_never_contacts_documentation_addresses(
    editor_client, server
):
    # the fixture's server is 192.0.2.1 (a documentation address)
    SshTarget.objects.create(server=server, key_path="/nonexistent/key")
    type(server).objects.filter(pk=server.pk).update(omapi_port=7911)
    response = editor_client.post(
        reverse("failover:ssh_test", args=[server.pk]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="check-ssh" data-state="failed"' in html
    assert "documentation address" in html
    assert 'data-testid="check-config-readable" data-state="skipped"' in html
    assert 'data-testid="check-omapi-reachable" data-state="skipped"' in html
    # without JavaScript: a page of its own
    page = editor_client.post(reverse("failover:ssh_test", args=[server.pk]))
    assert page.status_code == 200 and b"Test Connection" in page.content


def test_a_closed_port_is_a_message(editor_client, db, private_key, closed_port):
    server = core.server_create(name="local", address="127.0.0.1")
    SshTarget.objects.create(server=server, port=closed_port, key_secret=private_key)
    checks = services.connection_test(server)
    assert checks[0].ok is False and "Cannot connect to 127.0.0.1" in checks[0].detail
    assert [c.ok for c in checks[1:4]] == [None, None, None]
    live = editor_client.get(reverse("failover:live_config", args=[server.pk])).content.decode()
    assert 'data-testid="live-error"' in live and "Cannot connect" in live
    assert SshTarget.objects.get(server=server).drift_status == "unreachable"
    balance = editor_client.get(reverse("failover:pool_balance", args=[server.pk]))
    assert balance.status_code == 200 and b"has no failover pools" in balance.content


def test_pages_of_a_server_without_ssh(editor_client, server):
    detail = editor_client.get(reverse("failover:server_detail", args=[server.pk])).content
    assert b'data-testid="no-ssh"' in detail and b'id="ssh-settings"' in detail
    live = editor_client.get(reverse("failover:live_config", args=[server.pk])).content.decode()
    assert "SSH is not configured" in live
    host_key = editor_client.get(reverse("failover:ssh_host_key", args=[server.pk]))
    assert b'data-testid="no-offered-key"' in host_key.content


def test_accepting_needs_an_offered_key(editor_client, server):
    SshTarget.objects.create(server=server, key_path="/k")
    response = editor_client.post(
        reverse("failover:ssh_host_key", args=[server.pk]), {"fingerprint": "SHA256:x"}
    )
    assert response.status_code == 409 and b"has not offered" in response.content


def test_server_list_drift_column_costs_one_query(editor_client, db, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = editor_client.get(reverse("failover:server_list"))
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for i in range(2):
        s = core.server_create(name=f"s{i}", address=f"198.18.1.{i + 1}")
        SshTarget.objects.create(server=s, key_path="/k", drift_status="drift")
    few = queries()
    for i in range(2, 12):
        s = core.server_create(name=f"s{i}", address=f"198.18.1.{i + 1}")
        SshTarget.objects.create(server=s, key_path="/k", drift_status="in sync")
    core.server_create(name="plain", address="198.18.2.1")
    assert queries() == few
    html = editor_client.get(reverse("failover:server_list")).content.decode()
    assert html.count(">drift</span>") == 2 and html.count(">in sync</span>") == 10
    assert html.count(">no SSH</span>") == 1


def test_pool_balance_pages_and_queries_do_not_grow_with_the_pools(
    editor_client, db, private_key, closed_port
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.dhcpd.conftest import build_pair

    def cost(server, page=1) -> tuple[int, str]:
        url = reverse("failover:pool_balance", args=[server.pk]) + f"?page={page}"
        with CaptureQueriesContext(connection) as ctx:
            response = editor_client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), response.content.decode()

    small_a, _ = build_pair(
        a_address="127.0.0.1", b_address="127.0.0.2", networks=("10.1.0.0/24", "10.2.0.0/24")
    )
    for s in (small_a,):
        SshTarget.objects.create(server=s, port=closed_port, key_secret=private_key)
    few, html = cost(small_a)
    assert "Cannot connect to 127.0.0.1" in html and 'data-testid="balance-pages"' not in html
    for server in list(type(small_a).objects.all()):
        server.delete()
    networks = tuple(f"10.{i // 250}.{i % 250}.0/24" for i in range(60))
    big_a, _ = build_pair(a_address="127.0.0.1", b_address="127.0.0.2", networks=networks)
    SshTarget.objects.create(server=big_a, port=closed_port, key_secret=private_key)
    many, html = cost(big_a)
    assert many == few
    assert "Failover pools 1–50 of 60" in html and html.count('data-testid="balance-pool-') == 50
    _, html = cost(big_a, 2)
    assert "Failover pools 51–60 of 60" in html and html.count('data-testid="balance-pool-') == 10
