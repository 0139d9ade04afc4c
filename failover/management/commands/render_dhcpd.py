"""Render the dhcpd.conf of one server, or of every server.

    python manage.py render_dhcpd SERVER [--output FILE]
    python manage.py render_dhcpd --all --output-dir DIR     # DIR/<server name>.conf each

Add ``--check`` to validate each rendered file with the real ``dhcpd -t`` as well.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from failover.dhcpd.check import check_config
from failover.dhcpd.render import render_server
from failover.models import DhcpServer


def _render(server: DhcpServer) -> tuple[str, str | None]:
    """The text, or the reason it cannot be written: stored data that bypassed validation
    (raw SQL) gives a message and exit status 1, never a traceback."""
    try:
        return render_server(server), None
    except ValueError as exc:
        return "", f"The configuration of {server.name} cannot be rendered: {exc}"


class Command(BaseCommand):
    help = "Render the dhcpd.conf of a DHCP server (or of all servers with --all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("server", nargs="?", help="the server's name")
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")
        parser.add_argument("--all", action="store_true", help="render every server")
        parser.add_argument("--output-dir", help="with --all: write <server name>.conf here")
        parser.add_argument(
            "--check", action="store_true", help="also validate each file with dhcpd -t"
        )

    def handle(self, *args, **options) -> None:
        if options["all"]:
            if options["server"] or options["output"]:
                raise CommandError("--all takes --output-dir, not a server name or --output.")
            if not options["output_dir"]:
                raise CommandError("--all needs --output-dir DIR.")
            self._render_all(Path(options["output_dir"]), check=options["check"])
            return
        if not options["server"]:
            raise CommandError("Name a server, or use --all --output-dir DIR.")
        if options["output_dir"]:
            raise CommandError("--output-dir goes with --all; use --output for one server.")
        try:
            server = DhcpServer.objects.get(name=options["server"])
        except DhcpServer.DoesNotExist:
            raise CommandError(f"No DHCP server named '{options['server']}'.") from None
        text, error = _render(server)
        if error is not None:
            raise CommandError(error)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(text, ending="")
        if options["check"] and not self._check(server, text):
            raise CommandError(f"dhcpd -t rejects the configuration of {server.name}.")

    def _render_all(self, directory: Path, *, check: bool) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        failed = []
        for server in DhcpServer.objects.order_by("name"):
            text, error = _render(server)
            if error is not None:
                self.stderr.write(error)
                failed.append(server.name)
                continue
            path = directory / f"{server.name}.conf"  # names are letters, digits, - _ . only
            path.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {path}")
            if check and not self._check(server, text):
                failed.append(server.name)
        if failed:
            raise CommandError(
                f"Not rendered, or rejected by dhcpd -t: {', '.join(failed)} (see above)."
            )

    def _check(self, server: DhcpServer, text: str) -> bool:
        result = check_config(text)
        stream = self.stderr if not result.ok else self.stdout
        stream.write(f"{server.name}: {result.summary} ({result.duration:.2f} s)")
        for error in result.errors:
            stream.write(f"  {error}" + (f"\n    {error.source_line}" if error.source_line else ""))
        return result.ok
