"""SSH to the managed servers, with paramiko: pinned host keys, bounded timeouts, argv only.

Why paramiko: it is pure Python on top of ``cryptography`` (already a dependency), has a
blocking API that fits the synchronous views and the django-tasks worker (asyncssh would need
an event loop in each), exposes the transport, so the host key is checked BEFORE any
credential is sent, and has SFTP with ``posix-rename`` (the atomic replace of a deploy).

Host keys are pinned per server (``SshTarget.host_key_type``/``host_key``). An unknown key
(nothing pinned yet) or a changed key refuses the connection right after the key exchange,
before authentication: :class:`HostKeyRefused` says which, with the SHA256 fingerprint as
``ssh-keygen -l`` shows it, and the offered key is stored in ``offered_key_type`` /
``offered_key`` so an admin can accept it (``services.host_key_accept``).

Remote commands are argument lists: every argument is checked for control characters and NUL
and quoted with ``shlex.quote``; the command line sent is the quoted words joined by spaces
(``sudo -n`` first when the target says so). No shell string is ever built from user input.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import ipaddress
import select
import shlex
import socket
import stat as stat_module
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import paramiko
from django.conf import settings

if TYPE_CHECKING:
    from failover.deploy.models import SshTarget

__all__ = [
    "Connection",
    "HostKeyRefused",
    "RunResult",
    "SshError",
    "connect",
    "fingerprint",
    "quote_argv",
]

#: TEST-NET-1/2/3 (RFC 5737): the demo's and the documentation's addresses, never contacted.
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.IPv4Network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)
#: Output kept of a remote command (each of stdout and stderr).
MAX_OUTPUT = 1024 * 1024


def default_timeout() -> float:
    return float(getattr(settings, "DHCPADMIN_SSH_TIMEOUT", 10))


def max_read_bytes() -> int:
    return int(getattr(settings, "DHCPADMIN_SSH_MAX_READ", 64 * 1024 * 1024))


class SshError(Exception):
    """The connection, authentication, a transfer or a command failed (message for users)."""


class HostKeyRefused(SshError):
    """The server's host key is not the pinned one (``changed``) or none is pinned yet."""

    def __init__(self, message: str, *, changed: bool, key_type: str, key: str):
        super().__init__(message)
        self.changed = changed
        self.key_type = key_type
        self.key = key

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


@dataclass
class RunResult:
    exit_status: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def output(self) -> str:
        """stdout and stderr as text, for users."""
        return (self.stdout + self.stderr).decode("utf-8", errors="replace")


def fingerprint(key_base64: str) -> str:
    """``SHA256:…`` of a public key blob, exactly as ``ssh-keygen -l -E sha256`` shows it."""
    blob = base64.b64decode(key_base64)
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


