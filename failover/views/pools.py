"""Address pools: the `DHCP Address Pool` dialog and its `New Failover Peer` detour.

The seed's flow: `Create Address Pool` opens `DHCP Address Pool` (first address prefilled);
choosing `Add new failover peer` in `Failover Peer` and `OK` opens `New Failover Peer`; its
`OK` creates the peer (the server's first peer is assigned to all its pools) and returns to
`DHCP Address Pool` with the addresses entered before and the new peer selected; that
dialog's `OK` creates the pool. The first and last address travel through the peer dialog
in hidden inputs (htmx) or the query string (plain pages).
"""

from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from .. import services
from ..access import permission_required
from ..forms import FailoverPeerForm, PoolForm, instance_values
from ..models import AddressPool, DhcpServer, Scope
from .common import (
    add_service_errors,
    conflict_status,
    delete_dialog,
    done,
    is_htmx,
    lost_race,
    post_data,
    render_modal,
)
from .scopes import scope_crumbs

POOL_DIALOG = "DHCP Address Pool"
PEER_DIALOG = "New Failover Peer"


def _with_query(url: str, **params: object) -> str:
    given = {key: str(value) for key, value in params.items() if value not in (None, "")}
    return f"{url}?{urlencode(given)}" if given else url


def pool_create_url(scope: Scope, first: str = "", last: str = "", peer: object = None) -> str:
    url = reverse("failover:pool_create", args=[scope.pk])
    return _with_query(url, first=first, last=last, peer=peer)


def scope_url_at(scope: Scope, ip: str = "") -> str:
    return _with_query(reverse("failover:scope_detail", args=[scope.pk]), ip=ip)


def peers_now_refer_message(result: services.PeerCreateResult) -> str:
    """What the first-peer rule did, in the words of the seed's note."""
    peer = result.peer
    text = f"Created failover peer {peer.name}."
    n = result.pools_assigned
    if n:
        text += (
            f" It is the first failover peer of {peer.server.name}: "
            f"{n} other address pool{'s' if n != 1 else ''} now "
            f"refer{'s' if n == 1 else ''} to {peer.name}."
        )
    return text


def first_peer_note(server: DhcpServer) -> str | None:
    """Shown in `New Failover Peer` when the server has no peer yet (the seed's note)."""
    if server.failover_peers.exists():
        return None
    count = AddressPool.objects.for_server(server).count()
    if not count:
        return None
    return (
        f"This is the first failover peer of {server.name}: all {count} address "
        f"pool{'s' if count != 1 else ''} on the server will be updated to refer to it."
    )


def _pool_dialog(
    request: HttpRequest,
    scope: Scope,
    form: PoolForm,
    *,
    notice: str | None = None,
    status: int = 200,
) -> HttpResponse:
    return render_modal(
        request,
        "failover/pool_create_modal.html",
        {
            "form": form,
            "scope": scope,
            "notice": notice,
            "form_action": reverse("failover:pool_create", args=[scope.pk]),
            "cancel_url": reverse("failover:scope_detail", args=[scope.pk]),
        },
        title=POOL_DIALOG,
        breadcrumbs=[*scope_crumbs(scope), ("Create Address Pool", None)],
        status=status,
    )


def _pool_edit_dialog(
    request: HttpRequest,
    pool: AddressPool,
    form: PoolForm,
    *,
    notice: str | None = None,
    confirmation: services.ConfirmationRequired | None = None,
    status: int = 200,
) -> HttpResponse:
    scope = pool.scope
    label = f"{pool.first_address}-{pool.last_address}"
    return render_modal(
        request,
        "failover/pool_edit_modal.html",
        {
            "form": form,
            "scope": scope,
            "pool_label": label,
            "notice": notice,
            "confirmation": confirmation,
            "form_action": reverse("failover:pool_edit", args=[pool.pk]),
            "cancel_url": reverse("failover:scope_detail", args=[scope.pk]),
        },
        title=POOL_DIALOG,
        breadcrumbs=[*scope_crumbs(scope), (f"Address pool {label}", None)],
        status=status,
    )


