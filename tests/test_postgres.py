"""PostgreSQL: the test command runs the whole suite on SQLite and again on PostgreSQL.

``scripts/test.sh`` starts PostgreSQL and exports DHCPADMIN_POSTGRES_URL in both runs (and
DATABASE_URL in the second). Without it these tests skip locally and FAIL under CI=true.
The constraint tests run on whichever database is in use: the rules hold in the database
itself, not only in ``full_clean()``.
"""

from __future__ import annotations

import os

import pytest
from django.db import IntegrityError, connection, transaction

from failover.models import FailoverPeer
from tests.conftest import require

POSTGRES_URL = os.environ.get("DHCPADMIN_POSTGRES_URL", "")


def test_postgres_is_reachable():
    require(bool(POSTGRES_URL), "PostgreSQL (DHCPADMIN_POSTGRES_URL, set by scripts/test.sh)")
    import psycopg

    with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        can_create_db = conn.execute(
            "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
    assert int(version.split(".")[0]) >= 13
    assert can_create_db, "pytest-django needs CREATEDB to create test_dhcpadmin"


def test_database_url_selects_the_backend(db):
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected


@pytest.mark.parametrize(
    "change",
    [
        dict(mclt=None),  # a primary without mclt
        dict(split=None),  # a primary without split or hba
        dict(role="secondary"),  # a secondary with mclt and split
        dict(port=0),
        dict(peer_port=65536),
        dict(split=257),
        dict(peer_address="192.0.2.1"),  # the same as the address
        dict(role="tertiary"),
    ],
)
def test_the_database_itself_refuses_an_invalid_peer(primary_peer, change):
    with pytest.raises(IntegrityError), transaction.atomic():
        FailoverPeer.objects.filter(pk=primary_peer.pk).update(**change)
    primary_peer.refresh_from_db()
    assert (primary_peer.role, primary_peer.mclt, primary_peer.split) == ("primary", 3600, 128)


def test_the_database_accepts_a_valid_change(primary_peer):
    FailoverPeer.objects.filter(pk=primary_peer.pk).update(split=None, hba=":".join(["ff"] * 32))
    primary_peer.refresh_from_db()
    assert primary_peer.split is None
