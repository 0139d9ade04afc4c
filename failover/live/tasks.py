"""The background polling of the live state: one django-tasks task per server and poll,
enqueued by the periodic scheduler (failover/schedule.py) every DHCPADMIN_POLL_SECONDS for
every server with an OMAPI port AND a key (never the demo's servers, which have no key)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django_tasks import task

from failover import schedule
from failover.models import DhcpServer

POLL_JOB = "live.poll"


def pollable_servers():
    return (
        DhcpServer.objects.filter(omapi_port__isnull=False)
        .exclude(omapi_key_name="")
        .exclude(omapi_key_secret="")
    )


def _keys() -> Iterable[str]:
    return (str(pk) for pk in pollable_servers().values_list("pk", flat=True))


def _interval() -> float:
    return float(getattr(settings, "DHCPADMIN_POLL_SECONDS", 15))


@task()
def poll_server_task(key: str) -> dict[str, int]:
    """Poll one server (its primary key as text); returns how many peers were read."""
    from failover.live.services import poll_server, pollable

    server = DhcpServer.objects.filter(pk=int(key)).first()
    if server is None or not pollable(server):
        return {"peers": 0}
    return {"peers": len(poll_server(server))}


schedule.register(POLL_JOB, task=poll_server_task, keys=_keys, interval=_interval)
