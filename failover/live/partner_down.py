"""Partner-down, guarded (issue 10, section 4).

Putting a server into partner-down tells it that its partner is down and cannot give out
leases: after MCLT it gives out the partner's free leases too. If the partner is in fact
running, both give out the same addresses (duplicate leases). So:

- :func:`partner_down_plan` gathers the evidence *now*: whether the partner's OMAPI and
  failover port accept a TCP connection from dhcpadmin (bounded connects), what the partner
  answers over OMAPI, what the surviving server reads, when dhcpadmin last saw the partner
  normal and alive, and when the partner's free leases would become usable;
- :func:`partner_down` refuses when the partner answers, unless the operator typed a reason
  to override; it needs the peer's name typed as confirmation and the time the partner was
  last known alive; then sets ``local-state`` 4 over OMAPI, reads it back, and records a
  ChangeRecord (action, evidence, result) only when the read-back says partner-down.
  Nothing is written otherwise.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from failover.dhcpd import pair
from failover.dhcpd.omapi import state_name
from failover.models import ChangeRecord, DhcpServer, FailoverPeer
from failover.validators import is_ipv4

from . import omapi
from .models import PeerState, Status
from .selectors import NORMAL, PARTNER_DOWN, shown, when
from .services import pollable

ACTION = "failover partner-down"

#: Seconds a TCP connect of the evidence may take (setting DHCPADMIN_PROBE_TIMEOUT).
PROBE_TIMEOUT = 2.0
#: Seconds an OMAPI exchange of partner-down may take.
OMAPI_TIMEOUT = 5.0
#: How far in the future "last known alive" may be (clock differences of the browser).
FUTURE_SLACK = timedelta(minutes=2)


def _probe_timeout() -> float:
    return float(getattr(settings, "DHCPADMIN_PROBE_TIMEOUT", PROBE_TIMEOUT))


@dataclass(frozen=True)
class Probe:
    """A bounded TCP connect from dhcpadmin to one of the partner's ports."""

    what: str  # "OMAPI" / "failover port"
    host: str
    port: int | None
    reachable: bool | None  # None: not tried (nothing to connect to)
    detail: str

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}" if self.host and self.port else "—"


def tcp_probe(what: str, host: str, port: int | None, timeout: float | None = None) -> Probe:
    """Whether ``host:port`` accepts a TCP connection within ``timeout`` seconds (the whole
    attempt, name lookup included: a name is resolved in a helper thread that is given up
    on at the deadline). Never raises."""
    if not host or not port:
        return Probe(what, host, port, None, "not configured")
    timeout = _probe_timeout() if timeout is None else timeout
    outcome: list[Probe] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(Probe(what, host, port, True, "accepts connections"))
        except TimeoutError:
            outcome.append(Probe(what, host, port, False, f"no answer in {timeout:g} s"))
        except ConnectionRefusedError:
            outcome.append(Probe(what, host, port, False, "connection refused"))
        except socket.gaierror:
            outcome.append(Probe(what, host, port, False, "name does not resolve"))
        except OSError as exc:
            outcome.append(Probe(what, host, port, False, exc.strerror or type(exc).__name__))

    if is_ipv4(host):
        attempt()
    else:
        worker = threading.Thread(target=attempt, daemon=True)
        worker.start()
        worker.join(timeout + 0.5)
    if not outcome:
        return Probe(what, host, port, False, f"no answer in {timeout:g} s")
    return outcome[0]


def _values(reading: omapi.Reading | None) -> dict[str, object]:
    return reading.values if reading is not None and reading.ok else {}


def _int(values: dict[str, object], name: str) -> int | None:
    value = values.get(name)
    return value if isinstance(value, int) else None


