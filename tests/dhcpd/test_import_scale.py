"""Issue 7: planning an import costs what the import touches, not the server's size.

The stored scopes and pools are read as rows; model instances only for those the file has
too; the failover relationships are computed from the partner servers only.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from failover import services
from failover.models import AddressPool, Scope

pytestmark = pytest.mark.django_db

PEER = """failover peer "fo" {
  primary; address 192.0.2.1; peer address 192.0.2.2;
  max-response-delay 60; max-unacked-updates 10; mclt 3600; split 128;
}
"""


def config(networks: range) -> str:
    return PEER + "".join(
        f"subnet 10.{n // 256}.{n % 256}.0 netmask 255.255.255.0 {{\n"
        f'  pool {{ failover peer "fo"; range 10.{n // 256}.{n % 256}.10 '
        f"10.{n // 256}.{n % 256}.20; }}\n}}\n"
        for n in networks
    )


def plan_cost(stored: int, monkeypatch) -> tuple[int, int, int]:
    """Queries, scope and pool instances of the plan of a 3-subnet file into a server that
    holds ``stored`` scopes (each with a failover pool), and a partner that mirrors them."""
    a = services.server_create(name=f"a{stored}", address="192.0.2.1")
    b = services.server_create(name=f"b{stored}", address="192.0.2.2")
    services.config_import(server=a, text=config(range(stored)))
    services.config_import(
        server=b,
        text=config(range(stored))
        .replace("primary;", "secondary;")
        .replace(
            "address 192.0.2.1; peer address 192.0.2.2;",
            "address 192.0.2.2; peer address 192.0.2.1;",
        )
        .replace(" mclt 3600; split 128;", ""),
    )
    loaded = {"Scope": 0, "AddressPool": 0}
    for model in (Scope, AddressPool):
        original = model.from_db.__func__

        def counting(cls, *args, _original=original, **kwargs):
            loaded[cls.__name__] += 1
            return _original(cls, *args, **kwargs)

        monkeypatch.setattr(model, "from_db", classmethod(counting))
    with CaptureQueriesContext(connection) as queries:
        plan = services.config_import_plan(server=a, text=config(range(3)))
    monkeypatch.undo()
    assert len(plan.deleted) == 2 * (stored - 3)  # the scopes and pools the file drops
    assert plan.relationships and plan.relationships[0].name == "fo"
    return len(queries), loaded["Scope"], loaded["AddressPool"]


def test_the_plan_loads_what_the_file_touches_whatever_the_server_holds(monkeypatch):
    small = plan_cost(5, monkeypatch)
    large = plan_cost(120, monkeypatch)
    assert small == large, (small, large)
    assert small[1:] == (3, 3)  # instances of the three scopes and pools the file has
