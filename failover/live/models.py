"""Live failover state of each failover peer declaration, its history and its alerts.

``PeerState`` is the latest reading (one row per peer, updated in place); ``StateChange``
gets a row only when the status or a state changed, so the history does not grow while
nothing happens; ``Alert`` is one episode of a condition operators must hear about.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from failover.dhcpd.omapi import state_name

__all__ = ["Alert", "PeerState", "StateChange", "Status"]

#: dhcpd 4.x state numbers used for the colours and alerts.
NORMAL = 2
COMMUNICATIONS_INTERRUPTED = 3
PARTNER_DOWN = 4
POTENTIAL_CONFLICT = 5
RECOVER = 6
RECOVER_DONE = 9
RECOVER_WAIT = 254
_AMBER_STATES = {COMMUNICATIONS_INTERRUPTED, RECOVER, RECOVER_DONE, RECOVER_WAIT}
_RED_STATES = {PARTNER_DOWN, POTENTIAL_CONFLICT}


class Status(models.TextChoices):
    OK = "ok", "ok"
    UNREACHABLE = "unreachable", "unreachable"
    TIMEOUT = "timeout", "timeout"
    AUTH_FAILED = "authentication failed", "authentication failed"
    UNKNOWN_PEER = "unknown peer", "unknown peer"
    BAD_ANSWER = "bad answer", "bad answer"
    NO_KEY = "no key", "no key"


def _colour(status: str, local: int | None, partner: int | None) -> str:
    if status != Status.OK:
        return "red"
    states = {s for s in (local, partner) if s is not None}
    if states & _RED_STATES:
        return "red"
    if local == NORMAL and partner == NORMAL:
        return "green"
    return "amber"


class _StateNames:
    """The names of the dhcpd state numbers a reading or a history row holds."""

    local_state: int | None
    partner_state: int | None

    @property
    def local_state_name(self) -> str:
        return state_name(self.local_state)

    @property
    def partner_state_name(self) -> str:
        return state_name(self.partner_state)


class PeerState(_StateNames, models.Model):
    """The latest reading of one failover peer declaration on its server."""

    peer = models.OneToOneField(
        "failover.FailoverPeer", on_delete=models.CASCADE, related_name="live_state"
    )
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.OK)
    detail = models.TextField(blank=True, help_text="Shown to users; never a secret.")
    local_state = models.PositiveSmallIntegerField(null=True, blank=True)
    partner_state = models.PositiveSmallIntegerField(null=True, blank=True)
    local_stos = models.BigIntegerField(null=True, blank=True)
    partner_stos = models.BigIntegerField(null=True, blank=True)
    mclt = models.IntegerField(null=True, blank=True)
    skew = models.IntegerField(null=True, blank=True)
    hierarchy = models.IntegerField(null=True, blank=True)
    checked_at = models.DateTimeField(default=timezone.now, help_text="Last attempt.")
    read_at = models.DateTimeField(null=True, blank=True, help_text="Last successful read.")
    since = models.DateTimeField(
        default=timezone.now, help_text="When the current status and states began."
    )
    last_normal_at = models.DateTimeField(
        null=True, blank=True, help_text="Last read with both local and partner normal."
    )

    class Meta:
        verbose_name = "live peer state"

    def __str__(self) -> str:
        return f"{self.peer_id}: {self.status} {self.local_state_name}/{self.partner_state_name}"

    @property
    def colour(self) -> str:
        """green: both normal; amber: communications-interrupted or recover*; red:
        partner-down, potential-conflict or no answer (issue 10)."""
        return _colour(self.status, self.local_state, self.partner_state)

    @property
    def seconds_in_state(self) -> int:
        return max(0, int((timezone.now() - self.since).total_seconds()))


class StateChange(_StateNames, models.Model):
    """One change of a peer's status or states (history; a row per change only)."""

    peer = models.ForeignKey(
        "failover.FailoverPeer", on_delete=models.CASCADE, related_name="state_changes"
    )
    at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=24, choices=Status.choices)
    local_state = models.PositiveSmallIntegerField(null=True, blank=True)
    partner_state = models.PositiveSmallIntegerField(null=True, blank=True)
    previous_status = models.CharField(max_length=24, choices=Status.choices, blank=True, null=True)  # noqa: DJ001 - null on the first row, like the states
    previous_local_state = models.PositiveSmallIntegerField(null=True, blank=True)
    previous_partner_state = models.PositiveSmallIntegerField(null=True, blank=True)
    local_stos = models.BigIntegerField(null=True, blank=True)
    partner_stos = models.BigIntegerField(null=True, blank=True)
    mclt = models.IntegerField(null=True, blank=True)
    skew = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["peer", "-at"], name="failover_statechange_peer_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status} {self.local_state_name}"

    @property
    def previous_local_state_name(self) -> str:
        return state_name(self.previous_local_state)

    @property
    def previous_partner_state_name(self) -> str:
        return state_name(self.previous_partner_state)


class Alert(models.Model):
    """One episode of a condition on a peer; ``cleared_at`` null while it lasts."""

    class Kind(models.TextChoices):
        NOT_NORMAL = "not normal", "not normal"
        UNREACHABLE = "unreachable", "unreachable"
        PARTNER_DOWN = "partner-down", "partner-down"
        CLOCK_SKEW = "clock skew", "clock skew"

    peer = models.ForeignKey(
        "failover.FailoverPeer", on_delete=models.CASCADE, related_name="alerts"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    cleared_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    clear_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["cleared_at", "peer"], name="failover_alert_active")]
        constraints = [
            # At most one active episode per peer and kind (a second poll cannot open another).
            models.UniqueConstraint(
                fields=["peer", "kind"],
                condition=models.Q(cleared_at__isnull=True),
                name="failover_alert_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    @property
    def active(self) -> bool:
        return self.cleared_at is None
