"""Build the issue's benchmark database: two mirrored servers with N scopes each.

    python bench/gen_db.py [--database-url URL] [--subnets N]

The database (default: the SQLite file bench/out/bench.sqlite3; for PostgreSQL e.g.
``postgres://dhcpadmin:...@127.0.0.1:5432/NAME``) is migrated and its failover tables are
emptied. Then bench/gen_config.py's primary and secondary files (N subnets, default 10,000,
each with one failover pool on the peer ``fo-bench``) are imported with
``failover.services.config_import`` into ``bench-a`` (192.0.2.1, primary) and ``bench-b``
(192.0.2.2, secondary), so the failover relationship ``fo-bench`` between them is found.
Also made (or reset): the superuser ``bench`` / ``bench-password`` and the read-only user
``bench-viewer`` / ``bench-viewer-password`` (view permissions only), for the benchmarks.
Prints the counts and the time taken.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    OUT,
    SUPERUSER,
    VIEWER,
    empty_database,
    setup_django,
)

SERVERS = (("bench-a", "192.0.2.1", "primary"), ("bench-b", "192.0.2.2", "secondary"))


def import_servers(subnets: int) -> None:
    from bench.gen_config import generate
    from failover import services
    from failover.dhcpd.parser import parse_text
    from failover.models import DhcpServer

    for name, address, role in SERVERS:
        text = generate(subnets, role)
        filename = f"dhcpd-{role}-{subnets}.conf"
        with services.without_cycle_collection():
            tree = parse_text(text, filename=filename, max_bytes=1 << 30)
        services.config_import(
            server=DhcpServer(name=name, address=address), tree=tree, filename=filename
        )


def make_users() -> None:
    from django.contrib.auth.models import Permission, User

    username, password = SUPERUSER
    user = User.objects.filter(username=username).first() or User(username=username)
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(password)
    user.save()
    username, password = VIEWER
    viewer = User.objects.filter(username=username).first() or User(username=username)
    viewer.is_staff, viewer.is_superuser, viewer.is_active = True, False, True
    viewer.set_password(password)
    viewer.save()
    viewer.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover", codename__startswith="view_")
    )


def counts() -> dict[str, int]:
    from failover.dhcpd import pair
    from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope

    return {
        "servers": DhcpServer.objects.count(),
        "scopes": Scope.objects.count(),
        "pools": AddressPool.objects.count(),
        "failover pools": AddressPool.objects.filter(failover_peer__isnull=False).count(),
        "failover peers": FailoverPeer.objects.count(),
        "relationships with both servers": sum(
            1 for rel in pair.relationships() if rel.primary_server and rel.secondary_server
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--subnets", type=int, default=10_000)
    args = parser.parse_args(argv)
    if args.database_url == DEFAULT_DATABASE_URL:
        OUT.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    setup_django(args.database_url)
    from django.db import connection

    empty_database()
    import_servers(args.subnets)
    make_users()
    with connection.cursor() as cursor:  # what autovacuum does soon after a bulk load
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    elapsed = time.perf_counter() - started
    found = counts()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    for what, n in found.items():
        print(f"  {what}: {n:,}")
    print(f"users: {SUPERUSER[0]} / {SUPERUSER[1]} (superuser), {VIEWER[0]} / {VIEWER[1]} (view)")
    print(f"built in {elapsed:.1f} s")
    if found["relationships with both servers"] != 1:
        print("ERROR: the relationship fo-bench was not found", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
