"""Export a failover relationship as a Kea High Availability pair.

    python manage.py export_kea RELATIONSHIP --output-dir DIR [--server NAME] [--no-kea-test]

Writes DIR/<server>-kea-dhcp4.json and DIR/<server>-kea-ctrl-agent.json for both servers,
prints the report of what does not translate (each item with its object), dhcpadmin's own
check of the HA part and, when kea-dhcp4 is installed, the result of ``kea-dhcp4 -t`` (and
``kea-ctrl-agent -t``) on each file. Exit status 1 when the report has errors, the check
finds problems or Kea rejects a file (the files are written anyway, to be looked at).
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from failover.kea.checks import kea_test
from failover.kea.services import relationship_for_export, relationships_named


class Command(BaseCommand):
    help = "Export a failover relationship (both servers managed here) as a Kea HA pair."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("relationship", help="the relationship's (failover peer's) name")
        parser.add_argument("--output-dir", required=True, help="where the four files go")
        parser.add_argument(
            "--server", help="a server of the relationship, when several have that name"
        )
        parser.add_argument(
            "--no-kea-test", action="store_true", help="do not run kea-dhcp4 -t on the files"
        )

    def handle(self, *args, **options) -> None:
        name = options["relationship"]
        found = relationships_named(name)
        if options["server"]:
            found = [r for r in found if options["server"] in {s.name for s in r.servers}]
        if not found:
            raise CommandError(f"No failover relationship named '{name}'.")
        if len(found) > 1:
            pairs = "; ".join(" and ".join(s.name for s in r.servers) for r in found)
            raise CommandError(
                f"{len(found)} relationships are named '{name}' ({pairs}): add --server NAME."
            )
        try:
            export = relationship_for_export(found[0])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        directory = Path(options["output_dir"])
        directory.mkdir(parents=True, exist_ok=True)
        files = export.files()
        for file_name, text in files.items():  # server names: letters, digits, - _ . only
            (directory / file_name).write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {directory / file_name}")
        self.stdout.write(f"Mode: {export.mode}")
        self.stdout.write(f"Report ({len(export.report)} items):")
        for item in export.report:
            self.stdout.write(f"  {item}")
        failed = bool(export.errors)
        problems = export.problems
        if problems:
            failed = True
            self.stdout.write(f"HA check: {len(problems)} problem(s):")
            for problem in problems:
                self.stdout.write(f"  {problem}")
        else:
            self.stdout.write("HA check: no problem.")
        if not options["no_kea_test"]:
            for result in kea_test(files):
                self.stdout.write(f"Kea -t {result.file}: {result.summary}")
                for note in result.notes:
                    self.stdout.write(f"  {note}")
                if not result.ok and not result.missing_binary:
                    failed = True
                    for line in result.output.splitlines()[-10:]:
                        self.stdout.write(f"  {line}")
        if failed:
            raise CommandError(f"The Kea export of '{name}' needs attention (see above).")
