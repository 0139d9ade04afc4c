"""What a deploy did: a ``Rollout`` (one click: one server, or both servers of a relationship,
one after the other), its ``Deployment`` per server (the text, the diff, the outcome) and each
``DeployStep`` with its command output, written as it happens so the page can follow it.

One deploy per server at a time: a partial unique index on the server's *active* deployment
(queued or running) makes the second insert fail on SQLite and on PostgreSQL alike, whatever
the number of web servers and workers (see :func:`failover.deploy.rollout.deploy_start`).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from failover.crypto import EncryptedTextField

__all__ = ["Rollout", "Deployment", "DeployStep", "DeployStatus", "StepStatus"]


class DeployStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"  # a step failed; the previous file was restored
    NOT_STARTED = "not started", "not started"  # an earlier server of the rollout failed
    ABANDONED = "abandoned", "abandoned"  # the worker stopped while it ran


ACTIVE = (DeployStatus.QUEUED, DeployStatus.RUNNING)


class StepStatus(models.TextChoices):
    RUNNING = "running", "running"
    OK = "ok", "ok"
    FAILED = "failed", "failed"
    SKIPPED = "skipped", "skipped"
    WARNING = "warning", "warning"


class Rollout(models.Model):
    """One Deploy (or Roll back) as the operator started it."""

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    relationship = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=16, default="deploy")  # "deploy" or "rollback"
    override_reason = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=DeployStatus.choices, default=DeployStatus.QUEUED
    )
    outcome = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class Deployment(models.Model):
    """One server's part of a rollout: the text it puts on the server and what happened."""

    rollout = models.ForeignKey(Rollout, on_delete=models.CASCADE, related_name="deployments")
    server = models.ForeignKey(
        "failover.DhcpServer", on_delete=models.CASCADE, related_name="deployments"
    )
    position = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=DeployStatus.choices, default=DeployStatus.QUEUED
    )
    text = EncryptedTextField(
        help_text="The configuration this deployment puts on the server (encrypted at rest: it "
        "holds the OMAPI key secret)."
    )
    text_sha256 = models.CharField(max_length=64)
    rollback_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    config_path = models.CharField(max_length=1024, blank=True)
    previous_sha256 = models.CharField(max_length=64, blank=True)
    diff = models.TextField(
        blank=True, help_text="Unified diff from the live file (secret lines hidden)."
    )
    backup_path = models.CharField(max_length=1024, blank=True)
    failed_step = models.CharField(max_length=32, blank=True)
    outcome = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["server", "-created"], name="deployment_server_created")]
        constraints = [
            models.UniqueConstraint(
                fields=["server"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_deployment_per_server",
            )
        ]

    def __str__(self) -> str:
        return f"deployment #{self.pk} of {self.server_id} ({self.status})"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def succeeded(self) -> bool:
        return self.status == DeployStatus.SUCCEEDED


class DeployStep(models.Model):
    """One step of a deployment, with the command it ran and what it said."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    command = models.TextField(blank=True)
    output = models.TextField(blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deployment", "position"]

    def __str__(self) -> str:
        return f"{self.name}: {self.status}"
