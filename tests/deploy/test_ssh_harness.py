"""The harness itself and the SSH connection against real sshd: pinned keys, argv, SFTP."""

from __future__ import annotations

import pytest

from failover.deploy import ssh
from failover.deploy.models import SshTarget

pytestmark = [pytest.mark.netns, pytest.mark.django_db]


def test_connect_run_read_write_rename(ssh_pair):
    target = SshTarget.objects.get(server=ssh_pair.a)
    with ssh.connect(target) as conn:
        result = conn.run(["echo", "a b; $(id)", "'x'"])
        assert result.exit_status == 0
        assert result.stdout == b"a b; $(id) 'x'\n"
        assert conn.read(target.config_path) == ssh_pair.read("a")
        tmp = target.config_path + ".new"
        conn.write(tmp, b"hello\n")
        conn.rename(tmp, tmp + "2")
        assert ssh_pair.read("a", tmp + "2") == b"hello\n"
        conn.remove(tmp + "2")
        assert "dhcpd.conf" in conn.listdir(target.config_path.rsplit("/", 1)[0])
        check = conn.run(target.command("check_command", file=target.config_path), timeout=20)
        assert check.exit_status == 0, check.output
        assert conn.run(target.command("status_command")).exit_status == 0
        ssh_pair.stop_dhcpd("a")
        stopped = conn.run(target.command("status_command"))
        assert stopped.exit_status != 0 and b"not running" in stopped.stderr
        restart = conn.run(target.command("restart_command"), timeout=30)
        assert restart.exit_status == 0, restart.output
        assert conn.run(target.command("status_command")).exit_status == 0
    assert ssh_pair.dhcpd_running("a") and ssh_pair.dhcpd_running("b")
    target_b = SshTarget.objects.get(server=ssh_pair.b)  # key file instead of stored key
    with ssh.connect(target_b) as conn:
        assert conn.run(["true"]).exit_status == 0


def test_changed_host_key_is_refused(ssh_pair):
    key_type, key = ssh_pair.change_host_key("b")
    target = SshTarget.objects.get(server=ssh_pair.b)
    with pytest.raises(ssh.HostKeyRefused) as info:
        ssh.connect(target)
    assert info.value.changed
    assert "CHANGED" in str(info.value) and ssh.fingerprint(key) in str(info.value)
    target.refresh_from_db()
    assert (target.offered_key_type, target.offered_key) == (key_type, key)


def test_fingerprint_is_what_ssh_keygen_shows(tmp_path):
    import subprocess

    from tests.conftest import require_binary

    keygen = require_binary("ssh-keygen")
    path = tmp_path / "k"
    subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    shown = subprocess.run(
        [keygen, "-l", "-E", "sha256", "-f", str(path) + ".pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    key = (tmp_path / "k.pub").read_text().split()[1]
    assert ssh.fingerprint(key) == shown
