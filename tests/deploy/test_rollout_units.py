"""Small pure parts of the rollout: the peers a text declares, the diff for the pages,
the bound of the normal wait."""

from __future__ import annotations

import pytest

from failover import services
from failover.deploy import rollout
from failover.dhcpd.render import render_server
from failover.models import DhcpServer
from failover.views.deploy import diff_lines
from tests.dhcpd.conftest import build_pair


def test_declared_peers_of_a_rendered_and_a_hand_written_text(db):
    a, b = build_pair()
    assert rollout.declared_peers(render_server(a)) == ["fo-pair"]
    text = (
        'failover peer "one" {\n  primary;\n}\n'
        "  failover peer two{\n secondary;\n}\n"
        'pool { failover peer "one"; range 10.0.0.1 10.0.0.9; }\n'
    )
    assert rollout.declared_peers(text) == ["one", "two"]
    assert rollout.declared_peers(text.encode()) == ["one", "two"]
    assert rollout.declared_peers(None) == []


def test_diff_lines_kinds_and_limit():
    diff = rollout.unified_diff("a\nb\n", "a\nc\n", old_label="old", new_label="new")
    lines, more = diff_lines(diff)
    assert [line.kind for line in lines] == ["file", "file", "hunk", "", "del", "add"]
    lines, more = diff_lines(diff, limit=2)
    assert len(lines) == 2 and more == 4
    assert rollout.unified_diff("x\n", "x\n", old_label="o", new_label="n") == ""


@pytest.mark.parametrize(
    ("setting", "delay", "expected"), [("", 60, 150), ("", None, 150), ("7", 60, 7)]
)
def test_normal_bound(settings, setting, delay, expected, db):
    a, _ = build_pair()
    peer = a.failover_peers.get()
    peer.max_response_delay = delay or 60
    settings.DHCPADMIN_DEPLOY_NORMAL_SECONDS = setting
    assert rollout.normal_seconds(peer if delay else None) == expected


SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="


def test_secrets_are_hidden_in_diffs_and_outputs(db):
    server = services.server_create(name="keyed", address="192.0.2.9", omapi_port=7911)
    DhcpServer.objects.filter(pk=server.pk).update(
        omapi_key_name="omapi-key", omapi_key_secret=SECRET
    )
    server.refresh_from_db()
    diff = rollout.unified_diff(
        'key k {\n  secret "old";\n}\nsecret unquotedOld==;\n',
        f'key k {{\n  secret "{SECRET}";\n}}\nsecret unquotedNew==;\n',
        old_label="a",
        new_label="b",
    )
    hidden = rollout.hide_secrets(diff + f"\ndhcpd said: {SECRET}", server)
    for word in (SECRET, '"old"', "unquotedOld", "unquotedNew"):
        assert word not in hidden
    assert '-  secret "<secret hidden>";' in hidden and '+  secret "<secret hidden>";' in hidden


def test_the_deployed_text_is_encrypted_at_rest(editor, db):
    from django.db import connection

    from failover.deploy.models import SshTarget
    from failover.deploy.rollout_models import Deployment

    a, b = build_pair()
    SshTarget.objects.create(server=b, key_secret="k", host_key_type="t", host_key="AAAA")
    DhcpServer.objects.filter(pk=b.pk).update(
        omapi_port=7911, omapi_key_name="omapi-key", omapi_key_secret=SECRET
    )
    b.refresh_from_db()
    plan = rollout.deploy_plan([b], fetch_live=False)
    assert SECRET in plan.servers[0].text and SECRET not in plan.servers[0].diff
    ro = rollout.deploy_start([b], actor=editor, enqueue=False)
    dep = Deployment.objects.get(rollout=ro)
    assert SECRET in dep.text
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM failover_deployment WHERE id = %s", [dep.pk])
        raw = cursor.fetchone()[0]
    assert SECRET not in raw and "failover peer" not in raw
