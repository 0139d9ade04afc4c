"""Time parse-and-import of the benchmark config, beside ``dhcpd -t`` on the same file.

    python bench/import_bench.py [--subnets N] [--repeat R] [--database-url URL]
                                 [--no-dhcpd] [--no-tracemalloc] [FILE]

Without FILE the config is generated (bench/gen_config.py: default 10,000 subnets, each
with routers, name servers, a domain name and a failover pool). Each run imports the file
into a new server of an empty database (a fresh SQLite file in a temporary directory
unless ``--database-url`` names another, e.g. PostgreSQL; its tables are emptied first),
the way ``manage.py import_dhcpd_conf --create`` does: parse, plan (validation with the
model's rules, the diff, the relationships and their pair check), apply in one
transaction. Then it re-imports the same file, whose plan must be empty.

Reported: the best wall time of R runs for parse+import (and the parse and the plan
alone), the peak Python heap of one run (tracemalloc, a separate run since tracing slows
it down) and the process's peak RSS; for ``dhcpd -t -4`` (when installed): the best wall
time of R runs and the peak RSS of the child, and the ratio of the two best times. This is
a benchmark, not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import empty_database, setup_django  # noqa: E402


def import_once(path: Path) -> dict[str, float]:
    from failover import services
    from failover.dhcpd.parser import parse_file
    from failover.models import DhcpServer

    empty_database()
    started = time.perf_counter()
    with services.without_cycle_collection():  # as manage.py import_dhcpd_conf does
        tree = parse_file(path, max_bytes=1 << 30)
    parsed = time.perf_counter()
    server = DhcpServer(name="bench", address="192.0.2.1")
    plan = services.config_import(server=server, tree=tree, filename=str(path))
    done = time.perf_counter()
    return {
        "parse": parsed - started,
        "import": done - parsed,
        "total": done - started,
        "created": len(plan.created),
    }


def time_plan_only(path: Path) -> tuple[float, bool]:
    """The plan of a re-import (the drift preview): parse + diff against stored data."""
    from failover import services
    from failover.dhcpd.parser import parse_file
    from failover.models import DhcpServer

    server = DhcpServer.objects.get(name="bench")
    started = time.perf_counter()
    with services.without_cycle_collection():
        tree = parse_file(path, max_bytes=1 << 30)
    plan = services.config_import_plan(server=server, tree=tree, filename=str(path))
    return time.perf_counter() - started, plan.is_empty


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path)
    parser.add_argument("--subnets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--no-dhcpd", action="store_true")
    parser.add_argument("--no-tracemalloc", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        setup_django(args.database_url or f"sqlite:///{tmp}/bench.sqlite3")
        from django.db import connection

        from bench.gen_config import generate
        from bench.parse_bench import run_dhcpd

        path = args.file
        if path is None:
            path = Path(tmp) / "dhcpd.conf"
            path.write_text(generate(args.subnets), encoding="utf-8")
        size = path.stat().st_size
        runs = [import_once(path) for _ in range(args.repeat)]
        best = min(runs, key=lambda r: r["total"])
        replan, empty = time_plan_only(path)
        heap = None
        if not args.no_tracemalloc:
            tracemalloc.start()
            import_once(path)
            heap = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"file:     {path} ({size:,} bytes)")
        print(f"database: {connection.vendor}")
        print(
            f"import:   {best['total']:.3f} s best of {args.repeat} (parse {best['parse']:.3f} s "
            f"+ plan and apply {best['import']:.3f} s; {best['created']:,} objects created)"
        )
        print(
            f"re-import preview: {replan:.3f} s (parse + plan), "
            f"{'empty diff' if empty else 'NOT EMPTY'}"
        )
        memory = f"process peak RSS {rss_kib / 1024:.0f} MiB"
        if heap is not None:
            memory = f"peak Python heap {heap / 1e6:.0f} MB (tracemalloc), " + memory
        print(f"memory:   {memory}")
        if not args.no_dhcpd:
            measured = [run_dhcpd(path) for _ in range(args.repeat)]
            if measured[0] is None:
                print("dhcpd:    not installed")
            else:
                elapsed = min(m[0] for m in measured)
                child_kib, code = measured[-1][1], measured[-1][2]
                verdict = "accepted" if code == 0 else f"exit code {code}"
                print(
                    f"dhcpd -t: {elapsed:.3f} s best of {args.repeat}, peak RSS "
                    f"{child_kib / 1024:.0f} MiB ({verdict})"
                )
                print(f"ratio:    import / dhcpd -t = {best['total'] / elapsed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
