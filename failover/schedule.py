"""A small periodic scheduler on top of django-tasks: run a task every N seconds for each of
a set of objects (poll every keyed server; later: a drift check per deployed server).

Jobs register with :func:`register` (a name, the django-tasks task, the keys it runs for,
the interval). :func:`tick` — run every second by ``manage.py run_scheduler`` — keeps one
:class:`~failover.schedule_models.ScheduleEntry` row per (job, key), and enqueues the task
of every entry that is due. The worker (``manage.py db_worker``) runs the tasks.

Why this shape (see also the notes of issue 10):

- The due times live in the database, so any number of schedulers and workers may run, on
  any hosts, on SQLite and PostgreSQL alike, and a restart loses nothing.
- Due entries are claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (on SQLite
  the settings make every transaction ``BEGIN IMMEDIATE``, which serialises ticks), and the
  entry's next due time is written in the same transaction as the enqueue: two schedulers
  never enqueue one due time twice.
- An entry whose last task is still queued or running is not enqueued again (its due time
  moves on): a poll slower than its interval never runs twice at the same time for one
  object, whatever the number of workers. ``db_worker`` itself claims each task once.
- A separate small process (``run_scheduler``) rather than a hook into ``db_worker``'s loop:
  the worker is a library's command, and a self-re-enqueueing "tick" task could fork into
  two chains or die with a failed run.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from failover.schedule_models import ScheduleEntry

logger = logging.getLogger(__name__)

#: Modules that register jobs when imported (more with DHCPADMIN_SCHEDULE_MODULES).
JOB_MODULES = ("failover.live.tasks",)
#: Entries claimed per tick at most (the rest are due at the next tick).
BATCH = 200


@dataclass(frozen=True)
class Job:
    name: str
    task: Any  # a django_tasks Task taking the key (a str) as its one argument
    keys: Callable[[], Iterable[str]]
    interval: Callable[[], float]


_jobs: dict[str, Job] = {}


def register(
    name: str, *, task: Any, keys: Callable[[], Iterable[str]], interval: Callable[[], float]
) -> Job:
    job = Job(name, task, keys, interval)
    _jobs[name] = job
    return job


def jobs() -> dict[str, Job]:
    for module in (*JOB_MODULES, *getattr(settings, "DHCPADMIN_SCHEDULE_MODULES", ())):
        importlib.import_module(module)
    return _jobs


def sync(now: datetime | None = None) -> None:
    """One entry per (job, key) that should run: new ones due now, gone ones deleted."""
    now = now or timezone.now()
    for job in jobs().values():
        wanted = {str(key) for key in job.keys()}
        have = set(ScheduleEntry.objects.filter(job=job.name).values_list("key", flat=True))
        if have - wanted:
            ScheduleEntry.objects.filter(job=job.name, key__in=have - wanted).delete()
        if wanted - have:
            ScheduleEntry.objects.bulk_create(
                [ScheduleEntry(job=job.name, key=key, due_at=now) for key in wanted - have],
                ignore_conflicts=True,  # another scheduler made them meanwhile
            )


def _busy(task_ids: list[str]) -> set[str]:
    """Those of ``task_ids`` still queued or running (django-tasks-db's results)."""
    if not task_ids:
        return set()
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return {
        str(pk)
        for pk in DBTaskResult.objects.filter(
            pk__in=task_ids, status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
        ).values_list("pk", flat=True)
    }


def tick(now: datetime | None = None) -> int:
    """Enqueue the task of every due entry (claimed, so no other tick takes it); returns how
    many tasks were enqueued."""
    now = now or timezone.now()
    registered = jobs()
    sync(now)
    enqueued = 0
    with transaction.atomic():
        due = ScheduleEntry.objects.filter(due_at__lte=now, job__in=list(registered)).order_by(
            "due_at"
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        entries = list(due[:BATCH])
        busy = _busy([e.last_task_id for e in entries if e.last_task_id])
        for entry in entries:
            job = registered[entry.job]
            entry.due_at = now + timedelta(seconds=max(1.0, job.interval()))
            if entry.last_task_id and entry.last_task_id in busy:
                logger.info("%s for %s: the last run is not finished, skipped", job.name, entry.key)
            else:
                result = job.task.enqueue(entry.key)
                entry.last_task_id = str(result.id)
                entry.last_enqueued_at = now
                enqueued += 1
            entry.save(update_fields=["due_at", "last_task_id", "last_enqueued_at"])
    return enqueued