@dataclass
class Evidence:
    """What dhcpadmin found out, just now, before partner-down of ``peer``'s server."""

    peer: FailoverPeer  # the declaration on the server to put into partner-down
    server: DhcpServer
    partner_server: DhcpServer | None
    partner_peer: FailoverPeer | None
    gathered_at: datetime
    local: omapi.Reading | None  # the surviving server, read now (None: no OMAPI)
    partner: omapi.Reading | None  # the partner, read now (None: not managed / no OMAPI)
    omapi_probe: Probe
    failover_probe: Probe
    state: PeerState | None  # the worker's last reading of the survivor's peer
    partner_state: PeerState | None  # the worker's last reading of the partner's peer
    mclt: int | None
    reasons: list[str] = field(default_factory=list)  # why the partner seems to answer

    @property
    def local_state(self) -> int | None:
        return _int(_values(self.local), "local-state")

    @property
    def local_state_name(self) -> str:
        if self.local is None:
            return "no OMAPI"
        return state_name(self.local_state) if self.local.ok else self.local.status

    @property
    def partner_state_seen(self) -> str:
        """The partner's state as the survivor sees it."""
        if self.local is None or not self.local.ok:
            return "unknown"
        return state_name(_int(self.local.values, "partner-state"))

    @property
    def partner_reading_name(self) -> str:
        if self.partner is None:
            return "not read (not managed here, or no OMAPI)"
        if self.partner.ok:
            return state_name(_int(self.partner.values, "local-state"))
        return self.partner.status

    @property
    def partner_answers(self) -> bool:
        return bool(self.reasons)

    @property
    def last_normal_at(self) -> datetime | None:
        """The last time dhcpadmin read both sides normal (from either side)."""
        moments = [
            s.last_normal_at
            for s in (self.state, self.partner_state)
            if s is not None and s.last_normal_at is not None
        ]
        return max(moments) if moments else None

    @property
    def last_seen_alive(self) -> datetime | None:
        """The last time dhcpadmin saw the partner alive: its own OMAPI answered, or the
        survivor talked with it (both normal). The dialog's default for "last known alive"."""
        moments = [m for m in (self.last_normal_at,) if m is not None]
        partner_state = self.partner_state
        if partner_state is not None and partner_state.read_at is not None:
            moments.append(partner_state.read_at)
        return max(moments) if moments else None

    def usable_at(self, last_alive: datetime | None) -> datetime | None:
        """When the partner's free leases become usable: last known alive + MCLT."""
        if last_alive is None or self.mclt is None:
            return None
        try:
            return last_alive + timedelta(seconds=self.mclt)
        except OverflowError:  # a time typed at the end of the calendar
            return None

    @property
    def blockers(self) -> list[str]:
        """Why partner-down cannot be done at all (no override)."""
        found = []
        if not pollable(self.server):
            found.append(
                f"{self.server.name} has no OMAPI port and key: dhcpadmin cannot change its state."
            )
        elif self.local is not None and not self.local.ok:
            found.append(
                f"{self.server.name} does not answer over OMAPI ({self.local.status}: "
                f"{self.local.detail})."
            )
        elif self.local_state == PARTNER_DOWN:
            found.append(f"{self.server.name} is already in partner-down.")
        return found

    def summary(self) -> str:
        """The evidence as the change record keeps it (no secret in it)."""
        lines = [
            f"evidence gathered {shown(self.gathered_at)}:",
            f"  {self.server.name} reads {self.local_state_name}, partner seen as "
            f"{self.partner_state_seen}",
            f"  partner {self.partner_server.name if self.partner_server else 'not managed'}"
            f" over OMAPI: {self.partner_reading_name}",
            f"  {self.omapi_probe.what} {self.omapi_probe.target}: {self.omapi_probe.detail}",
            f"  {self.failover_probe.what} {self.failover_probe.target}: "
            f"{self.failover_probe.detail}",
            f"  last seen normal: {shown(self.last_normal_at)}",
            f"  last seen alive: {shown(self.last_seen_alive)}",
            f"  mclt: {self.mclt if self.mclt is not None else 'unknown'} s",
        ]
        if self.reasons:
            lines.append("  the partner answers: " + "; ".join(self.reasons))
        return "\n".join(lines)


