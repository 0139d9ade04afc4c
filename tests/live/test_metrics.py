"""Prometheus /metrics: 404 without the token setting, 403 without the right bearer token,
the live state as numbers with it, at a cost that does not grow with the peers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from failover import services
from failover.live.models import NORMAL, Alert, PeerState, Status
from tests.conftest import PRIMARY

TOKEN = "s3cret-scrape-token"


@pytest.fixture
def states(db):
    now = timezone.now()
    out = []
    for i in range(3):
        server = services.server_create(name=f"dhcp-{i}", address=f"192.0.2.{i + 1}")
        scope = services.scope_create(server=server, network=f"10.{i}.0.0/24", name="n")
        services.pool_create(scope=scope, first_address=f"10.{i}.0.10", last_address=f"10.{i}.0.20")
        peer = services.peer_create(server=server, name="fo-pair", **PRIMARY).peer
        out.append(
            PeerState.objects.create(
                peer=peer,
                status=Status.OK if i < 2 else Status.UNREACHABLE,
                local_state=NORMAL if i < 2 else None,
                partner_state=NORMAL if i == 0 else (3 if i == 1 else None),
                skew=i,
                since=now - timedelta(seconds=100),
                read_at=now - timedelta(seconds=5) if i < 2 else None,
                checked_at=now,
            )
        )
    Alert.objects.create(peer=out[2].peer, kind=Alert.Kind.UNREACHABLE, message="m")
    return out


def test_no_token_setting_no_endpoint(client, states, settings):
    settings.DHCPADMIN_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_a_wrong_or_missing_token_is_refused(client, states, settings):
    settings.DHCPADMIN_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 403


def test_the_state_as_numbers(client, states, settings, django_assert_max_num_queries):
    settings.DHCPADMIN_METRICS_TOKEN = TOKEN
    with django_assert_max_num_queries(2):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    text = response.content.decode()
    labels = 'peer="fo-pair",role="primary",server="dhcp-1"'
    assert f"dhcpadmin_failover_up{{{labels}}} 1.0" in text
    assert f"dhcpadmin_failover_local_state{{{labels}}} 2.0" in text
    assert f"dhcpadmin_failover_partner_state{{{labels}}} 3.0" in text
    assert f"dhcpadmin_failover_skew_seconds{{{labels}}} 1.0" in text
    line = next(
        x for x in text.splitlines() if x.startswith(f"dhcpadmin_failover_state_seconds{{{labels}")
    )
    assert 99 <= float(line.split()[-1]) < 200
    age = next(
        x
        for x in text.splitlines()
        if x.startswith(f"dhcpadmin_failover_last_read_age_seconds{{{labels}")
    )
    assert 4 <= float(age.split()[-1]) < 100
    down = 'peer="fo-pair",role="primary",server="dhcp-2"'
    assert f"dhcpadmin_failover_up{{{down}}} 0.0" in text
    assert f'dhcpadmin_failover_status{{{down},status="unreachable"}} 1.0' in text
    assert f"dhcpadmin_failover_local_state{{{down}}}" not in text
    assert f'dhcpadmin_failover_alerts_active{{kind="unreachable",{down}}} 1.0' in text
