"""Time the render of a large server beside ``dhcpd -t`` on the rendered text.

    python bench/render_bench.py [--subnets N] [--repeat R] [--database-url URL] [--no-dhcpd]

Generates the benchmark config (bench/gen_config.py: default 10,000 subnets, each with
routers, name servers, a domain name and a failover pool), imports it into a new server of
an empty database (a fresh SQLite file in a temporary directory unless ``--database-url``
names another, e.g. PostgreSQL; its tables are emptied first, as bench/import_bench.py
does), then, in the same run:

- renders the server R times (``render_server``: from the database to the text, its
  queries included) and keeps the best time;
- runs ``dhcpd -t -4 -cf FILE`` R times on the rendered text and keeps the best time;

and prints both and their ratio (render / dhcpd -t), with the number of queries of one
render.
This is a benchmark, not a test: numbers depend on the machine (and on its load: the two
figures are taken in one run so that their ratio is comparable).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subnets", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--no-dhcpd", action="store_true")
    args = parser.parse_args(argv)

    from bench.import_bench import import_once, setup_django

    with tempfile.TemporaryDirectory() as tmp:
        setup_django(args.database_url or f"sqlite:///{tmp}/bench.sqlite3")
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from bench.gen_config import generate
        from bench.parse_bench import run_dhcpd
        from failover.dhcpd.render import render_server
        from failover.models import DhcpServer

        source = Path(tmp) / "generated.conf"
        source.write_text(generate(args.subnets), encoding="utf-8")
        imported = import_once(source)
        server = DhcpServer.objects.get(name="bench")

        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            text = render_server(server)
            times.append(time.perf_counter() - started)
        best = min(times)
        with CaptureQueriesContext(connection) as queries:
            render_server(server)
        rendered = Path(tmp) / "rendered.conf"
        rendered.write_text(text, encoding="utf-8")

        print(f"database: {connection.vendor}")
        print(
            f"server:   {args.subnets:,} subnets imported in {imported['total']:.1f} s "
            f"({imported['created']:,} objects)"
        )
        print(
            f"render:   {best:.3f} s best of {args.repeat} ({len(text.encode()):,} bytes, "
            f"{text.count(chr(10)):,} lines, {len(queries)} queries)"
        )
        if not args.no_dhcpd:
            measured = [run_dhcpd(rendered) for _ in range(args.repeat)]
            if measured[0] is None:
                print("dhcpd:    not installed")
            else:
                elapsed = min(m[0] for m in measured)
                code = measured[-1][2]
                verdict = "accepted" if code == 0 else f"exit code {code}"
                print(f"dhcpd -t: {elapsed:.3f} s best of {args.repeat} ({verdict})")
                print(f"ratio:    render / dhcpd -t = {best / elapsed:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
