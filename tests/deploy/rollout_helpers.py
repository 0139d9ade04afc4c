"""Helpers of the deploy (rollout) tests: an operator, the real worker, a real DHCP client.

The worker is django-tasks-db's ``manage.py db_worker --batch`` (every queued task, then
exit), run as its own process against the test database on both databases (the tests use
``transactional_db``, so the data is committed; the SQLite test database is a file).
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, Permission, User

from tests.conftest import shared_database_url

REPO = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT = 600  # a whole rollout, every wait inside it bounded


def make_operator(username: str = "operator") -> User:
    user = User.objects.create_user(username, password="correct-horse-battery")
    perms = Permission.objects.filter(content_type__app_label="failover")
    user.user_permissions.set(perms)
    group, _ = Group.objects.get_or_create(name="Operators")
    user.groups.add(group)
    return User.objects.get(pk=user.pk)  # fresh permission cache


def worker_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "LANG", "CI", "DHCPD_PATH", "DEBUG")
    }
    env["SECRET_KEY"] = settings.SECRET_KEY
    env["DEBUG"] = "1"
    env["DHCPADMIN_ENCRYPTION_KEY"] = ",".join(settings.DHCPADMIN_ENCRYPTION_KEYS)
    env["DATABASE_URL"] = shared_database_url()
    for name in dir(settings):
        if name.startswith("DHCPADMIN_DEPLOY_") or name == "DHCPADMIN_SSH_TIMEOUT":
            value = getattr(settings, name)
            env[name] = "" if value is None else str(value)
    return env


def run_worker_batch(timeout: float = WORKER_TIMEOUT) -> str:
    """Run every queued task with the real worker; return its output."""
    result = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
        cwd=REPO,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


class BackgroundWorker:
    """The worker running while the test does something else (stopped by ``stop``)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--no-startup-delay"],
            cwd=REPO,
            env=worker_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self, timeout: float = WORKER_TIMEOUT) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()  # the worker finishes its task first
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)


def wait_for(predicate, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} (waited {timeout} s)")


def client_lease(lab, timeout: float = 60) -> ipaddress.IPv4Address:
    """A real dhclient on ns c's bridge; the address it got."""
    return lab.dhclient_lease(timeout=timeout)
