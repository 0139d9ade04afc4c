"""The OMAPI key: write-only in the server dialog and the admin, validated, rendered as dhcpd
reads it (checked by the real dhcpd -t), redacted for users who may not change the server,
never in change records, and the server page warns about a port without a key."""

from __future__ import annotations

import base64
import os

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from failover import services
from failover.crypto import UNREADABLE
from failover.dhcpd.check import check_config
from failover.dhcpd.render import render_server
from failover.live.secrets import REDACTED
from failover.models import ChangeRecord, DhcpServer
from tests.conftest import require_binary

SECRET = base64.b64encode(b"0123456789abcdef-live-test").decode()


@pytest.fixture
def keyed(db) -> DhcpServer:
    return services.server_create(
        name="dhcp-k",
        address="192.0.2.5",
        omapi_port=7911,
        omapi_key_name="omapi-key.1",
        omapi_key_secret=SECRET,
    )


def _edit(client, server, **data):
    values = {"name": server.name, "address": server.address, "description": ""}
    values.update({k: "" if v is None else str(v) for k, v in data.items()})
    return client.post(reverse("failover:server_edit", args=[server.pk]), values)


def test_the_rendered_key_is_what_dhcpd_reads(keyed):
    text = render_server(keyed)
    assert 'key "omapi-key.1" {\n  algorithm hmac-md5;\n  secret "' + SECRET + '";\n}' in text
    assert (
        text.index("key ") < text.index("omapi-port 7911;") < text.index("omapi-key omapi-key.1;")
    )
    assert check_config(text, dhcpd_path=require_binary("dhcpd")).ok


def test_no_key_lines_without_a_key_or_without_a_port(keyed):
    keyed.omapi_port = None
    assert "key" not in render_server(keyed).replace("Generated", "")
    plain = services.server_create(name="dhcp-p", address="192.0.2.6", omapi_port=7911)
    text = render_server(plain)
    assert "omapi-port 7911;" in text and "omapi-key" not in text


def test_an_undecryptable_secret_is_a_message_not_a_file(keyed):
    keyed.omapi_key_secret = UNREADABLE
    with pytest.raises(ValueError, match="cannot be decrypted"):
        render_server(keyed)


def test_the_dialog_never_shows_the_secret_and_keeps_it_when_empty(editor_client, keyed):
    page = editor_client.get(reverse("failover:server_edit", args=[keyed.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert SECRET not in html and 'name="omapi_key_secret"' in html
    assert "A secret is stored" in html and 'name="omapi_key_clear"' in html

    response = _edit(editor_client, keyed, omapi_port=7911, omapi_key_name="omapi-key.1")
    assert response.status_code in (200, 302), response.content[:500]
    keyed.refresh_from_db()
    assert keyed.omapi_key_secret == SECRET  # empty input kept it

    other = base64.b64encode(os.urandom(32)).decode()
    _edit(editor_client, keyed, omapi_port=7911, omapi_key_name="k2", omapi_key_secret=other)
    keyed.refresh_from_db()
    assert (keyed.omapi_key_name, keyed.omapi_key_secret) == ("k2", other)
    records = " ".join(ChangeRecord.objects.values_list("summary", flat=True))
    assert other not in records and SECRET not in records

    _edit(editor_client, keyed, omapi_port=7911, omapi_key_name="k2", omapi_key_clear="on")
    keyed.refresh_from_db()
    assert (keyed.omapi_key_name, keyed.omapi_key_secret) == ("", "")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"omapi_key_name": "k", "omapi_key_secret": "not base64!"}, "omapi_key_secret"),
        ({"omapi_key_name": "k", "omapi_key_secret": "===="}, "omapi_key_secret"),
        ({"omapi_key_name": "k"}, "omapi_key_secret"),
        ({"omapi_key_secret": SECRET}, "omapi_key_name"),
        ({"omapi_key_name": 'k"; }', "omapi_key_secret": SECRET}, "omapi_key_name"),
    ],
)
def test_bad_keys_are_refused_beside_their_field(editor_client, db, data, field):
    response = editor_client.post(
        reverse("failover:server_create"),
        {"name": "dhcp-n", "address": "192.0.2.7", "omapi_port": "7911", **data},
    )
    assert response.status_code in (200, 422)
    assert field in response.context["form"].errors
    assert not DhcpServer.objects.filter(name="dhcp-n").exists()
    if "omapi_key_secret" in data:  # a typed secret is not sent back either
        assert f'value="{data["omapi_key_secret"]}"' not in response.content.decode()


def test_the_admin_is_write_only_too(admin_client, keyed):
    url = reverse("admin:failover_dhcpserver_change", args=[keyed.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert SECRET not in page.content.decode()
    data = {
        "name": keyed.name,
        "address": keyed.address,
        "description": "",
        "omapi_port": "7911",
        "omapi_host": "",
        "omapi_key_name": "omapi-key.1",
        "omapi_key_secret": "",
    }
    assert admin_client.post(url, data).status_code == 302
    keyed.refresh_from_db()
    assert keyed.omapi_key_secret == SECRET
    response = admin_client.post(url, {**data, "omapi_key_secret": "no base64 here!"})
    assert response.status_code == 200 and "Not base64" in response.content.decode()
    new = base64.b64encode(b"another-key-for-the-admin").decode()
    assert admin_client.post(url, {**data, "omapi_key_secret": new}).status_code == 302
    keyed.refresh_from_db()
    assert keyed.omapi_key_secret == new
    from django.contrib.admin.models import LogEntry

    assert not any(new in str(e.change_message) for e in LogEntry.objects.all())


@pytest.fixture
def reader(db) -> User:
    """May view and validate, not change servers."""
    user = User.objects.create_user("reader", password="x")
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover", codename__startswith="view_")
    )
    return user


def test_configuration_download_and_validate_are_redacted_for_readers(client, reader, keyed):
    client.force_login(reader)
    page = client.get(reverse("failover:server_config", args=[keyed.pk])).content.decode()
    assert SECRET not in page and "secret hidden" in page
    download = client.get(reverse("failover:server_config_download", args=[keyed.pk]))
    assert SECRET not in download.content.decode() and REDACTED in download.content.decode()
    validate = client.post(reverse("failover:server_config_validate", args=[keyed.pk]))
    assert validate.status_code == 200 and SECRET not in validate.content.decode()


def test_who_may_change_the_server_gets_the_deployable_text(editor_client, keyed):
    download = editor_client.get(reverse("failover:server_config_download", args=[keyed.pk]))
    assert f'secret "{SECRET}";' in download.content.decode()


def test_the_server_page_warns_about_a_port_without_a_key(editor_client, keyed):
    assert (
        "omapi-no-key"
        not in editor_client.get(
            reverse("failover:server_detail", args=[keyed.pk])
        ).content.decode()
    )
    open_port = services.server_create(name="dhcp-o", address="192.0.2.8", omapi_port=7911)
    html = editor_client.get(reverse("failover:server_detail", args=[open_port.pk])).content
    assert b"omapi-no-key" in html and b"change the failover state" in html