def _pool_url(scope: Scope, pool: AddressPool | None, **params: object) -> str:
    """The pool dialog the peer dialog came from (create, or edit of ``pool``)."""
    if pool is None:
        return _with_query(reverse("failover:pool_create", args=[scope.pk]), **params)
    return _with_query(reverse("failover:pool_edit", args=[pool.pk]), **params)


def _peer_dialog(
    request: HttpRequest,
    scope: Scope,
    form: FailoverPeerForm,
    first: str,
    last: str,
    pool: AddressPool | None = None,
    status: int = 200,
) -> HttpResponse:
    return render_modal(
        request,
        "failover/peer_create_modal.html",
        {
            "form": form,
            "server": scope.server,
            "first": first,
            "last": last,
            "pool": pool,
            "note": first_peer_note(scope.server),
            "form_action": reverse("failover:peer_create_for_pool", args=[scope.pk]),
            # Cancel goes back to the pool dialog with what was entered there.
            "cancel_back_url": _pool_url(scope, pool, first=first, last=last),
        },
        title=PEER_DIALOG,
        breadcrumbs=[*scope_crumbs(scope), (POOL_DIALOG, None), (PEER_DIALOG, None)],
        status=status,
    )


def _to_peer_dialog(
    request: HttpRequest, scope: Scope, form: PoolForm, pool: AddressPool | None = None
) -> HttpResponse:
    """`Add new failover peer` + OK: the `New Failover Peer` dialog, carrying the addresses."""
    first, last = form.cleaned_data["first_address"], form.cleaned_data["last_address"]
    if is_htmx(request):
        return _peer_dialog(
            request, scope, FailoverPeerForm(server=scope.server), first, last, pool
        )
    url = reverse("failover:peer_create_for_pool", args=[scope.pk])
    return redirect(_with_query(url, first=first, last=last, pool=pool.pk if pool else None))


def _initial_from_query(request: HttpRequest) -> dict[str, str]:
    names = {"first": "first_address", "last": "last_address", "peer": "failover_peer"}
    return {field: request.GET[param] for param, field in names.items() if param in request.GET}


