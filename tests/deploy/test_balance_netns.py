"""Pool balance from the real leases files: a pair in normal, a real client (dhclient on ns c's
bridge) gets a lease, and both servers' files, read over SSH, show it as active."""

from __future__ import annotations

import ipaddress
import re
import time

import pytest
from django.urls import reverse

from failover.deploy import services
from tests.conftest import require_binary

pytestmark = [pytest.mark.netns, pytest.mark.dhcpd, pytest.mark.django_db]

LEASE_WAIT = 60
FILE_WAIT = 30


def test_pool_balance_shows_a_real_clients_lease_as_active(
    ssh_pair, editor_client, django_assert_max_num_queries
):
    require_binary("dhclient")
    ssh_pair.wait_normal()
    lab = ssh_pair.lab
    address = str(lab.dhclient_lease(timeout=LEASE_WAIT))

    server = ssh_pair.a
    # both files record the binding (the secondary's after the failover update): bounded wait
    deadline = time.monotonic() + FILE_WAIT
    while True:
        report = services.pool_balance(server)
        states = {
            f.server.name: f.leases.leases[address].binding_state
            for f in report.files
            if f.leases and address in f.leases.leases
        }
        if states == {"dhcp-a": "active", "dhcp-b": "active"} or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert states == {"dhcp-a": "active", "dhcp-b": "active"}, states
    assert [f.error for f in report.files] == ["", ""]
    pool = next(
        b
        for b in report.pools
        if b.pool.first_ip <= ipaddress.IPv4Address(address) <= b.pool.last_ip
    )
    assert [side.server.name for side in pool.sides] == ["dhcp-a", "dhcp-b"]
    for side in pool.sides:
        assert side.counts["active"] == 1
        counted = sum(side.counts.values()) + side.other + side.missing
        assert counted == pool.pool.size == 51
        # dhcpd wrote a free or backup lease for every other address of the failover pool
        assert side.primary_free + side.secondary_free == 50
    # the other pool of the pair has no client
    other = next(b for b in report.pools if b is not pool)
    assert all(side.counts["active"] == 0 for side in other.sides)

    with django_assert_max_num_queries(13):  # per relationship, not per pool or lease
        html = editor_client.get(reverse("failover:pool_balance", args=[server.pk])).content
    html = html.decode()
    row = html[html.index(f'data-testid="balance-{pool.pool.first_address}-dhcp-a"') :]
    assert re.search(r'data-state="active">1<', row[:2000])
    assert 'data-testid="leases-file-dhcp-b"' in html and "not read" not in html
