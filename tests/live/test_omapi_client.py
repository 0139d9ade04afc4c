"""The OMAPI client's bounds and statuses against loopback servers that misbehave: nothing
listening, a port that accepts and never answers, one that answers garbage, one that
dribbles bytes — each a clear status within the deadline, never an exception."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from failover.live.models import Status
from failover.live.omapi import read_peer, set_local_state
from failover.models import DhcpServer

SECRET = "MDEyMzQ1Njc4OWFiY2RlZg=="


def _server(port: int | None, **kw) -> DhcpServer:
    return DhcpServer(
        name="s",
        address="192.0.2.1",
        omapi_host="127.0.0.1",
        omapi_port=port,
        omapi_key_name=kw.get("name", "k"),
        omapi_key_secret=kw.get("secret", SECRET),
    )


class _Fake:
    """A loopback TCP server; ``behaviour(conn)`` runs per connection."""

    def __init__(self, behaviour):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.behaviour = behaviour
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    self.behaviour(conn, self.stop)
                except OSError:
                    pass

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def fake():
    made = []

    def make(behaviour):
        server = _Fake(behaviour)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def test_nothing_listening_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    reading = read_peer(_server(port), "fo", timeout=2)
    assert reading.status == Status.UNREACHABLE and "refused" in reading.detail


def test_no_port_is_unreachable_without_connecting():
    assert read_peer(_server(None), "fo").status == Status.UNREACHABLE


def test_silence_is_a_timeout_within_the_deadline(fake):
    silent = fake(lambda conn, stop: stop.wait(10))
    started = time.monotonic()
    reading = read_peer(_server(silent.port), "fo", timeout=1)
    assert reading.status == Status.TIMEOUT
    assert time.monotonic() - started < 5  # the bound, with a wide margin


def test_dribbling_bytes_cannot_extend_the_deadline(fake):
    def dribble(conn, stop):
        while not stop.is_set():
            conn.sendall(b"\x00")
            stop.wait(0.3)

    slow = fake(dribble)
    started = time.monotonic()
    reading = read_peer(_server(slow.port), "fo", timeout=1)
    assert reading.status in (Status.TIMEOUT, Status.BAD_ANSWER)
    assert time.monotonic() - started < 5


def test_garbage_is_a_bad_answer(fake):
    def garbage(conn, stop):
        conn.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n" * 4)

    bad = fake(garbage)
    reading = read_peer(_server(bad.port), "fo", timeout=2)
    assert reading.status == Status.BAD_ANSWER, reading
    assert SECRET not in reading.detail
    assert set_local_state(_server(bad.port), "fo", 4, timeout=2).status == Status.BAD_ANSWER


def test_a_closed_connection_is_a_bad_answer(fake):
    closer = fake(lambda conn, stop: None)
    assert read_peer(_server(closer.port), "fo", timeout=2).status == Status.BAD_ANSWER


def test_an_unreadable_secret_is_an_authentication_failure(fake):
    from failover.crypto import UNREADABLE

    silent = fake(lambda conn, stop: conn.sendall(b"\x00\x00\x00\x64\x00\x00\x00\x18"))
    reading = read_peer(_server(silent.port, secret=UNREADABLE), "fo", timeout=2)
    assert reading.status == Status.AUTH_FAILED and "decrypted" in reading.detail
