"""Configurations and relationships: a server's rendered dhcpd.conf (view, download,
Validate with the real dhcpd), the Failover Relationships page with the pair check, and the
Migrate Scope to Failover Peer dialog."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from functools import cached_property

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors, services
from ..access import MIGRATE_PERMISSIONS, login_required, permission_required
from ..dhcpd.check import CheckError, CheckResult, check_config
from ..dhcpd.render import render_server
from ..live.secrets import may_see_secret, redact
from ..models import DhcpServer, FailoverPeer, Scope
from ..versioning import cached, data_version
from .common import conflict_status, done, is_htmx, lost_race, render_modal
from .servers import server_crumbs

# --- a server's configuration --------------------------------------------------------------


#: Lines of the configuration shown on one page (a 10,000-subnet file has over 100,000).
PAGE_LINES = 1000
_PAGE_RE = re.compile(rf"(?:[^\n]*\n){{{PAGE_LINES}}}")


@dataclass
class Rendered:
    """A server's dhcpd.conf as rendered for the current data version (or why it cannot
    be), with where each page of ``PAGE_LINES`` lines starts in the text."""

    text: str
    error: str | None
    version: str
    page_starts: list[int]

    @cached_property
    def line_count(self) -> int:
        return self.text.count("\n")

    @cached_property
    def page_count(self) -> int:
        return max(1, len(self.page_starts) - (1 if self.line_count % PAGE_LINES == 0 else 0))

    def page_of(self, line: int) -> int:
        return min(max(1, (line - 1) // PAGE_LINES + 1), self.page_count)

    def page_text(self, page: int) -> str:
        """The lines of ``page`` (1-based), without building a string per line of the file."""
        start = self.page_starts[page - 1]
        end = self.page_starts[page] if page < len(self.page_starts) else len(self.text)
        return self.text[start:end]


def _render(server: DhcpServer) -> Rendered:
    """The text (cached under the data version: the first request after a change renders,
    the others reuse it), or an explanation when stored data cannot be rendered safely."""
    version = data_version()
    try:
        text = cached(f"render:{server.pk}", lambda: render_server(server), version=version)
    except ValueError as exc:  # data that bypassed validation (e.g. a raw SQL change)
        return Rendered("", f"This configuration cannot be rendered: {exc}", version, [0])
    starts = cached(
        f"render-pages:{server.pk}",
        lambda: [0, *(match.end() for match in _PAGE_RE.finditer(text))],
        version=version,
    )
    return Rendered(text, None, version, starts)


def _numbered(text: str, first: int) -> SafeString:
    """The lines of ``text`` as the page shows them: each in a span with its anchor
    ``L<n>`` and its number, escaped (built here: a page has a thousand of them)."""
    return mark_safe(  # noqa: S308 - every line is escaped
        "".join(
            f'<span class="config-line" id="L{number}"><span class="ln">{number}</span>'
            f"{escape(line)}</span>"
            for number, line in enumerate(text.split("\n")[:-1] if text else [], start=first)
        )
    )


def _page_number(value: str | None) -> int | None:
    """A page or line number from the query string; None when it is not a number."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value) if len(value) < 19 else 10**18  # past the end either way


def _config_page(
    request: HttpRequest,
    server: DhcpServer,
    result: CheckResult | None = None,
    rendered: Rendered | None = None,
) -> HttpResponse:
    rendered = rendered or _render(server)
    # Out of range or not a number: the nearest page, never an error.
    page = rendered.page_of(((_page_number(request.GET.get("page")) or 1) - 1) * PAGE_LINES + 1)
    first = (page - 1) * PAGE_LINES + 1
    body = rendered.page_text(page) if not rendered.error else ""
    body = redact(body, server, request.user)  # the OMAPI secret: only for who may change it
    shown = body.count("\n")
    count = rendered.page_count
    window: list[int | None] = []  # page links; None where pages are left out
    for number in sorted({1, count, *range(max(1, page - 3), min(count, page + 3) + 1)}):
        if window and number - (window[-1] or 0) > 1:
            window.append(None)
        window.append(number)
    return render(
        request,
        "failover/config_server.html",
        {
            "server": server,
            "line_count": rendered.line_count,
            "lines_html": _numbered(body, first),
            "page": page,
            "page_count": count,
            "page_window": window,
            "first_line": first,
            "last_line": first + shown - 1,
            "page_lines": PAGE_LINES,
            "render_error": rendered.error,
            "result": result,
            "breadcrumbs": [*server_crumbs(server), ("Configuration", None)],
        },
    )


