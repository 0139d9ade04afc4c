"""Server time, size and query count of every page on the benchmark database.

    python bench/pages_bench.py [--database-url URL] [--repeat 20] [--user bench]
                                [--only REGEX] [--skip REGEX] [--no-cache] [--budget S]

Needs a database made by bench/gen_db.py (default: its SQLite file bench/out/bench.sqlite3).
With Django's test client (in this process: no HTTP server, no network) logged in as the
bench superuser, each page of :data:`PAGES` is requested once to warm up, then ``--repeat``
times (default 20). Printed: a markdown table with the warm-up time (``1st ms``: the first
request of the run, which fills the caches keyed by the data version), p50 and p95 of the
measured requests, the response size, the number of SQL queries of one request, and the
p50 of this process's CPU time per request (Python's share, not the database's: steadier
than wall time on a busy machine). Pages
over the issue's targets (p95 100 ms, HTML 500 KB) are marked ``!``. ``--no-cache`` empties
the kept results (failover/versioning.py) before every request: the cost
of the first request after any change of the data. ``--budget``
bounds the time spent on a slow page: after 3 requests, it stops once they took that long.

Add a page by adding a row to :data:`PAGES`; ``{a}``, ``{b}`` (the servers bench-a and
bench-b), ``{scope}`` (bench-a's scope 10.19.136.0/24, or its middle one with fewer subnets)
and ``{peer}`` (bench-a's peer fo-bench) are filled in. This is a benchmark, not a test:
the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import DEFAULT_DATABASE_URL, SUPERUSER, percentile, setup_django  # noqa: E402

TARGET_MS = 100.0
TARGET_KB = 500.0
HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    method: str = "GET"
    data: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    html: bool = True  # the 500 KB target is for HTML; a download is the whole file


#: The import preview: a 10-subnet primary file posted as text to bench-a's Import page
#: (step=preview: parse, and plan against bench-a's stored scopes; nothing is written).
IMPORT_TEXT = "__import_text__"

PAGES: list[Page] = [
    Page("server list `/`", "/"),
    Page("server page", "/servers/{a}/"),
    Page("server page, page 2", "/servers/{a}/?page=2"),
    Page("server page, search `q=10.19.13`", "/servers/{a}/?q=10.19.13"),
    Page("server page, search an address `q=10.30.7.99`", "/servers/{a}/?q=10.30.7.99"),
    Page("server page, `show=not-finalized`", "/servers/{a}/?show=not-finalized"),
    Page("server page, `show=failover`, page 50", "/servers/{a}/?show=failover&page=50"),
    Page("scope page (one /24)", "/scopes/{scope}/"),
    Page("relationships", "/relationships/"),
    Page("relationship page", "/relationships/{peer}/"),
    Page("live state: dashboard section (htmx)", "/live/", headers=HTMX),
    Page("live state: relationship section (htmx)", "/live/relationships/{peer}/", headers=HTMX),
    Page("live state: server section (htmx)", "/live/servers/{a}/", headers=HTMX),
    Page("deploy history", "/servers/{a}/deploys/"),
    Page("Export to Kea HA", "/relationships/{peer}/kea/"),
    Page("config page", "/servers/{a}/config/"),
    Page("config download", "/servers/{a}/config.conf", html=False),
    Page("peers dialog (htmx)", "/servers/{a}/peers/", headers=HTMX),
    Page("admin: servers", "/admin/failover/dhcpserver/"),
    Page("admin: scopes", "/admin/failover/scope/"),
    Page("admin: pools", "/admin/failover/addresspool/"),
    Page("admin: failover peers", "/admin/failover/failoverpeer/"),
    Page("admin: change records", "/admin/failover/changerecord/"),
    Page(
        "import preview (10 subnets into bench-a)",
        "/servers/{a}/import/",
        method="POST",
        data={"step": "preview", "text": IMPORT_TEXT},
    ),
]


@dataclass
class Result:
    page: Page
    status: int
    first: float
    times: list[float]
    size: int
    queries: int
    repeat: int = 0
    cpu: list[float] = field(default_factory=list)

    def row(self) -> str:
        p50, p95 = percentile(self.times, 0.5) * 1000, percentile(self.times, 0.95) * 1000
        kb = self.size / 1024
        slow = "!" if p95 > TARGET_MS else ""
        big = "!" if self.page.html and kb > TARGET_KB else ""
        status = "" if self.status == 200 else f" (HTTP {self.status})"
        if len(self.times) < self.repeat:
            status += f" ({len(self.times)} requests)"
        return (
            f"| {self.page.label}{status} | {self.first * 1000:,.0f} | {p50:,.0f} "
            f"| {p95:,.0f}{slow} | {kb:,.0f}{big} | {self.queries} "
            f"| {percentile(self.cpu, 0.5) * 1000:,.0f} |"
        )


def names() -> dict[str, object]:
    from failover.models import DhcpServer, FailoverPeer, Scope

    a = DhcpServer.objects.get(name="bench-a")
    b = DhcpServer.objects.get(name="bench-b")
    scope = Scope.objects.filter(server=a, network="10.19.136.0/24").first()
    if scope is None:
        scopes = Scope.objects.filter(server=a).order_by("pk")
        scope = scopes[scopes.count() // 2]
    peer = FailoverPeer.objects.get(server=a, name="fo-bench")
    return {"a": a.pk, "b": b.pk, "scope": scope.pk, "peer": peer.pk}


def measure(
    client,
    page: Page,
    context: dict[str, object],
    repeat: int,
    no_cache: bool,
    budget: float | None = None,
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.gen_config import generate
    from failover import versioning

    url = page.url.format(**context)
    data = {k: generate(10) if v == IMPORT_TEXT else v for k, v in page.data.items()}

    cpu: list[float] = []

    def once() -> tuple[float, int, int]:
        if no_cache:
            versioning.clear()
        started, cpu_started = time.perf_counter(), time.process_time()
        if page.method == "POST":
            response = client.post(url, data, headers=page.headers)
        else:
            response = client.get(url, headers=page.headers)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        cpu.append(time.process_time() - cpu_started)
        return time.perf_counter() - started, response.status_code, len(body)

    first, status, size = once()
    times: list[float] = []
    for _ in range(repeat):
        if budget is not None and len(times) >= 3 and sum(times) > budget:
            break  # a slow page: fewer requests (the table says how many)
        elapsed, status, size = once()
        times.append(elapsed)
    with CaptureQueriesContext(connection) as queries:
        once()
    cpu = cpu[1 : len(times) + 1]  # the measured requests' (not the warm-up's)
    return Result(page, status, first, times, size, len(queries.captured_queries), repeat, cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--user", default=SUPERUSER[0], help="default: the bench superuser")
    parser.add_argument("--only", help="only the pages whose label matches this regex")
    parser.add_argument("--skip", help="leave out the pages whose label matches this regex")
    parser.add_argument("--no-cache", action="store_true", help="empty the cache each time")
    parser.add_argument(
        "--budget",
        type=float,
        help="seconds per page: a page that took longer stops after 3 or more requests",
    )
    args = parser.parse_args(argv)

    import os
    import warnings

    # The test client's host; set before Django reads the settings.
    os.environ["ALLOWED_HOSTS"] = "testserver"
    # Static files are not requested here: no collectstatic needed (whitenoise would warn).
    warnings.filterwarnings("ignore", message="No directory at: ")
    setup_django(args.database_url, migrate=False)
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client

    from failover.models import AddressPool, Scope

    client = Client()
    client.force_login(User.objects.get(username=args.user))
    context = names()
    pages = [
        page
        for page in PAGES
        if (not args.only or re.search(args.only, page.label))
        and not (args.skip and re.search(args.skip, page.label))
    ]
    print(
        f"database: {connection.vendor}, {Scope.objects.count():,} scopes, "
        f"{AddressPool.objects.count():,} pools; user {args.user}; "
        f"{args.repeat} requests per page after 1 warm-up"
        + ("; cache emptied before each request" if args.no_cache else "")
    )
    print()
    print("| page | 1st ms | p50 ms | p95 ms | KB | queries | CPU p50 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    over = 0
    for page in pages:
        result = measure(client, page, context, args.repeat, args.no_cache, args.budget)
        line = result.row()
        over += "!" in line or result.status != 200
        print(line, flush=True)
    print()
    print(
        f"! = over the target (p95 {TARGET_MS:.0f} ms, HTML {TARGET_KB:.0f} KB); "
        f"{over} of {len(pages)} page(s) over or not HTTP 200"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
