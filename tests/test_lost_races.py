"""A change that loses a race: retried once when that is safe (a deadlock), otherwise said
in the dialog (what changed meanwhile, try again), never a 500.

``services.retry_on_deadlock`` runs a service again in a fresh transaction after a deadlock;
``services.lost_race_message`` is the one wording of a lost race, used by the dialogs
(``views.common.lost_race``), the other service-calling views and the admin. The views are
given a service that raises each kind of lost race.
"""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, OperationalError, connections, transaction
from django.db.models import ProtectedError, RestrictedError
from django.urls import reverse

from failover import services
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope
from tests.conftest import SECONDARY

HX = {"HX-Request": "true"}
ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


class _DriverError(Exception):
    """What psycopg raises (Django's error has it as ``__cause__``), with its SQLSTATE."""

    def __init__(self, sqlstate: str):
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def db_error(cls: type[Exception], sqlstate: str, text: str) -> Exception:
    exc = cls(text)
    exc.__cause__ = _DriverError(sqlstate)
    return exc


def deadlock() -> Exception:
    return db_error(OperationalError, "40P01", "deadlock detected")


# Each kind of lost race, and what the user is told.
LOST_RACES = {
    "deadlock": (deadlock, "at the same moment"),
    "lock timeout": (
        lambda: db_error(OperationalError, "55P03", "canceling statement due to lock timeout"),
        "at the same moment",
    ),
    "sqlite busy": (lambda: OperationalError("database is locked"), "at the same moment"),
    "row deleted": (
        lambda: FailoverPeer.DoesNotExist("FailoverPeer matching query does not exist."),
        "The failover peer was deleted by someone else meanwhile.",
    ),
    "row deleted (service)": (
        lambda: Scope.DoesNotExist("The scope 10.10.0.0/24 was deleted meanwhile."),
        "The scope 10.10.0.0/24 was deleted meanwhile.",
    ),
    "object gone": (lambda: ObjectDoesNotExist("gone"), "was deleted by someone else meanwhile"),
    "foreign key": (
        lambda: db_error(IntegrityError, "23503", "violates foreign key constraint"),
        "Something this change refers to was deleted by someone else meanwhile.",
    ),
    "foreign key (sqlite)": (
        lambda: IntegrityError("FOREIGN KEY constraint failed"),
        "Something this change refers to was deleted by someone else meanwhile.",
    ),
    "unique": (
        lambda: db_error(IntegrityError, "23505", "duplicate key value"),
        "the same name or network meanwhile",
    ),
    "restricted delete": (
        lambda: RestrictedError("Cannot delete", set()),
        "still refers to it",
    ),
    "protected delete": (lambda: ProtectedError("Cannot delete", set()), "still refers to it"),
}


# --- the wording ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(LOST_RACES))
def test_each_lost_race_has_a_message_that_says_try_again(kind):
    make, expected = LOST_RACES[kind]
    message = services.lost_race_message(make())
    assert message is not None and expected in message
    assert message.endswith("check it and try again.")


@pytest.mark.parametrize(
    "error",
    [
        db_error(OperationalError, "08006", "connection failure"),
        OperationalError("no such table: failover_scope"),
        ValueError("not a database error"),
    ],
)
def test_other_errors_are_not_a_lost_race(error):
    assert services.lost_race_message(error) is None


# --- retry_on_deadlock ------------------------------------------------------------------------


def _flaky(*errors: Exception):
    """A service that raises ``errors`` one per call, then answers "done"."""
    calls: list[int] = []

    @services.retry_on_deadlock
    def service(*, server: DhcpServer | None = None) -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            if server is not None:
                server.pk = None  # what a delete does to the instance
            raise errors[len(calls) - 1]
        return "done"

    return service, calls


def test_a_deadlock_is_retried_once_in_a_fresh_transaction():
    service, calls = _flaky(deadlock())
    assert service() == "done"
    assert len(calls) == 2


def test_sqlite_busy_is_retried_once():
    service, calls = _flaky(OperationalError("database is locked"))
    assert service() == "done"
    assert len(calls) == 2


def test_a_second_deadlock_is_raised():
    service, calls = _flaky(deadlock(), deadlock())
    with pytest.raises(OperationalError):
        service()
    assert len(calls) == 2


