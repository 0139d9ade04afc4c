"""The operations of the connection, live drift and pool balance part (issue 11, 1/2/4).

- ``ssh_target_save`` — the SSH settings of a server (the form on the server page); a
  changed host or port forgets the pinned host key (another machine may answer there).
- ``host_key_accept`` — pin the key the server offered (first connection, or a changed key).
- ``connection_test`` — what works: SSH, config readable, check command, leases readable,
  OMAPI reachable; each bounded by the SSH timeout.
- ``live_config`` — the file the server runs against what dhcpadmin would render: meaning
  (through the parser) and text (unified diff).
- ``drift_check`` — the same comparison, stored on the server's SshTarget (the server list
  shows it), for the periodic task; ``drift_check_all`` runs it for every eligible server.
- ``pool_balance`` — both servers' leases files, counted per failover pool and side.

Everything that changes data is atomic and recorded (ChangeRecord); a drift check only
stores its reading (no change record: it changes nothing the user made).
"""

from __future__ import annotations

import difflib
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from failover.deploy import ssh
from failover.deploy.leases import LeasesError, LeasesFile, parse_leases
from failover.deploy.meaning import MeaningChange, compare
from failover.deploy.models import DriftStatus, SshTarget
from failover.dhcpd.parser import parse_text
from failover.dhcpd.render import render_server
from failover.dhcpd.tokenizer import ParseError
from failover.models import AddressPool, DhcpServer, FailoverPeer
from failover.services._base import Actor, _record
from failover.versioning import cached, data_version

#: The SshTarget fields the form edits (the key secret is handled apart: write-only).
TARGET_FIELDS = (
    "host",
    "port",
    "user",
    "key_path",
    "config_path",
    "leases_path",
    "check_command",
    "restart_command",
    "status_command",
    "use_sudo",
)


def _timeout() -> float:
    return ssh.default_timeout()


# --- the settings ---------------------------------------------------------------------------


def ssh_target_save(
    server: DhcpServer,
    *,
    actor: Actor = None,
    key_secret: str | None = None,
    clear_key: bool = False,
    **fields: Any,
) -> SshTarget:
    """Create or change ``server.ssh``. ``key_secret`` None keeps the stored key, a text
    replaces it; ``clear_key`` removes it. Validated; recorded (never the key)."""
    unknown = set(fields) - set(TARGET_FIELDS)
    if unknown:
        raise TypeError(f"unknown SSH settings: {sorted(unknown)}")
    with transaction.atomic():
        server = DhcpServer.objects.select_for_update().get(pk=server.pk)
        target = SshTarget.objects.filter(server=server).first()
        created = target is None
        if target is None:
            target = SshTarget(server=server)
        before = {name: getattr(target, name) for name in TARGET_FIELDS}
        old_place = (target.address, target.port)
        for name, value in fields.items():
            setattr(target, name, value)
        if clear_key:
            target.key_secret = ""
        elif key_secret:
            target.key_secret = key_secret
        target.full_clean()
        changed = [name for name in TARGET_FIELDS if getattr(target, name) != before[name]]
        if clear_key or key_secret:
            changed.append("private key")
        forgot = False
        if not created and (target.address, target.port) != old_place and target.host_key:
            target.host_key_type = target.host_key = ""
            target.offered_key_type = target.offered_key = ""
            forgot = True
        if created:
            target.drift_status = DriftStatus.UNKNOWN
        target.save()
        summary = (
            f"SSH settings of {server.name} {'set' if created else 'changed'}"
            + (f": {', '.join(changed)}" if changed and not created else "")
            + (" (the pinned host key was forgotten: new host or port)" if forgot else "")
        )
        _record(actor, "ssh settings", summary)
    return target


