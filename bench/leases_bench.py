"""Time the leases tokenizer (failover/deploy/leases.py) on a generated failover leases file.

    python bench/leases_bench.py [--leases N] [--journal J] [--repeat R]

The file has N addresses as dhcpd 4.4 writes them in a failover pool (free / backup /
active with hardware, uid, host name and an ``on expiry`` block), each written J times (a
leases file is a journal until dhcpd rewrites it). Reports the size, the best wall time of R
runs and the rate. A benchmark, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from failover.deploy.leases import parse_leases  # noqa: E402

STATES = ("free", "backup", "active", "expired", "released", "abandoned")


def generate(n: int, journal: int) -> str:
    out = [
        "# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
        "authoring-byte-order little-endian;\n"
        'failover peer "fo" state {\n  my state normal at 2 2026/12/01 05:00:00;\n'
        "  partner state normal at 2 2026/12/01 05:00:00;\n  mclt 3600;\n}\n"
    ]
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    for round_ in range(journal):
        for i in range(n):
            state = STATES[(i + round_) % len(STATES)]
            ip = ipaddress.IPv4Address(base + i)
            lines = [
                f"lease {ip} {{",
                "  starts 2 2026/12/01 05:00:00;",
                "  ends 2 2026/12/01 06:00:00;",
                "  tstp 2 2026/12/01 06:00:00;",
                "  tsfp 2 2026/12/01 06:00:00;",
                "  atsfp 2 2026/12/01 06:00:00;",
                "  cltt 2 2026/12/01 05:00:00;",
                f"  binding state {state};",
            ]
            if state == "active":
                mac = ":".join(f"{(i >> s) & 0xFF:02x}" for s in (0, 8, 16, 0, 8, 16))
                lines += [
                    "  next binding state expired;",
                    "  rewind binding state free;",
                    f"  hardware ethernet {mac};",
                    '  uid "\\001\\000\\026>\\252\\273\\314";',
                    f'  client-hostname "host-{i}";',
                    '  on expiry { set ddns-fwd-name = "x"; }',
                ]
            out.append("\n".join(lines) + "\n}\n")
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leases", type=int, default=100_000)
    parser.add_argument("--journal", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    text = generate(args.leases, args.journal)
    best = float("inf")
    parsed = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        parsed = parse_leases(text)
        best = min(best, time.perf_counter() - started)
    assert parsed is not None and len(parsed.leases) == args.leases
    size = len(text.encode())
    print(
        f"{args.leases:,} addresses, {parsed.entries:,} entries, {size / 1e6:.1f} MB: "
        f"best {best:.2f} s of {args.repeat} ({parsed.entries / best:,.0f} entries/s, "
        f"{size / 1e6 / best:.1f} MB/s)"
    )


if __name__ == "__main__":
    main()
