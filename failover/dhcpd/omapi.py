"""Read a failover relationship's live state from dhcpd over OMAPI (pypureomapi).

dhcpd answers OMAPI only when its configuration has ``omapi-port N;`` (the renderer writes it
when the server has an OMAPI port). Without ``omapi-key`` the connection is not
authenticated, so keep the port on a management network.

Can also be run as a script, which is how the tests read a daemon inside a network
namespace (``ip netns exec NS python -m failover.dhcpd.omapi HOST PORT NAME``); it prints
the state as JSON and does not need Django.
"""

from __future__ import annotations

import json
import struct
import sys

#: dhcpd 4.4's numbering (includes/failover.h); the 3.0.x numbering differs.
FAILOVER_STATES = {
    0: "unknown",
    1: "startup",
    2: "normal",
    3: "communications-interrupted",
    4: "partner-down",
    5: "potential-conflict",
    6: "recover",
    7: "paused",
    8: "shutdown",
    9: "recover-done",
    10: "resolution-interrupted",
    11: "conflict-done",
    254: "recover-wait",
}

_INTEGER_ATTRIBUTES = (
    "local-state",
    "partner-state",
    "mclt",
    "load-balance-max-secs",
    "local-stos",
    "partner-stos",
    "hierarchy",
    "skew",
    "cur-unacked-updates",
    "max-response-delay",
    "max-unacked-updates",
    "load-balance-hba",
)


class OmapiUnavailable(Exception):
    """dhcpd did not answer, or has no failover-state object of that name."""


def state_name(number: int | None) -> str:
    if number is None:
        return "unknown"
    return FAILOVER_STATES.get(number, f"state {number}")


def decode(raw: dict[bytes, bytes]) -> dict[str, object]:
    """Turn pypureomapi's raw attributes into plain values with state names."""
    out: dict[str, object] = {}
    for key, value in raw.items():
        name = key.decode("ascii", errors="replace")
        if name in _INTEGER_ATTRIBUTES and len(value) == 4:
            out[name] = struct.unpack("!I", value)[0]
        elif name in ("local-address", "partner-address") and len(value) == 4:
            out[name] = ".".join(str(b) for b in value)
        elif name == "name":
            out[name] = value.decode("utf-8", errors="replace")
        elif name in ("local-port", "partner-port") and len(value) == 4:
            out[name] = struct.unpack("!I", value)[0]
    for side in ("local", "partner"):
        number = out.get(f"{side}-state")
        out[f"{side}-state-name"] = state_name(number if isinstance(number, int) else None)
    if isinstance(out.get("hierarchy"), int):
        out["role"] = "primary" if out["hierarchy"] == 0 else "secondary"
    return out


def failover_state(host: str, port: int, name: str, *, timeout: float = 5.0) -> dict[str, object]:
    """The failover-state object ``name`` of the dhcpd at ``host:port``, decoded.

    Raises OmapiUnavailable when dhcpd cannot be reached or has no such relationship.
    """
    try:
        from pypureomapi import Omapi, OmapiError
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise OmapiUnavailable("pypureomapi is not installed") from exc
    try:
        client = Omapi(host, port, None, None, timeout=timeout)
    except (OSError, OmapiError) as exc:
        raise OmapiUnavailable(f"cannot reach OMAPI at {host}:{port}: {exc}") from exc
    try:
        raw = client.lookup_by_failoverstate(name=name, raw=True)
    except (OSError, OmapiError) as exc:
        raise OmapiUnavailable(
            f"no failover state '{name}' from {host}:{port}: {exc or type(exc).__name__}"
        ) from exc
    finally:
        client.close()
    return decode(raw)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m failover.dhcpd.omapi HOST PORT NAME", file=sys.stderr)
        return 2
    host, port, name = argv[0], int(argv[1]), argv[2]
    try:
        state = failover_state(host, port, name)
    except OmapiUnavailable as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    print(json.dumps(state, sort_keys=True))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
