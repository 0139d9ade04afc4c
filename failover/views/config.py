"""Configurations and relationships: a server's rendered dhcpd.conf (view, download,
Validate with the real dhcpd), the Failover Relationships page with the pair check, and the
Migrate Scope to Failover Peer dialog."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..access import MIGRATE_PERMISSIONS, login_required, permission_required
from ..dhcpd.check import CheckError, CheckResult, check_config
from ..dhcpd.render import render_server
from ..models import DhcpServer, Scope
from .common import conflict_status, done, is_htmx, lost_race, render_modal
from .servers import server_crumbs

# --- a server's configuration --------------------------------------------------------------


def _render(server: DhcpServer) -> tuple[str, str | None]:
    """The text, or an explanation when stored data cannot be rendered safely."""
    try:
        return render_server(server), None
    except ValueError as exc:  # data that bypassed validation (e.g. a raw SQL change)
        return "", f"This configuration cannot be rendered: {exc}"


def _config_page(
    request: HttpRequest, server: DhcpServer, result: CheckResult | None = None
) -> HttpResponse:
    text, error = _render(server)
    return render(
        request,
        "failover/config_server.html",
        {
            "server": server,
            "lines": list(enumerate(text.split("\n")[:-1], start=1)),
            "render_error": error,
            "result": result,
            "breadcrumbs": [*server_crumbs(server), ("Configuration", None)],
        },
    )


@login_required
@require_GET
def server_config(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    return _config_page(request, server)


@login_required
@require_GET
def server_config_download(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    text, error = _render(server)
    if error:
        return HttpResponse(error, status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    # Server names are letters, digits, '-', '_' and '.': safe in a header.
    response["Content-Disposition"] = f'attachment; filename="{server.name}.conf"'
    return response


@login_required
@require_POST
def server_config_validate(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the real ``dhcpd -t`` on the rendered text. Changes nothing, so reading is enough.

    htmx gets the result alone (shown in place); a plain POST gets the configuration page
    with the result above the text.
    """
    server = get_object_or_404(DhcpServer, pk=pk)
    text, error = _render(server)
    if error:
        result = CheckResult(ok=False, errors=[CheckError(None, error)], output=error)
    else:
        result = check_config(text)
    if is_htmx(request):
        return render(
            request,
            "failover/config_validate_result.html",
            {"server": server, "result": result, "render_error": error},
        )
    return _config_page(request, server, result)


# --- Failover Relationships ----------------------------------------------------------------


@login_required
@require_GET
def relationship_list(request: HttpRequest) -> HttpResponse:
    """Every relationship in numbers (scopes, not finalized, findings), each linking to the
    server pages filtered to them; the findings of the relationship itself in full."""
    summaries = selectors.relationship_summaries()
    return render(
        request,
        "failover/relationship_list.html",
        {
            "summaries": summaries,
            "finding_count": sum(s.finding_count for s in summaries),
            "may_migrate": request.user.has_perms(MIGRATE_PERMISSIONS),
        },
    )


# --- Migrate Scope to Failover Peer ---------------------------------------------------------


@permission_required(*MIGRATE_PERMISSIONS)
@require_http_methods(["GET", "POST"])
def scope_migrate(request: HttpRequest, pk: int) -> HttpResponse:
    scope = get_object_or_404(Scope.objects.select_related("server"), pk=pk)
    error = None
    status = 200
    if request.method == "POST":
        try:
            plan = services.scope_migrate_to_partner(scope=scope, actor=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except services.LOST_RACE_ERRORS as exc:
            error = lost_race(exc)
            status = conflict_status(request)
        else:
            url = reverse("failover:scope_detail", args=[scope.pk])
            if plan.is_empty:
                message = f"Scope {scope.network} was already finalized on {plan.partner}."
            else:
                message = f"Migrated scope {scope.network} to {plan.partner}."
            return done(request, url, message, refresh=True)
    plan = services.scope_migrate_plan(scope=scope)
    return render_modal(
        request,
        "failover/migrate_scope_modal.html",
        {
            "scope": scope,
            "plan": plan,
            "error": error,
            "form_action": reverse("failover:scope_migrate", args=[scope.pk]),
            "cancel_url": reverse("failover:scope_detail", args=[scope.pk]),
        },
        title="Migrate Scope to Failover Peer",
        breadcrumbs=[
            *server_crumbs(scope.server),
            (scope.network, reverse("failover:scope_detail", args=[scope.pk])),
            ("Migrate Scope to Failover Peer", None),
        ],
        status=status,
    )
