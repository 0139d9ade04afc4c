"""Prometheus ``/metrics``: the live failover state per server and peer, so existing
monitoring can alert too (prometheus_client, a custom collector reading PeerState at scrape
time: one query, nothing kept in the process).

Protected by a token: set ``DHCPADMIN_METRICS_TOKEN`` and scrape with
``Authorization: Bearer <token>`` (Prometheus: ``authorization: {credentials: <token>}``).
Without the setting the endpoint does not exist (404); a missing or wrong token is 403.

Metrics (labels ``server``, ``peer``, ``role``):
- ``dhcpadmin_failover_up`` 1 when the last OMAPI read succeeded, else 0 (and
  ``dhcpadmin_failover_status{status=…}`` 1 for the current status);
- ``dhcpadmin_failover_local_state`` / ``dhcpadmin_failover_partner_state``: dhcpd 4.x state
  numbers (2 normal, 3 communications-interrupted, 4 partner-down, 6 recover, 254
  recover-wait, …; absent while unknown);
- ``dhcpadmin_failover_state_seconds``: seconds in the current status and states;
- ``dhcpadmin_failover_skew_seconds``: the clock skew dhcpd reports;
- ``dhcpadmin_failover_last_read_age_seconds``: age of the last successful read;
- ``dhcpadmin_failover_alerts_active{kind=…}``: active alerts.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from failover.live.models import Alert, PeerState, Status

LABELS = ["server", "peer", "role"]


class PeerStateCollector:
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        up = GaugeMetricFamily(
            "dhcpadmin_failover_up", "1: the last OMAPI read succeeded", labels=LABELS
        )
        status = GaugeMetricFamily(
            "dhcpadmin_failover_status",
            "1 for the current OMAPI status",
            labels=[*LABELS, "status"],
        )
        local = GaugeMetricFamily(
            "dhcpadmin_failover_local_state", "dhcpd 4.x local failover state number", labels=LABELS
        )
        partner = GaugeMetricFamily(
            "dhcpadmin_failover_partner_state",
            "dhcpd 4.x partner failover state number (as this server last heard it)",
            labels=LABELS,
        )
        seconds = GaugeMetricFamily(
            "dhcpadmin_failover_state_seconds", "seconds in the current state", labels=LABELS
        )
        skew = GaugeMetricFamily(
            "dhcpadmin_failover_skew_seconds", "clock skew reported by dhcpd", labels=LABELS
        )
        age = GaugeMetricFamily(
            "dhcpadmin_failover_last_read_age_seconds",
            "seconds since the last successful OMAPI read",
            labels=LABELS,
        )
        alerts = GaugeMetricFamily(
            "dhcpadmin_failover_alerts_active", "active alerts", labels=[*LABELS, "kind"]
        )
        states = (
            PeerState.objects.select_related("peer__server")
            .annotate(
                **{
                    f"alerts_{i}": Count(
                        "peer__alerts",
                        filter=Q(peer__alerts__kind=kind, peer__alerts__cleared_at=None),
                    )
                    for i, kind in enumerate(Alert.Kind.values)
                }
            )
            .order_by("peer__server__name", "peer__name")
        )
        for state in states:
            labels = [state.peer.server.name, state.peer.name, state.peer.role]
            up.add_metric(labels, 1 if state.status == Status.OK else 0)
            status.add_metric([*labels, state.status], 1)
            if state.local_state is not None:
                local.add_metric(labels, state.local_state)
            if state.partner_state is not None:
                partner.add_metric(labels, state.partner_state)
            seconds.add_metric(labels, max(0.0, (now - state.since).total_seconds()))
            if state.skew is not None:
                skew.add_metric(labels, state.skew)
            if state.read_at is not None:
                age.add_metric(labels, max(0.0, (now - state.read_at).total_seconds()))
            for i, kind in enumerate(Alert.Kind.values):
                alerts.add_metric([*labels, kind], getattr(state, f"alerts_{i}"))
        yield from (up, status, local, partner, seconds, skew, age, alerts)


def _authorized(request: HttpRequest) -> bool:
    token = getattr(settings, "DHCPADMIN_METRICS_TOKEN", "")
    given = request.headers.get("Authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not getattr(settings, "DHCPADMIN_METRICS_TOKEN", ""):
        raise Http404("Metrics are off: set DHCPADMIN_METRICS_TOKEN.")
    if not _authorized(request):
        return HttpResponse(
            "A valid bearer token is required.\n", status=403, content_type="text/plain"
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PeerStateCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
