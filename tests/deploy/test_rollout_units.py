"""Small pure parts of the rollout: the peers a text declares, the diff for the pages,
the bound of the normal wait."""

from __future__ import annotations

import pytest

from failover.deploy import rollout
from failover.dhcpd.render import render_server
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
