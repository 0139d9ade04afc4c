"""`Manage Failover Peers`: the `Failover Peers for <server>` dialog and its Edit / Delete.

Deleting follows the seed (services.peer_delete_plan): the last peer on the server ->
references are removed from its pools; exactly one other peer -> references move to it; two
or more others -> the user chooses which one, and nothing happens until one is chosen.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from .. import services
from ..access import login_required, permission_required
from ..forms import FailoverPeerForm, PeerReplacementForm, instance_values
from ..models import DhcpServer, FailoverPeer
from .common import (
    add_service_errors,
    conflict_status,
    form_dialog,
    is_htmx,
    lost_race,
    post_data,
    render_modal,
)
from .pools import first_peer_note, peers_now_refer_message
from .servers import server_crumbs


def _title(server: DhcpServer) -> str:
    return f"Failover Peers for {server.name}"


def _crumbs(server: DhcpServer, *more: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [
        *server_crumbs(server),
        (_title(server), reverse("failover:peer_list", args=[server.pk])),
        *more,
    ]


def _peer_list(
    request: HttpRequest,
    server: DhcpServer,
    *,
    notice: str | None = None,
    error: str | None = None,
    changed: bool = False,
) -> HttpResponse:
    peers = list(server.failover_peers.with_pool_counts().order_by("name"))
    return render_modal(
        request,
        "failover/peer_list_modal.html",
        {
            "server": server,
            "peers": peers,
            "notice": notice,
            "error": error,
            "changed": changed,
            "select_url": reverse("failover:peer_select", args=[server.pk]),
            "close_url": reverse("failover:server_detail", args=[server.pk]),
        },
        title=_title(server),
        breadcrumbs=_crumbs(server),
    )


def _back_to_list(request: HttpRequest, server: DhcpServer, notice: str) -> HttpResponse:
    """After a change: the list again, saying what happened (the page behind reloads on
    close), or for a plain page a redirect to the list page."""
    if is_htmx(request):
        return _peer_list(request, server, notice=notice, changed=True)
    messages.success(request, notice)
    return redirect("failover:peer_list", pk=server.pk)


@login_required
@require_GET
def peer_list(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    return _peer_list(request, server)


@login_required
@require_GET
def peer_select(request: HttpRequest, pk: int) -> HttpResponse:
    """The list's `Edit` / `Delete` buttons act on the selected row."""
    server = get_object_or_404(DhcpServer, pk=pk)
    action = request.GET.get("action")
    peer_id = request.GET.get("peer", "")
    peer = None
    if peer_id.isdigit():
        peer = server.failover_peers.filter(pk=int(peer_id)).first()
    if action not in ("edit", "delete") or peer is None:
        return _peer_list(request, server, error="Select a failover peer first.")
    view = peer_edit if action == "edit" else peer_delete
    if is_htmx(request):
        return view(request, pk=peer.pk)
    return redirect(f"failover:peer_{action}", pk=peer.pk)


@permission_required("failover.add_failoverpeer")
@require_http_methods(["GET", "POST"])
def peer_create(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    form = FailoverPeerForm(post_data(request), server=server)

    def save() -> HttpResponse:
        result = services.peer_create(server=server, actor=request.user, **instance_values(form))
        return _back_to_list(request, server, peers_now_refer_message(result))

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/peer_create_modal.html",
        context={
            "server": server,
            "note": first_peer_note(server),
            "form_action": reverse("failover:peer_create", args=[server.pk]),
            "cancel_back_url": reverse("failover:peer_list", args=[server.pk]),
        },
        title="New Failover Peer",
        breadcrumbs=_crumbs(server, ("New Failover Peer", None)),
    )


@permission_required("failover.change_failoverpeer")
@require_http_methods(["GET", "POST"])
def peer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    peer = get_object_or_404(FailoverPeer.objects.select_related("server"), pk=pk)
    server = peer.server
    name = peer.name
    # An htmx GET may come here from peer_select: bind to the POST only for a real POST.
    form = FailoverPeerForm(post_data(request), instance=peer, server=server)

    def save() -> HttpResponse:
        services.peer_update(peer=peer, actor=request.user, **instance_values(form))
        return _back_to_list(request, server, f"Saved failover peer {peer.name}.")

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/peer_edit_modal.html",
        context={
            "server": server,
            "peer_name": name,
            "form_action": reverse("failover:peer_edit", args=[pk]),
            "cancel_back_url": reverse("failover:peer_list", args=[server.pk]),
        },
        title=f"Failover Peer {name} Properties",
        breadcrumbs=_crumbs(server, (name, None)),
    )


@permission_required("failover.delete_failoverpeer")
@require_http_methods(["GET", "POST"])
def peer_delete(request: HttpRequest, pk: int) -> HttpResponse:
    peer = get_object_or_404(FailoverPeer.objects.select_related("server"), pk=pk)
    server = peer.server
    plan = services.peer_delete_plan(peer=peer)
    choose = plan.case == plan.CHOOSE
    form = PeerReplacementForm(post_data(request) if choose else None, others=plan.others)
    error = None
    status = 200
    if request.method == "POST" and (not choose or form.is_valid()):
        replacement = form.cleaned_data["replacement"] if choose else None
        try:
            done_plan = services.peer_delete(peer=peer, replacement=replacement, actor=request.user)
        except ValidationError as exc:
            if choose:
                add_service_errors(form, exc)
            else:
                error = " ".join(exc.messages)
        except services.LOST_RACE_ERRORS as exc:
            # Shown with the peers and pools as they are now (the choice is asked again).
            error = lost_race(exc)
            status = conflict_status(request)
            plan = services.peer_delete_plan(peer=peer)
            form = PeerReplacementForm(None, others=plan.others)
        else:
            moved = len(done_plan.pools)
            pools = f"{moved} address pool{'s' if moved != 1 else ''}"
            target = replacement or done_plan.replacement
            if not moved:
                effect = "No address pool referred to it."
            elif target is not None:
                effect = f"{pools} now refer{'s' if moved == 1 else ''} to {target.name}."
            else:
                effect = f"{pools} no longer refer{'s' if moved == 1 else ''} to a failover peer."
            return _back_to_list(request, server, f"Deleted failover peer {peer.name}. {effect}")
    return render_modal(
        request,
        "failover/peer_delete_modal.html",
        {
            "peer": peer,
            "server": server,
            "plan": plan,
            "form": form,
            "error": error,
            "form_action": reverse("failover:peer_delete", args=[pk]),
            "cancel_back_url": reverse("failover:peer_list", args=[server.pk]),
        },
        title=f"Delete Failover Peer {peer.name}",
        breadcrumbs=_crumbs(server, (f"Delete {peer.name}", None)),
        status=status,
    )