def check_value(value: str, what: str = "value") -> str:
    """Refuse control characters and NUL in anything that reaches the server."""
    if not isinstance(value, str):
        raise SshError(f"The {what} must be text.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise SshError(f"The {what} contains a control character or NUL: refused.")
    return value


def quote_argv(argv: list[str]) -> str:
    """The command line for the remote shell: each word checked and ``shlex.quote``d."""
    if not argv:
        raise SshError("No command.")
    return " ".join(shlex.quote(check_value(word, "command")) for word in argv)


def is_documentation_address(host: str) -> bool:
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return any(address in net for net in DOCUMENTATION_NETWORKS)


def _load_key(target: SshTarget) -> paramiko.PKey:
    from failover.crypto import UNREADABLE

    if target.key_secret:
        if target.key_secret == UNREADABLE:
            raise SshError(
                "The stored private key cannot be decrypted (the encryption key changed): "
                "enter the key again."
            )
        for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
            try:
                return cls.from_private_key(io.StringIO(target.key_secret))
            except (paramiko.SSHException, ValueError):
                continue
        raise SshError(
            "The stored private key cannot be read (an unencrypted OpenSSH or PEM "
            "Ed25519, ECDSA or RSA key is needed)."
        )
    if target.key_path:
        try:
            return paramiko.PKey.from_path(target.key_path)
        except FileNotFoundError:
            raise SshError(f"The key file {target.key_path} does not exist.") from None
        except PermissionError:
            raise SshError(f"The key file {target.key_path} cannot be read.") from None
        except (paramiko.SSHException, ValueError, OSError):
            # no detail from the file: it could be any file of this host
            raise SshError(
                f"The key file {target.key_path} cannot be used (an unencrypted OpenSSH or PEM "
                "Ed25519, ECDSA or RSA private key is needed)."
            ) from None
    raise SshError("No private key: set a key file or store a key.")


class Connection:
    """One SSH connection (transport + lazily opened SFTP). Use as a context manager."""

    def __init__(self, target: SshTarget, transport: paramiko.Transport, timeout: float):
        self.target = target
        self.transport = transport
        self.timeout = timeout
        self._sftp: paramiko.SFTPClient | None = None

    # --- context manager ---
    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._sftp is not None:
            try:
                self._sftp.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self._sftp = None
        self.transport.close()

    @contextlib.contextmanager
    def guard(self, seconds: float, what: str) -> Iterator[None]:
        """A hard bound for one operation: paramiko waits without a timeout for some answers
        (a channel request, the SFTP subsystem), so after ``seconds`` the transport is closed,
        which ends every wait on it; the operation then fails with a clear message."""
        fired = threading.Event()

        def fire() -> None:
            fired.set()
            self.transport.close()

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        timer.start()
        try:
            yield
        except (SshError, OSError, paramiko.SSHException, EOFError):
            if fired.is_set():
                raise SshError(
                    f"{what}: no answer from {self.target.address} within {seconds:g} seconds; "
                    "the connection was closed."
                ) from None
            raise
        finally:
            timer.cancel()

    @property
    def transfer_timeout(self) -> float:
        """The bound of one file operation (reading a large leases file takes longer)."""
        return self.timeout * 6

    # --- commands ---
    def command_line(self, argv: list[str]) -> str:
        words = ["sudo", "-n", *argv] if self.target.use_sudo else list(argv)
        return quote_argv(words)

    def run(
        self, argv: list[str], *, timeout: float | None = None, input: bytes | None = None
    ) -> RunResult:
        """Run ``argv`` on the server; wait at most ``timeout`` seconds for it to end."""
        line = self.command_line(argv)
        limit = self.timeout if timeout is None else timeout
        with self.guard(limit + 2, f"The command '{line}'"):
            return self._run(line, limit, input)

    def _run(self, line: str, limit: float, input: bytes | None) -> RunResult:
        deadline = time.monotonic() + limit
        try:
            chan = self.transport.open_session(timeout=limit)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError(f"Cannot open a session on {self.target.address}: {exc}") from None
        try:
            chan.settimeout(limit)
            chan.exec_command(line)
            if input is not None:
                chan.sendall(input)
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            while True:
                while chan.recv_ready():
                    data = chan.recv(65536)
                    if len(out) < MAX_OUTPUT:
                        out += data[: MAX_OUTPUT - len(out)]
                while chan.recv_stderr_ready():
                    data = chan.recv_stderr(65536)
                    if len(err) < MAX_OUTPUT:
                        err += data[: MAX_OUTPUT - len(err)]
                if chan.exit_status_ready() and not chan.recv_ready():
                    if not chan.recv_stderr_ready():
                        break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SshError(f"The command '{line}' did not finish within {limit:g} seconds.")
                if not self.transport.is_active():
                    raise SshError(f"The connection to {self.target.address} was lost.")
                select.select([chan], [], [], min(remaining, 0.2))
            return RunResult(chan.recv_exit_status(), bytes(out), bytes(err))
        except TimeoutError:
            raise SshError(f"The command '{line}' timed out after {limit:g} seconds.") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError(f"The command '{line}' failed on the connection: {exc}") from None
        finally:
            chan.close()

    # --- files (SFTP) ---
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            try:
                with self.guard(self.timeout, "Opening SFTP"):
                    self._sftp = paramiko.SFTPClient.from_transport(self.transport)
            except SshError:
                raise
            except (paramiko.SSHException, OSError, EOFError) as exc:
                raise SshError(f"SFTP is not available on {self.target.address}: {exc}") from None
            if self._sftp is None:
                raise SshError(f"SFTP is not available on {self.target.address}.")
            self._sftp.get_channel().settimeout(self.timeout)
        return self._sftp

    def _file_error(self, what: str, path: str, exc: BaseException) -> SshError:
        if isinstance(exc, FileNotFoundError):
            reason = "no such file"
        elif isinstance(exc, PermissionError):
            reason = "permission denied"
        elif isinstance(exc, (TimeoutError, socket.timeout)):
            reason = f"timed out after {self.timeout:g} seconds"
        else:
            reason = str(exc) or type(exc).__name__
        return SshError(f"Cannot {what} {path} on {self.target.address}: {reason}.")

    def read(self, path: str, *, max_bytes: int | None = None) -> bytes:
        check_value(path, "path")
        with self.guard(self.transfer_timeout, f"Reading {path}"):
            return self._read(path, max_bytes)

    def _read(self, path: str, max_bytes: int | None) -> bytes:
        limit = max_read_bytes() if max_bytes is None else max_bytes
        try:
            with self.sftp().open(path, "rb") as handle:
                size = handle.stat().st_size or 0
                if size > limit:
                    raise SshError(
                        f"{path} on {self.target.address} has {size} bytes, more than the "
                        f"{limit} dhcpadmin reads."
                    )
                handle.prefetch(size)
                return handle.read(limit + 1)[:limit]
        except SshError:
            raise
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._file_error("read", path, exc) from None

    def write(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        check_value(path, "path")
        with self.guard(self.transfer_timeout, f"Writing {path}"):
            self._write(path, data, mode)

    def _write(self, path: str, data: bytes, mode: int | None) -> None:
        try:
            with self.sftp().open(path, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(data)
                handle.flush()
            if mode is not None:
                self.sftp().chmod(path, mode)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._file_error("write", path, exc) from None

    def rename(self, src: str, dst: str) -> None:
        """Atomic replace (POSIX rename, the posix-rename@openssh.com extension)."""
        check_value(src, "path")
        check_value(dst, "path")
        try:
            with self.guard(self.timeout, f"Renaming {src}"):
                self.sftp().posix_rename(src, dst)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._file_error("rename to " + dst, src, exc) from None

    def remove(self, path: str) -> None:
        check_value(path, "path")
        try:
            with self.guard(self.timeout, f"Removing {path}"):
                self.sftp().remove(path)
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._file_error("remove", path, exc) from None

    def listdir(self, path: str) -> list[str]:
        check_value(path, "path")
        try:
            with self.guard(self.timeout, f"Listing {path}"):
                return sorted(self.sftp().listdir(path))
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._file_error("list", path, exc) from None

    def stat(self, path: str) -> paramiko.SFTPAttributes | None:
        """The file's attributes, or None when it does not exist."""
        check_value(path, "path")
        try:
            with self.guard(self.timeout, f"Reading the attributes of {path}"):
                return self.sftp().stat(path)
        except FileNotFoundError:
            return None
        except (OSError, paramiko.SSHException, EOFError) as exc:
            raise self._file_error("stat", path, exc) from None

    def is_file(self, path: str) -> bool:
        attrs = self.stat(path)
        return attrs is not None and stat_module.S_ISREG(attrs.st_mode or 0)


def _resolve(host: str, port: int, timeout: float) -> str:
    """The address of ``host``; the name lookup is bounded too (getaddrinfo has no timeout,
    so it runs in a daemon thread that is left behind if it does not answer in time)."""
    try:
        ipaddress.IPv4Address(host)
        return host
    except ValueError:
        pass
    result: dict[str, object] = {}

    def lookup() -> None:
        try:
            result["infos"] = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
        except OSError as exc:
            result["error"] = exc

    worker = threading.Thread(target=lookup, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise SshError(f"The name {host} was not resolved within {timeout:g} seconds.")
    if "error" in result or not result.get("infos"):
        raise SshError(f"The name {host} cannot be resolved: {result.get('error')}.")
    infos = result["infos"]
    assert isinstance(infos, list)
    address = str(infos[0][4][0])
    if is_documentation_address(address):
        raise SshError(
            f"{host} is {address}, a documentation address (RFC 5737): dhcpadmin does not "
            "connect to it."
        )
    return address


def _record_offered(target: SshTarget, key_type: str, key: str) -> None:
    from failover.deploy.models import SshTarget as Model

    if target.pk and (target.offered_key_type, target.offered_key) != (key_type, key):
        Model.objects.filter(pk=target.pk).update(offered_key_type=key_type, offered_key=key)
    target.offered_key_type, target.offered_key = key_type, key


def connect(target: SshTarget, *, timeout: float | None = None) -> Connection:
    """Connect and authenticate; the host key must be the pinned one.

    Every step is bounded by ``timeout`` (default ``DHCPADMIN_SSH_TIMEOUT``, 10 s). Raises
    :class:`HostKeyRefused` (nothing pinned, or a different key: the offered key is stored)
    or :class:`SshError`.
    """
    limit = default_timeout() if timeout is None else timeout
    host, port = target.address, target.port
    check_value(host, "host")
    if is_documentation_address(host):
        raise SshError(
            f"{host} is a documentation address (RFC 5737): dhcpadmin does not connect to it."
        )
    pkey = _load_key(target)
    address = _resolve(host, port, limit)
    try:
        sock = socket.create_connection((address, port), timeout=limit)
    except TimeoutError:
        raise SshError(f"No answer from {host} port {port} within {limit:g} seconds.") from None
    except OSError as exc:
        raise SshError(f"Cannot connect to {host} port {port}: {exc.strerror or exc}.") from None
    sock.settimeout(limit)
    transport = paramiko.Transport(sock)
    ok = False
    try:
        transport.banner_timeout = limit
        transport.handshake_timeout = limit
        transport.auth_timeout = limit
        if target.host_key_type:
            options = transport.get_security_options()
            others = [t for t in options.key_types if t != target.host_key_type]
            if target.host_key_type in options.key_types:
                options.key_types = [target.host_key_type, *others]
        try:
            transport.start_client(timeout=limit)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError(
                f"SSH with {host} port {port} failed: {exc or 'no SSH server'}."
            ) from None
        try:  # start_client returns at its timeout without a session
            server_key = transport.get_remote_server_key()
        except paramiko.SSHException:
            raise SshError(
                f"SSH with {host} port {port} failed: no SSH answer within {limit:g} seconds."
            ) from None
        key_type, key = server_key.get_name(), server_key.get_base64()
        if not target.host_key:
            _record_offered(target, key_type, key)
            raise HostKeyRefused(
                f"The host key of {host} is not accepted yet: {key_type} {fingerprint(key)}. "
                "Check it (ssh-keygen -l -f on the server) and accept it on the server page.",
                changed=False,
                key_type=key_type,
                key=key,
            )
        if (key_type, key) != (target.host_key_type, target.host_key):
            _record_offered(target, key_type, key)
            raise HostKeyRefused(
                f"The host key of {host} has CHANGED: it offers {key_type} {fingerprint(key)}, "
                f"the accepted key is {target.host_key_type} {fingerprint(target.host_key)}. "
                "Every operation on this server is refused until an admin accepts the new key "
                "on the server page.",
                changed=True,
                key_type=key_type,
                key=key,
            )
        try:
            transport.auth_publickey(target.user, pkey)
        except paramiko.AuthenticationException:
            raise SshError(
                f"{target.user}@{host} refused the key (authentication failed)."
            ) from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshError(f"Authentication with {host} failed: {exc}.") from None
        if not transport.is_authenticated():
            raise SshError(f"{target.user}@{host}: authentication failed.")
        ok = True
        return Connection(target, transport, limit)
    finally:
        if not ok:
            transport.close()
