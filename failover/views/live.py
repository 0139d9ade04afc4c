"""Live failover state (issue 10): the partials that the home, relationship and server pages
load and refresh by themselves (htmx, every 10 s), and the guarded partner-down dialog.

Each partial is also a page of its own at its URL (without htmx), so it works without
JavaScript. The partials read through :mod:`failover.live.selectors`: a fixed number of
queries whatever the number of relationships, readings or history rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods

from ..access import OPERATE_FAILOVER, login_required, permission_required
from ..live import selectors
from ..live.partner_down import partner_down, partner_down_plan
from ..models import DhcpServer, FailoverPeer
from .common import form_dialog, is_htmx, post_data, render_modal

#: Seconds between two refreshes of a live partial.
REFRESH_SECONDS = 10
#: htmx stops polling an element whose request is answered with this status.
STOP_POLLING = 286


def _gone(request: HttpRequest, what: str) -> HttpResponse:
    """What a live partial answers when its object was deleted: a plain 404, or for htmx a
    short note that ends the polling (instead of an error every few seconds)."""
    if not is_htmx(request):
        raise Http404(f"This {what} no longer exists.")
    return HttpResponse(
        format_html(
            '<p class="small text-body-secondary" data-testid="live-gone">This {} no longer '
            "exists. Reload the page.</p>",
            what,
        ),
        status=STOP_POLLING,
    )


DATETIME_INPUT = "%Y-%m-%dT%H:%M:%S"


def _partial(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    title: str,
    breadcrumbs: list[tuple[str, str | None]],
) -> HttpResponse:
    """The partial alone for htmx (it replaces itself), or inside a page of its own."""
    context = {**context, "refresh_seconds": REFRESH_SECONDS, "is_partial": is_htmx(request)}
    if is_htmx(request):
        return render(request, template_name, context)
    context.update(partial_template=template_name, page_title=title, breadcrumbs=breadcrumbs)
    return render(request, "failover/live_page.html", context)


@login_required
@require_GET
def live_dashboard(request: HttpRequest) -> HttpResponse:
    """Every relationship with both sides' live state (the home page's section)."""
    board = selectors.dashboard(request.GET.get("page"))
    return _partial(
        request,
        "failover/live_dashboard.html",
        {"board": board, "self_url": reverse("failover:live_dashboard")},
        title="Failover state",
        breadcrumbs=[("Servers", reverse("failover:server_list")), ("Failover state", None)],
    )


@login_required
@require_GET
def live_relationship(request: HttpRequest, pk: int) -> HttpResponse:
    """A relationship's live state, facts, alerts and history (its page's section)."""
    relationship = selectors.relationship_of(pk)
    if relationship is None:
        return _gone(request, "failover relationship")
    history = selectors.timeline(relationship.peer_ids, request.GET.get("history"))
    return _partial(
        request,
        "failover/live_relationship.html",
        {
            "relationship": relationship,
            "history": history,
            "self_url": reverse("failover:live_relationship", args=[pk]),
        },
        title=f"Failover state of {relationship.name}",
        breadcrumbs=[
            ("Failover Relationships", reverse("failover:relationship_list")),
            (relationship.name, reverse("failover:relationship_detail", args=[pk])),
            ("Failover state", None),
        ],
    )


@login_required
@require_GET
def live_server(request: HttpRequest, pk: int) -> HttpResponse:
    """A server's live state in each of its relationships, and its history."""
    server = DhcpServer.objects.filter(pk=pk).first()
    if server is None:
        return _gone(request, "server")
    relationships = selectors.server_relationships(server)
    rows = []
    for rel in relationships:
        side = rel.side_of(server)
        if side is not None:
            rows.append((rel, side, rel.other_side(side)))
    peer_ids = [side.peer.pk for _, side, _ in rows if side.peer is not None]
    history = selectors.timeline(peer_ids, request.GET.get("history"))
    return _partial(
        request,
        "failover/live_server.html",
        {
            "server": server,
            "rows": rows,
            "history": history,
            "self_url": reverse("failover:live_server", args=[pk]),
        },
        title=f"Failover state of {server.name}",
        breadcrumbs=[
            ("Servers", reverse("failover:server_list")),
            (server.name, reverse("failover:server_detail", args=[pk])),
            ("Failover state", None),
        ],
    )


# --- partner-down ------------------------------------------------------------------------------


class PartnerDownForm(forms.Form):
    confirm_name = forms.CharField(
        label="Type the failover peer's name to confirm",
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    last_alive = forms.DateTimeField(
        label="Partner last known alive",
        required=False,
        input_formats=[DATETIME_INPUT, "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "step": "1"}, format=DATETIME_INPUT
        ),
        help_text="Default: the last time dhcpadmin saw it (UTC). Its free leases become "
        "usable this long after it: MCLT.",
    )
    override_reason = forms.CharField(
        label="Reason to override (only if the partner answers)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def _typed_alive(form: PartnerDownForm) -> datetime | None:
    """The "last known alive" the operator typed, when the form is shown again."""
    if not form.is_bound:
        return None
    try:
        value = form.fields["last_alive"].clean(form.data.get("last_alive"))
    except ValidationError:
        return None
    return value if isinstance(value, datetime) else None


@permission_required(OPERATE_FAILOVER)
@require_http_methods(["GET", "POST"])
def live_partner_down(request: HttpRequest, pk: int) -> HttpResponse:
    """Partner-down of the server of peer declaration ``pk`` (the survivor): the evidence
    gathered now, a confirmation, then the read-back (see failover.live.partner_down)."""
    peer = get_object_or_404(FailoverPeer.objects.select_related("server"), pk=pk)
    evidence = partner_down_plan(peer)
    initial = {}
    if evidence.last_seen_alive is not None:
        initial["last_alive"] = timezone.localtime(evidence.last_seen_alive).replace(
            microsecond=0, tzinfo=None
        )
    form = PartnerDownForm(post_data(request), initial=initial)
    url = reverse("failover:live_partner_down", args=[pk])
    relationship = selectors.relationship_of(pk)
    page_pk = relationship.page_peer_id if relationship is not None else pk
    back = reverse("failover:relationship_detail", args=[page_pk])
    title = f"Partner-down: {peer.server.name}"

    def save() -> HttpResponse:
        result = partner_down(
            peer,
            actor=request.user,
            confirm_name=form.cleaned_data["confirm_name"],
            last_alive=form.cleaned_data["last_alive"],
            override_reason=form.cleaned_data["override_reason"],
            evidence=evidence,
        )
        return render_modal(
            request,
            "failover/live_partner_down_result.html",
            {"result": result, "peer": peer, "back_url": back},
            title=title,
            breadcrumbs=[("Failover relationship", back), ("Partner-down", None)],
            # htmx swaps only a 2xx answer into the dialog; a plain page says it in its status
            status=200 if result.confirmed or is_htmx(request) else 502,
        )

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/live_partner_down_modal.html",
        context={
            "peer": peer,
            "evidence": evidence,
            "usable_at": evidence.usable_at(_typed_alive(form) or evidence.last_seen_alive),
            "form_action": url,
            "cancel_url": back,
        },
        title=title,
        breadcrumbs=[("Failover relationship", back), ("Partner-down", None)],
    )