def host_key_accept(target: SshTarget, *, actor: Actor = None, fingerprint: str = "") -> SshTarget:
    """Pin the key the server last offered. ``fingerprint`` (what the user saw) must still be
    that key's, else nothing changes (the server offered another key meanwhile)."""
    with transaction.atomic():
        fresh = SshTarget.objects.select_for_update().select_related("server").get(pk=target.pk)
        if not fresh.offered_key:
            raise ValidationError(
                "The server has not offered a new host key: use Test Connection first."
            )
        offered = ssh.fingerprint(fresh.offered_key)
        if fingerprint and fingerprint != offered:
            raise ValidationError(
                f"The server now offers another key ({offered}), not the one you accepted "
                f"({fingerprint}): check it again."
            )
        previous = fresh.host_key_fingerprint
        fresh.host_key_type, fresh.host_key = fresh.offered_key_type, fresh.offered_key
        fresh.offered_key_type = fresh.offered_key = ""
        fresh.save(update_fields=["host_key_type", "host_key", "offered_key_type", "offered_key"])
        what = f"replacing {previous}" if previous else "first key"
        _record(
            actor,
            "host key accept",
            f"Host key of {fresh.server.name} ({fresh.address}:{fresh.port}) accepted: "
            f"{fresh.host_key_type} {offered} ({what})",
        )
    return fresh


# --- Test Connection ------------------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not tried (an earlier check failed, or not configured)
    detail: str = ""

    @property
    def state(self) -> str:
        return {True: "ok", False: "failed", None: "skipped"}[self.ok]


@dataclass
class ConnectionReport:
    checks: list[Check]
    host_key_refused: ssh.HostKeyRefused | None = None

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks if check.ok is not None)


