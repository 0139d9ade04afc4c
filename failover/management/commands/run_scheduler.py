"""``manage.py run_scheduler``: the periodic scheduler's tick loop (failover/schedule.py).

Enqueues the due periodic tasks (the live-state polls) every ``--interval`` seconds; the
worker (``manage.py db_worker``) runs them. Any number may run: due entries are claimed, so
none is enqueued twice. ``--once`` ticks once and exits. SIGTERM/SIGINT stop it cleanly.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from failover import schedule


class Command(BaseCommand):
    help = "Enqueue due periodic tasks (live-state polling) until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="tick once and exit")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        stop = threading.Event()
        if not once:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        while True:
            if not once:  # a long-running loop: drop broken or expired connections
                close_old_connections()
            try:
                count = schedule.tick()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the loop
                import logging

                logging.getLogger(__name__).exception("scheduler tick failed")
                count = 0
            if options.get("verbosity", 1) > 1 and count:
                self.stdout.write(f"enqueued {count}")
            if once or stop.wait(max(0.1, interval)):
                break
