"""The Import Configuration page: upload or paste, preview, OK.

Tried by an anonymous user, a read-only user and an editor; as a page and with htmx; with
good files, bad files, binary data, too much data, includes, and a preview gone stale.
"""

from __future__ import annotations

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from failover import services
from failover.models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}

OFFICE = """authoritative;
failover peer "fo" {
  primary; address 192.0.2.1; peer address 192.0.2.2;
  max-response-delay 60; max-unacked-updates 10; mclt 3600; split 128;
}
subnet 10.1.0.0 netmask 255.255.255.0 {
  option routers 10.1.0.1;
  host printer { hardware ethernet 00:16:3e:00:00:01; }
  pool { failover peer "fo"; range 10.1.0.100 10.1.0.150; }
}
"""


def url(server: DhcpServer) -> str:
    return reverse("failover:server_import", args=[server.pk])


def counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (DhcpServer, FailoverPeer, Scope, AddressPool, ChangeRecord)
    )


def preview(client, server, *, text=None, upload=None, **extra):
    data = {"step": "preview"}
    if text is not None:
        data["text"] = text
    if upload is not None:
        data["file"] = upload
    return client.post(url(server), data, **extra)


def confirm_data(response) -> dict[str, str]:
    """The hidden fields the preview's OK sends back (as a browser would)."""
    content = response.content.decode()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', content))
    text = re.search(r'<textarea name="text"[^>]*>\n(.*?)</textarea>', content, re.S).group(1)
    return {
        "step": "confirm",
        "filename": html.unescape(fields["filename"]),
        "fingerprint": fields["fingerprint"],
        "text": html.unescape(text),
    }


# --- access ---------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login(client, server):
    for method in (client.get, client.post):
        response = method(url(server))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.get(url(server), **HX)
    assert response.status_code == 200 and "HX-Redirect" in response


def test_read_only_users_get_403(viewer_client, server):
    before = counts()
    assert viewer_client.get(url(server)).status_code == 403
    assert viewer_client.post(url(server), {"step": "preview", "text": OFFICE}).status_code == 403
    assert viewer_client.post(url(server), {"step": "confirm"}, **HX).status_code == 403
    assert counts() == before


def test_the_server_page_offers_the_import_to_editors_only(editor, viewer, server):
    detail = reverse("failover:server_detail", args=[server.pk])
    for user, shown in ((editor, True), (viewer, False)):
        client = Client()
        client.force_login(user)
        assert (b'id="import-config"' in client.get(detail).content) is shown


