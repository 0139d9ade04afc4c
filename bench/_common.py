"""Helpers shared by the benchmarks in bench/ (not a benchmark itself).

Each benchmark is run as ``python bench/NAME.py`` from the repository; it calls
:func:`setup_django` first, which points Django at the benchmark's database.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
#: The database bench/gen_db.py builds unless told otherwise.
DEFAULT_DATABASE_URL = f"sqlite:///{OUT / 'bench.sqlite3'}"

#: The users bench/gen_db.py creates: a superuser and a user with view permissions only.
SUPERUSER = ("bench", "bench-password")
VIEWER = ("bench-viewer", "bench-viewer-password")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def setup_django(database_url: str, *, migrate: bool = True) -> None:
    """Settings from the environment as in production, with ``database_url`` as the
    database; ``migrate`` brings its tables up to date."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dhcpadmin.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only")
    import django
    from django.core.management import call_command

    django.setup()
    if migrate:
        call_command("migrate", verbosity=0)


def empty_database() -> None:
    """Every failover table emptied (raw deletes: the ORM's cascade collection of 20,000
    rows is not what is measured here)."""
    from failover.models import (
        AddressPool,
        ChangeRecord,
        DhcpServer,
        FailoverPeer,
        Scope,
        ScopeGroup,
    )

    for model in (AddressPool, Scope, ScopeGroup, FailoverPeer, DhcpServer, ChangeRecord):
        model.objects.all()._raw_delete(model.objects.db)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5 for p50, 0.95 for p95) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil(n * fraction), at least 1
    return ordered[int(rank) - 1]