@login_required
@require_GET
def server_config(request: HttpRequest, pk: int) -> HttpResponse:
    """The rendered text, ``PAGE_LINES`` lines a page (``?page=P``); ``?line=N`` (the "go
    to line" box, Validate's error links) answers with the page that holds line N, at N."""
    server = get_object_or_404(DhcpServer, pk=pk)
    if "line" in request.GET:
        rendered = _render(server)
        line = _page_number(request.GET.get("line"))
        url = reverse("failover:server_config", args=[server.pk])
        if line is None or rendered.error:
            return HttpResponseRedirect(url)
        line = min(max(line, 1), max(rendered.line_count, 1))
        return HttpResponseRedirect(f"{url}?page={rendered.page_of(line)}#L{line}")
    return _config_page(request, server)


@login_required
@require_GET
def server_config_download(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    rendered = _render(server)
    if rendered.error:
        return HttpResponse(rendered.error, status=409, content_type="text/plain; charset=utf-8")
    text = redact(rendered.text, server, request.user)  # deployable only with the secret
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
    rendered = _render(server)  # the text the page shows and Download gives
    error = rendered.error
    if error:
        result = CheckResult(ok=False, errors=[CheckError(None, error)], output=error)
    else:
        result = _redacted_result(check_config(rendered.text), server, request)
    if is_htmx(request):
        return render(
            request,
            "failover/config_validate_result.html",
            {"server": server, "result": result, "render_error": error},
        )
    return _config_page(request, server, result, rendered)


def _redacted_result(result: CheckResult, server: DhcpServer, request: HttpRequest) -> CheckResult:
    """dhcpd -t's output and errors with the OMAPI secret hidden (it may quote a line)."""
    if may_see_secret(request.user) or not server.omapi_key_secret:
        return result
    return dataclasses.replace(
        result,
        output=redact(result.output, server),
        errors=[
            dataclasses.replace(
                e,
                message=redact(e.message, server),
                source_line=redact(e.source_line, server) if e.source_line else e.source_line,
            )
            for e in result.errors
        ],
        warnings=[redact(w, server) for w in result.warnings],
    )


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


@login_required
@require_GET
def relationship_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One relationship (named by either side's peer declaration): its two servers and peer
    statements, its numbers and pair check; the live failover state, deploy and the Kea
    export have their sections here."""
    peer = get_object_or_404(FailoverPeer.objects.select_related("server"), pk=pk)
    relationship = selectors.relationship_of_peer(peer)
    if relationship is None:
        raise Http404("This peer declaration is not part of a relationship.")
    sides = (relationship.primary_peer, relationship.secondary_peer)
    statements = [
        (
            str(getattr(FailoverPeer._meta.get_field(name), "verbose_name", name)),
            [_shown(peer, name) for peer in sides],
        )
        for name in FailoverPeer.STATEMENT_FIELDS
    ]
    return render(
        request,
        "failover/relationship_detail.html",
        {
            "relationship": relationship,
            "statements": statements,
            "may_migrate": request.user.has_perms(MIGRATE_PERMISSIONS),
        },
    )


def _shown(peer: FailoverPeer | None, name: str) -> str:
    """A peer statement's value as the page shows it ('' when not set or no peer)."""
    if peer is None:
        return ""
    value = getattr(peer, name)
    if value is None or value == "":
        return ""
    display = getattr(peer, f"get_{name}_display", None)
    return str(display() if display else value)


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
