"""The table of the periodic scheduler (failover/schedule.py): when each (job, object) is due."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["ScheduleEntry"]


class ScheduleEntry(models.Model):
    """One periodic job for one object: ``job`` names a registered job (schedule.register),
    ``key`` the object (e.g. a server's pk); ``due_at`` when it next runs."""

    job = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    due_at = models.DateTimeField(default=timezone.now)
    last_enqueued_at = models.DateTimeField(null=True, blank=True)
    last_task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = "schedule entry"
        verbose_name_plural = "schedule entries"
        constraints = [
            models.UniqueConstraint(fields=["job", "key"], name="failover_schedule_job_key")
        ]
        indexes = [models.Index(fields=["due_at"], name="failover_schedule_due")]

    def __str__(self) -> str:
        return f"{self.job}:{self.key} due {self.due_at:%H:%M:%S}"
