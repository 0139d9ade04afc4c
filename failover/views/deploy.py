"""Deploy pages: the preview (diff, dhcpd -t, pair check) and Deploy on a server or a
relationship, the live progress of a rollout (htmx polling its steps), a server's deploy
history, one deployment with its diff and steps, and Roll back to it.

Previews and deploys need the Operators group's deploy permission (a preview reads the live
file over SSH); history and progress need a login. The work is done by
:mod:`failover.deploy.rollout`; these views only show it and start it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ..access import DEPLOY_SERVER, login_required, permission_required
from ..deploy import rollout
from ..deploy.rollout_models import Deployment, DeployStep, Rollout
from ..models import DhcpServer, FailoverPeer
from .servers import server_crumbs

#: Lines of a diff shown on a page (the whole diff is kept with the deployment).
DIFF_LINES = 3000
HISTORY_PER_PAGE = 20


@dataclass
class DiffLine:
    kind: str  # "add", "del", "hunk", "file", ""
    text: str


def diff_lines(diff: str, limit: int = DIFF_LINES) -> tuple[list[DiffLine], int]:
    """The diff's lines with their kind (for colours), at most ``limit``; and how many more."""
    lines = diff.splitlines()
    out = []
    for line in lines[:limit]:
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = ""
        out.append(DiffLine(kind, line))
    return out, max(0, len(lines) - limit)


@dataclass
class PlanView:
    plan: rollout.ServerPlan
    lines: list[DiffLine]
    more: int


def _preview(
    request: HttpRequest,
    plan: rollout.DeployPlan,
    *,
    title: str,
    action: str,
    crumbs: list[tuple[str, str | None]],
    error: list[str] | None = None,
    reason: str = "",
    status: int = 200,
) -> HttpResponse:
    views = [PlanView(sp, *diff_lines(sp.diff)) for sp in plan.servers]
    return render(
        request,
        "failover/deploy_preview.html",
        {
            "plan": plan,
            "views": views,
            "title": title,
            "action": action,
            "error": error or [],
            "reason": reason,
            "breadcrumbs": crumbs,
        },
        status=status,
    )


def _start(
    request: HttpRequest,
    servers: list[DhcpServer],
    *,
    relationship: str = "",
    texts: dict[int, str] | None = None,
    rollback_of: Deployment | None = None,
) -> tuple[Rollout | None, list[str], str]:
    reason = request.POST.get("override_reason", "").replace("\x00", "")[:2000]
    token = request.POST.get("token", "")
    try:
        if rollback_of is not None:
            started = rollout.rollback_start(rollback_of, actor=request.user, token=token)
        else:
            started = rollout.deploy_start(
                servers,
                actor=request.user,
                override_reason=reason,
                token=token,
                relationship=relationship,
                texts=texts,
            )
    except ValidationError as exc:
        return None, list(exc.messages), reason
    return started, [], reason


@permission_required(DEPLOY_SERVER)
@require_http_methods(["GET", "POST"])
def deploy_server(request: HttpRequest, pk: int) -> HttpResponse:
    """Deploy on one server: the preview (GET) and the start (POST)."""
    server = get_object_or_404(DhcpServer, pk=pk)
    return _deploy_page(
        request,
        [server],
        title=f"Deploy to {server.name}",
        action=reverse("failover:deploy_server", args=[server.pk]),
        crumbs=[*server_crumbs(server), ("Deploy", None)],
    )


@permission_required(DEPLOY_SERVER)
@require_http_methods(["GET", "POST"])
def deploy_relationship(request: HttpRequest, pk: int) -> HttpResponse:
    """Deploy on both servers of a relationship, the secondary first."""
    peer = get_object_or_404(FailoverPeer.objects.select_related("server"), pk=pk)
    try:
        relationship, servers = rollout.relationship_servers(peer)
    except ValidationError:
        raise Http404("This peer declaration is not part of a relationship.") from None
    return _deploy_page(
        request,
        servers,
        title=f"Deploy failover relationship {relationship.name}",
        action=reverse("failover:deploy_relationship", args=[peer.pk]),
        crumbs=[
            ("Failover Relationships", reverse("failover:relationship_list")),
            (relationship.name, reverse("failover:relationship_detail", args=[peer.pk])),
            ("Deploy", None),
        ],
        relationship=relationship.name,
    )


