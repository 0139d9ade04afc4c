"""The shared lab itself: a host link reaches a namespace, and nothing is left afterwards."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from tests.netns import netns_lab

pytestmark = pytest.mark.netns


def test_host_link_reaches_the_namespace_and_is_removed(tmp_path):
    (tmp_path / "hello.txt").write_text("from inside")
    with netns_lab(tmp_path) as lab:
        address = lab.link_host("a")
        assert lab.link_host("a") == address  # one link per side
        lab.start(
            "a",
            [sys.executable, "-m", "http.server", "8765", "--bind", address, "-d", str(tmp_path)],
            "http.log",
        )
        answer = b""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and b"from inside" not in answer:
            try:
                with socket.create_connection((address, 8765), timeout=2) as conn:
                    conn.sendall(b"GET /hello.txt HTTP/1.0\r\n\r\n")
                    answer = conn.recv(4096)
            except OSError:
                time.sleep(0.2)
        assert b"from inside" in answer
        host_if = f"dhl{lab.suffix}a"
        shown = subprocess.run(["ip", "-o", "link", "show", host_if], capture_output=True)
        assert shown.returncode == 0
    gone = subprocess.run(["ip", "-o", "link", "show", host_if], capture_output=True)
    assert gone.returncode != 0