def partner_of(peer: FailoverPeer) -> tuple[DhcpServer | None, FailoverPeer | None]:
    """The partner server of ``peer`` and its declaration of the relationship."""
    partner = pair.partner_of(peer)
    if partner is None:
        return None, None
    other = FailoverPeer.objects.filter(server=partner, name=peer.name).first()
    if other is None:  # mirrored under another name (the pair check reports it)
        other = (
            FailoverPeer.objects.filter(
                server=partner,
                address__iexact=peer.peer_address,
                peer_address__iexact=peer.address,
            )
            .order_by("name")
            .first()
        )
    return partner, other


def failover_target(peer: FailoverPeer) -> tuple[str, int]:
    """Where the partner's failover port is: this declaration's peer address and port."""
    return peer.peer_address, peer.peer_port


def partner_down_plan(peer: FailoverPeer) -> Evidence:
    """The evidence for putting ``peer``'s server into partner-down, gathered now (bounded:
    two TCP connects of at most PROBE_TIMEOUT and two OMAPI reads of at most OMAPI_TIMEOUT,
    at the same time)."""
    server = peer.server
    partner_server, partner_peer = partner_of(peer)
    monitored = pollable(server)
    # Nothing is contacted for a server that cannot be changed (the demo's servers are never
    # contacted); otherwise the four bounded look-ups run at once (the slowest one counts).
    jobs: dict[str, Callable[[], object]] = {}
    if monitored:
        jobs["local"] = lambda: omapi.read_peer(server, peer.name, timeout=OMAPI_TIMEOUT)
        if partner_server is not None and partner_peer is not None and partner_server.omapi_port:
            jobs["partner"] = lambda: omapi.read_peer(
                partner_server, partner_peer.name, timeout=OMAPI_TIMEOUT
            )
        jobs["omapi"] = lambda: tcp_probe(
            "OMAPI",
            partner_server.omapi_address if partner_server is not None else "",
            partner_server.omapi_port if partner_server is not None else None,
        )
        jobs["failover"] = lambda: tcp_probe("failover port", *failover_target(peer))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        done = {name: future.result() for name, future in futures.items()}
    local = cast("omapi.Reading | None", done.get("local"))
    partner_reading = cast("omapi.Reading | None", done.get("partner"))
    omapi_probe = cast(Probe, done.get("omapi") or Probe("OMAPI", "", None, None, "not tried"))
    failover_probe = cast(
        Probe, done.get("failover") or Probe("failover port", "", None, None, "not tried")
    )
    states = {
        s.peer_id: s
        for s in PeerState.objects.filter(
            peer_id__in=[p.pk for p in (peer, partner_peer) if p is not None]
        )
    }
    values = _values(local)
    mclt = _int(values, "mclt")
    if mclt is None:
        state = states.get(peer.pk)
        mclt = state.mclt if state is not None else None
    if mclt is None:
        primary = peer if peer.is_primary else partner_peer
        mclt = primary.mclt if primary is not None else None
    reasons = []
    if omapi_probe.reachable:
        reasons.append(f"its OMAPI port {omapi_probe.target} accepts connections")
    if failover_probe.reachable:
        reasons.append(f"its failover port {failover_probe.target} accepts connections")
    if partner_reading is not None and partner_reading.status not in (
        Status.UNREACHABLE,
        Status.TIMEOUT,
        Status.NO_KEY,
    ):
        reasons.append(f"its OMAPI answered ({partner_reading.status})")
    if _int(values, "local-state") == NORMAL:
        reasons.append(f"{server.name} is in normal: it is talking to its partner")
    return Evidence(
        peer=peer,
        server=server,
        partner_server=partner_server,
        partner_peer=partner_peer,
        gathered_at=timezone.now(),
        local=local,
        partner=partner_reading,
        omapi_probe=omapi_probe,
        failover_probe=failover_probe,
        state=states.get(peer.pk),
        partner_state=states.get(partner_peer.pk) if partner_peer is not None else None,
        mclt=mclt,
        reasons=reasons,
    )


