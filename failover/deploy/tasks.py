"""The periodic drift check: one django-tasks task per server, run by the worker
(``manage.py db_worker``), for every server with SSH settings and a key whose SSH address is
not a documentation address (the demo's 192.0.2.x servers are never contacted).

``drift_check_task(key)`` takes the server's primary key as text (the periodic scheduler's
convention, ``failover/schedule.py`` of the live part). When that scheduler is installed,
this module registers the job ``deploy.drift`` with it (every ``DHCPADMIN_DRIFT_SECONDS``,
default 900); the scheduler imports this module when it is in its job modules
(``DHCPADMIN_SCHEDULE_MODULES`` or ``JOB_MODULES``). ``drift_check_all_task`` checks every
eligible server at once (for a cron job or by hand).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from django.conf import settings
from django_tasks import task

from failover.models import DhcpServer

DRIFT_JOB = "deploy.drift"


def drift_keys() -> Iterable[str]:
    from failover.deploy.models import SshTarget
    from failover.deploy.services import eligible

    return [
        str(target.server_id)
        for target in SshTarget.objects.select_related("server").order_by("server_id")
        if eligible(target)
    ]


def drift_interval() -> float:
    return float(getattr(settings, "DHCPADMIN_DRIFT_SECONDS", 900))


@task()
def drift_check_task(key: str) -> str:
    """Check one server (its primary key as text); returns the drift status ('' = skipped)."""
    from failover.deploy.services import drift_check

    server = DhcpServer.objects.filter(pk=int(key)).first()
    if server is None:
        return ""
    target = drift_check(server)
    return target.drift_status if target is not None else ""


@task()
def drift_check_all_task() -> dict[str, str]:
    from failover.deploy.services import drift_check_all

    return drift_check_all()


def _register() -> None:
    try:
        schedule = importlib.import_module("failover.schedule")
    except ImportError:  # the periodic scheduler is not installed (yet)
        return
    schedule.register(DRIFT_JOB, task=drift_check_task, keys=drift_keys, interval=drift_interval)


_register()