@permission_required("failover.add_addresspool")
@require_http_methods(["GET", "POST"])
def pool_create(request: HttpRequest, pk: int) -> HttpResponse:
    scope = get_object_or_404(Scope.objects.select_related("server"), pk=pk)
    allow_new_peer = request.user.has_perm("failover.add_failoverpeer")
    if request.method != "POST":
        initial = _initial_from_query(request)
        form = PoolForm(scope=scope, allow_new_peer=allow_new_peer, initial=initial)
        return _pool_dialog(request, scope, form)

    form = PoolForm(request.POST, scope=scope, allow_new_peer=allow_new_peer)
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        if form.wants_new_peer:
            return _to_peer_dialog(request, scope, form)
        try:
            pool = services.pool_create(
                scope=scope,
                first_address=data["first_address"],
                last_address=data["last_address"],
                failover_peer=data["failover_peer"],
                actor=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except services.LOST_RACE_ERRORS as exc:
            form.add_error(None, lost_race(exc))
            status = conflict_status(request)
        else:
            peer = f" with failover peer {pool.failover_peer.name}" if pool.failover_peer else ""
            message = f"Created address pool {pool}{peer}."
            return done(request, scope_url_at(scope, pool.first_address), message, refresh=True)
    return _pool_dialog(request, scope, form, status=status)


@permission_required("failover.add_failoverpeer")
@require_http_methods(["GET", "POST"])
def peer_create_for_pool(request: HttpRequest, pk: int) -> HttpResponse:
    """`New Failover Peer`, opened from the pool dialog; `OK` returns to it.

    ``first`` and ``last`` are what the user entered in the pool dialog; ``pool`` is set
    when that dialog edits an existing pool.
    """
    scope = get_object_or_404(Scope.objects.select_related("server"), pk=pk)
    source = request.POST if request.method == "POST" else request.GET
    first, last = source.get("first", ""), source.get("last", "")
    pool_id = source.get("pool", "")
    pool = None
    if pool_id.isdigit():
        pool = (
            AddressPool.objects.select_related("scope__server")
            .filter(scope=scope, pk=pool_id)
            .first()
        )
    form = FailoverPeerForm(post_data(request), server=scope.server)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            result = services.peer_create(
                server=scope.server, actor=request.user, **instance_values(form)
            )
        except ValidationError as error:
            add_service_errors(form, error)
        except services.LOST_RACE_ERRORS as exc:
            form.add_error(None, lost_race(exc))
            status = conflict_status(request)
        else:
            notice = peers_now_refer_message(result)
            if not is_htmx(request):
                messages.success(request, notice)
                return redirect(_pool_url(scope, pool, first=first, last=last, peer=result.peer.pk))
            initial = {
                "first_address": first,
                "last_address": last,
                "failover_peer": str(result.peer.pk),
            }
            if pool is None:
                pool_form = PoolForm(scope=scope, initial=initial)
                return _pool_dialog(request, scope, pool_form, notice=notice)
            pool.refresh_from_db()  # the first-peer rule may have changed it
            pool_form = PoolForm(instance=pool, scope=scope, initial=initial)
            return _pool_edit_dialog(request, pool, pool_form, notice=notice)
    return _peer_dialog(request, scope, form, first, last, pool, status=status)


@permission_required("failover.change_addresspool")
@require_http_methods(["GET", "POST"])
def pool_edit(request: HttpRequest, pk: int) -> HttpResponse:
    pool = get_object_or_404(
        AddressPool.objects.select_related("scope__server", "failover_peer"), pk=pk
    )
    scope = pool.scope
    allow_new_peer = request.user.has_perm("failover.add_failoverpeer")
    if request.method != "POST":
        initial = _initial_from_query(request)
        form = PoolForm(instance=pool, scope=scope, allow_new_peer=allow_new_peer, initial=initial)
        return _pool_edit_dialog(request, pool, form)

    stored = AddressPool.objects.select_related("scope__server").filter(pk=pool.pk).first()
    if stored is None:  # deleted since the line above
        stored = copy.copy(pool)
    form = PoolForm(request.POST, instance=pool, scope=scope, allow_new_peer=allow_new_peer)
    confirmation = None
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        if form.wants_new_peer:
            return _to_peer_dialog(request, scope, form, stored)
        try:
            result = services.pool_update(
                pool=pool,
                first_address=data["first_address"],
                last_address=data["last_address"],
                failover_peer=data["failover_peer"],
                confirm_peer_deletion=request.POST.get("confirm_peer_deletion") == "1",
                actor=request.user,
            )
        except services.ConfirmationRequired as exc:
            confirmation = exc
        except ValidationError as error:
            add_service_errors(form, error)
        except services.LOST_RACE_ERRORS as exc:
            form.add_error(None, lost_race(exc))
            status = conflict_status(request)
        else:
            message = f"Saved address pool {pool}."
            for peer in result.deleted_peers:
                message += f" Deleted failover peer {peer.name}: no address pool referred to it."
            return done(request, scope_url_at(scope, pool.first_address), message, refresh=True)
    # The form changed ``pool`` in memory; the dialog names the pool as it is stored.
    return _pool_edit_dialog(request, stored, form, confirmation=confirmation, status=status)


@permission_required("failover.delete_addresspool")
@require_http_methods(["GET", "POST"])
def pool_delete(request: HttpRequest, pk: int) -> HttpResponse:
    pool = get_object_or_404(
        AddressPool.objects.select_related("scope__server", "failover_peer"), pk=pk
    )
    scope = pool.scope

    def delete() -> HttpResponse:
        plan = services.pool_delete(pool=pool, actor=request.user)
        message = f"Deleted address pool {pool}."
        for peer in plan.peers:
            message += f" Deleted failover peer {peer.name}: no address pool referred to it."
        return done(request, scope_url_at(scope), message, refresh=True)

    return delete_dialog(
        request,
        delete=delete,
        plan=lambda: services.pool_delete_plan(pool=pool),
        template_name="failover/pool_delete_modal.html",
        context={
            "pool": pool,
            "scope": scope,
            "form_action": reverse("failover:pool_delete", args=[pk]),
            "cancel_url": reverse("failover:scope_detail", args=[scope.pk]),
        },
        title=f"Delete Address Pool {pool}",
        breadcrumbs=[*scope_crumbs(scope), (f"Delete address pool {pool}", None)],
    )
