"""A NUL in the address, query string or form data: a clear 400 everywhere, before any view
(on PostgreSQL a NUL in a filter was a DataError, a 500; issue 8, point 5)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from failover.models import DhcpServer, FailoverPeer, Scope
from tests.conftest import PASSWORD, PRIMARY

pytestmark = pytest.mark.django_db

MESSAGE = "contains a NUL character"


@pytest.fixture
def staff_viewer_client(client, db):
    """A read-only user of the admin: staff, with the view permissions only."""
    user = User.objects.create_user("staff-viewer", password=PASSWORD, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover", codename__startswith="view_")
    )
    client.force_login(user)
    return client


@pytest.fixture
def peer(server):
    from failover import services

    return services.peer_create(server=server, name="fo", **PRIMARY).peer


def assert_refused(response) -> None:
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert MESSAGE in response.content.decode()


def test_a_nul_in_an_admin_filter_is_a_400_for_a_read_only_user(staff_viewer_client, peer):
    changelist = reverse("admin:failover_failoverpeer_changelist")
    assert staff_viewer_client.get(changelist).status_code == 200  # the user may look
    assert_refused(staff_viewer_client.get(changelist + "?role__exact=%00"))
    assert_refused(staff_viewer_client.get(changelist + "?q=a%00b"))
    assert_refused(staff_viewer_client.get(changelist + "?role__exact%00=primary"))


@pytest.mark.parametrize(
    "query", ["?q=%00", "?page=1%00", "?%00=1", "?q=ok&q=%00", "?sort=%00name"]
)
def test_a_nul_in_a_page_query_is_a_400(viewer_client, server, query):
    assert_refused(viewer_client.get(reverse("failover:server_list") + query))
    assert_refused(viewer_client.get(reverse("failover:server_detail", args=[server.pk]) + query))


def test_a_nul_in_the_address_is_a_400(viewer_client, server):
    assert_refused(viewer_client.get("/servers/%00/"))
    assert_refused(viewer_client.get("/admin/failover/%00/"))


def test_a_nul_in_a_posted_form_field_is_a_400_and_changes_nothing(editor_client, server):
    url = reverse("failover:server_edit", args=[server.pk])
    response = editor_client.post(
        url, {"name": "dhcp-a", "address": "192.0.2.1", "description": "a\x00b"}
    )
    assert_refused(response)
    response = editor_client.post(
        reverse("failover:scope_create", args=[server.pk]), {"network": "10.9.0.0/24\x00"}
    )
    assert_refused(response)
    assert not Scope.objects.exists()
    assert DhcpServer.objects.get(pk=server.pk).description == ""


def test_a_nul_in_an_admin_form_field_is_a_400(client, server):
    admin = User.objects.create_superuser("root", password=PASSWORD)
    client.force_login(admin)
    url = reverse("admin:failover_failoverpeer_add")
    data = {**PRIMARY, "server": server.pk, "name": "fo\x00", "hba": ""}
    assert_refused(client.post(url, data))
    assert not FailoverPeer.objects.exists()


def test_a_nul_in_the_login_form_is_a_400(client, db):
    assert_refused(client.post(reverse("login"), {"username": "a\x00", "password": "x"}))


def test_ordinary_requests_are_unaffected(editor_client, server, peer):
    admin = User.objects.create_superuser("root", password=PASSWORD)
    other = Client()
    other.force_login(admin)
    changelist = reverse("admin:failover_failoverpeer_changelist")
    assert other.get(changelist + "?role__exact=primary").status_code == 200
    assert editor_client.get(reverse("failover:server_list") + "?q=dhcp").status_code == 200
    response = editor_client.post(
        reverse("failover:server_edit", args=[server.pk]),
        {"name": "dhcp-a", "address": "192.0.2.1", "description": "line 1\r\nline 2"},
    )
    assert response.status_code in (200, 302)
    assert DhcpServer.objects.get(pk=server.pk).description == "line 1\r\nline 2"


def test_file_uploads_are_left_to_their_view(editor_client, server):
    """A multipart body is not read by the middleware: the import page sets its upload
    limit first, then reports what the file holds (here: a NUL, at its place)."""
    upload = SimpleUploadedFile("dhcpd.conf", b"authoritative;\n\x00\n")
    response = editor_client.post(
        reverse("failover:server_import", args=[server.pk]), {"file": upload}
    )
    assert response.status_code == 200
    assert MESSAGE not in response.content.decode()


def test_urlencoded_forms_as_browsers_send_them(editor_client, server):
    url = reverse("failover:server_edit", args=[server.pk])
    form = "application/x-www-form-urlencoded"
    body = "name=dhcp-a&address=192.0.2.1&description=a%00b"
    assert_refused(editor_client.post(url, body, content_type=form))
    assert DhcpServer.objects.get(pk=server.pk).description == ""
    body = "name=dhcp-a&address=192.0.2.1&description=a+b"
    assert editor_client.post(url, body, content_type=form).status_code in (200, 302)
    assert DhcpServer.objects.get(pk=server.pk).description == "a b"
