"""Shared fixtures: users of each kind, a small failover model, and the rule for real parts.

A test that needs a real component (dhcpd, chromium, PostgreSQL, root for namespaces) calls
``require(...)``: it skips on a developer machine without the part, and FAILS under CI=true.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth.models import Permission, User

from failover import services
from failover.models import DhcpServer

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(condition: bool, what: str) -> None:
    """Skip locally, fail under CI=true, when a real part is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI=true but is missing", pytrace=False)
    pytest.skip(f"{what} is missing")


def require_binary(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    require(path is not None, f"the '{name}' binary")
    return path  # type: ignore[return-value]


PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with no kept results (derived results are kept per data version)."""
    from failover import versioning

    versioning.clear()
    yield
    versioning.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; the production hasher's cost is not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def editor(db) -> User:
    user = User.objects.create_user("editor", password=PASSWORD)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="failover"))
    return user


@pytest.fixture
def viewer(db) -> User:
    user = User.objects.create_user("viewer", password=PASSWORD)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="failover", codename__startswith="view_")
    )
    return user


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def server(db) -> DhcpServer:
    return services.server_create(name="dhcp-a", address="192.0.2.1")


@pytest.fixture
def scope(server):
    return services.scope_create(server=server, network="10.10.0.0/24", name="Office")


@pytest.fixture
def pool(scope):
    return services.pool_create(
        scope=scope, first_address="10.10.0.100", last_address="10.10.0.150"
    )


PRIMARY = dict(
    role="primary",
    address="192.0.2.1",
    port=647,
    peer_address="192.0.2.2",
    peer_port=647,
    max_response_delay=60,
    max_unacked_updates=10,
    mclt=3600,
    split=128,
    load_balance_max_seconds=3,
)

SECONDARY = dict(PRIMARY, role="secondary", mclt=None, split=None)


@pytest.fixture
def primary_peer(server, pool):
    return services.peer_create(server=server, name="fo-pair", **PRIMARY).peer


def shared_database_url() -> str:
    """The test database as a DATABASE_URL that other processes (a real ``db_worker``, the
    scheduler) can open: on SQLite the tests' database is a file for this reason
    (dhcpadmin/settings.py)."""
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(params["NAME"])
        assert name.startswith("/"), f"the SQLite test database is not a file: {name}"
        return f"sqlite:///{name}"
    user, password = params["USER"], params["PASSWORD"]
    host, port = params["HOST"] or "127.0.0.1", params["PORT"] or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{params['NAME']}"
