"""Export to Kea HA on the relationship page: the page (report, check, four files), the
downloads, kea-dhcp4 -t, the export_kea command, the settings in the admin."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from failover import services
from failover.kea.models import KeaSettings
from failover.models import ChangeRecord, DhcpServer
from tests.conftest import require_binary
from tests.dhcpd.conftest import build_pair

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return build_pair(a_address="10.1.0.1", b_address="10.1.0.2")


def peer_pk(server: DhcpServer) -> int:
    return server.failover_peers.get().pk


def test_relationship_page_has_the_export_button(viewer_client, pair):
    a, _ = pair
    page = viewer_client.get(reverse("failover:relationship_detail", args=[peer_pk(a)]))
    assert page.status_code == 200
    url = reverse("failover:kea_export", args=[peer_pk(a)])
    assert f'href="{url}"' in page.content.decode()
    assert "Export to Kea HA" in page.content.decode()


def test_export_page_shows_report_check_and_four_files(viewer_client, pair):
    a, b = pair
    page = viewer_client.get(reverse("failover:kea_export", args=[peer_pk(b)]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="kea-mode">load-balancing<' in html
    assert 'data-testid="kea-check-ok"' in html
    assert html.count('data-testid="kea-file"') == 4
    for name in ("dhcp-a-kea-dhcp4.json", "dhcp-b-kea-ctrl-agent.json"):
        assert reverse("failover:kea_file", args=[peer_pk(b), name]) in html
    assert "Max Client Lead Time 3600: not carried over" in html
    assert "failover peer fo-pair on dhcp-a" in html
    assert "&quot;this-server-name&quot;: &quot;dhcp-a&quot;" in html
    assert reverse("failover:kea_archive", args=[peer_pk(b)]) in html


def test_export_page_queries_do_not_grow_with_scopes(viewer_client, django_assert_max_num_queries):
    a, b = build_pair(networks=tuple(f"10.{i}.0.0/24" for i in range(1, 41)))
    url = reverse("failover:kea_export", args=[peer_pk(a)])
    with django_assert_max_num_queries(25):
        first = viewer_client.get(url)
    assert first.status_code == 200
    assert first.content.decode().count('data-testid="kea-file"') == 4
    with django_assert_max_num_queries(10):  # kept per data version
        again = viewer_client.get(url)
    assert again.status_code == 200
    assert "more line" in again.content.decode()  # files longer than the page shows


def test_downloads(viewer_client, pair):
    a, _ = pair
    pk = peer_pk(a)
    one = viewer_client.get(reverse("failover:kea_file", args=[pk, "dhcp-b-kea-dhcp4.json"]))
    assert one.status_code == 200
    assert one["Content-Disposition"] == 'attachment; filename="dhcp-b-kea-dhcp4.json"'
    data = json.loads(one.content)
    assert (
        data["Dhcp4"]["hooks-libraries"][1]["parameters"]["high-availability"][0][
            "this-server-name"
        ]
        == "dhcp-b"
    )
    missing = viewer_client.get(reverse("failover:kea_file", args=[pk, "passwd"]))
    assert missing.status_code == 404
    traversal = reverse("failover:kea_export", args=[pk]) + "..%2Fetc%2Fpasswd"
    assert viewer_client.get(traversal).status_code == 404
    archive = viewer_client.get(reverse("failover:kea_archive", args=[pk]))
    assert archive.status_code == 200 and archive["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        assert sorted(zf.namelist()) == [
            "fo-pair-kea/REPORT.txt",
            "fo-pair-kea/dhcp-a-kea-ctrl-agent.json",
            "fo-pair-kea/dhcp-a-kea-dhcp4.json",
            "fo-pair-kea/dhcp-b-kea-ctrl-agent.json",
            "fo-pair-kea/dhcp-b-kea-dhcp4.json",
        ]


def test_partner_not_managed_is_said_not_500(viewer_client):
    a = services.server_create(name="alone", address="10.1.0.1")
    scope = services.scope_create(server=a, network="10.10.0.0/24")
    services.pool_create(scope=scope, first_address="10.10.0.10", last_address="10.10.0.20")
    peer = services.peer_create(
        server=a,
        name="half",
        role="primary",
        address="10.1.0.1",
        peer_address="10.1.0.9",
        mclt=60,
        split=128,
    ).peer
    detail = viewer_client.get(reverse("failover:relationship_detail", args=[peer.pk]))
    assert detail.status_code == 200 and "Export to Kea HA" not in detail.content.decode()
    page = viewer_client.get(reverse("failover:kea_export", args=[peer.pk]))
    assert page.status_code == 409
    assert "both servers must be managed in dhcpadmin" in page.content.decode()
    assert viewer_client.get(reverse("failover:kea_archive", args=[peer.pk])).status_code == 404
    assert viewer_client.get(reverse("failover:kea_export", args=[99999])).status_code == 404


def test_login_required(client, pair):
    a, _ = pair
    page = client.get(reverse("failover:kea_export", args=[peer_pk(a)]))
    assert page.status_code == 302 and "/login" in page["Location"]


def test_kea_test_button(viewer_client, pair):
    require_binary("kea-dhcp4")
    a, _ = pair
    url = reverse("failover:kea_test_run", args=[peer_pk(a)])
    partial = viewer_client.post(url, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    html = partial.content.decode()
    assert html.count('data-testid="kea-test-ok"') == 4, html
    assert "<html" not in html
    whole = viewer_client.post(url)
    assert whole.status_code == 200
    assert 'data-testid="kea-test-results"' in whole.content.decode()
    assert viewer_client.get(url).status_code == 405


def test_export_kea_command(tmp_path, pair, capsys):
    require_binary("kea-dhcp4")
    call_command("export_kea", "fo-pair", "--output-dir", str(tmp_path))
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dhcp-a-kea-ctrl-agent.json",
        "dhcp-a-kea-dhcp4.json",
        "dhcp-b-kea-ctrl-agent.json",
        "dhcp-b-kea-dhcp4.json",
    ]
    assert "Mode: load-balancing" in out
    assert "WARNING failover peer fo-pair on dhcp-a: Max Client Lead Time 3600" in out
    assert "HA check: no problem." in out
    assert "Kea -t dhcp-a-kea-dhcp4.json: accepted." in out


def test_export_kea_command_errors(tmp_path, pair):
    with pytest.raises(CommandError, match="No failover relationship named 'nope'"):
        call_command("export_kea", "nope", "--output-dir", str(tmp_path))
    a, _ = pair
    services.server_update(server=a, address="kea-a.example.test")
    for server in DhcpServer.objects.all():
        other = DhcpServer.objects.exclude(pk=server.pk).get()
        services.peer_update(peer=server.failover_peers.get(), partner_server=other)
    with pytest.raises(CommandError, match="needs attention") as raised:
        call_command("export_kea", "fo-pair", "--output-dir", str(tmp_path), "--no-kea-test")
    assert raised.value.returncode == 1
    assert (tmp_path / "dhcp-a-kea-dhcp4.json").exists()  # written anyway, to be looked at


def test_settings_in_the_admin_go_through_the_service(admin_client, pair):
    a, _ = pair
    add = reverse("admin:failover_keasettings_add")
    answer = admin_client.post(
        add,
        {
            "server": a.pk,
            "interfaces": "eth1",
            "control_agent_address": "",
            "control_agent_listen": "",
            "control_agent_port": 8001,
            "control_socket": "/run/kea/s",
            "lease_file": "/var/lib/kea/l.csv",
            "hooks_dir": "/usr/lib/x86_64-linux-gnu/kea/hooks",
            "target": "2.2",
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    settings = KeaSettings.objects.get(server=a)
    assert (settings.interfaces, settings.control_agent_port) == ("eth1", 8001)
    assert ChangeRecord.objects.filter(action="kea_settings_save").count() == 1
    bad = admin_client.post(
        reverse("admin:failover_keasettings_change", args=[settings.pk]),
        {
            "interfaces": "eth1 eth2",
            "control_agent_address": "",
            "control_agent_listen": "",
            "control_agent_port": 8001,
            "control_socket": "/run/kea/s",
            "lease_file": "/var/lib/kea/l.csv",
            "hooks_dir": "/usr/lib/x86_64-linux-gnu/kea/hooks",
            "target": "2.2",
        },
    )
    assert bad.status_code == 200  # the form again, with the error
    assert "Comma-separated interface names" in bad.content.decode()
    settings.refresh_from_db()
    assert settings.interfaces == "eth1"
    delete = reverse("admin:failover_keasettings_delete", args=[settings.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not KeaSettings.objects.exists()
    assert ChangeRecord.objects.filter(action="kea_settings_delete").count() == 1


def test_demo_pair_exports_clean(tmp_path, capsys):
    call_command("seed_demo", verbosity=0)
    require_binary("kea-dhcp4")
    call_command("export_kea", "campus-failover", "--output-dir", str(tmp_path))
    out = capsys.readouterr().out
    assert "HA check: no problem." in out
    assert out.count(": accepted.") == 4
    data = json.loads((tmp_path / "dhcp-a-kea-dhcp4.json").read_text())
    assert len(data["Dhcp4"]["subnet4"]) == 4  # Staff, Students, WiFi, Campus-wide


def test_export_kea_command_server_picks_among_same_names(tmp_path, pair):
    c = services.server_create(name="dhcp-c", address="10.1.0.3")
    services.server_create(name="dhcp-d", address="10.1.0.4")
    scope = services.scope_create(server=c, network="10.70.0.0/24")
    services.pool_create(scope=scope, first_address="10.70.0.10", last_address="10.70.0.20")
    services.peer_create(
        server=c,
        name="fo-pair",
        role="primary",
        address="10.1.0.3",
        peer_address="10.1.0.4",
        mclt=60,
        split=128,
    )
    services.scope_migrate_to_partner(scope=scope)
    with pytest.raises(CommandError, match="2 relationships are named 'fo-pair'"):
        call_command("export_kea", "fo-pair", "--output-dir", str(tmp_path))
    call_command(
        "export_kea",
        "fo-pair",
        "--output-dir",
        str(tmp_path),
        "--server",
        "dhcp-d",
        "--no-kea-test",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dhcp-c-kea-ctrl-agent.json",
        "dhcp-c-kea-dhcp4.json",
        "dhcp-d-kea-ctrl-agent.json",
        "dhcp-d-kea-dhcp4.json",
    ]


def test_partner_without_peer_declaration_is_said_not_500(viewer_client, tmp_path):
    a, b = build_pair(migrate=False)
    page = viewer_client.get(reverse("failover:kea_export", args=[peer_pk(a)]))
    assert page.status_code == 409
    assert "dhcp-b has no failover peer declaration for it yet" in page.content.decode()
    with pytest.raises(CommandError, match="dhcp-b has no failover peer declaration"):
        call_command("export_kea", "fo-pair", "--output-dir", str(tmp_path))
