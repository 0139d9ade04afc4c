"""Time the Kea HA export of the benchmark relationship (10,000 scopes on each server).

    python bench/kea_bench.py [--database-url URL] [--repeat R] [--relationship NAME] [--kea-test]

Uses the database bench/gen_db.py builds (default bench/out/bench.sqlite3: ``bench-a`` and
``bench-b`` with 10,000 mirrored scopes and the relationship ``fo-bench``; build it first).
Measures, best of R, each from the database:

- the export (``relationship_for_export``: both servers' scopes and pools read, the four
  configurations built as data and the report), with its number of queries;
- the serialisation of the four files (``KeaExport.files()``) and their size;
- dhcpadmin's own HA check of the four files (``check_ha``);
- with ``--kea-test``: ``kea-dhcp4 -t`` / ``kea-ctrl-agent -t`` on the four files (once).

A benchmark, not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import DEFAULT_DATABASE_URL, setup_django  # noqa: E402


def best_of(repeat: int, func):  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--relationship", default="fo-bench")
    parser.add_argument("--kea-test", action="store_true", help="also run kea-dhcp4 -t once")
    args = parser.parse_args(argv)
    setup_django(args.database_url)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from failover.kea.checks import check_ha, kea_test
    from failover.kea.services import relationship_for_export, relationships_named

    found = relationships_named(args.relationship)
    if len(found) != 1:
        print(f"{len(found)} relationships named {args.relationship}: run bench/gen_db.py first")
        return 1
    relationship = found[0]
    scopes = relationship.scope_count
    with CaptureQueriesContext(connection) as queries:
        relationship_for_export(relationship)
    export_time, export = best_of(args.repeat, lambda: relationship_for_export(relationship))

    def serialise() -> dict[str, str]:
        export._files = None  # serialise again (an export keeps its files once made)
        return export.files()

    files_time, files = best_of(args.repeat, serialise)
    check_time, problems = best_of(args.repeat, lambda: check_ha(files))
    size = sum(len(text.encode()) for text in files.values())
    print(f"database:  {connection.vendor}")
    print(f"relation:  {relationship.name}, {scopes:,} scopes, mode {export.mode}")
    print(
        f"export:    {export_time:.3f} s best of {args.repeat} ({len(queries)} queries, "
        f"{len(export.report):,} report items)"
    )
    print(f"serialise: {files_time:.3f} s ({len(files)} files, {size:,} bytes)")
    print(f"HA check:  {check_time:.3f} s ({len(problems)} problems)")
    print(f"total:     {export_time + files_time + check_time:.3f} s")
    if args.kea_test:
        started = time.perf_counter()
        results = kea_test(files)
        elapsed = time.perf_counter() - started
        verdicts = ", ".join(f"{r.file}: {r.summary}" for r in results)
        print(f"kea -t:    {elapsed:.3f} s for the four files ({verdicts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