@pytest.mark.parametrize(
    "error",
    [
        db_error(OperationalError, "55P03", "lock timeout"),
        db_error(IntegrityError, "23503", "foreign key"),
        FailoverPeer.DoesNotExist(),
    ],
)
def test_other_lost_races_are_not_retried(error):
    service, calls = _flaky(error)
    with pytest.raises(type(error)):
        service()
    assert len(calls) == 1


def test_no_retry_inside_a_callers_transaction(db):
    service, calls = _flaky(deadlock())
    with pytest.raises(OperationalError), transaction.atomic():
        service()
    assert len(calls) == 1


def test_the_retry_restores_the_pk_of_instances_given():
    server = DhcpServer(pk=42, name="a", address="192.0.2.1")
    seen: list[object] = []

    @services.retry_on_deadlock
    def delete(*, server: DhcpServer) -> str:
        seen.append(server.pk)
        if len(seen) == 1:
            server.pk = None  # what a delete does to the instance, then the deadlock
            raise deadlock()
        return "done"

    assert delete(server=server) == "done"
    assert seen == [42, 42]


@pytest.mark.skipif(not ON_POSTGRES, reason="a real deadlock needs row locks (PostgreSQL)")
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_retried_and_both_changes_succeed():
    """Two services lock two servers in opposite orders: PostgreSQL kills one with a
    deadlock; its retry (a fresh transaction) then succeeds."""
    a = services.server_create(name="dl-a", address="192.0.2.1")
    b = services.server_create(name="dl-b", address="192.0.2.2")
    barrier = threading.Barrier(2)
    attempts: list[str] = []
    results: list[object] = [None, None]

    @services.retry_on_deadlock
    def lock_both(first: DhcpServer, second: DhcpServer, label: str) -> str:
        attempts.append(label)
        with transaction.atomic():
            DhcpServer.objects.select_for_update().filter(pk=first.pk).exists()
            if attempts.count(label) == 1:
                barrier.wait(timeout=30)  # both hold their first lock
            DhcpServer.objects.select_for_update().filter(pk=second.pk).exists()
            DhcpServer.objects.filter(pk=first.pk).update(description=label)
        return label

    def run(i: int, first: DhcpServer, second: DhcpServer) -> None:
        try:
            results[i] = lock_both(first, second, f"t{i}")
        except Exception as exc:  # noqa: BLE001 - asserted below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(0, a, b)),
        threading.Thread(target=run, args=(1, b, a)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == ["t0", "t1"], (results, attempts)
    assert len(attempts) == 3, attempts  # one of the two ran twice


# --- the pages: a service that loses a race -----------------------------------------------------


def _raising(make):
    def service(*args, **kwargs):
        raise make()

    return service


@pytest.fixture
def peers(server, pool):
    """Two peers on the server (``pool`` refers to the first)."""
    first = services.peer_create(server=server, name="fo-a", **SECONDARY).peer
    second = services.peer_create(
        server=server, name="fo-b", **dict(SECONDARY, peer_address="192.0.2.20")
    ).peer
    return first, second


def _requests(scope, pool, peers):
    """(service name, url, POST data) of every page that calls a service."""
    first, second = peers
    return {
        "scope_create (form_dialog)": (
            "scope_create",
            reverse("failover:scope_create", args=[scope.server_id]),
            {"network": "10.20.0.0/24", "name": ""},
        ),
        "scope_delete (delete_dialog)": (
            "scope_delete",
            reverse("failover:scope_delete", args=[scope.pk]),
            {},
        ),
        "pool_create": (
            "pool_create",
            reverse("failover:pool_create", args=[scope.pk]),
            {"first_address": "10.10.0.10", "last_address": "10.10.0.20"},
        ),
        "pool_edit": (
            "pool_update",
            reverse("failover:pool_edit", args=[pool.pk]),
            {
                "first_address": pool.first_address,
                "last_address": pool.last_address,
                "failover_peer": second.pk,
            },
        ),
        "peer_create_for_pool": (
            "peer_create",
            reverse("failover:peer_create_for_pool", args=[scope.pk]),
            {
                **{k: "" if v is None else v for k, v in SECONDARY.items()},
                "name": "fo-c",
                "peer_address": "192.0.2.30",
            },
        ),
        "peer_delete": (
            "peer_delete",
            reverse("failover:peer_delete", args=[first.pk]),
            {},
        ),
        "scope_migrate": (
            "scope_migrate_to_partner",
            reverse("failover:scope_migrate", args=[scope.pk]),
            {},
        ),
    }


PAGES = [
    "scope_create (form_dialog)",
    "scope_delete (delete_dialog)",
    "pool_create",
    "pool_edit",
    "peer_create_for_pool",
    "peer_delete",
    "scope_migrate",
]


@pytest.mark.parametrize("kind", list(LOST_RACES))
@pytest.mark.parametrize("page", PAGES)
def test_a_page_says_what_changed_meanwhile_not_500(
    editor_client, scope, pool, peers, monkeypatch, page, kind
):
    make, expected = LOST_RACES[kind]
    name, url, data = _requests(scope, pool, peers)[page]
    monkeypatch.setattr(services, name, _raising(make))
    before = (Scope.objects.count(), AddressPool.objects.count(), FailoverPeer.objects.count())

    plain = editor_client.post(url, data)
    assert plain.status_code == 409
    assert expected in plain.content.decode()
    assert "check it and try again" in plain.content.decode()

    htmx = editor_client.post(url, data, headers=HX)  # the dialog stays open, saying it
    assert htmx.status_code == 200
    assert expected in htmx.content.decode()
    assert 'id="modal-title"' in htmx.content.decode()
    after = (Scope.objects.count(), AddressPool.objects.count(), FailoverPeer.objects.count())
    assert after == before


def test_import_confirm_says_what_changed_meanwhile(editor_client, server, monkeypatch):
    text = "subnet 10.5.0.0 netmask 255.255.255.0 { range 10.5.0.10 10.5.0.20; }\n"
    url = reverse("failover:server_import", args=[server.pk])
    preview = editor_client.post(url, {"text": text})
    assert preview.status_code == 200
    fingerprint = preview.context["plan"].fingerprint
    monkeypatch.setattr(services, "config_import", _raising(LOST_RACES["foreign key"][0]))
    data = {"step": "confirm", "text": text, "filename": "<text>", "fingerprint": fingerprint}
    response = editor_client.post(url, data)
    assert response.status_code == 409
    assert "was deleted by someone else meanwhile" in response.content.decode()


def test_another_database_error_is_not_hidden(editor_client, scope, monkeypatch):
    """A database that is down is not a lost race: it is not dressed up as one."""
    monkeypatch.setattr(
        services,
        "scope_delete",
        _raising(lambda: db_error(OperationalError, "08006", "connection failure")),
    )
    with pytest.raises(OperationalError):
        editor_client.post(reverse("failover:scope_delete", args=[scope.pk]))


# --- the admin ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["deadlock", "row deleted (service)", "restricted delete"])
def test_the_admin_says_what_changed_meanwhile(admin_client, scope, monkeypatch, kind):
    make, expected = LOST_RACES[kind]
    monkeypatch.setattr(services, "scope_delete", _raising(make))
    monkeypatch.setattr(services, "scope_update", _raising(make))
    delete_url = reverse("admin:failover_scope_delete", args=[scope.pk])
    response = admin_client.post(delete_url, {"post": "yes"})
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(expected in m for m in said), said

    change_url = reverse("admin:failover_scope_change", args=[scope.pk])
    response = admin_client.post(
        change_url, {"server": scope.server_id, "network": scope.network, "name": "x"}
    )
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(expected in m for m in said), said
    assert Scope.objects.get(pk=scope.pk).name == "Office"


# --- SQLite: one writer at a time -------------------------------------------------------------


@pytest.mark.skipif(ON_POSTGRES, reason="the setting is for SQLite only")
def test_sqlite_transactions_take_the_write_lock_when_they_begin(db):
    """No row locks on SQLite: each transaction takes the database's write lock at BEGIN
    (BEGIN IMMEDIATE), so two services' checks never run side by side."""
    from django.db import connection

    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


@pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL has row locks instead")
def test_postgres_gets_no_sqlite_options(db):
    from django.db import connection

    assert "transaction_mode" not in connection.settings_dict.get("OPTIONS", {})
