"""Checks of exported (or altered) Kea configurations.

:func:`check_ha` is dhcpadmin's own check of the HA part, because Kea 2.2's ``-t`` does not
look at hook parameters and a running Kea ignores unknown keys: it reads the JSON texts of
the files (so it checks edited files as well as fresh exports) and reports, each with its
file: the hook libraries (lease_cmds before ha), one relationship, the keys (only those
Kea 2.2 knows), ``this-server-name`` among the peers, the mode and the role names, exactly
one primary, the URLs (``http://IPv4:port/``), the timing values, that a server's own URL
is where its control agent listens, that the control agent's socket is the server's, that
both servers agree on mode and peers, and, in load-balancing, the ``HA_<peer>`` classes of
the pools.

:func:`kea_test` runs the real ``kea-dhcp4 -t`` (and ``kea-ctrl-agent -t``) on each file, as
Validate runs ``dhcpd -t``; interfaces this machine does not have are checked as ``*``
(``-t`` refuses a missing interface), and that is said in the result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from failover.validators import is_ipv4

MODES = {
    "load-balancing": {"primary": 1, "secondary": 1},
    "hot-standby": {"primary": 1, "standby": 1},
    "passive-backup": {"primary": 1},
}
ROLES = {
    "load-balancing": {"primary", "secondary", "backup"},
    "hot-standby": {"primary", "standby", "backup"},
    "passive-backup": {"primary", "backup"},
}
#: The keys of an HA relationship map and of a peer that Kea 2.2 reads.
HA_KEYS = {
    "this-server-name",
    "mode",
    "heartbeat-delay",
    "max-response-delay",
    "max-ack-delay",
    "max-unacked-clients",
    "peers",
    "send-lease-updates",
    "sync-leases",
    "sync-timeout",
    "sync-page-limit",
    "delayed-updates-limit",
    "wait-backup-ack",
    "state-machine",
    "multi-threading",
    "trust-anchor",
    "cert-file",
    "key-file",
    "require-client-certs",
    "restrict-commands",
}
PEER_KEYS = {
    "name",
    "url",
    "role",
    "auto-failover",
    "basic-auth-user",
    "basic-auth-password",
    "basic-auth-password-file",
    "trust-anchor",
    "cert-file",
    "key-file",
}
TIMING_KEYS = ("heartbeat-delay", "max-response-delay", "max-ack-delay", "max-unacked-clients")


@dataclass(frozen=True)
class Problem:
    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


@dataclass
class _Server:
    dhcp4_file: str
    dhcp4: dict[str, Any]
    ha: dict[str, Any] | None = None
    ca_file: str | None = None
    ca: dict[str, Any] | None = None


def _load(files: dict[str, str], problems: list[Problem]) -> dict[str, dict[str, Any]]:
    loaded = {}
    for name, text in files.items():
        try:
            data = json.loads(text)
        except ValueError as exc:
            problems.append(Problem(name, f"Not JSON: {exc}"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(name, "Not a JSON object."))
            continue
        loaded[name] = data
    return loaded


def check_ha(files: dict[str, str]) -> list[Problem]:
    """The problems of the HA part of a pair's files (file name → JSON text); [] when none.
    A kea-dhcp4 file holds ``Dhcp4``, a control agent file ``Control-agent``; a control
    agent file is paired with the kea-dhcp4 file of the same control socket, or else the
    one whose name starts the same way (``<server>-kea-…``)."""
    problems: list[Problem] = []
    loaded = _load(files, problems)
    servers: list[_Server] = []
    agents: list[tuple[str, dict[str, Any]]] = []
    for name, data in loaded.items():
        if isinstance(data.get("Dhcp4"), dict):
            servers.append(_Server(name, data["Dhcp4"]))
        elif isinstance(data.get("Control-agent"), dict):
            agents.append((name, data["Control-agent"]))
        else:
            problems.append(Problem(name, "Neither a Dhcp4 nor a Control-agent configuration."))
    for server in servers:
        server.ha = _check_hooks(server, problems)
    _pair_agents(servers, agents, problems)
    for server in servers:
        if server.ha is not None:
            _check_relationship(server, problems)
    _check_pair(servers, problems)
    return problems


def _check_hooks(server: _Server, problems: list[Problem]) -> dict[str, Any] | None:
    name = server.dhcp4_file
    hooks = server.dhcp4.get("hooks-libraries")
    if not isinstance(hooks, list):
        problems.append(Problem(name, "No hooks-libraries: the HA hook is not loaded."))
        return None
    libraries = [
        (i, str(h.get("library", "")), h) for i, h in enumerate(hooks) if isinstance(h, dict)
    ]
    ha = [(i, h) for i, lib, h in libraries if lib.endswith("libdhcp_ha.so")]
    lease_cmds = [i for i, lib, _ in libraries if lib.endswith("libdhcp_lease_cmds.so")]
    if len(ha) != 1:
        problems.append(Problem(name, f"{len(ha)} HA hook libraries loaded; exactly one needed."))
        return None
    if not lease_cmds:
        problems.append(Problem(name, "libdhcp_lease_cmds.so is not loaded (HA needs it)."))
    elif lease_cmds[0] > ha[0][0]:
        problems.append(Problem(name, "libdhcp_lease_cmds.so must be loaded before libdhcp_ha.so."))
    params = ha[0][1].get("parameters")
    relationships = params.get("high-availability") if isinstance(params, dict) else None
    if not isinstance(relationships, list) or len(relationships) != 1:
        problems.append(
            Problem(name, "parameters.high-availability must be a list of exactly one map.")
        )
        return None
    if not isinstance(relationships[0], dict):
        problems.append(Problem(name, "The high-availability entry is not a map."))
        return None
    return relationships[0]


def _check_relationship(server: _Server, problems: list[Problem]) -> None:
    name, ha = server.dhcp4_file, server.ha
    assert ha is not None

    def add(message: str) -> None:
        problems.append(Problem(name, message))

    for key in sorted(set(ha) - HA_KEYS):
        add(f"Unknown HA key '{key}' (Kea ignores it silently).")
    mode = ha.get("mode")
    if mode not in MODES:
        add(f"Mode {mode!r} is not one of {', '.join(MODES)}.")
    for key in TIMING_KEYS:
        if key in ha and (not isinstance(ha[key], int) or isinstance(ha[key], bool) or ha[key] < 0):
            add(f"{key} must be a whole number of at least 0.")
    heartbeat, response = ha.get("heartbeat-delay"), ha.get("max-response-delay")
    if isinstance(heartbeat, int) and isinstance(response, int) and response <= heartbeat:
        add("max-response-delay must be greater than heartbeat-delay.")
    peers = ha.get("peers")
    if not isinstance(peers, list) or not all(isinstance(p, dict) for p in peers):
        add("peers must be a list of maps.")
        return
    names = [p.get("name") for p in peers]
    if len(set(map(str, names))) != len(names):
        add("Peer names must differ.")
    this = ha.get("this-server-name")
    if this not in names:
        add(f"this-server-name {this!r} is not among the peers ({', '.join(map(str, names))}).")
    roles = [p.get("role") for p in peers]
    for peer in peers:
        label = f"peer {peer.get('name')!r}"
        for key in sorted(set(peer) - PEER_KEYS):
            add(f"{label}: unknown key '{key}' (Kea ignores it silently).")
        if mode in ROLES and peer.get("role") not in ROLES[mode]:
            add(f"{label}: role {peer.get('role')!r} is not one of {sorted(ROLES[mode])} ({mode}).")
        if "auto-failover" in peer and not isinstance(peer["auto-failover"], bool):
            add(f"{label}: auto-failover must be true or false.")
        problem = _url_problem(peer.get("url"))
        if problem:
            add(f"{label}: {problem}")
    if mode in MODES:
        for role, count in MODES[mode].items():
            found = roles.count(role)
            if found != count:
                what = "primary servers" if role == "primary" else f"{role} servers"
                add(f"{found} {what} specified; {mode} needs exactly {count}.")
    own = next((p for p in peers if p.get("name") == this), None)
    if own is not None and server.ca is not None:
        url = urlsplit(str(own.get("url", "")))
        host, port = server.ca.get("http-host"), server.ca.get("http-port")
        try:
            url_port = url.port
        except ValueError:
            url_port = None
        if host not in (url.hostname, "0.0.0.0") or port != url_port:
            add(
                f"This server's URL {own.get('url')} is not where its control agent "
                f"({server.ca_file}) listens ({host}:{port})."
            )
    if mode == "load-balancing":
        _check_classes(server, [str(n) for n in names], problems)


def _url_problem(url: Any) -> str | None:
    if not isinstance(url, str):
        return "url is missing."
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return f"url {url!r} has a bad port."
    if parts.scheme != "http":
        return f"url {url!r} must start with http:// (https needs TLS settings)."
    if not parts.hostname or not is_ipv4(parts.hostname):
        return f"url {url!r} must name an IPv4 address."
    if port is None:
        return f"url {url!r} must name the control agent's port."
    return None


def _check_classes(server: _Server, names: list[str], problems: list[Problem]) -> None:
    wanted = {f"HA_{n}" for n in names}
    used: set[str] = set()
    for subnet in all_subnets(server.dhcp4):
        for pool in subnet.get("pools", []) or []:
            if not isinstance(pool, dict):
                continue
            classes = pool.get("client-classes")
            if classes is None and "client-class" in pool:
                classes = [pool["client-class"]]
            if not classes:
                problems.append(
                    Problem(
                        server.dhcp4_file,
                        f"Pool {pool.get('pool')} of {subnet.get('subnet')} has no HA_ class: "
                        "both servers would hand out its addresses.",
                    )
                )
                continue
            for cls in classes:
                if cls not in wanted:
                    problems.append(
                        Problem(
                            server.dhcp4_file,
                            f"Pool {pool.get('pool')}: class {cls!r} is not one of the peers' "
                            f"({', '.join(sorted(wanted))}).",
                        )
                    )
                used.add(cls)
    if used and wanted - used:
        problems.append(
            Problem(
                server.dhcp4_file,
                f"No pool for {', '.join(sorted(wanted - used))}: that server has nothing to "
                "hand out.",
            )
        )


def _socket(config: dict[str, Any]) -> str | None:
    sock = config.get("control-socket")
    return sock.get("socket-name") if isinstance(sock, dict) else None


def _agent_socket(agent: dict[str, Any]) -> str | None:
    sockets = agent.get("control-sockets")
    dhcp4 = sockets.get("dhcp4") if isinstance(sockets, dict) else None
    return dhcp4.get("socket-name") if isinstance(dhcp4, dict) else None


def _pair_agents(
    servers: list[_Server], agents: list[tuple[str, dict[str, Any]]], problems: list[Problem]
) -> None:
    for name, agent in agents:
        socket = _agent_socket(agent)
        match = [s for s in servers if s.ca is None and _socket(s.dhcp4) == socket]
        if len(match) != 1:
            prefix = name.split("-kea-")[0]
            match = [s for s in servers if s.ca is None and s.dhcp4_file.startswith(prefix)]
        if not match:
            problems.append(Problem(name, "No kea-dhcp4 file for this control agent."))
            continue
        server = match[0]
        server.ca_file, server.ca = name, agent
        if socket is None or socket != _socket(server.dhcp4):
            problems.append(
                Problem(
                    name,
                    f"The control agent's dhcp4 socket {socket!r} is not the control-socket "
                    f"{_socket(server.dhcp4)!r} of {server.dhcp4_file}.",
                )
            )
    for server in servers:
        if server.ca is None and agents:
            problems.append(Problem(server.dhcp4_file, "No control agent file for this server."))


def _check_pair(servers: list[_Server], problems: list[Problem]) -> None:
    with_ha = [s for s in servers if s.ha is not None]
    if len(with_ha) < 2:
        return
    first = with_ha[0]
    assert first.ha is not None
    seen: dict[str, str] = {}
    for server in with_ha:
        assert server.ha is not None
        this = str(server.ha.get("this-server-name"))
        if this in seen:
            problems.append(
                Problem(
                    server.dhcp4_file,
                    f"this-server-name {this!r} is also the name in {seen[this]}.",
                )
            )
        seen[this] = server.dhcp4_file
        if server is first:
            continue
        for key in ("mode", "peers", *TIMING_KEYS):
            if server.ha.get(key) != first.ha.get(key):
                problems.append(
                    Problem(server.dhcp4_file, f"{key} differs from {first.dhcp4_file}.")
                )
        if _pools(server.dhcp4) != _pools(first.dhcp4):
            problems.append(
                Problem(server.dhcp4_file, f"The subnets and pools differ from {first.dhcp4_file}.")
            )


def all_subnets(dhcp4: dict[str, Any]) -> list[dict[str, Any]]:
    """The subnets of ``subnet4`` and of every shared network, in id order."""
    found = [s for s in dhcp4.get("subnet4", []) or [] if isinstance(s, dict)]
    for network in dhcp4.get("shared-networks", []) or []:
        if isinstance(network, dict):
            found += [s for s in network.get("subnet4", []) or [] if isinstance(s, dict)]
    return sorted(found, key=_subnet_id)


def _subnet_id(subnet: dict[str, Any]) -> int:
    value = subnet.get("id")
    return value if isinstance(value, int) else 0


def _pools(dhcp4: dict[str, Any]) -> list[Any]:
    """Each subnet's id, network and pools with their classes (in either Kea's form)."""
    out = []
    for subnet in all_subnets(dhcp4):
        pools = []
        for pool in subnet.get("pools", []) or []:
            if isinstance(pool, dict):
                classes = pool.get("client-classes")
                if classes is None and "client-class" in pool:
                    classes = [pool["client-class"]]
                pools.append((pool.get("pool"), classes))
            else:
                pools.append((pool, None))
        out.append((subnet.get("id"), subnet.get("subnet"), pools))
    return out


# --- kea-dhcp4 -t ------------------------------------------------------------------------

DEFAULT_TIMEOUT = 30.0


@dataclass
class KeaTestResult:
    file: str
    ok: bool
    output: str = ""
    missing_binary: bool = False
    timed_out: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.missing_binary:
            return "not installed here: not run."
        if self.timed_out:
            return "did not finish in time."
        return "accepted." if self.ok else "rejected."


def kea_binary(name: str) -> str | None:
    """``KEA_DHCP4_PATH`` / ``KEA_CTRL_AGENT_PATH`` (settings or environment), else PATH,
    else /usr/sbin."""
    key = "KEA_DHCP4_PATH" if name == "kea-dhcp4" else "KEA_CTRL_AGENT_PATH"
    configured = getattr(settings, key, None) or os.environ.get(key)
    if configured:
        return configured if os.path.exists(configured) else None
    found = shutil.which(name)
    if found:
        return found
    fallback = f"/usr/sbin/{name}"
    return fallback if os.path.exists(fallback) else None


def _local_interfaces() -> set[str]:
    try:
        return set(os.listdir("/sys/class/net"))
    except OSError:
        return set()


def kea_test(files: dict[str, str], timeout: float = DEFAULT_TIMEOUT) -> list[KeaTestResult]:
    """``kea-dhcp4 -t`` on each Dhcp4 file and ``kea-ctrl-agent -t`` on each control agent
    file, in a fresh temporary directory (PID and lock files there too)."""
    results = []
    local = _local_interfaces()
    for name, text in files.items():
        try:
            data = json.loads(text)
        except ValueError as exc:
            results.append(KeaTestResult(name, False, f"Not JSON: {exc}"))
            continue
        binary_name = (
            "kea-dhcp4" if isinstance(data, dict) and "Dhcp4" in data else ("kea-ctrl-agent")
        )
        binary = kea_binary(binary_name)
        if binary is None:
            results.append(KeaTestResult(name, False, missing_binary=True))
            continue
        notes = []
        if binary_name == "kea-dhcp4":
            iface = data["Dhcp4"].get("interfaces-config")
            names = iface.get("interfaces") if isinstance(iface, dict) else None
            if isinstance(names, list):
                missing = [n for n in names if n != "*" and str(n).split("/")[0] not in local]
                if missing:
                    iface["interfaces"] = ["*"]
                    notes.append(
                        f"Checked with interfaces '*': {', '.join(map(str, missing))} "
                        "not on this machine."
                    )
        with tempfile.TemporaryDirectory(prefix="dhcpadmin-kea-") as tmp:
            path = Path(tmp) / "config.json"
            path.write_text(json.dumps(data))
            env = dict(os.environ, KEA_PIDFILE_DIR=tmp, KEA_LOCKFILE_DIR=tmp)
            env["KEA_LOGGER_DESTINATION"] = "stdout"
            try:
                proc = subprocess.run(
                    [binary, "-t", str(path)],
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    cwd=tmp,
                    env=env,
                )
            except subprocess.TimeoutExpired:
                results.append(KeaTestResult(name, False, timed_out=True, notes=notes))
                continue
        output = (proc.stdout + proc.stderr).replace(str(path), name)
        results.append(KeaTestResult(name, proc.returncode == 0, output.strip(), notes=notes))
    return results
