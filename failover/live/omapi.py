"""The OMAPI client of the live state: pypureomapi's protocol with a bounded deadline.

Every call has one deadline for the whole exchange (connect, handshake, authenticator,
lookup), not only per socket operation, so a server that answers slowly or dribbles bytes
cannot hold a poll longer than ``timeout`` seconds. Faults never raise: they are the
``Reading``'s status — ``unreachable`` (refused, no route), ``timeout``, ``authentication
failed`` (dhcpd does not know the key name, or the secret is wrong, or it wants a key we do
not have), ``unknown peer`` (no failover-state of that name), ``bad answer`` (not OMAPI, or
an object without the failover attributes). ``detail`` never contains the secret.
"""

from __future__ import annotations

import base64
import binascii
import logging
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pypureomapi import (
    OMAPI_OP_STATUS,
    OMAPI_OP_UPDATE,
    OmapiError,
    OmapiHMACMD5Authenticator,
    OmapiMessage,
    OmapiProtocol,
)

from failover.dhcpd.omapi import decode
from failover.live.models import Status

if TYPE_CHECKING:
    from failover.models import DhcpServer

logger = logging.getLogger(__name__)

#: Seconds one OMAPI exchange may take at most (setting DHCPADMIN_OMAPI_TIMEOUT).
DEFAULT_TIMEOUT = 5.0


@dataclass
class Reading:
    status: str
    detail: str
    values: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == Status.OK


