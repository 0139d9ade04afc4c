"""Import Configuration: upload or paste a server's dhcpd.conf, see what it changes, apply
it only on OK.

1. The form (``step=preview``): a file or pasted text, at most ``DHCPD_IMPORT_MAX_BYTES``.
   It is parsed (includes are refused: the page has no include directory) and planned
   against the stored data; nothing is written.
2. The preview: what will be created, changed (field: old -> new), deleted and kept
   verbatim, the notes, and the failover relationships the import gives with their pair
   check. The text travels back with ``OK`` in the form, with the plan's fingerprint.
3. ``OK`` (``step=confirm``): the plan is computed again inside the transaction; if it is
   not the one previewed (the stored data changed meanwhile), nothing is written and the
   new preview is shown instead.

Errors never give a 500: a file that does not parse, or that the model cannot hold, shows
file, line, column and message (and the offending line of the text); binary data, an
upload or a request over the limits, a missing file: each a clear message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from .. import services
from ..access import permission_required
from ..dhcpd.importer import ConfigImportError, ImportPlan, statement_diff
from ..dhcpd.parser import ParseError, parse_text
from ..dhcpd.tokenizer import decode_bytes
from ..models import DhcpServer
from .common import conflict_status, done, is_htmx, lost_race
from .servers import server_crumbs

#: An import may create, change and delete all of these.
IMPORT_PERMISSIONS = tuple(
    f"failover.{action}_{model}"
    for model in ("scope", "addresspool", "failoverpeer")
    for action in ("add", "change", "delete")
) + ("failover.change_dhcpserver",)

#: How many objects of each kind the preview lists (the counts are always complete).
PREVIEW_LIMIT = 200
PASTED = "pasted text"
MAX_SHOWN_ERRORS = 20


def _limit() -> int:
    return int(settings.DHCPD_IMPORT_MAX_BYTES)


def _size(n: int) -> str:
    return f"{n:,} bytes" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MiB ({n:,} bytes)"


class _LimitedUpload(FileUploadHandler):
    """Stops reading an uploaded file once it is over the limit (nothing more is kept)."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit
        self.received = 0
        self.too_big = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit:
            self.too_big = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class ImportForm(forms.Form):
    file = forms.FileField(label="dhcpd.conf file", required=False)
    text = forms.CharField(
        label="Or paste its text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "class": "font-monospace", "spellcheck": "false"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        upload, text = data.get("file"), data.get("text") or ""
        if upload and text.strip():
            raise forms.ValidationError("Upload a file or paste text, not both.")
        if not upload and not text.strip():
            raise forms.ValidationError("Upload a dhcpd.conf file or paste its text.")
        limit = _limit()
        if upload and upload.size > limit:
            raise forms.ValidationError(
                f"The file is {_size(upload.size)}, larger than the limit of {_size(limit)}."
            )
        if len(text) > limit:  # characters; the parser counts the bytes too
            raise forms.ValidationError(f"The text is larger than the limit of {_size(limit)}.")
        return data


class ConfirmForm(forms.Form):
    text = forms.CharField(strip=False, widget=forms.HiddenInput)
    filename = forms.CharField(max_length=255, widget=forms.HiddenInput)
    fingerprint = forms.CharField(max_length=64, widget=forms.HiddenInput)


# --- what the templates show -----------------------------------------------------------


def _problems(error: ParseError, text: str | None, filename: str) -> list[dict[str, Any]]:
    errors = error.errors if isinstance(error, ConfigImportError) else [error]
    lines = text.splitlines() if text is not None else []
    out = []
    for problem in errors[:MAX_SHOWN_ERRORS]:
        source = None
        if problem.file == filename and 1 <= problem.line <= len(lines):
            source = lines[problem.line - 1][:300]
        out.append(
            {
                "text": ParseError.__str__(problem),
                "file": problem.file,
                "line": problem.line,
                "column": problem.column,
                "message": problem.message,
                "source": source,
                "caret": " " * max(problem.column - 1, 0) + "^" if source is not None else "",
            }
        )
    return out


def _sections(plan: ImportPlan) -> list[dict[str, Any]]:
    sections = []
    for title, action, css in (
        ("Create", "create", "success"),
        ("Change", "change", "warning"),
        ("Delete", "delete", "danger"),
    ):
        count = plan.count(action)
        items = []
        for change in plan.first(action, PREVIEW_LIMIT):
            fields = []
            for fc in change.fields:
                if isinstance(fc.old, list) or isinstance(fc.new, list):
                    removed, added = statement_diff(fc.old, fc.new)
                    fields.append(
                        {"label": fc.label, "statements": True, "removed": removed, "added": added}
                    )
                else:
                    fields.append({"label": fc.label, "old": fc.old, "new": fc.new})
            # Plain dicts: the template's lookups find each value at the first try.
            items.append(
                {
                    "kind": change.kind,
                    "label": change.label,
                    "summary": change.summary,
                    "fields": fields,
                }
            )
        sections.append(
            {
                "title": title,
                "action": action,
                "css": css,
                "count": count,
                "items": items,
                "more": max(count - PREVIEW_LIMIT, 0),
            }
        )
    return sections


def _page(
    request: HttpRequest, server: DhcpServer, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """The page, or for htmx the part that replaces #import-area (always 200 then: htmx 2
    does not swap the body of an error status)."""
    context = {
        "server": server,
        "form_action": reverse("failover:server_import", args=[server.pk]),
        "cancel_url": reverse("failover:server_detail", args=[server.pk]),
        "limit": _size(_limit()),
        **context,
    }
    if is_htmx(request):
        return render(request, "failover/import_area.html", context)
    context["breadcrumbs"] = [*server_crumbs(server), ("Import Configuration", None)]
    return render(request, "failover/import_server.html", context, status=status)


def _form_page(request, server, form, *, error=None, problems=(), status=200) -> HttpResponse:
    return _page(
        request,
        server,
        {"form": form, "error": error, "problems": list(problems)},
        status=status,
    )


def _preview_page(request, server, plan, text, filename, *, stale=False) -> HttpResponse:
    return _page(
        request,
        server,
        {
            "plan": plan,
            "sections": _sections(plan),
            "counts": plan.counts(),
            "text": text,
            "filename": filename,
            "stale": stale,
            "kept": plan.kept[:PREVIEW_LIMIT],
            "kept_more": max(len(plan.kept) - PREVIEW_LIMIT, 0),
        },
    )


# --- the view -------------------------------------------------------------------------------


@permission_required(*IMPORT_PERMISSIONS)
@csrf_exempt  # checked below, once the upload limit is in place (see Django's upload docs)
@require_http_methods(["GET", "POST"])
def server_import(request: HttpRequest, pk: int) -> HttpResponse:
    server = get_object_or_404(DhcpServer, pk=pk)
    handler = None
    if request.method == "POST":
        handler = _LimitedUpload(request, _limit())
        request.upload_handlers = [handler, *request.upload_handlers]
        try:
            request.POST  # noqa: B018 - read the body now, with the limit in place
            request.FILES  # noqa: B018
        except RequestDataTooBig:
            return _form_page(
                request,
                server,
                ImportForm(),
                error=f"The request is larger than the limit of {_size(_limit())}: "
                "import a smaller file.",
                status=413,
            )
        except (TooManyFieldsSent, TooManyFilesSent, MultiPartParserError):
            return _form_page(
                request,
                server,
                ImportForm(),
                error="The form data could not be read: send one file or the pasted text.",
                status=400,
            )
    return _server_import(request, server, handler)


@csrf_protect
def _server_import(
    request: HttpRequest, server: DhcpServer, handler: _LimitedUpload | None
) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, server, ImportForm())
    if handler is not None and handler.too_big:
        return _form_page(
            request,
            server,
            ImportForm(),
            error=f"The file is larger than the limit of {_size(_limit())}.",
            status=413,
        )
    if request.POST.get("step") == "confirm":
        return _confirm(request, server)
    return _preview(request, server)


def _preview(request: HttpRequest, server: DhcpServer) -> HttpResponse:
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _form_page(request, server, form)
    upload = form.cleaned_data.get("file")
    text: str | None = None
    filename = PASTED
    try:
        if upload:
            filename = (upload.name or "upload")[:255]
            data = upload.read(_limit() + 1)
            text = decode_bytes(data, filename)  # binary data: a ParseError with its place
        else:
            text = form.cleaned_data["text"]
        tree = parse_text(text, filename=filename, max_bytes=_limit())
        plan = services.config_import_plan(server=server, tree=tree, filename=filename, reuse=True)
    except ParseError as exc:
        return _form_page(request, server, form, problems=_problems(exc, text, filename))
    return _preview_page(request, server, plan, text, filename)


def _confirm(request: HttpRequest, server: DhcpServer) -> HttpResponse:
    confirm = ConfirmForm(request.POST)
    if not confirm.is_valid():
        return _form_page(
            request, server, ImportForm(), error="The preview was incomplete: preview again."
        )
    text = confirm.cleaned_data["text"]
    filename = confirm.cleaned_data["filename"]
    try:
        plan = services.config_import(
            server=server,
            text=text,
            filename=filename,
            max_bytes=_limit(),
            expected_fingerprint=confirm.cleaned_data["fingerprint"],
            actor=request.user,
        )
    except services.StaleImportPlan as stale:
        return _preview_page(request, server, stale.plan, text, filename, stale=True)
    except ParseError as exc:
        form = ImportForm(initial={"text": text})
        return _form_page(request, server, form, problems=_problems(exc, text, filename))
    except services.LOST_RACE_ERRORS as exc:
        form = ImportForm(initial={"text": text})
        error = lost_race(exc)
        return _form_page(request, server, form, error=error, status=conflict_status(request))
    url = reverse("failover:server_detail", args=[server.pk])
    return done(request, url, f"Imported {filename} into {server.name}: {plan.summary()}.")
