"""Requests that carry a NUL character get a clear 400 before any view or the admin runs.

A NUL (``\\x00``) in the address, the query string or the form fields is never a value
dhcpadmin takes, and PostgreSQL refuses it in a query (``DataError``: a 500 for a filter such
as ``?role__exact=%00``). The address and query string are checked first; the form fields of
a POST once the view is known (``process_view``), the point where Django's CSRF check reads
them anyway. Views exempt from that check read their multipart bodies themselves (the import
page sets its upload limit first): their uploads are left to them. A body too large or with
too many fields is also left to the view (and Django), which say so themselves. Uploaded
files are never read here.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

NUL = "\x00"
MESSAGE = "Bad request: the address, query string or form data contains a NUL character.\n"


def _has_nul(data) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in data.lists())


def address_carries_nul(request: HttpRequest) -> bool:
    return NUL in request.path_info or NUL in request.path or _has_nul(request.GET)


def form_carries_nul(request: HttpRequest, view: Callable) -> bool:
    if request.method != "POST":
        return False
    multipart = request.content_type == "multipart/form-data"
    if multipart and getattr(view, "csrf_exempt", False):
        return False  # reads its own upload, with its own limits
    try:
        return _has_nul(request.POST)
    except (RequestDataTooBig, TooManyFieldsSent):
        return False  # the view (or Django's handler) answers it


def refused() -> HttpResponse:
    return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if address_carries_nul(request):
            return refused()
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Callable, args, kwargs):
        if form_carries_nul(request, view):
            return refused()
        return None
