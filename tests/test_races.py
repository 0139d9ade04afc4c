"""Races through the pages: rules that span rows hold when requests come at the same moment.

Each scenario runs several rounds; in each round threads wait behind a ``threading.Barrier``
and then POST at once, each with its own logged-in ``django.test.Client`` and its own
database connection (Django gives every thread one; each thread closes it at the end).
Afterwards: no rule is broken (no overlapping pools or scopes, unique peer names, every
pool's peer on its own server), every server's configuration passes the real ``dhcpd -t``,
and no answer is a 5xx.

PostgreSQL only: SQLite serializes writers, so the race cannot be reproduced there (the
SQLite pass skips these; the PostgreSQL pass of ``scripts/test.sh`` runs them, and under
CI=true a missing dhcpd fails them).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connections
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from failover import services
from failover.models import AddressPool, DhcpServer, FailoverPeer, Scope, find_overlaps
from tests.conftest import PASSWORD, SECONDARY, require_binary
from tests.dhcpd.conftest import assert_valid

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="SQLite serializes writers: no race to test"),
    pytest.mark.django_db(transaction=True),
]

ROUNDS = 6
HX = {"HX-Request": "true"}

Request = Callable[[Client], HttpResponse]


@pytest.fixture
def dhcpd() -> str:
    """The real dhcpd; skips locally, fails under CI=true, when it is missing."""
    return require_binary("dhcpd")


@dataclass
class Tally:
    """The figures of a scenario: rounds tried, rounds that broke a rule, 5xx answers."""

    name: str
    rounds: int = 0
    broken: int = 0
    server_errors: int = 0
    said_meanwhile: int = 0  # answers that say what changed meanwhile (a lost race)
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.name}: {self.rounds} rounds, {self.broken} broken, "
            f"{self.server_errors} answers 5xx, {self.said_meanwhile} said 'meanwhile'; "
            f"statuses {dict(sorted(self.statuses.items()))}"
            + (f"; first problems: {self.problems[:3]}" if self.problems else "")
        )

    def check(self) -> None:
        print(f"\nRACE FIGURES {self}")
        assert self.broken == 0 and self.server_errors == 0, str(self)


def _editor() -> User:
    user, _ = User.objects.get_or_create(username="racer")
    user.set_password(PASSWORD)
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="failover"))
    return user


def race(user: User, requests: list[Request], tally: Tally) -> list[HttpResponse]:
    """Run ``requests`` at once, one thread and one connection each; count the answers."""
    barrier = threading.Barrier(len(requests))
    answers: list[HttpResponse | BaseException | None] = [None] * len(requests)

    def run(i: int) -> None:
        try:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            barrier.wait(timeout=30)
            answers[i] = requests[i](client)
        except BaseException as exc:  # noqa: BLE001 - reported below
            answers[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    responses = []
    for answer in answers:
        assert isinstance(answer, HttpResponse), f"a request did not answer: {answer!r}"
        tally.statuses[answer.status_code] += 1
        if answer.status_code >= 500:
            tally.server_errors += 1
        if b"meanwhile" in answer.content:
            tally.said_meanwhile += 1
        responses.append(answer)
    tally.rounds += 1
    return responses


def broken_rules(server: DhcpServer, dhcpd: str) -> list[str]:
    """The cross-row rules broken on ``server``, and whether dhcpd -t accepts its config."""
    problems = []
    scopes = list(Scope.objects.filter(server=server))
    for a, b in find_overlaps([(*s.interval, s) for s in scopes]):
        problems.append(f"scopes {a.network} and {b.network} overlap")
    for scope in scopes:
        pools = list(scope.pools.all())
        for a, b in find_overlaps([(int(p.first_ip), int(p.last_ip), p) for p in pools]):
            problems.append(f"pools {a} and {b} overlap in {scope.network}")
    names = Counter(server.failover_peers.values_list("name", flat=True))
    problems += [f"two peers named {name}" for name, n in names.items() if n > 1]
    for pool in AddressPool.objects.for_server(server).select_related("failover_peer"):
        if pool.failover_peer and pool.failover_peer.server_id != server.pk:
            problems.append(f"pool {pool} refers to a peer of another server")
    try:
        assert_valid(server, dhcpd)
    except AssertionError as exc:
        problems.append(f"dhcpd -t: {str(exc)[:300]}")
    return problems


def is_success(response: HttpResponse) -> bool:
    """The dialog closed: the change was saved (htmx is told to reload or go elsewhere)."""
    return response.status_code == 200 and (
        "HX-Refresh" in response.headers or "HX-Redirect" in response.headers
    )


def one_saved_one_told(
    responses: list[HttpResponse],
    refusal: str,
    success: Callable[[HttpResponse], bool] = is_success,
) -> list[str]:
    """Of two requests, one saved and the other shown again saying ``refusal``."""
    saved = [r for r in responses if success(r)]
    told = [r for r in responses if not success(r) and refusal.encode() in r.content]
    if len(saved) == 1 and len(told) == 1:
        return []
    return [f"{len(saved)} saved, {len(told)} told {refusal!r}"]


def _post(url: str, data: dict[str, object]) -> Request:
    payload = {key: "" if value is None else str(value) for key, value in data.items()}
    return lambda client: client.post(url, payload, headers=HX)


def _peer_data(name: str, n: int) -> dict[str, object]:
    return {**SECONDARY, "name": name, "peer_address": f"192.0.2.{10 + n}"}


# --- (a) two overlapping pools in one scope -------------------------------------------------


def test_two_overlapping_pools_at_once_save_one(dhcpd):
    user = _editor()
    server = services.server_create(name="race-a", address="192.0.2.1")
    tally = Tally("overlapping pools")
    for n in range(1, ROUNDS + 1):
        scope = services.scope_create(server=server, network=f"10.{n}.0.0/24")
        url = reverse("failover:pool_create", args=[scope.pk])
        ranges = [(f"10.{n}.0.10", f"10.{n}.0.100"), (f"10.{n}.0.50", f"10.{n}.0.150")]
        responses = race(
            user,
            [_post(url, {"first_address": a, "last_address": b}) for a, b in ranges],
            tally,
        )
        saved = scope.pools.count()
        problems = broken_rules(server, dhcpd) + one_saved_one_told(responses, "Overlaps")
        if saved != 1:
            problems.append(f"{saved} pools saved, not one")
        if problems:
            tally.broken += 1
            tally.problems += problems
    tally.check()


# --- (b) two overlapping scopes on one server -----------------------------------------------


def test_two_overlapping_scopes_at_once_save_one(dhcpd):
    user = _editor()
    server = services.server_create(name="race-b", address="192.0.2.1")
    url = reverse("failover:scope_create", args=[server.pk])
    tally = Tally("overlapping scopes")
    for n in range(1, ROUNDS + 1):
        networks = [f"10.{n}.0.0/16", f"10.{n}.1.0/24"]
        requests = [_post(url, {"network": net, "name": ""}) for net in networks]
        responses = race(user, requests, tally)
        saved = Scope.objects.filter(server=server, network__in=networks).count()
        problems = broken_rules(server, dhcpd) + one_saved_one_told(responses, "Overlaps")
        if saved != 1:
            problems.append(f"{saved} scopes saved, not one")
        if problems:
            tally.broken += 1
            tally.problems += problems
    tally.check()


# --- (c) two peers with one name on one server ----------------------------------------------


def test_two_peers_with_one_name_at_once_save_one(dhcpd):
    user = _editor()
    server = services.server_create(name="race-c", address="192.0.2.1")
    scope = services.scope_create(server=server, network="10.0.0.0/24")
    services.pool_create(scope=scope, first_address="10.0.0.10", last_address="10.0.0.20")
    url = reverse("failover:peer_create", args=[server.pk])
    tally = Tally("peers with one name")
    for n in range(1, ROUNDS + 1):
        name = f"fo-{n}"
        requests = [_post(url, _peer_data(name, 2 * n + i)) for i in range(2)]
        responses = race(user, requests, tally)
        saved = server.failover_peers.filter(name=name).count()
        problems = broken_rules(server, dhcpd) + one_saved_one_told(
            responses, "already has", lambda r: b"Created failover peer" in r.content
        )
        if saved != 1:
            problems.append(f"{saved} peers named {name} saved, not one")
        if problems:
            tally.broken += 1
            tally.problems += problems
    tally.check()


# --- (d) crossing peer deletes with pool re-points ------------------------------------------


def _peer_round(n: int) -> tuple[DhcpServer, list[FailoverPeer], list[AddressPool]]:
    """A server with four peers (A-D) and eight pools, two on each peer."""
    server = services.server_create(name=f"race-d{n}", address="192.0.2.1")
    scope = services.scope_create(server=server, network="10.0.0.0/24")
    pools = [
        services.pool_create(
            scope=scope, first_address=f"10.0.0.{10 + 10 * i}", last_address=f"10.0.0.{15 + 10 * i}"
        )
        for i in range(8)
    ]
    peers = [
        services.peer_create(server=server, **_peer_data(name, i)).peer
        for i, name in enumerate("ABCD")
    ]
    for i, pool in enumerate(pools):
        services.pool_update(
            pool=pool,
            first_address=pool.first_address,
            last_address=pool.last_address,
            failover_peer=peers[i % 4],
        )
    return server, peers, pools


def test_crossing_peer_deletes_and_pool_repoints(dhcpd):
    user = _editor()
    tally = Tally("peer deletes and pool re-points")
    for n in range(1, ROUNDS + 1):
        server, peers, pools = _peer_round(n)
        requests: list[Request] = []
        for i, peer in enumerate(peers):  # A -> B, B -> A, C -> D, D -> C: crossing
            replacement = peers[i ^ 1]
            url = reverse("failover:peer_delete", args=[peer.pk])
            requests.append(_post(url, {"replacement": replacement.pk}))
        for i, pool in enumerate(pools):  # each pool to the next peer, leaving its last one
            url = reverse("failover:pool_edit", args=[pool.pk])
            data = {
                "first_address": pool.first_address,
                "last_address": pool.last_address,
                "failover_peer": peers[(i + 1 + n) % 4].pk,
                "confirm_peer_deletion": "1",
            }
            requests.append(_post(url, data))
        race(user, requests, tally)
        problems = broken_rules(server, dhcpd)
        if problems:
            tally.broken += 1
            tally.problems += problems
    tally.check()