def test_csrf_is_checked(server, editor):
    client = Client(enforce_csrf_checks=True)
    client.login(username="editor", password=PASSWORD)
    assert client.post(url(server), {"step": "preview", "text": OFFICE}).status_code == 403
    page = client.get(url(server))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    response = client.post(
        url(server), {"step": "preview", "text": OFFICE, "csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 200 and b'data-testid="import-preview"' in response.content


# --- the form, the preview, OK --------------------------------------------------------------


def test_the_form_as_a_page(editor_client, server):
    response = editor_client.get(url(server))
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" in content and "Import Configuration" in content
    assert 'enctype="multipart/form-data"' in content and 'name="file"' in content
    assert 'name="text"' in content and ">Preview</button>" in content


def test_paste_preview_then_ok(editor_client, server, scope):
    before = counts()
    response = preview(editor_client, server, text=OFFICE)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="import-preview"' in content
    summary = re.search(r'data-testid="import-summary">([^<]+)<', content).group(1)
    assert summary == (
        "3 to create, 1 to change, 1 to delete, 2 statements kept verbatim"
    )  # peer, scope, pool; the server; the stored 10.10.0.0/24
    assert "10.1.0.100-10.1.0.150" in content and "10.10.0.0/24" in content
    assert "host printer" in content  # kept verbatim, shown
    assert ">OK</button>" in content
    assert counts() == before  # a preview changes nothing

    response = editor_client.post(url(server), confirm_data(response))
    assert response.status_code == 302
    assert response["Location"] == reverse("failover:server_detail", args=[server.pk])
    assert not Scope.objects.filter(network="10.10.0.0/24").exists()
    pool = AddressPool.objects.get(first_address="10.1.0.100")
    assert pool.failover_peer.name == "fo"
    assert ChangeRecord.objects.filter(action="config_import").count() == 1
    page = editor_client.get(response["Location"])
    assert "Imported pasted text into dhcp-a: 3 to create" in page.content.decode()


def test_upload_preview_then_ok_with_htmx(editor_client, server):
    upload = SimpleUploadedFile("dhcpd.conf", OFFICE.encode(), content_type="text/plain")
    response = preview(editor_client, server, upload=upload, **HX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "<html" not in content  # the partial, swapped into #import-area
    assert 'Importing <span class="mono">dhcpd.conf</span>' in content
    data = confirm_data(response)
    assert data["filename"] == "dhcpd.conf" and data["text"] == OFFICE
    response = editor_client.post(url(server), data, **HX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("failover:server_detail", args=[server.pk])
    assert FailoverPeer.objects.filter(server=server, name="fo").exists()


def test_line_endings_changed_by_the_browser_do_not_make_the_preview_stale(editor_client, server):
    data = confirm_data(preview(editor_client, server, text=OFFICE))
    data["text"] = data["text"].replace("\n", "\r\n")  # what form submission does
    assert editor_client.post(url(server), data).status_code == 302


def test_a_second_import_of_the_same_file_shows_no_differences(editor_client, server):
    services.config_import(server=server, text=OFFICE, filename="x")
    content = preview(editor_client, server, text=OFFICE).content.decode()
    assert 'data-testid="import-nothing"' in content
    assert ">OK</button>" not in content


def test_drift_shows_old_and_new_values(editor_client, server):
    services.config_import(server=server, text=OFFICE, filename="x")
    changed = OFFICE.replace("mclt 3600", "mclt 1800").replace("host printer", "host copier")
    content = html.unescape(preview(editor_client, server, text=changed).content.decode())
    assert re.search(
        r"Max Client Lead Time</span>:\s*<span class=\"mono\">3600</span> → "
        r"<span class=\"mono\">1800</span>",
        content,
    )
    assert "- host printer {" in content and "+ host copier {" in content


def test_a_stale_preview_is_shown_again_and_nothing_is_imported(editor_client, server):
    data = confirm_data(preview(editor_client, server, text=OFFICE))
    services.scope_create(server=server, network="10.9.0.0/24")  # someone else, meanwhile
    before = counts()
    response = editor_client.post(url(server), data)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="import-stale"' in content and "10.9.0.0/24" in content
    assert counts() == before
    response = editor_client.post(url(server), confirm_data(response))
    assert response.status_code == 302
    assert not Scope.objects.filter(network="10.9.0.0/24").exists()


def test_the_preview_shows_the_relationships_found(editor_client):
    a = services.server_create(name="dhcp-a", address="192.0.2.1")
    b = services.server_create(name="dhcp-b", address="192.0.2.2")
    services.config_import(server=a, text=OFFICE, filename="a")
    secondary = OFFICE.replace(
        "primary; address 192.0.2.1; peer address 192.0.2.2;",
        "secondary; address 192.0.2.2; peer address 192.0.2.1;",
    )
    secondary = secondary.replace(" mclt 3600; split 128;", "")
    content = preview(editor_client, b, text=secondary).content.decode()
    block = content[content.index('data-testid="import-relationship-fo"') :]
    assert "primary dhcp-a, secondary dhcp-b" in block
    assert 'badge text-bg-success">OK<' in block[:400]
    both_primary = OFFICE  # b would be primary too
    content = preview(editor_client, b, text=both_primary).content.decode()
    assert "Both dhcp-a and dhcp-b are primary" in content


def test_a_big_preview_lists_the_first_objects_and_counts_all(editor_client, server):
    lines = []
    for i in range(250):
        lines.append(
            f"subnet 10.0.{i}.0 netmask 255.255.255.0 {{ range 10.0.{i}.10 10.0.{i}.20; }}"
        )
    content = preview(editor_client, server, text="\n".join(lines)).content.decode()
    assert "500 to create" in content
    assert "… and 300 more." in content


# --- errors -----------------------------------------------------------------------------------


def test_a_bad_file_shows_file_line_and_column(editor_client, server):
    before = counts()
    text = "subnet 10.0.0.0 netmask 255.255.255.0 {\n  range 10.0.0.5 10.0.1.9;\n}\n"
    response = preview(editor_client, server, text=text)
    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    assert 'data-testid="import-errors"' in content
    assert (
        "pasted text, line 2, column 3</span>: range 10.0.0.5 10.0.1.9: the range is not "
        "inside subnet 10.0.0.0/24" in content
    )
    assert "  range 10.0.0.5 10.0.1.9;\n  ^</code>" in content  # the line, and where
    assert counts() == before


def test_what_the_model_cannot_hold_is_shown_the_same_way(editor_client, server):
    text = (
        "subnet 10.0.0.0 netmask 255.255.0.0 { }\n"
        "subnet 10.0.1.0 netmask 255.255.255.0 { range 10.0.1.5 10.0.1.6; }\n"
    )
    content = html.unescape(preview(editor_client, server, text=text, **HX).content.decode())
    assert (
        "pasted text, line 2, column 1</span>: subnet 10.0.1.0/24 overlaps subnet "
        "10.0.0.0/16 (line 1)" in content
    )


def test_binary_garbage_is_a_clear_error(editor_client, server):
    upload = SimpleUploadedFile("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    response = preview(editor_client, server, upload=upload)
    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    assert (
        "image.png, line 1, column 1</span>: invalid UTF-8 byte 0x89: this does not look "
        "like a text file" in content
    )
    nul = SimpleUploadedFile("nul.conf", b"authoritative;\n\x00\x01")
    content = html.unescape(preview(editor_client, server, upload=nul).content.decode())
    assert (
        "nul.conf, line 2, column 1</span>: NUL byte: this does not look like a text file"
        in content
    )


def test_a_too_big_upload_is_refused_with_a_clear_message(editor_client, server, settings):
    settings.DHCPD_IMPORT_MAX_BYTES = 10_000
    upload = SimpleUploadedFile("huge.conf", b"# comment\n" * 5_000)  # 50,000 bytes
    response = preview(editor_client, server, upload=upload)
    assert response.status_code == 413
    assert "The file is larger than the limit of 10,000 bytes." in response.content.decode()


def test_a_too_big_paste_is_refused_with_a_clear_message(editor_client, server, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = preview(editor_client, server, text="# comment\n" * 5_000)
    assert response.status_code == 413
    assert "The request is larger than the limit" in response.content.decode()
    response = preview(editor_client, server, text="# comment\n" * 5_000, **HX)
    assert response.status_code == 200  # htmx 2 swaps only a 2xx answer into the page
    assert "The request is larger than the limit" in response.content.decode()


def test_unreadable_form_data_is_a_clear_error(editor_client, server):
    body = b'--xyz\r\nContent-Disposition: form-data; name="text"\r\n\r\nabc'  # never ends
    response = editor_client.post(
        url(server), body, content_type="multipart/form-data; boundary=xyz"
    )
    assert response.status_code == 200  # what could be read: the text, which is no config
    assert b'data-testid="import-errors"' in response.content
    broken = editor_client.post(url(server), b"x", content_type="multipart/form-data")
    assert broken.status_code == 400
    assert "The form data could not be read" in broken.content.decode()


def test_text_over_the_import_limit_is_refused(editor_client, server, settings):
    settings.DHCPD_IMPORT_MAX_BYTES = 1_000
    content = preview(editor_client, server, text="# c\n" * 500).content.decode()
    assert "The text is larger than the limit of 1,000 bytes." in content


def test_a_file_or_text_is_needed_and_not_both(editor_client, server):
    content = preview(editor_client, server, text="  ").content.decode()
    assert "Upload a dhcpd.conf file or paste its text." in content
    upload = SimpleUploadedFile("a.conf", b"authoritative;\n")
    content = preview(editor_client, server, text=OFFICE, upload=upload).content.decode()
    assert "Upload a file or paste text, not both." in content


def test_includes_are_refused_and_never_read(editor_client, server):
    content = html.unescape(
        preview(editor_client, server, text='include "/etc/passwd";\n').content.decode()
    )
    assert 'include "/etc/passwd" is not allowed: no include directory was given' in content
    assert "root:" not in content


def test_hostile_input_gives_errors_not_500(editor_client, server):
    for text in (
        "subnet " + "{" * 200,
        '"' + "x" * 5000 + '"',
        'option domain-name "' + "x" * 2000 + '";',
        "group {" * 100 + "}" * 100,
    ):
        response = preview(editor_client, server, text=text)
        assert response.status_code == 200
        assert b'data-testid="import-errors"' in response.content


def test_an_incomplete_confirmation_asks_to_preview_again(editor_client, server):
    response = editor_client.post(url(server), {"step": "confirm", "text": OFFICE})
    assert response.status_code == 200
    assert "The preview was incomplete: preview again." in response.content.decode()


# --- a large server (issue 7): the preview costs what it shows ------------------------------


def _mirrored(stored: int) -> tuple[DhcpServer, DhcpServer]:
    """dhcp-a and dhcp-b with ``stored`` scopes each, one failover pool each (mirrored)."""
    text = OFFICE.split("subnet")[0] + "".join(
        f"subnet 10.2.{n}.0 netmask 255.255.255.0 {{\n"
        f'  pool {{ failover peer "fo"; range 10.2.{n}.10 10.2.{n}.20; }}\n}}\n'
        for n in range(stored)
    )
    a = services.server_create(name="dhcp-a", address="192.0.2.1")
    b = services.server_create(name="dhcp-b", address="192.0.2.2")
    services.config_import(server=a, text=text, filename="a")
    secondary = text.replace(
        "primary; address 192.0.2.1; peer address 192.0.2.2;",
        "secondary; address 192.0.2.2; peer address 192.0.2.1;",
    ).replace(" mclt 3600; split 128;", "")
    services.config_import(server=b, text=secondary, filename="b")
    return a, b


@pytest.mark.parametrize("stored", [10, 240])
def test_a_preview_into_a_large_server_shows_the_first_and_counts_all(
    editor_client, django_assert_max_num_queries, stored
):
    a, _ = _mirrored(stored)
    with django_assert_max_num_queries(15):  # the same at 10 and at 240 scopes
        response = preview(editor_client, a, text=OFFICE)
    content = html.unescape(response.content.decode())
    # The file keeps 10.1.0.0/24 only: every stored scope and pool goes.
    assert f"{2 * stored} to delete" in content
    deleted = content[content.index('data-testid="import-delete"') :].split("</section>")[0]
    assert deleted.count('<td class="text-nowrap">scope</td>') == min(stored, 200)
    assert "10.2.0.0/24" in deleted  # the first, in numeric order
    if stored > 100:
        assert f"… and {2 * stored - 200} more." in content
    # The partner's scopes are no longer on dhcp-a: one finding each, the first 5 named.
    block = content[content.index('data-testid="import-relationship-fo"') :]
    assert "Scope 10.1.0.0/24 is not on dhcp-b yet" in block  # first in numeric order
    assert "Scope 10.2.0.0/24 is not on dhcp-a yet" in block
    assert "Scope 10.2.3.0/24 is not on dhcp-a yet" in block
    assert "Scope 10.2.4.0/24 " not in block
    assert f"… and {stored + 1 - 5} more scopes not finalized" in block  # and 10.1.0.0/24
    # OK applies exactly what was shown.
    response = editor_client.post(url(a), confirm_data(response))
    assert response.status_code == 302
    assert list(a.scopes.values_list("network", flat=True)) == ["10.1.0.0/24"]


def test_a_second_preview_sees_what_changed_since_the_first(editor_client, server):
    services.config_import(server=server, text=OFFICE, filename="x")
    content = preview(editor_client, server, text=OFFICE).content.decode()
    assert 'data-testid="import-nothing"' in content
    services.scope_create(server=server, network="10.9.0.0/24")  # the stored rows change
    content = preview(editor_client, server, text=OFFICE).content.decode()
    assert "1 to delete" in content and "10.9.0.0/24" in content
