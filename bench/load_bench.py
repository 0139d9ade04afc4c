"""Load test: concurrent logged-in users browsing dhcpadmin served by gunicorn.

    python bench/load_bench.py --database-url postgres://...  [--users 20] [--duration 60]
                               [--workers 4] [--think 0] [--seed 1] [--grace 30]

Needs a database made by bench/gen_db.py (PostgreSQL for a meaningful figure). Starts
gunicorn (``--workers``, default 4) on 127.0.0.1 at a free port against that database
(DEBUG off, as in production), logs in ``--users`` users (default 20; each its own session
of the bench superuser, through the login form), and for ``--duration`` seconds (default 60,
at most 600) each user, in its own thread, browses: the server page of bench-a or bench-b
(a random page of the scope list when the page is paginated), the page of a random scope,
the relationships page (weights 3 : 5 : 2), waiting ``--think`` seconds between requests
(default 0: as fast as the server answers). Requests under way at the end may finish
within ``--grace`` seconds (default 30); those still waiting are counted as unfinished. No
network but 127.0.0.1; no proxy is used.

Printed per page kind and overall: requests, p50/p95/p99/max in ms, errors (a status other
than 200, a redirect away from the page, e.g. to the login, or an exception), and the
throughput. gunicorn is stopped at the end, also on an error or Ctrl-C. This is a
benchmark, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import ROOT, SUPERUSER, percentile, setup_django  # noqa: E402

MAX_DURATION = 600.0
REQUEST_TIMEOUT = 120.0
KINDS = {"server page": 3, "scope page": 5, "relationships": 2}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn in its own process group, stopped (group and all) by :meth:`stop`."""

    def __init__(self, database_url: str, workers: int, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = tempfile.NamedTemporaryFile(  # kept open until stop()
            prefix="load_bench-gunicorn-", suffix=".log", delete=False
        )
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "dhcpadmin.settings",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only"),
            "ALLOWED_HOSTS": "127.0.0.1",
            "CONN_MAX_AGE": os.environ.get("CONN_MAX_AGE", "60"),
            "STATIC_MANIFEST": "0",  # no static file is requested
        }
        env.pop("DEBUG", None)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "dhcpadmin.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                str(int(REQUEST_TIMEOUT)),
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                with opener.open(f"{self.base}/accounts/login/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.process.wait(timeout=15)
        self.log.close()

    def tail(self, lines: int = 20) -> str:
        self.log.flush()
        text = Path(self.log.name).read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


class User:
    """One browser: its own cookies (session), no proxy, redirects followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        )

    def login(self, username: str, password: str) -> None:
        url = f"{self.base}/accounts/login/"
        with self.opener.open(url, timeout=REQUEST_TIMEOUT) as response:
            page = response.read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        data = urllib.parse.urlencode(
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": token.group(1),
                "next": "/relationships/",
            }
        ).encode()
        request = urllib.request.Request(url, data=data, headers={"Referer": url})
        with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
            response.read()
            if urllib.parse.urlsplit(response.geturl()).path != "/relationships/":
                raise RuntimeError(f"login as {username} failed (ended at {response.geturl()})")

    def get(self, path: str) -> tuple[int, str | None, bytes]:
        """(status, error or None, body) of GET path."""
        try:
            with self.opener.open(self.base + path, timeout=REQUEST_TIMEOUT) as response:
                body = response.read()
                landed = urllib.parse.urlsplit(response.geturl()).path
                if landed != urllib.parse.urlsplit(path).path:
                    return response.status, f"redirected to {landed}", body
                return response.status, None, body
        except urllib.error.HTTPError as error:
            return error.code, f"HTTP {error.code}", b""
        except (OSError, urllib.error.URLError) as error:
            return 0, f"{type(error).__name__}: {error}", b""


@dataclass
class Site:
    """What the users browse: looked up in the database by name."""

    servers: list[int]
    scopes: list[int]
    pages: dict[int, int] = field(default_factory=dict)  # server pk -> pages of its list

    def server_page(self, rng: random.Random) -> str:
        pk = rng.choice(self.servers)
        pages = self.pages.get(pk, 1)
        return f"/servers/{pk}/" + (f"?page={rng.randint(1, pages)}" if pages > 1 else "")

    def path(self, kind: str, rng: random.Random) -> str:
        if kind == "server page":
            return self.server_page(rng)
        if kind == "scope page":
            return f"/scopes/{rng.choice(self.scopes)}/"
        return "/relationships/"


def look_up_site(database_url: str) -> Site:
    import warnings

    warnings.filterwarnings("ignore", message="No directory at: ")
    setup_django(database_url, migrate=False)
    from failover.models import DhcpServer, Scope

    servers = list(
        DhcpServer.objects.filter(name__in=("bench-a", "bench-b")).values_list("pk", flat=True)
    )
    if len(servers) != 2:
        raise SystemExit("bench-a and bench-b are missing: run bench/gen_db.py first")
    scopes = list(Scope.objects.filter(server__in=servers).values_list("pk", flat=True))
    return Site(servers=servers, scopes=scopes)


def find_pagination(site: Site, user: User) -> None:
    """The number of pages of each server's scope list, from the links of its first page
    (``?page=N``; 1 when the page is not paginated)."""
    for pk in site.servers:
        status, error, body = user.get(f"/servers/{pk}/")
        if error:
            raise RuntimeError(f"/servers/{pk}/: {error}")
        numbers = [int(n) for n in re.findall(rb"[?&](?:amp;)?page=(\d+)", body)]
        site.pages[pk] = max(numbers, default=1)


@dataclass
class Sample:
    kind: str
    seconds: float
    error: str | None
    size: int


def browse(
    user: User,
    site: Site,
    seed: int,
    deadline: float,
    think: float,
    stop: threading.Event,
    out: list[Sample],
) -> None:
    rng = random.Random(seed)
    kinds, weights = list(KINDS), list(KINDS.values())
    while not stop.is_set() and time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        path = site.path(kind, rng)
        started = time.perf_counter()
        status, error, body = user.get(path)
        elapsed = time.perf_counter() - started
        if error is None and status != 200:
            error = f"HTTP {status}"
        out.append(Sample(kind, elapsed, error and f"{path}: {error}", len(body)))
        if think:
            stop.wait(think)


def report(samples: list[Sample], wall: float, users: int, workers: int, unfinished: int) -> int:
    by_kind: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_kind[sample.kind].append(sample)
    print(f"{len(samples):,} requests in {wall:.1f} s by {users} users against {workers} workers")
    if not samples:
        print(f"no request finished ({unfinished} unfinished)")
        return 1
    print()
    print("| page | requests | p50 ms | p95 ms | p99 ms | max ms | avg KB | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [(kind, by_kind[kind]) for kind in KINDS if by_kind[kind]] + [("all", samples)]
    for kind, group in rows:
        times = [s.seconds * 1000 for s in group]
        errors = sum(1 for s in group if s.error)
        kb = sum(s.size for s in group) / len(group) / 1024
        print(
            f"| {kind} | {len(group):,} | {percentile(times, 0.5):,.0f} "
            f"| {percentile(times, 0.95):,.0f} | {percentile(times, 0.99):,.0f} "
            f"| {max(times):,.0f} | {kb:,.0f} | {errors} |"
        )
    print()
    print(f"throughput: {len(samples) / wall:.1f} requests/s")
    errors = Counter(s.error for s in samples if s.error)
    for message, count in errors.most_common(5):
        print(f"error x{count}: {message}")
    if unfinished:
        print(f"unfinished: {unfinished} request(s) still waiting at the end of the grace time")
    return 1 if errors or unfinished else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a database made by gen_db.py")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds, at most 600")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--think", type=float, default=0.0, help="seconds between requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--grace", type=float, default=30.0, help="seconds to wait for requests at the end"
    )
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be between 0 and {MAX_DURATION:.0f} seconds")
    if not 0 <= args.grace <= 300:
        parser.error("--grace must be between 0 and 300 seconds")
    if not 1 <= args.users <= 200 or not 1 <= args.workers <= 64:
        parser.error("--users must be 1 to 200 and --workers 1 to 64")

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # Ctrl-C and kill stop the run (and gunicorn), also when started in the background.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    site = look_up_site(args.database_url)
    server = Gunicorn(args.database_url, args.workers, free_port())
    stop = threading.Event()
    try:
        server.wait_ready()
        users = [User(server.base) for _ in range(args.users)]
        username, password = SUPERUSER
        with ThreadPoolExecutor(max_workers=min(8, len(users))) as pool:
            for done in [pool.submit(u.login, username, password) for u in users]:
                done.result()  # a failed login raises here
        find_pagination(site, users[0])
        print(
            f"gunicorn {server.base}, {args.workers} workers; {len(site.scopes):,} scopes; "
            f"server page: {', '.join(str(n) for n in site.pages.values())} page(s) of scopes"
        )
        samples: list[Sample] = []
        started = time.monotonic()
        deadline = started + args.duration
        threads = [
            threading.Thread(
                target=browse,
                args=(u, site, args.seed + i, deadline, args.think, stop, samples),
                daemon=True,
            )
            for i, u in enumerate(users)
        ]
        for thread in threads:
            thread.start()
        # Requests under way at the deadline may finish within the grace time; those still
        # waiting then are reported as unfinished (and end with gunicorn).
        for thread in threads:
            while thread.is_alive() and time.monotonic() < deadline + args.grace:
                thread.join(timeout=0.5)  # Ctrl-C reaches this thread
        unfinished = sum(thread.is_alive() for thread in threads)
        wall = time.monotonic() - started
        return report(list(samples), wall, args.users, args.workers, unfinished)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        print(f"gunicorn's log ({server.log.name}):\n{server.tail()}", file=sys.stderr)
        raise
    finally:
        stop.set()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