@dataclass
class PartnerDownResult:
    confirmed: bool
    reading: omapi.Reading
    evidence: Evidence
    last_alive: datetime
    override_reason: str
    record: ChangeRecord | None

    @property
    def state_name(self) -> str:
        if not self.reading.ok:
            return self.reading.status
        return state_name(_int(self.reading.values, "local-state"))

    @property
    def usable_at(self) -> datetime | None:
        return self.evidence.usable_at(self.last_alive)

    @property
    def dhcpd_usable_at(self) -> datetime | None:
        """When dhcpd itself starts using the partner's free leases: the read-back's
        ``local-stos`` (when it entered partner-down) + MCLT."""
        stos = _int(_values(self.reading), "local-stos")
        mclt = _int(_values(self.reading), "mclt") or self.evidence.mclt
        if stos is None or mclt is None:
            return None
        return when(stos + mclt)


def partner_down(
    peer: FailoverPeer,
    *,
    actor: object,
    confirm_name: str,
    last_alive: datetime | None,
    override_reason: str = "",
    evidence: Evidence | None = None,
) -> PartnerDownResult:
    """Put ``peer``'s server into partner-down, guarded (see the module).

    Raises ValidationError, changing nothing, when: the typed name is not the peer's; the
    time last known alive is missing or in the future; the server cannot be changed (no
    OMAPI, no answer, already partner-down); the partner answers and no reason to override
    was given. Otherwise sets ``local-state`` 4, reads it back, and returns the result; the
    ChangeRecord is written only when the read-back says partner-down. ``evidence`` is the
    plan gathered in this same request (the view shows it again on an error); without it,
    it is gathered now."""
    errors: dict[str, list[str]] = {}
    if (confirm_name or "").strip() != peer.name:
        errors.setdefault("confirm_name", []).append(
            f"Type the failover peer's name, {peer.name}, to confirm."
        )
    if last_alive is None:
        errors.setdefault("last_alive", []).append(
            "Say when the partner was last known to be alive."
        )
    elif last_alive > timezone.now() + FUTURE_SLACK:
        errors.setdefault("last_alive", []).append("This time is in the future.")
    if errors:
        raise ValidationError(errors)
    assert last_alive is not None
    evidence = evidence if evidence is not None else partner_down_plan(peer)
    if evidence.blockers:
        raise ValidationError(" ".join(evidence.blockers))
    reason = (override_reason or "").strip()
    if evidence.partner_answers and not reason:
        raise ValidationError(
            {
                "override_reason": [
                    "Refused: the partner answers ("
                    + "; ".join(evidence.reasons)
                    + "). Partner-down while the partner runs gives out the same addresses "
                    "twice. Type a reason to override only if you are sure it cannot serve "
                    "clients."
                ]
            }
        )
    reading = omapi.set_local_state(peer.server, peer.name, PARTNER_DOWN, timeout=OMAPI_TIMEOUT)
    confirmed = reading.ok and _int(reading.values, "local-state") == PARTNER_DOWN
    result = PartnerDownResult(confirmed, reading, evidence, last_alive, reason, None)
    if confirmed:
        result.record = _record(actor, peer, result)
    return result


def _record(actor: object, peer: FailoverPeer, result: PartnerDownResult) -> ChangeRecord:
    evidence = result.evidence
    lines = [
        f"{peer.server.name}: failover peer {peer.name} put into partner-down; "
        f"read back: {result.state_name}.",
        f"partner last known alive (stated): {shown(result.last_alive)}; its free leases "
        f"usable from {shown(result.usable_at)} (that + MCLT); dhcpd counts from "
        f"{shown(result.dhcpd_usable_at)}.",
    ]
    if result.override_reason:
        lines.append(f"OVERRIDE (the partner answered): {result.override_reason}")
    lines.append(evidence.summary())
    user = actor if isinstance(actor, User) and actor.is_authenticated else None
    with transaction.atomic():
        return ChangeRecord.objects.create(user=user, action=ACTION, summary="\n".join(lines))