def omapi_reachable(server: DhcpServer, timeout: float) -> Check:
    """A bounded TCP connect to the server's OMAPI address and port."""
    if not server.omapi_port:
        return Check("OMAPI reachable", None, "No OMAPI port is set for this server.")
    host = server.omapi_address
    if ssh.is_documentation_address(host):
        return Check("OMAPI reachable", None, f"{host} is a documentation address: not tried.")
    try:
        with socket.create_connection((host, server.omapi_port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return Check("OMAPI reachable", False, f"{host} port {server.omapi_port}: {reason}.")
    return Check("OMAPI reachable", True, f"{host} port {server.omapi_port} accepts connections.")


def connection_test(server: DhcpServer) -> list[Check]:
    return connection_report(server).checks


def connection_report(server: DhcpServer) -> ConnectionReport:
    """What works, in order; a failed SSH connection skips the checks that need it."""
    timeout = _timeout()
    target = SshTarget.objects.filter(server=server).first()
    names = ("SSH", "Config readable", "Check command", "Leases readable")
    checks: list[Check] = []
    refused = None
    if target is None:
        checks.append(Check("SSH", None, "SSH is not configured for this server."))
    else:
        try:
            with ssh.connect(target, timeout=timeout) as conn:
                checks.append(
                    Check(
                        "SSH",
                        True,
                        f"{target.user}@{target.address}:{target.port}, host key "
                        f"{target.host_key_type} {target.host_key_fingerprint}.",
                    )
                )
                checks.append(_read_check(conn, "Config readable", target.config_path))
                checks.append(_check_command(conn, target, timeout))
                checks.append(_read_check(conn, "Leases readable", target.leases_path))
        except ssh.HostKeyRefused as exc:
            refused = exc
            checks = [Check("SSH", False, str(exc))]
        except ssh.SshError as exc:  # the connection failed, or broke during a check
            checks.append(Check(names[len(checks)], False, str(exc)))
    checks += [Check(name, None) for name in names[len(checks) :]]
    checks.append(omapi_reachable(server, timeout))
    return ConnectionReport(checks, refused)


def _read_check(conn: ssh.Connection, name: str, path: str) -> Check:
    try:
        attrs = conn.stat(path)
        if attrs is None:
            return Check(name, False, f"{path} does not exist.")
        with conn.sftp().open(path, "rb") as handle:
            handle.read(1)
    except (ssh.SshError, OSError) as exc:
        return Check(name, False, f"{path}: {exc}")
    return Check(name, True, f"{path} ({attrs.st_size} bytes).")


def _check_command(conn: ssh.Connection, target: SshTarget, timeout: float) -> Check:
    try:
        argv = target.command("check_command", file=target.config_path)
    except ValidationError as exc:
        return Check("Check command", False, " ".join(exc.messages))
    try:
        result = conn.run(argv, timeout=max(timeout, 30))
    except ssh.SshError as exc:
        return Check("Check command", False, str(exc))
    output = result.output.strip()
    tail = "\n".join(output.splitlines()[-15:])
    line = ssh.quote_argv(argv)
    if result.ok:
        return Check("Check command", True, f"{line}: exit 0.")
    return Check("Check command", False, f"{line}: exit {result.exit_status}.\n{tail}")


# --- live configuration and drift -------------------------------------------------------------


@dataclass
class LiveConfig:
    server: DhcpServer
    path: str = ""
    fetched: str | None = None  # the text on the server (None: could not be read)
    rendered: str = ""
    error: str = ""  # why the file could not be fetched (or rendered)
    host_key_refused: bool = False
    diff: list[str] = field(default_factory=list)  # unified diff lines (server -> dhcpadmin)
    meaning: list[MeaningChange] = field(default_factory=list)
    meaning_error: str = ""  # why the meaning could not be compared (a parse error)
    fetched_at: Any = None

    @property
    def same(self) -> bool:
        return self.fetched is not None and self.fetched == self.rendered


def rendered_text(server: DhcpServer) -> str:
    """What dhcpadmin would write (the same kept text as the Configuration page)."""
    return cached(f"render:{server.pk}", lambda: render_server(server), version=data_version())


def fetch_config(target: SshTarget) -> bytes:
    with ssh.connect(target, timeout=_timeout()) as conn:
        return conn.read(target.config_path, max_bytes=int(settings.DHCPD_IMPORT_MAX_BYTES))


def live_config(server: DhcpServer) -> LiveConfig:
    """Fetch the file the server runs and compare it with the rendered text."""
    result = LiveConfig(server, fetched_at=timezone.now())
    target = SshTarget.objects.filter(server=server).first()
    if target is None:
        result.error = "SSH is not configured for this server."
        return result
    result.path = target.config_path
    try:
        result.rendered = rendered_text(server)
    except ValueError as exc:
        result.error = f"dhcpadmin cannot render this server: {exc}"
        return result
    try:
        data = fetch_config(target)
    except ssh.HostKeyRefused as exc:
        result.error, result.host_key_refused = str(exc), True
        return result
    except ssh.SshError as exc:
        result.error = str(exc)
        return result
    result.fetched = data.decode("utf-8", errors="replace")
    if result.same:
        return result
    result.diff = list(
        difflib.unified_diff(
            result.fetched.splitlines(),
            result.rendered.splitlines(),
            fromfile=f"{server.name}:{target.config_path} (on the server)",
            tofile=f"{server.name} (what dhcpadmin would write)",
            lineterm="",
        )
    )
    limit = int(settings.DHCPD_IMPORT_MAX_BYTES)
    try:
        live_tree = parse_text(result.fetched, filename=target.config_path, max_bytes=limit)
        ours = parse_text(result.rendered, filename="rendered", max_bytes=limit)
    except ParseError as exc:
        result.meaning_error = str(exc)
    else:
        result.meaning = compare(live_tree, ours)
    return result


def deployed(server: DhcpServer) -> bool | None:
    """Whether a deploy to ``server`` succeeded once (the deploy history of the deploy part);
    None when this installation has no deploy history (then drift is judged by the text)."""
    try:
        model = apps.get_model("failover", "Deployment")
    except LookupError:
        return None
    return model.objects.filter(server=server, status="succeeded").exists()


def eligible(target: SshTarget) -> bool:
    """Checked periodically: a key is set and the address is not a documentation address."""
    return target.has_key and not ssh.is_documentation_address(target.address)


def _store_drift(target: SshTarget, status: str, detail: str) -> SshTarget:
    now = timezone.now()
    SshTarget.objects.filter(pk=target.pk).update(
        drift_status=status, drift_detail=detail, drift_checked_at=now
    )
    target.drift_status, target.drift_detail, target.drift_checked_at = status, detail, now
    return target


def _compared(server: DhcpServer, path: str, same: bool) -> tuple[str, str]:
    words = "is what dhcpadmin would write" if same else "differs from what dhcpadmin would write"
    if deployed(server) is False:
        return DriftStatus.NEVER_DEPLOYED, f"{path} {words} (no deploy yet)."
    return (DriftStatus.IN_SYNC if same else DriftStatus.DRIFT), f"{path} {words}."


def drift_check(server: DhcpServer) -> SshTarget | None:
    """Compare the live file with the rendered text and store the result on ``server.ssh``:
    ``unreachable`` (with why), ``never deployed`` (no deploy succeeded yet), ``in sync`` or
    ``drift``. None when the server has no SSH settings to check with."""
    target = SshTarget.objects.filter(server=server).select_related("server").first()
    if target is None or not eligible(target):
        return None
    try:
        rendered = rendered_text(server).encode("utf-8")
    except ValueError as exc:
        return _store_drift(
            target, DriftStatus.UNKNOWN, f"dhcpadmin cannot render this server: {exc}"
        )
    try:
        data = fetch_config(target)
    except ssh.SshError as exc:
        return _store_drift(target, DriftStatus.UNREACHABLE, str(exc))
    return _store_drift(target, *_compared(server, target.config_path, data == rendered))


def store_live_drift(live: LiveConfig) -> SshTarget | None:
    """What the Live Configuration page found, stored as the server's drift status."""
    target = SshTarget.objects.filter(server=live.server).first()
    if target is None:
        return None
    if live.fetched is None:
        if live.rendered == "" and not live.host_key_refused and "render" in live.error:
            return _store_drift(target, DriftStatus.UNKNOWN, live.error)
        return _store_drift(target, DriftStatus.UNREACHABLE, live.error)
    return _store_drift(target, *_compared(live.server, live.path, live.same))


def drift_check_all() -> dict[str, str]:
    """``drift_check`` for every server with SSH settings (never documentation addresses);
    {server name: status}."""
    out: dict[str, str] = {}
    for target in SshTarget.objects.select_related("server").order_by("server__name"):
        if not eligible(target):
            continue
        checked = drift_check(target.server)
        if checked is not None:
            out[target.server.name] = checked.drift_status
    return out


# --- pool balance ------------------------------------------------------------------------------

#: Counted binding states, in the order the page shows them.
SHOWN_STATES = ("active", "free", "backup", "expired", "released", "abandoned")


def free_warn_percent() -> float:
    return float(getattr(settings, "DHCPADMIN_LEASES_FREE_WARN_PERCENT", 10))


@dataclass
class SideLeases:
    """One server's leases file."""

    server: DhcpServer
    role: str  # "primary" / "secondary" / "" (no peer of that name there)
    leases: LeasesFile | None = None
    error: str = ""
    seconds: float = 0.0  # how long reading and parsing took


@dataclass
class PoolSideCounts:
    server: DhcpServer
    counts: dict[str, int]
    other: int  # reset, reserved, bootp
    missing: int  # addresses of the pool without an entry in the file
    primary_free: int  # binding state free: the primary's to give
    secondary_free: int  # binding state backup: the secondary's to give
    lts: int  # leases to send, as dhcpd computes it ((free - backup) / 2, towards zero)
    thresh: int  # dhcpd's threshold: (total * max-lease-misbalance + 50) / 100
    warnings: list[str]


@dataclass
class PoolBalance:
    pool: AddressPool
    peer: FailoverPeer
    misbalance: int  # max-lease-misbalance in percent (dhcpd's default 15)
    sides: list[PoolSideCounts]

    @property
    def warnings(self) -> list[str]:
        return [w for side in self.sides for w in side.warnings]


@dataclass
class BalanceReport:
    server: DhcpServer
    files: list[SideLeases]
    pools: list[PoolBalance]  # the pools of this page
    threshold_percent: float
    page: Any = None  # the Paginator page of failover pools


#: Failover pools counted and shown on one page of Pool Balance.
BALANCE_PAGE = 50


def _read_leases(server: DhcpServer, role: str) -> SideLeases:
    side = SideLeases(server, role)
    target = SshTarget.objects.filter(server=server).first()
    if target is None:
        side.error = "SSH is not configured for this server."
        return side
    started = time.monotonic()
    try:
        with ssh.connect(target, timeout=_timeout()) as conn:
            data = conn.read(target.leases_path)
        side.leases = parse_leases(data.decode("utf-8", errors="replace"))
    except ssh.SshError as exc:
        side.error = str(exc)
    except LeasesError as exc:
        side.error = f"{target.leases_path} cannot be read as a leases file: {exc}"
    side.seconds = time.monotonic() - started
    return side


def _count(
    pool: AddressPool, side: SideLeases, misbalance: int, threshold: float
) -> PoolSideCounts:
    assert side.leases is not None
    counts = dict.fromkeys(SHOWN_STATES, 0)
    other = missing = 0
    leases = side.leases.leases
    first, last = int(pool.first_ip), int(pool.last_ip)
    if last - first + 1 <= len(leases):
        addresses = (str(ipaddress.IPv4Address(n)) for n in range(first, last + 1))
        for address in addresses:
            lease = leases.get(address)
            if lease is None:
                missing += 1
            elif lease.binding_state in counts:
                counts[lease.binding_state] += 1
            else:
                other += 1
    else:  # a large pool and a small file: walk the file
        seen = 0
        for address, lease in leases.items():
            n = int(ipaddress.IPv4Address(address))
            if first <= n <= last:
                seen += 1
                if lease.binding_state in counts:
                    counts[lease.binding_state] += 1
                else:
                    other += 1
        missing = last - first + 1 - seen
    free, backup = counts["free"], counts["backup"]
    total = free + backup
    diff = free - backup
    lts = abs(diff) // 2 * (1 if diff >= 0 else -1)
    thresh = (total * misbalance + 50) // 100
    warnings = []
    name = side.server.name
    floor = pool.size * threshold / 100
    for who, count in (("primary", free), ("secondary", backup)):
        if count < floor:
            warnings.append(
                f"{pool}: {name}'s file gives the {who} {count} free lease"
                f"{'s' if count != 1 else ''}, below {threshold:g}% of the pool "
                f"({floor:g} of {pool.size})."
            )
    if abs(lts) > thresh:
        more = "primary" if lts > 0 else "secondary"
        warnings.append(
            f"{pool}: {name}'s file is off balance: the {more} holds {abs(lts)} more free "
            f"leases than its half, more than max-lease-misbalance {misbalance}% allows "
            f"({thresh} of {total})."
        )
    return PoolSideCounts(side.server, counts, other, missing, free, backup, lts, thresh, warnings)


def pool_balance(server: DhcpServer, *, page: int | str = 1) -> BalanceReport:
    """Both servers' leases files, counted for one page (``BALANCE_PAGE``) of the failover
    pools of ``server``, per side. The files are read whole (a pool's leases can be anywhere
    in them); the queries do not grow with the pools or the leases."""
    from django.core.paginator import Paginator

    from failover.dhcpd.pair import partner_of

    threshold = free_warn_percent()
    peers = list(
        FailoverPeer.objects.filter(server=server, pools__isnull=False).distinct().order_by("name")
    )
    servers: dict[int, tuple[DhcpServer, str]] = {server.pk: (server, "")}
    for peer in peers:
        servers[server.pk] = (server, peer.role)
        partner = partner_of(peer)
        if partner is not None and partner.pk not in servers:
            twin = FailoverPeer.objects.filter(server=partner, name=peer.name).first()
            servers[partner.pk] = (partner, twin.role if twin else "")
    pools = (
        AddressPool.objects.filter(scope__server=server, failover_peer__isnull=False)
        .select_related("failover_peer", "scope")
        .order_by("scope__first_int", "first_int", "pk")
    )
    shown = Paginator(pools, BALANCE_PAGE).get_page(page)
    files = [_read_leases(s, role) for s, role in servers.values()] if peers else []
    balances = []
    for pool in shown:
        peer = pool.failover_peer
        assert peer is not None
        misbalance = peer.max_lease_misbalance or 15
        sides = [_count(pool, side, misbalance, threshold) for side in files if side.leases]
        balances.append(PoolBalance(pool, peer, misbalance, sides))
    return BalanceReport(server, files, balances, threshold, shown)
