"""The periodic drift check run by the REAL worker process (``manage.py db_worker --batch``) on
the test database (PostgreSQL: SQLite's test database lives in one process), against real
servers; and which servers are checked at all."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from failover import services as core
from failover.deploy import services
from failover.deploy.models import SshTarget
from failover.deploy.tasks import drift_check_task, drift_keys
from tests.deploy.conftest import make_ssh_pair

REPO = Path(__file__).resolve().parents[2]


def shared_database_url() -> str:
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database shared between processes (PostgreSQL)")
    user, password = params["USER"], params["PASSWORD"]
    host, port = params["HOST"] or "127.0.0.1", params["PORT"] or 5432
    return f"postgres://{user}:{password}@{host}:{port}/{params['NAME']}"


@pytest.mark.netns
@pytest.mark.dhcpd
def test_worker_checks_drift_of_real_servers(tmp_path, transactional_db, settings):
    url = shared_database_url()
    with make_ssh_pair(tmp_path) as pair:
        text = pair.read("a").decode()
        pair.write("a", text.replace("max-lease-time 3600;", "max-lease-time 7200;", 1).encode())
        assert set(drift_keys()) == {str(pair.a.pk), str(pair.b.pk)}
        for key in drift_keys():
            drift_check_task.enqueue(key)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            SECRET_KEY=settings.SECRET_KEY,
            DHCPADMIN_ENCRYPTION_KEY=",".join(settings.DHCPADMIN_ENCRYPTION_KEYS),
            DHCPADMIN_SSH_TIMEOUT="5",
        )
        env.pop("DJANGO_SETTINGS_MODULE", None)
        worker = subprocess.run(
            [str(REPO / ".venv/bin/python"), "manage.py", "db_worker", "--batch", "--no-reload"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode == 0, worker.stdout + worker.stderr
        a = SshTarget.objects.get(server=pair.a)
        b = SshTarget.objects.get(server=pair.b)
        assert a.drift_checked_at is not None and b.drift_checked_at is not None
        if services.deployed(pair.a) is None:  # no deploy history installed
            assert (a.drift_status, b.drift_status) == ("drift", "in sync")
        else:
            assert (a.drift_status, b.drift_status) == ("never deployed", "never deployed")
        assert "differs" in a.drift_detail and "is what dhcpadmin would write" in b.drift_detail
        # the server stops answering: unreachable, with why
        pair.stop_sshd("b")
        assert services.drift_check(pair.b).drift_status == "unreachable"
        b.refresh_from_db()
        assert "Cannot connect" in b.drift_detail or "No answer" in b.drift_detail


def test_documentation_addresses_and_servers_without_a_key_are_never_checked(db):
    demo = core.server_create(name="demo", address="192.0.2.10")
    keyless = core.server_create(name="keyless", address="198.18.200.1")
    other = core.server_create(name="other", address="198.18.200.2")
    SshTarget.objects.create(server=demo, key_path="/nonexistent/key")
    SshTarget.objects.create(server=keyless)
    SshTarget.objects.create(server=other, host="192.0.2.99", key_path="/nonexistent/key")
    assert list(drift_keys()) == []
    assert services.drift_check(demo) is None
    assert services.drift_check_all() == {}
    # and the connection itself refuses them, before any packet
    from failover.deploy import ssh

    with pytest.raises(ssh.SshError, match="documentation address"):
        ssh.connect(SshTarget.objects.get(server=demo))
