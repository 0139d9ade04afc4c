"""Fixtures for the dhcpd tests: the real dhcpd binary, and a failover pair built the way a
user builds one (a pool, its server's first peer, a second scope, the migration)."""

from __future__ import annotations

import pytest

from failover import services
from failover.dhcpd.check import CheckResult, check_config
from failover.dhcpd.render import render_server
from failover.models import DhcpServer
from tests.conftest import PRIMARY, require_binary


@pytest.fixture
def dhcpd() -> str:
    """The real dhcpd; skips locally, fails under CI=true, when it is missing."""
    return require_binary("dhcpd")


def assert_valid(server: DhcpServer, dhcpd_path: str) -> str:
    """Render ``server`` and assert that the real ``dhcpd -t`` accepts it; return the text."""
    text = render_server(server)
    result: CheckResult = check_config(text, dhcpd_path=dhcpd_path)
    assert result.ok, f"dhcpd -t rejected:\n{result.output}\n---\n{text}"
    return text


def build_pair(
    *,
    a_address: str = "192.0.2.1",
    b_address: str = "192.0.2.2",
    networks: tuple[str, ...] = ("10.10.0.0/24", "10.20.0.0/24"),
    mclt: int = 3600,
    omapi_port: int | None = None,
    migrate: bool = True,
) -> tuple[DhcpServer, DhcpServer]:
    """Server A with a scope and a pool, its first peer (primary), more scopes with pools;
    server B at the peer address; then every scope migrated to B."""
    a = services.server_create(name="dhcp-a", address=a_address, omapi_port=omapi_port)
    b = services.server_create(name="dhcp-b", address=b_address, omapi_port=omapi_port)
    scopes = []
    peer = None
    for i, network in enumerate(networks):
        prefix = network.rsplit(".", 1)[0]
        scope = services.scope_create(
            server=a,
            network=network,
            name=f"Net {i}",
            routers=f"{prefix}.1",
            domain_name="example.test",
            default_lease_time=600,
            max_lease_time=3600,
        )
        services.pool_create(
            scope=scope,
            first_address=f"{prefix}.100",
            last_address=f"{prefix}.150",
            failover_peer=peer,  # the user picks the peer in the DHCP Address Pool dialog
        )
        if peer is None:  # the first peer: the first-peer rule gives it the pool above
            peer = services.peer_create(
                server=a,
                name="fo-pair",
                **dict(PRIMARY, address=a_address, peer_address=b_address, mclt=mclt),
            ).peer
        scopes.append(scope)
    if migrate:
        for scope in scopes:
            services.scope_migrate_to_partner(scope=scope)
    return a, b
