"""Demo data: a realistic failover pair, and an admin and a read-only user.

dhcp-a (primary) and dhcp-b (secondary) share the peer "campus-failover" with mirrored
addresses and ports, and carry the same scopes and pools (failover pools must be identical
on both partners). Every write goes through failover.services. Safe to run again: what
exists is left as it is, and a second run says that nothing changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Permission, User
from django.core.management.base import BaseCommand
from django.db import transaction

from failover import services
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope

ADMIN_USERNAME, ADMIN_PASSWORD = "admin", "dhcpadmin-demo"
VIEWER_USERNAME, VIEWER_PASSWORD = "viewer", "dhcpadmin-viewer"

PEER_NAME = "campus-failover"
SERVERS = [
    {
        "name": "dhcp-a",
        "address": "192.0.2.10",
        "description": "Campus DHCP, primary (demo data)",
        "omapi_port": 7911,
    },
    {
        "name": "dhcp-b",
        "address": "192.0.2.11",
        "description": "Campus DHCP, secondary (demo data)",
        "omapi_port": 7911,
    },
]
# The same statement on both sides, mirrored: a.address == b.peer_address and
# a.port == b.peer_port. Different ports make the mirroring visible.
PEERS: dict[str, dict[str, Any]] = {
    "dhcp-a": dict(
        role=FailoverPeer.Role.PRIMARY,
        address="192.0.2.10",
        port=647,
        peer_address="192.0.2.11",
        peer_port=847,
        max_response_delay=60,
        max_unacked_updates=10,
        mclt=3600,
        split=128,
        load_balance_max_seconds=3,
    ),
    "dhcp-b": dict(
        role=FailoverPeer.Role.SECONDARY,
        address="192.0.2.11",
        port=847,
        peer_address="192.0.2.10",
        peer_port=647,
        max_response_delay=60,
        max_unacked_updates=10,
        mclt=None,
        split=None,
        load_balance_max_seconds=3,
    ),
}
DNS = "10.0.0.53, 10.0.1.53"
SCOPES: list[dict[str, Any]] = [
    {
        "network": "10.20.0.0/24",
        "name": "Staff",
        "routers": "10.20.0.1",
        "domain_name_servers": DNS,
        "domain_name": "staff.campus.example.org",
        "default_lease_time": 28800,
        "max_lease_time": 86400,
        "pools": [("10.20.0.100", "10.20.0.199")],
    },
    {
        "network": "10.30.0.0/23",
        "name": "Students",
        "routers": "10.30.0.1",
        "domain_name_servers": DNS,
        "domain_name": "students.campus.example.org",
        "default_lease_time": 7200,
        "max_lease_time": 14400,
        "pools": [("10.30.0.50", "10.30.1.250")],
    },
    {
        "network": "10.40.0.0/22",
        "name": "WiFi",
        "routers": "10.40.0.1",
        "domain_name_servers": DNS,
        "domain_name": "wifi.campus.example.org",
        "default_lease_time": 1800,
        "max_lease_time": 3600,
        "pools": [("10.40.0.10", "10.40.1.254"), ("10.40.2.1", "10.40.3.250")],
    },
    {
        "network": "10.50.0.0/16",
        "name": "Campus-wide",
        "routers": "10.50.0.1",
        "domain_name_servers": DNS,
        "domain_name": "campus.example.org",
        "default_lease_time": 43200,
        "max_lease_time": 86400,
        "pools": [("10.50.16.1", "10.50.31.254")],
    },
]


class Command(BaseCommand):
    help = (
        "Load demo data: the failover pair dhcp-a (primary) / dhcp-b (secondary) with peer "
        f"'{PEER_NAME}', {len(SCOPES)} scopes with pools on both, an '{ADMIN_USERNAME}' "
        f"superuser and a read-only '{VIEWER_USERNAME}' user. Safe to run twice."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self.changes = 0
        self.logins: list[str] = []
        with transaction.atomic():
            servers = {spec["name"]: self._server(spec) for spec in SERVERS}
            for name, server in servers.items():
                peer = FailoverPeer.objects.filter(server=server, name=PEER_NAME).first()
                for spec in SCOPES:
                    scope = self._scope(server, spec)
                    for first, last in spec["pools"]:
                        self._pool(scope, first, last, peer)
                if peer is None:
                    partner = next(s for n, s in servers.items() if n != name)
                    self._peer(server, partner)
            self._users()
        if self.changes:
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {self.changes} change(s)."))
        else:
            self.stdout.write("Demo data already present: nothing changed.")
        for line in self.logins:
            self.stdout.write(line)
        if self.logins:
            self.stdout.write("These are demo passwords: change them on a real system.")

    def _created(self, text: str) -> None:
        self.changes += 1
        self.stdout.write(f"  created {text}")

    def _server(self, spec: dict[str, Any]) -> DhcpServer:
        server = DhcpServer.objects.filter(name=spec["name"]).first()
        if server is None:
            server = services.server_create(**spec)
            self._created(f"server {server.name} ({server.address})")
        return server

    def _scope(self, server: DhcpServer, spec: dict[str, Any]) -> Scope:
        scope = Scope.objects.filter(server=server, network=spec["network"]).first()
        if scope is None:
            fields = {k: v for k, v in spec.items() if k != "pools"}
            scope = services.scope_create(server=server, **fields)
            self._created(f"scope {scope.network} {scope.name} on {server}")
        return scope

    def _pool(self, scope: Scope, first: str, last: str, peer: FailoverPeer | None) -> None:
        if AddressPool.objects.filter(scope=scope, first_address=first, last_address=last).exists():
            return
        pool = services.pool_create(
            scope=scope, first_address=first, last_address=last, failover_peer=peer
        )
        self._created(f"pool {pool} in {scope.network} on {scope.server}")

    def _peer(self, server: DhcpServer, partner: DhcpServer) -> None:
        result = services.peer_create(
            server=server, name=PEER_NAME, partner_server=partner, **PEERS[server.name]
        )
        peer = result.peer
        self._created(
            f"failover peer {peer.name} on {server} ({peer.get_role_display()}, "
            f"{peer.address}:{peer.port} <-> {peer.peer_address}:{peer.peer_port}); "
            f"first peer of {server}, so {result.pools_assigned} pool(s) now refer to it"
        )

    def _users(self) -> None:
        admin = User.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            admin = User.objects.create_superuser(ADMIN_USERNAME, password=ADMIN_PASSWORD)
            self._created(f"superuser '{ADMIN_USERNAME}'")
        self._login(admin, ADMIN_PASSWORD, "superuser: may change everything")
        viewer = User.objects.filter(username=VIEWER_USERNAME).first()
        if viewer is None:
            viewer = User.objects.create_user(
                VIEWER_USERNAME, password=VIEWER_PASSWORD, is_staff=True
            )
            viewer.user_permissions.set(
                Permission.objects.filter(
                    content_type__app_label="failover", codename__startswith="view_"
                )
            )
            self._created(f"read-only user '{VIEWER_USERNAME}' (view permissions only)")
        self._login(viewer, VIEWER_PASSWORD, "read-only: view permissions only")

    def _login(self, user: User, password: str, what: str) -> None:
        if user.check_password(password):
            self.logins.append(f"Log in as '{user.username}' with password '{password}' ({what}).")
        else:
            self.stdout.write(
                f"  user '{user.username}' exists with another password: left as it is"
            )
