"""Import a dhcpd.conf into a server: its peers, scopes, pools and everything else.

    python manage.py import_dhcpd_conf --server NAME [--create [--address A]] [--dry-run] FILE

Prints the plan (what is created, changed, deleted and kept verbatim, the failover
relationships found and their pair check), then applies it in one transaction; with
``--dry-run`` it saves nothing. Importing the same file again changes nothing (the drift
against the stored data is what a re-import shows). ``--create`` makes the server when it
does not exist yet, at ``--address``; without it, at the address the file's failover peers
listen on, else at the file's top-level ``server-identifier``, else at the server's name
(taken as its DNS name); the output states which (change it on the server's page).

``include "FILE";`` is followed inside the directory ``DHCPD_IMPORT_INCLUDE_ROOT``
(a setting; by default the imported file's own directory), and nowhere else.

A file that does not parse, or that the model cannot hold, is reported as
``FILE, line L, column C: message`` (each problem on its own line, on stderr) with exit
code 1, and nothing is saved.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from failover import services
from failover.dhcpd.importer import ConfigImportError, plan_lines
from failover.dhcpd.parser import ParseError, parse_file
from failover.models import DhcpServer


class Command(BaseCommand):
    help = "Import a dhcpd.conf into a DHCP server (prints the plan; --dry-run saves nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the dhcpd.conf to import")
        parser.add_argument("--server", required=True, help="the server's name")
        parser.add_argument(
            "--create", action="store_true", help="create the server if it does not exist"
        )
        parser.add_argument(
            "--address",
            help="with --create: the new server's address (default: where its peers listen, "
            "else the file's server-identifier, else the server's name as a DNS name)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would change; save nothing"
        )

    def handle(self, *args, **options) -> None:
        name, path = options["server"], options["file"]
        server = DhcpServer.objects.filter(name=name).first()
        if server is None and not options["create"]:
            raise CommandError(f"No DHCP server named '{name}' (add --create to make it).")
        try:
            with services.without_cycle_collection():
                tree = parse_file(path, include_root=settings.DHCPD_IMPORT_INCLUDE_ROOT)
            chosen = ""
            if server is None:
                server, chosen = self._new_server(name, options["address"], tree)
            if options["dry_run"]:
                plan = services.config_import_plan(server=server, tree=tree, filename=path)
            else:
                plan = services.config_import(server=server, tree=tree, filename=path)
        except ParseError as exc:
            errors = exc.errors if isinstance(exc, ConfigImportError) else [exc]
            for error in errors:
                self.stderr.write(ParseError.__str__(error))
            raise SystemExit(1) from None
        except ValidationError as exc:  # the new server itself (name, address)
            raise CommandError(" ".join(exc.messages)) from None
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(f"{verb} {path} into server {plan.server.name}: {plan.summary()}.")
        if chosen:
            self.stdout.write(chosen)
        for line in plan_lines(plan, limit=None if options["verbosity"] > 1 else 50):
            self.stdout.write(line)
        if options["dry_run"]:
            self.stdout.write("Dry run: nothing was saved.")

    def _new_server(self, name: str, address: str | None, tree) -> tuple[DhcpServer, str]:
        """The new server, and a line saying where its address comes from when no
        ``--address`` was given."""
        from failover.dhcpd.ast import FailoverPeer, Statement, walk
        from failover.validators import is_ipv4, validate_hostname

        chosen = ""
        if not address:
            addresses = sorted(
                {n.address for n in walk(tree) if isinstance(n, FailoverPeer) and n.address}
            )
            identifiers = [
                n.tokens[1].value
                for n in tree.statements
                if isinstance(n, Statement)
                and n.keyword == "server-identifier"
                and len(n.tokens) == 2
                and is_ipv4(n.tokens[1].value)
            ]
            if len(addresses) > 1:
                raise CommandError(
                    "Give the new server's address with --address (the file's failover "
                    f"peers listen on several: {', '.join(addresses)})."
                )
            if addresses:
                address, source = addresses[0], "where the file's failover peers listen"
            elif identifiers:
                address, source = identifiers[-1], "the file's server-identifier"
            else:
                try:
                    validate_hostname(name)
                except ValidationError:
                    raise CommandError(
                        f"Give the new server's address with --address: the file has no "
                        f"failover peer address or server-identifier, and the name '{name}' "
                        "is not a DNS name to use instead."
                    ) from None
                address, source = name, "the server's name, as its DNS name"
            chosen = (
                f"Address of the new server {name}: {address} ({source}; give --address "
                "to choose another, or change it on the server's page)."
            )
        server = DhcpServer(name=name, address=address)
        try:
            server.full_clean()
        except ValidationError as exc:
            raise CommandError(
                "Cannot create the server: "
                + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            ) from None
        return server, chosen
