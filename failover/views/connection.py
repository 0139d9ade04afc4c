"""The pages of the connection, live drift and pool balance part (issue 11, 1/2/4).

- SSH settings (a dialog; the private key is write-only) — ``failover.change_dhcpserver``;
- Test Connection (htmx into the server page; a page of its own without JavaScript);
- the host key: accept the key the server offers (first connection or a changed key) —
  ``failover.change_dhcpserver`` (see :data:`ACCEPT_PERMISSION`);
- Live Configuration: the file on the server against the rendered text, with Adopt (the
  import flow with the fetched text) — and Pool Balance from both leases files.

Every page that contacts a server needs ``failover.change_dhcpserver`` or the operators'
``failover.deploy_server`` (contacting servers is not for read-only users). Every SSH step
is bounded (``DHCPADMIN_SSH_TIMEOUT``); a failure is a message on the page, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..access import DEPLOY_SERVER, login_required
from ..deploy import services as deploy_services
from ..deploy.forms import SshTargetForm
from ..deploy.models import SshTarget
from ..models import DhcpServer
from .common import done, form_dialog, is_htmx
from .servers import server_crumbs

CHANGE_SERVER = "failover.change_dhcpserver"
#: Accepting a host key trusts a machine with the server's configuration: the people who set
#: the server's connection settings decide it (not every operator who may deploy).
ACCEPT_PERMISSION = CHANGE_SERVER
#: Contacting a server over SSH (Test Connection, Live Configuration, Pool Balance).
CONTACT_PERMISSIONS = (CHANGE_SERVER, DEPLOY_SERVER)


def any_permission_required(*perms: str) -> Callable:
    """Login first, then 403 unless the user has at least one of ``perms``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not any(request.user.has_perm(perm) for perm in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorator


def _target(server: DhcpServer) -> SshTarget | None:
    return SshTarget.objects.filter(server=server).first()


@any_permission_required(CHANGE_SERVER)
@require_http_methods(["GET", "POST"])
def ssh_settings(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    target = _target(server) or SshTarget(server=server, host="")
    form = SshTargetForm(request.POST or None, instance=target)

    def save() -> HttpResponse:
        deploy_services.ssh_target_save(server, actor=request.user, **form.service_kwargs())
        url = reverse("failover:server_detail", args=[server.pk])
        return done(request, url, f"SSH settings of {server.name} saved.")

    return form_dialog(
        request,
        form,
        save=save,
        template_name="failover/ssh_settings_modal.html",
        context={
            "server": server,
            "target": target if target.pk else None,
            "form_action": reverse("failover:ssh_settings", args=[server.pk]),
        },
        title=f"SSH settings of {server.name}",
        breadcrumbs=[*server_crumbs(server), ("SSH settings", None)],
    )


@any_permission_required(*CONTACT_PERMISSIONS)
@require_POST
def ssh_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Test Connection: each check with what it found (the server page's #ssh-test-result)."""
    server = get_object_or_404(DhcpServer, pk=pk)
    report = deploy_services.connection_report(server)
    context = {
        "server": server,
        "report": report,
        "target": _target(server),
        "can_accept": request.user.has_perm(ACCEPT_PERMISSION),
    }
    if is_htmx(request):
        return render(request, "failover/ssh_test_result.html", context)
    context["breadcrumbs"] = [*server_crumbs(server), ("Test Connection", None)]
    return render(request, "failover/ssh_test_page.html", context)


@any_permission_required(ACCEPT_PERMISSION)
@require_http_methods(["GET", "POST"])
def ssh_host_key(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept the host key the server offered: shown first (fingerprint, the key it
    replaces), pinned on OK with the fingerprint the user saw."""
    server = get_object_or_404(DhcpServer, pk=pk)
    target = _target(server)
    error = ""
    if request.method == "POST" and target is not None:
        try:
            deploy_services.host_key_accept(
                target, actor=request.user, fingerprint=request.POST.get("fingerprint", "")[:80]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
            target.refresh_from_db()
        else:
            url = reverse("failover:server_detail", args=[server.pk])
            return done(request, url, f"Host key of {server.name} accepted.")
    context: dict[str, Any] = {
        "server": server,
        "target": target,
        "error": error,
        "form_action": reverse("failover:ssh_host_key", args=[server.pk]),
        "is_modal": is_htmx(request),
        "dialog_title": f"Host key of {server.name}",
    }
    if is_htmx(request):
        return render(request, "failover/ssh_host_key_modal.html", context)
    context.update(
        partial_template="failover/ssh_host_key_modal.html",
        breadcrumbs=[*server_crumbs(server), ("Host key", None)],
    )
    return render(request, "failover/modal_page.html", context, status=409 if error else 200)


def _deploy_url(server: DhcpServer) -> str | None:
    """The deploy page of the deploy part, when it is installed."""
    try:
        return reverse("failover:deploy_server", args=[server.pk])
    except NoReverseMatch:
        return None


#: Lines of the unified diff shown (the rest is counted).
DIFF_LINES = 3000


@any_permission_required(*CONTACT_PERMISSIONS)
@require_GET
def live_config(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    live = deploy_services.live_config(server)
    target = deploy_services.store_live_drift(live)
    can_import = request.user.has_perms(
        [
            *(
                f"failover.{action}_{model}"
                for model in ("scope", "addresspool", "failoverpeer")
                for action in ("add", "change", "delete")
            ),
            CHANGE_SERVER,
        ]
    )
    return render(
        request,
        "failover/drift_live.html",
        {
            "server": server,
            "live": live,
            "target": target,
            "diff": live.diff[:DIFF_LINES],
            "diff_more": max(len(live.diff) - DIFF_LINES, 0),
            "can_import": can_import,
            "can_accept": request.user.has_perm(ACCEPT_PERMISSION),
            "deploy_url": _deploy_url(server),
            "breadcrumbs": [*server_crumbs(server), ("Live Configuration", None)],
        },
    )


@any_permission_required(*CONTACT_PERMISSIONS)
@require_GET
def pool_balance(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    report = deploy_services.pool_balance(server, page=request.GET.get("page") or 1)
    return render(
        request,
        "failover/balance_server.html",
        {
            "server": server,
            "report": report,
            "states": deploy_services.SHOWN_STATES,
            "breadcrumbs": [*server_crumbs(server), ("Pool Balance", None)],
        },
    )
