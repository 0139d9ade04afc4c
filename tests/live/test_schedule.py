"""The periodic scheduler: entries follow the keyed servers, a due entry is enqueued once,
not again while its last task is queued, and the demo's servers (no key) are never polled."""

from __future__ import annotations

import base64
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from failover import schedule, services
from failover.live.tasks import POLL_JOB
from failover.models import DhcpServer
from failover.schedule_models import ScheduleEntry


def test_the_demo_is_never_polled(db):
    call_command("seed_demo", verbosity=0)
    assert DhcpServer.objects.filter(omapi_port__isnull=False).exists()  # ports, no keys
    assert schedule.tick() == 0
    assert not ScheduleEntry.objects.exists() and not DBTaskResult.objects.exists()


def test_due_entries_are_enqueued_once_and_not_while_the_last_runs(db, settings):
    settings.DHCPADMIN_POLL_SECONDS = 15
    server = services.server_create(
        name="dhcp-k",
        address="192.0.2.1",
        omapi_port=7911,
        omapi_key_name="k",
        omapi_key_secret=base64.b64encode(b"schedule-test").decode(),
    )
    t0 = timezone.now()
    assert schedule.tick(t0) == 1
    entry = ScheduleEntry.objects.get(job=POLL_JOB)
    assert entry.key == str(server.pk) and entry.due_at == t0 + timedelta(seconds=15)
    assert schedule.tick(t0 + timedelta(seconds=5)) == 0  # not due
    # Due again, but the first poll is still queued (no worker ran it): skipped, moved on.
    assert schedule.tick(t0 + timedelta(seconds=16)) == 0
    assert DBTaskResult.objects.count() == 1
    DBTaskResult.objects.update(status="SUCCESSFUL")
    assert schedule.tick(t0 + timedelta(seconds=32)) == 1
    assert DBTaskResult.objects.count() == 2
    # The key removed: the entry goes.
    services.server_update(server=server, omapi_key_name="", omapi_key_secret="")
    schedule.tick(t0 + timedelta(seconds=60))
    assert not ScheduleEntry.objects.exists()


def test_run_scheduler_once(db):
    call_command("run_scheduler", "--once")
    assert not ScheduleEntry.objects.exists()
