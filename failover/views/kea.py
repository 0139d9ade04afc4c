"""Export to Kea HA (issue 12): the relationship's Kea pair, its report, dhcpadmin's own HA
check, ``kea-dhcp4 -t`` on each file, each file and all four as one archive.

The export is kept per data version (:func:`failover.kea.services.export_of_peer`); the
page shows the first lines of each file and the first items of the report, so its size
does not follow the relationship's (the downloads give everything).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import selectors
from ..access import login_required
from ..kea.checks import kea_test
from ..kea.export import ERROR, INFO, WARNING, KeaExport
from ..kea.services import export_of_peer
from ..models import FailoverPeer
from ..selectors import RelationshipView
from .common import is_htmx

#: Lines of each file and items of the report shown on the page.
FILE_LINES = 200
REPORT_ITEMS = 100


def _export(pk: int) -> tuple[RelationshipView, KeaExport]:
    peer = get_object_or_404(FailoverPeer.objects.select_related("server"), pk=pk)
    try:
        return export_of_peer(peer)
    except ValidationError as exc:
        raise Http404(" ".join(exc.messages)) from None


def _heads(export: KeaExport) -> list[tuple[str, str, int]]:
    """Each file's name, first FILE_LINES lines and number of lines, once per export."""
    heads = export.page_heads
    if heads is None:
        heads = []
        for name, text in export.files().items():
            cut = -1
            for _ in range(FILE_LINES):
                cut = text.find("\n", cut + 1)
                if cut < 0:
                    break
            head = text if cut < 0 else text[:cut]
            heads.append((name, head.rstrip("\n"), text.count("\n")))
        export.page_heads = heads
    return heads


def _context(
    pk: int, relationship: RelationshipView, export: KeaExport | None, error: str = ""
) -> dict[str, Any]:
    files: list[dict[str, Any]] = []
    settings_rows: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    if export is not None:
        for name, head, lines in _heads(export):
            files.append(
                {
                    "name": name,
                    "head": head,
                    "more": max(0, lines - FILE_LINES),
                    "lines": lines,
                    "url": reverse("failover:kea_file", args=[pk, name]),
                }
            )
        for side in export.servers:
            s = side.settings
            settings_rows.append(
                {
                    "server": side.server,
                    "settings": s,
                    "saved": s.pk is not None,
                    "admin_url": reverse("admin:failover_keasettings_change", args=[s.pk])
                    if s.pk
                    else reverse("admin:failover_keasettings_add") + f"?server={side.server.pk}",
                }
            )
        counts = {
            sev: sum(1 for item in export.report if item.severity == sev)
            for sev in (ERROR, WARNING, INFO)
        }
    return {
        "relationship": relationship,
        "export": export,
        "error": error,
        "files": files,
        "settings_rows": settings_rows,
        "report": export.report[:REPORT_ITEMS] if export else [],
        "more_report": max(0, len(export.report) - REPORT_ITEMS) if export else 0,
        "counts": counts,
        "problems": export.problems if export else [],
        "peer_pk": pk,
    }


@login_required
@require_GET
def kea_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The page: report, own HA check, the four files, downloads, and kea-dhcp4 -t."""
    peer = get_object_or_404(FailoverPeer.objects.select_related("server"), pk=pk)
    try:
        relationship, export = export_of_peer(peer)
    except ValidationError as exc:
        found = selectors.relationship_of_peer(peer)
        if found is None:
            raise Http404("This peer declaration is not part of a relationship.") from None
        return render(
            request,
            "failover/kea_export.html",
            _context(pk, found, None, " ".join(exc.messages)),
            status=409,
        )
    return render(request, "failover/kea_export.html", _context(pk, relationship, export))


@login_required
@require_GET
def kea_file(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    """One of the four files."""
    _, export = _export(pk)
    files = export.files()
    if name not in files:
        raise Http404("No such file in this export.")
    response = HttpResponse(files[name], content_type="application/json; charset=utf-8")
    # Names are <server name>-kea-….json: letters, digits, '-', '_' and '.'.
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def kea_archive(request: HttpRequest, pk: int) -> HttpResponse:
    """All four files (and the report) as one ZIP archive."""
    _, export = _export(pk)
    response = HttpResponse(export.archive(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export.relationship}-kea.zip"'
    return response


@login_required
@require_POST
def kea_test_run(request: HttpRequest, pk: int) -> HttpResponse:
    """``kea-dhcp4 -t`` / ``kea-ctrl-agent -t`` on each file; changes nothing. htmx gets
    the result alone; a plain POST the page with the result."""
    relationship, export = _export(pk)
    results = kea_test(export.files())
    if is_htmx(request):
        return render(request, "failover/kea_test_result.html", {"results": results})
    context = _context(pk, relationship, export)
    context["results"] = results
    return render(request, "failover/kea_export.html", context)
