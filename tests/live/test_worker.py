"""The background polling with the real processes: ``run_scheduler`` enqueues, ``db_worker``
runs. With two schedulers and two workers on PostgreSQL, one server is never polled twice at
the same time (a poll here takes 2 s — an OMAPI port that accepts and never answers — with a
1 s interval), and servers without a key are never polled."""

from __future__ import annotations

import socket
import time

import pytest
from django_tasks_db.models import DBTaskResult

from failover import services
from failover.live.models import PeerState, Status
from failover.models import DhcpServer
from tests.dhcpd.conftest import build_pair
from tests.live.conftest import new_secret

RUN_WAIT = 60  # seconds until every server has had its polls


@pytest.fixture
def silent_port():
    """A loopback port that accepts connections (kernel backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def _poll_results(server: DhcpServer) -> list[DBTaskResult]:
    return [
        r
        for r in DBTaskResult.objects.filter(task_path__endswith="poll_server_task")
        if r.args_kwargs["args"] == [str(server.pk)]
    ]


def test_two_workers_never_poll_one_server_twice_at_once(background, silent_port):
    # One keyed server and two workers: a second poll would find a free worker at once.
    # Model addresses only (192.0.2.x, never contacted): OMAPI is on loopback; b has no key.
    a, keyless = build_pair(omapi_port=silent_port)
    services.server_update(
        server=a, omapi_host="127.0.0.1", omapi_key_name="k", omapi_key_secret=new_secret()
    )
    for name in ("scheduler-1", "scheduler-2"):
        background.scheduler(name)
    for name in ("worker-1", "worker-2"):
        background.worker(name)

    deadline = time.monotonic() + RUN_WAIT
    while time.monotonic() < deadline:
        if len([r for r in _poll_results(a) if r.finished_at is not None]) >= 5:
            break
        time.sleep(0.5)
    alive = background.alive()
    alive = {name: alive[name] for name in ("worker-1", "worker-2")}
    background.stop_all()
    logs = {n: background.log(n) for n in ("scheduler-1", "worker-1", "worker-2")}

    workers: set[str] = set()
    for server in (a,):
        runs = sorted(
            (r for r in _poll_results(server) if r.started_at is not None),
            key=lambda r: r.started_at,
        )
        assert len(runs) >= 4, (len(runs), logs)
        for earlier, later in zip(runs, runs[1:], strict=False):
            assert earlier.finished_at is not None
            assert earlier.finished_at <= later.started_at, "two polls of one server overlapped"
        for run in runs:
            workers.update(run.worker_ids)
        state = PeerState.objects.get(peer__server=server)
        assert state.status == Status.TIMEOUT, state.detail
    # Which worker takes a poll is up to them (one may win every time under load); that two
    # were there to take it all along is what makes the overlap check above mean something.
    assert alive == {"worker-1": True, "worker-2": True}, (alive, logs)
    assert 1 <= len(workers) <= 2, workers
    assert _poll_results(keyless) == []
    assert not PeerState.objects.filter(peer__server=keyless).exists()
