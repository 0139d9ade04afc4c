"""Who may see and change what.

Every page needs a login. Reading needs nothing more; each change needs the model permission
Django already has (``failover.add_addresspool``, ``failover.change_failoverpeer``, …), so a
user without it sees everything read-only and gets 403 on any change, also from htmx.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

View = Callable[..., HttpResponse]

#: The group the app creates (after every migrate) for the people who act on the running
#: servers: partner-down and deploys. Plain editors are not in it.
OPERATORS_GROUP = "Operators"
OPERATE_FAILOVER = "failover.operate_failover"
DEPLOY_SERVER = "failover.deploy_server"
OPERATOR_PERMISSIONS = (OPERATE_FAILOVER, DEPLOY_SERVER)

#: Migrate Scope to Failover Peer creates, changes and deletes peers, scopes and pools.
MIGRATE_PERMISSIONS = (
    "failover.add_failoverpeer",
    "failover.delete_failoverpeer",
    "failover.add_scope",
    "failover.change_scope",
    "failover.add_addresspool",
    "failover.change_addresspool",
    "failover.delete_addresspool",
)


def login_required(view: View) -> View:
    """Like Django's, but an htmx request is told to load the login page as a whole page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        response = redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(response["Location"])
        return response

    return wrapper


def permission_required(*perms: str) -> Callable[[View], View]:
    """Login first, then 403 unless the user has every one of ``perms``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(checked)

    return decorator


def ensure_operators_group(**kwargs: object) -> None:
    """post_migrate: the Operators group exists and has exactly the operator permissions
    (and keeps whatever else an admin gave it)."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    codenames = [perm.split(".", 1)[1] for perm in OPERATOR_PERMISSIONS]
    perms = Permission.objects.filter(content_type__app_label="failover", codename__in=codenames)
    group.permissions.add(*perms)
