"""Stored numbers brought within what dhcpd reads, before 0007 adds the limits.

Before the constraints are added, stored values that dhcpd reads as its default (0 in a
failover statement whose default is not 0) are rewritten to what dhcpd used: empty for the
optional statements, dhcpd's default for max-response-delay (60) and max-unacked-updates
(10), so nothing changes for the running servers. Any other value outside its limit cannot
be kept with the same meaning (dhcpd refused it or wrapped it modulo 2**32): the migration
stops, names each row, and changes nothing.
"""

from django.db import migrations

INT_MAX = 2**31 - 1
# field: (low, high) -- a frozen copy of failover.validators.LIMITS at this migration.
PEER = {
    "split": (0, 256),
    "max_response_delay": (1, INT_MAX),
    "max_unacked_updates": (1, INT_MAX),
    "mclt": (1, INT_MAX),
    "load_balance_max_seconds": (0, INT_MAX),
    "auto_partner_down": (0, INT_MAX),
    "max_lease_misbalance": (1, 100),
    "max_lease_ownership": (1, 100),
    "min_balance": (1, INT_MAX),
    "max_balance": (1, INT_MAX),
}
SCOPE = {"default_lease_time": (1, INT_MAX), "max_lease_time": (1, INT_MAX)}
SERVER = {"omapi_port": (1, 65535)}
# 0 means dhcpd's default: what dhcpd used instead.
PEER_ZERO = {
    "max_response_delay": 60,
    "max_unacked_updates": 10,
    "max_lease_misbalance": None,
    "max_lease_ownership": None,
    "min_balance": None,
    "max_balance": None,
}


def _outside(model, limits, describe):
    problems = []
    for name, (low, high) in limits.items():
        query = model.objects.filter(**{f"{name}__lt": low}) | model.objects.filter(
            **{f"{name}__gt": high}
        )
        for obj in query.order_by("pk"):
            problems.append(
                f"{describe(obj)}: {name} = {getattr(obj, name)} (allowed {low} to {high})"
            )
    return problems


def bring_within_limits(apps, schema_editor):
    FailoverPeer = apps.get_model("failover", "FailoverPeer")
    Scope = apps.get_model("failover", "Scope")
    DhcpServer = apps.get_model("failover", "DhcpServer")
    for name, value in PEER_ZERO.items():
        FailoverPeer.objects.filter(**{name: 0}).update(**{name: value})
    problems = _outside(FailoverPeer, PEER, lambda p: f"failover peer {p.name!r} (id {p.pk})")
    problems += _outside(Scope, SCOPE, lambda s: f"scope {s.network} (id {s.pk})")
    problems += _outside(DhcpServer, SERVER, lambda s: f"server {s.name!r} (id {s.pk})")
    if problems:
        raise RuntimeError(
            "These stored values are outside what dhcpd reads (it refuses or wraps them); "
            "correct them (e.g. in the admin, on the version before this one) and migrate "
            "again:\n  " + "\n  ".join(problems)
        )


class Migration(migrations.Migration):
    # Its own migration (its own transaction): PostgreSQL does not alter a table with the
    # pending trigger events of rows updated in the same transaction.

    dependencies = [
        ("failover", "0005_numeric_order"),
    ]

    operations = [
        migrations.RunPython(bring_within_limits, migrations.RunPython.noop),
    ]