def _deploy_page(
    request: HttpRequest,
    servers: list[DhcpServer],
    *,
    title: str,
    action: str,
    crumbs: list[tuple[str, str | None]],
    relationship: str = "",
) -> HttpResponse:
    """The preview of a deploy of ``servers`` (GET), or its start (POST: the rollout's
    page, or the preview again with why it was refused)."""
    error: list[str] = []
    reason = ""
    status = 200
    if request.method == "POST":
        started, error, reason = _start(request, servers, relationship=relationship)
        if started is not None:
            return redirect("failover:deploy_rollout", pk=started.pk)
        status = 409
    plan = rollout.deploy_plan(servers, relationship=relationship)
    return _preview(
        request,
        plan,
        title=title,
        action=action,
        crumbs=crumbs,
        error=error,
        reason=reason,
        status=status,
    )


@permission_required(DEPLOY_SERVER)
@require_http_methods(["GET", "POST"])
def deploy_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    """Roll back to an earlier deployed version: a deploy of that text, same steps."""
    deployment = get_object_or_404(Deployment.objects.select_related("server"), pk=pk)
    server = deployment.server
    crumbs = [
        *server_crumbs(server),
        ("Deploy history", reverse("failover:deploy_history", args=[server.pk])),
        (f"Deployment #{deployment.pk}", reverse("failover:deployment_detail", args=[pk])),
        ("Roll back", None),
    ]
    error: list[str] = []
    status = 200
    if request.method == "POST":
        started, error, _ = _start(request, [server], rollback_of=deployment)
        if started is not None:
            return redirect("failover:deploy_rollout", pk=started.pk)
        status = 409
    plan = rollout.rollback_plan(deployment)
    return _preview(
        request,
        plan,
        title=f"Roll back {server.name} to deployment #{deployment.pk}",
        action=reverse("failover:deploy_rollback", args=[deployment.pk]),
        crumbs=crumbs,
        error=error,
        status=status,
    )


def _rollout_context(pk: int) -> dict[str, object]:
    steps = Prefetch("steps", queryset=DeployStep.objects.order_by("position"))
    deployments = Prefetch(
        "deployments",
        queryset=Deployment.objects.select_related("server")
        .defer("text", "diff")
        .prefetch_related(steps)
        .order_by("position"),
    )
    ro = get_object_or_404(
        Rollout.objects.select_related("user").prefetch_related(deployments), pk=pk
    )
    return {"rollout": ro, "deployments": list(ro.deployments.all())}


@login_required
@require_GET
def rollout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A rollout as it runs: each server, each step as it happens (htmx polls the part)."""
    context = _rollout_context(pk)
    return render(request, "failover/deploy_rollout.html", context)


@login_required
@require_GET
def rollout_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress part alone (htmx polls it every second while the rollout runs)."""
    return render(request, "failover/deploy_progress.html", _rollout_context(pk))


@login_required
@require_GET
def deploy_history(request: HttpRequest, pk: int) -> HttpResponse:
    """A server's deployments, newest first, 20 a page."""
    server = get_object_or_404(DhcpServer, pk=pk)
    deployments = (
        Deployment.objects.filter(server=server)
        .select_related("rollout__user")
        .defer("text", "diff")
        .order_by("-created", "-pk")
    )
    page = Paginator(deployments, HISTORY_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "failover/deploy_history.html",
        {
            "server": server,
            "page": page,
            "may_deploy": request.user.has_perm(DEPLOY_SERVER),
            "breadcrumbs": [*server_crumbs(server), ("Deploy history", None)],
        },
    )


@login_required
@require_GET
def deployment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One deployment: who, when, the diff, each step with its output, the outcome."""
    deployment = get_object_or_404(
        Deployment.objects.select_related("server", "rollout__user", "rollback_of"), pk=pk
    )
    lines, more = diff_lines(deployment.diff)
    return render(
        request,
        "failover/deploy_deployment.html",
        {
            "deployment": deployment,
            "steps": list(deployment.steps.order_by("position")),
            "lines": lines,
            "more": more,
            "may_deploy": request.user.has_perm(DEPLOY_SERVER),
            "breadcrumbs": [
                *server_crumbs(deployment.server),
                ("Deploy history", reverse("failover:deploy_history", args=[deployment.server_id])),
                (f"Deployment #{deployment.pk}", None),
            ],
        },
    )
