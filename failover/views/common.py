"""What every view shares: modal-or-page rendering, success answers, service errors.

A dialog is a partial template (``<model>_<action>_modal.html``). An htmx request gets the
partial alone, swapped into the page's ``#modal-content``; any other request gets it inside
``failover/modal_page.html``, a whole page, so every action also works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django_htmx.http import (
    HttpResponseClientRedirect,
    HttpResponseClientRefresh,
    trigger_client_event,
)

from .. import services
from ..models import AddressPool, FailoverPeer

Crumbs = Sequence[tuple[str, str | None]]


#: The links of a pool's row (failover/includes/pool_table.html: ``item.urls``) and the
#: permissions each needs: a user without them gets no link (and the template no button).
POOL_ROW_LINKS: dict[str, tuple[str, ...]] = {
    "pool_edit": ("failover.change_addresspool",),
    "pool_delete": ("failover.delete_addresspool",),
}


def permitted(user: Any, links: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The URL names of ``links`` whose permissions ``user`` has (asked once per page)."""
    return tuple(name for name, perms in links.items() if user.has_perms(perms))


def peer_badge(peer: FailoverPeer | None) -> SafeString:
    """A pool's failover peer as a badge: the one home of its markup, made once per pool in
    Python (a scope's page shows it beside every address of the pool)."""
    if peer is None:
        return mark_safe(  # a constant
            '<span class="badge text-bg-light border text-body-secondary" '
            'data-testid="peer-badge">no failover peer</span>'
        )
    return format_html(
        '<span class="badge text-bg-primary" data-testid="peer-badge" '
        'title="Failover peer {} ({})">{}</span>',
        peer.name,
        peer.get_role_display(),
        peer.name,
    )


@dataclass
class PoolItem:
    """A pool's row: the pool, its links and its peer's badge."""

    pool: AddressPool
    urls: dict[str, str]
    badge: SafeString


def pool_items(
    pools: Iterable[AddressPool], urls: PkUrls, names: tuple[str, ...]
) -> list[PoolItem]:
    """The rows of ``pools`` with the links ``names`` (see :func:`permitted`)."""
    return [
        PoolItem(pool, urls.of(pool.pk, *names), peer_badge(pool.failover_peer)) for pool in pools
    ]


class PkUrls:
    """URLs of many objects of one page: ``reverse()`` once per URL name, then string
    formatting per object (a page of 50 scopes has hundreds of links, and each
    ``reverse()`` walks the resolver)."""

    _MARK = "2147483647"

    def __init__(self, *names: str) -> None:
        self._parts = {}
        for name in names:
            head, _, tail = reverse(f"failover:{name}", args=[int(self._MARK)]).partition(
                self._MARK
            )
            self._parts[name] = (head, tail)

    def __call__(self, name: str, pk: object) -> str:
        head, tail = self._parts[name]
        return f"{head}{pk}{tail}"

    def of(self, pk: object, *names: str) -> dict[str, str]:
        """``{name: url}`` for one object, for the template (``obj.urls.edit``)."""
        return {name.rpartition("_")[2]: self(name, pk) for name in names}


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def render_modal(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    title: str,
    breadcrumbs: Crumbs = (),
    status: int = 200,
) -> HttpResponse:
    """The dialog as a partial for htmx, or as a page of its own."""
    context = {**context, "is_modal": is_htmx(request), "dialog_title": title}
    if is_htmx(request):
        return render(request, template_name, context, status=status)
    context.update(partial_template=template_name, breadcrumbs=breadcrumbs)
    return render(request, "failover/modal_page.html", context, status=status)


def done(
    request: HttpRequest, url: str, message: str | None = None, *, refresh: bool = False
) -> HttpResponse:
    """A change succeeded: close the dialog and reload (htmx), or redirect (plain page).

    ``refresh`` reloads the page the dialog was opened on (it still exists); otherwise the
    browser goes to ``url``.
    """
    if message:
        messages.success(request, message)
    if not is_htmx(request):
        return redirect(url)
    response = HttpResponseClientRefresh() if refresh else HttpResponseClientRedirect(url)
    return trigger_client_event(response, "closeModal")


def lost_race(exc: Exception) -> str:
    """What changed meanwhile, when ``exc`` says the change lost a race to another one (a
    lock it could not get, a row deleted meanwhile, a reference that appeared or vanished:
    ``services.LOST_RACE_ERRORS``); any other error is raised again. Nothing was saved: the
    service's transaction was rolled back."""
    message = services.lost_race_message(exc)
    if message is None:
        raise exc
    return message


def conflict_status(request: HttpRequest) -> int:
    """The status of a dialog shown again after a lost race: 409 for a plain page; 200 for
    htmx, which swaps only a 2xx answer into the dialog (app.js turns others into an alert)."""
    return 200 if is_htmx(request) else 409


def form_dialog(
    request: HttpRequest,
    form: forms.BaseForm,
    *,
    save: Callable[[], HttpResponse],
    template_name: str,
    context: dict[str, Any],
    title: str,
    breadcrumbs: Crumbs = (),
) -> HttpResponse:
    """The skeleton of every create and edit dialog: on a valid POST, ``save()`` calls the
    service and answers; a ValidationError it raises goes onto the form beside its field; a
    lost race (:func:`lost_race`) is said above the form; otherwise (a GET, an invalid form)
    the dialog is shown with ``form``."""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            return save()
        except ValidationError as error:
            add_service_errors(form, error)
        except services.LOST_RACE_ERRORS as exc:
            form.add_error(None, lost_race(exc))
            status = conflict_status(request)
    return render_modal(
        request,
        template_name,
        {"form": form, **context},
        title=title,
        breadcrumbs=breadcrumbs,
        status=status,
    )


def delete_dialog(
    request: HttpRequest,
    *,
    delete: Callable[[], HttpResponse],
    plan: Callable[[], Any],
    template_name: str,
    context: dict[str, Any],
    title: str,
    breadcrumbs: Crumbs = (),
) -> HttpResponse:
    """The skeleton of every delete confirmation: a GET shows what goes with the object
    (``plan()``, computed by the service that deletes); the POST calls ``delete()``; a
    ValidationError it raises, or a lost race (:func:`lost_race`), is shown in the dialog,
    with the plan as it is now."""
    error = None
    status = 200
    if request.method == "POST":
        try:
            return delete()
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except services.LOST_RACE_ERRORS as exc:
            error = lost_race(exc)
            status = conflict_status(request)
    return render_modal(
        request,
        template_name,
        {**context, "plan": plan(), "error": error},
        title=title,
        breadcrumbs=breadcrumbs,
        status=status,
    )


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a ValidationError raised by a service onto the form, beside the field if it has one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def error_messages(error: ValidationError) -> list[str]:
    return list(error.messages)


def post_data(request: HttpRequest) -> Any:
    """The data to bind a form to: the POST (even an empty one) or None for a GET."""
    return request.POST if request.method == "POST" else None
