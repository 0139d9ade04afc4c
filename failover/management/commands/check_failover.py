"""The pair check of every failover relationship: one line per finding, exit 1 if any.

python manage.py check_failover            # all relationships
python manage.py check_failover --server dhcp-a
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from failover.dhcpd import pair
from failover.models import DhcpServer


class Command(BaseCommand):
    help = "Check both sides of every failover relationship; exit status 1 on any finding."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server", help="only the relationships of this server")

    def handle(self, *args, **options) -> None:
        if options["server"]:
            try:
                server = DhcpServer.objects.get(name=options["server"])
            except DhcpServer.DoesNotExist:
                raise CommandError(f"No DHCP server named '{options['server']}'.") from None
            rels = pair.relationships(server=server)  # from the server and its partners only
        else:
            rels = pair.relationships()
        findings = pair.all_findings(rels)
        for finding in findings:
            self.stdout.write(str(finding))
        summary = f"{len(rels)} relationship(s), {len(findings)} finding(s)."
        if findings:
            raise CommandError(summary, returncode=1)
        self.stdout.write(summary)
