"""Time the dhcpd.conf parser on the benchmark config, beside ``dhcpd -t`` on the same file.

    python bench/parse_bench.py [--subnets N] [--repeat R] [--no-dhcpd] [FILE]

Without FILE the config is generated (bench/gen_config.py, default 10,000 subnets, each
with a failover pool). Reports, for the parser: the best wall time of R runs, the peak
Python heap while parsing (tracemalloc, a separate run since tracing slows it down) and
the process's peak RSS; for ``dhcpd -t -4`` (when installed): wall time and peak RSS of
the child. This is a benchmark, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gen_config import generate  # noqa: E402
from failover.dhcpd.ast import Pool, Subnet, walk  # noqa: E402
from failover.dhcpd.parser import parse_file  # noqa: E402


def time_parse(path: Path, repeat: int) -> tuple[float, object]:
    best = float("inf")
    config = None
    for _ in range(repeat):
        started = time.perf_counter()
        config = parse_file(path, max_bytes=1 << 30)
        best = min(best, time.perf_counter() - started)
    return best, config


def peak_heap(path: Path) -> int:
    tracemalloc.start()
    try:
        parse_file(path, max_bytes=1 << 30)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run_dhcpd(path: Path) -> tuple[float, int, int] | None:
    dhcpd = shutil.which("dhcpd") or (
        "/usr/sbin/dhcpd" if os.path.exists("/usr/sbin/dhcpd") else None
    )
    if dhcpd is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        result = subprocess.run(
            [dhcpd, "-t", "-4", "-cf", str(path), "-lf", f"{tmp}/l", "-pf", f"{tmp}/p"],
            capture_output=True,
            timeout=600,
        )
        elapsed = time.perf_counter() - started
    rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, rss_kib, result.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--subnets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-dhcpd", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.file
        if path is None:
            path = Path(tmp) / "dhcpd.conf"
            path.write_text(generate(args.subnets), encoding="utf-8")
        size = path.stat().st_size
        seconds, config = time_parse(path, args.repeat)
        nodes = list(walk(config))
        subnets = sum(isinstance(n, Subnet) for n in nodes)
        pools = sum(isinstance(n, Pool) for n in nodes)
        heap = peak_heap(path)
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"file:    {path} ({size:,} bytes, {subnets:,} subnets, {pools:,} pools)")
        print(
            f"parser:  {seconds:.3f} s best of {args.repeat} "
            f"({size / seconds / 1e6:.1f} MB/s, {seconds / size * 1e9:.0f} ns/byte), "
            f"peak heap {heap / 1e6:.1f} MB (tracemalloc), process peak RSS "
            f"{rss_kib / 1024:.0f} MiB"
        )
        if not args.no_dhcpd:
            measured = run_dhcpd(path)
            if measured is None:
                print("dhcpd:   not installed")
            else:
                elapsed, child_kib, code = measured
                verdict = "accepted" if code == 0 else f"exit code {code}"
                print(f"dhcpd -t: {elapsed:.3f} s, peak RSS {child_kib / 1024:.0f} MiB ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