class _Fault(Exception):
    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Connection:
    """One OMAPI connection with a deadline for everything it does."""

    def __init__(self, host: str, port: int, deadline: float):
        self.deadline = deadline
        self.protocol = OmapiProtocol()
        self.queue: list[OmapiMessage | None] = []
        self.protocol.startup_completed = lambda: self.queue.append(None)
        self.protocol.message_received = self.queue.append
        self.sock: socket.socket | None = None
        try:
            self.sock = socket.create_connection((host, port), timeout=self._remaining())
        except TimeoutError as exc:
            raise _Fault(Status.TIMEOUT, f"no connection to {host}:{port} in time") from exc
        except ConnectionRefusedError as exc:
            raise _Fault(
                Status.UNREACHABLE, f"{host}:{port} refused the connection (no OMAPI there)"
            ) from exc
        except OSError as exc:
            raise _Fault(
                Status.UNREACHABLE, f"cannot reach {host}:{port}: {exc.strerror or exc}"
            ) from exc
        self.protocol.connection_made(self)  # sends the startup message
        self._next()  # the server's startup message

    # The transport interface OmapiProtocol uses.
    def write(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.settimeout(self._remaining())
        self.sock.sendall(data)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    def _next(self) -> OmapiMessage | None:
        while not self.queue:
            if self.sock is None:
                raise _Fault(Status.BAD_ANSWER, "the connection was closed")
            self.sock.settimeout(self._remaining())
            data = self.sock.recv(4096)
            if not data:
                raise _Fault(
                    Status.AUTH_FAILED if self._signed else Status.BAD_ANSWER,
                    "the server closed the connection",
                )
            self.protocol.data_received(data)
        return self.queue.pop(0)

    _signed = False

    def query(self, message: OmapiMessage) -> OmapiMessage:
        self.protocol.send_message(message, sign=True)
        while True:
            response = self._next()
            if response is None:
                raise _Fault(Status.BAD_ANSWER, "unexpected second startup message")
            if response.is_response(message):
                return response

    def authenticate(self, key_name: str, secret: str) -> None:
        try:
            key = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _Fault(Status.AUTH_FAILED, "the stored OMAPI secret is not base64") from exc
        authenticator = OmapiHMACMD5Authenticator(key_name.encode(), base64.b64encode(key))
        message = OmapiMessage.open(b"authenticator")
        message.update_object(authenticator.auth_object())
        response = self.query(message)
        if response.opcode != OMAPI_OP_UPDATE or response.handle == 0:
            raise _Fault(
                Status.AUTH_FAILED,
                f"the server does not accept the key name '{key_name}' ({_status_text(response)})",
            )
        self.protocol.authenticators[response.handle] = authenticator
        authenticator.authid = response.handle
        self.protocol.defauth = response.handle
        self._signed = True


def _status(message: OmapiMessage) -> tuple[str, int | None]:
    values = dict(message.message)
    text = values.get(b"message", b"").decode("utf-8", errors="replace")
    result = values.get(b"result")
    code = struct.unpack("!I", result)[0] if result and len(result) == 4 else None
    return text, code


def _status_text(message: OmapiMessage) -> str:
    text, code = _status(message)
    name = _RESULT_NAMES.get(code) if code is not None else None
    return ", ".join(p for p in (text, name or (f"result {code}" if code else "")) if p) or "status"


#: dhcpd's OMAPI result codes (includes/omapip/result.h, ISC_RESULTCLASS_DHCP = 6 << 16).
_DHCP = 6 << 16
ISC_R_NOTFOUND = 23
ISC_R_NOPERM = 6
_AUTH_CODES = {
    _DHCP + 9: "no key on the request",  # DHCP_R_NOKEYS
    _DHCP + 10: "unknown key",  # DHCP_R_KEY_UNKNOWN
    _DHCP + 11: "invalid key (wrong secret)",  # DHCP_R_INVALIDKEY
    _DHCP + 21: "not authorized",  # DHCP_R_NOTAUTH
    _DHCP + 23: "bad signature",  # DHCP_R_BADSIG
    _DHCP + 24: "bad key",  # DHCP_R_BADKEY
    ISC_R_NOPERM: "permission denied",
}
_RESULT_NAMES = {**_AUTH_CODES, ISC_R_NOTFOUND: "not found"}


def _classify_status(message: OmapiMessage, what: str) -> _Fault:
    _, code = _status(message)
    if code in _AUTH_CODES:
        return _Fault(Status.AUTH_FAILED, f"the server refused the key: {_status_text(message)}")
    if code == ISC_R_NOTFOUND:
        return _Fault(Status.UNKNOWN_PEER, what)
    return _Fault(Status.BAD_ANSWER, f"unexpected OMAPI status: {_status_text(message)}")


def _exchange(
    server: DhcpServer, peer_name: str, timeout: float | None, update: int | None
) -> Reading:
    if not server.omapi_port:
        return Reading(Status.UNREACHABLE, "the server has no OMAPI port")
    timeout = _timeout(timeout)
    host, port = server.omapi_address, int(server.omapi_port)
    deadline = time.monotonic() + timeout
    connection: _Connection | None = None
    try:
        connection = _Connection(host, port, deadline)
        secret = server.omapi_key_secret
        if server.omapi_key_name and secret:
            from failover.crypto import UNREADABLE

            if secret == UNREADABLE:
                raise _Fault(
                    Status.AUTH_FAILED,
                    "the stored OMAPI secret cannot be decrypted; enter it again",
                )
            connection.authenticate(server.omapi_key_name, secret)
        handle = 0
        if update is not None:
            opened = _lookup(connection, peer_name)
            handle = opened.handle
            message = OmapiMessage.update(handle)
            message.update_object({b"local-state": struct.pack("!I", update)})
            answer = connection.query(message)
            if answer.opcode == OMAPI_OP_STATUS:
                code = dict(answer.message).get(b"result")
                if code and len(code) == 4 and struct.unpack("!I", code)[0] != 0:
                    raise _classify_status(answer, "the server refused the new local-state")
        response = _lookup(connection, peer_name)
        values = decode(dict(response.obj))
        if not isinstance(values.get("local-state"), int):
            return Reading(Status.BAD_ANSWER, "the answer has no local-state", values)
        return Reading(Status.OK, "", values)
    except _Fault as fault:
        return Reading(fault.status, fault.detail)
    except TimeoutError:
        return Reading(Status.TIMEOUT, f"no complete answer from {host}:{port} in {timeout:g} s")
    except OmapiError as exc:
        return Reading(Status.BAD_ANSWER, f"not an OMAPI answer from {host}:{port}: {exc}")
    except (OSError, ValueError, struct.error, AssertionError) as exc:
        return Reading(
            Status.BAD_ANSWER, f"broken exchange with {host}:{port}: {type(exc).__name__}"
        )
    finally:
        if connection is not None:
            connection.close()


def _lookup(connection: _Connection, peer_name: str) -> OmapiMessage:
    message = OmapiMessage.open(b"failover-state")
    message.obj.append((b"name", peer_name.encode("utf-8")))
    response = connection.query(message)
    if response.opcode == OMAPI_OP_UPDATE:
        return response
    if response.opcode == OMAPI_OP_STATUS:
        raise _classify_status(response, f"the server has no failover peer named '{peer_name}'")
    raise _Fault(Status.BAD_ANSWER, f"unexpected OMAPI answer (opcode {response.opcode})")


def _timeout(timeout: float | None) -> float:
    if timeout is not None:
        return timeout
    from django.conf import settings

    return float(getattr(settings, "DHCPADMIN_OMAPI_TIMEOUT", DEFAULT_TIMEOUT))


def read_peer(server: DhcpServer, peer_name: str, *, timeout: float | None = None) -> Reading:
    """The failover-state ``peer_name`` of ``server``; never raises for network, auth or
    protocol faults (they are the status)."""
    return _exchange(server, peer_name, timeout, None)


def set_local_state(
    server: DhcpServer, peer_name: str, state: int, *, timeout: float | None = None
) -> Reading:
    """Open the failover-state, update ``local-state`` to ``state``, then read it back and
    return the read-back (the caller checks ``values['local-state']``)."""
    return _exchange(server, peer_name, timeout, state)
