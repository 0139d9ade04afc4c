"""The data version: one cheap read that changes whenever the managed data changes.

Every domain operation writes a :class:`~failover.models.ChangeRecord` in the transaction
that changes the data (``failover.services``: the pages, the admin, the commands and the
importer all go through them). The newest record therefore names the state of the data:
when it is the same, everything derived from the data (a rendered dhcpd.conf, the pair
check of a relationship) is the same too. Results that cost as much as the database is
large are kept under that version, so a page pays for them once per change, not once per
request, and every app server sees a change at its next request (the version is read from
the shared database; the kept results are per process).

The version is the newest record's id *and* its creation time: ids alone can be reused
after a rolled-back transaction on SQLite (tests do that all the time).

The results are kept in this process's memory (a small LRU, not Django's cache, which
would pickle and unpickle ten thousand objects on every read). They are shared between
requests: treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from .models import ChangeRecord

T = TypeVar("T")

# Long enough to be useful, short enough that a change made outside the services (raw SQL,
# which the README warns against) shows up on its own.
CACHE_SECONDS = 600
MAX_ENTRIES = 64

_lock = threading.Lock()
_entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()


def data_version() -> str:
    """The newest change record's id and time (one indexed query), or "0" when none."""
    row = ChangeRecord.objects.order_by("-pk").values_list("pk", "created").first()
    if row is None:
        return "0"
    pk, created = row
    return f"{pk}.{created.timestamp():.6f}"


def cached(name: str, compute: Callable[[], T], *, version: str | None = None) -> T:
    """``compute()``, kept under ``name`` for the current data version (read-only!)."""
    key = f"{name}@{version if version is not None else data_version()}"
    now = time.monotonic()
    with _lock:
        entry = _entries.get(key)
        if entry is not None and now - entry[0] < CACHE_SECONDS:
            _entries.move_to_end(key)
            return entry[1]
    value = compute()  # outside the lock: two requests may both compute, never wait
    with _lock:
        _entries[key] = (now, value)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every kept result (tests)."""
    with _lock:
        _entries.clear()
