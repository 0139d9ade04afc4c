"""Django admin for bulk edits.

Every write goes through ``failover.services``, exactly like the pages: saving a peer runs
``peer_create`` (first-peer rule) or ``peer_update``, deleting one or more peers runs
``peers_delete`` (remove / repoint / choose, previewed by ``peers_delete_plan``), changing
or deleting pools runs the last-referrer rule with an explicit confirmation (worded by
``services.orphan_message``), and the bulk actions on pools call ``pools_set_failover_peer``.
The ModelForms validate with the models' ``full_clean()``, so no invalid object is saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import OuterRef
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from . import services
from .forms import PEER_ADVANCED_FIELDS, SERVER_FORM_FIELDS
from .live.secrets import OmapiKeyFormMixin
from .models import AddressPool, ChangeRecord, DhcpServer, FailoverPeer, Scope
from .selectors import count_of

admin.site.site_header = "dhcpadmin administration"
admin.site.site_title = "dhcpadmin admin"
admin.site.index_title = "Bulk edits"


# --- helpers shared by the ModelAdmins ---------------------------------------------------


def _model_fields(form: forms.ModelForm, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The cleaned values of the form's model fields (not the extra, form-only fields)."""
    names = {f.name for f in form._meta.model._meta.concrete_fields} - set(exclude)
    return {name: value for name, value in form.cleaned_data.items() if name in names}


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's unsaved ``obj`` the object a service created (pk, values, state)."""
    for f in saved._meta.concrete_fields:
        setattr(obj, f.attname, getattr(saved, f.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _peer_label(peer: FailoverPeer) -> str:
    return (
        f"{peer.name} ({peer.get_role_display()}, {peer.address}:{peer.port} ↔ "
        f"{peer.peer_address}:{peer.peer_port})"
    )


class ServiceErrorsMixin(admin.ModelAdmin):
    """A rule that only a service can check (a race, a confirmation) must never be a 500."""

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except services.ConfirmationRequired as exc:
            self.message_user(request, f"Nothing was changed: {exc.message}", messages.ERROR)
        except ValidationError as exc:
            self.message_user(request, f"Nothing was changed: {_error_text(exc)}", messages.ERROR)
        except services.LOST_RACE_ERRORS as exc:
            self._lost_race(request, exc)
        return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, f"Nothing was deleted: {_error_text(exc)}", messages.ERROR)
        except services.LOST_RACE_ERRORS as exc:
            self._lost_race(request, exc)
        return HttpResponseRedirect(request.get_full_path())

    def response_action(self, request, queryset):
        try:
            return super().response_action(request, queryset)
        except ValidationError as exc:
            self.message_user(request, f"Nothing was changed: {_error_text(exc)}", messages.ERROR)
        except services.LOST_RACE_ERRORS as exc:
            self._lost_race(request, exc)
        return HttpResponseRedirect(request.get_full_path())

    def _lost_race(self, request, exc: Exception) -> None:
        """A change that lost a race to another (services.lost_race_message): said, and the
        page shown again with the data as it is now; any other error is raised again."""
        message = services.lost_race_message(exc)
        if message is None:
            raise exc
        self.message_user(request, message, messages.ERROR)


def _add_peers_to_delete(
    request: HttpRequest,
    deleted: tuple[list, dict, set, list],
    peers: Sequence[FailoverPeer],
) -> tuple[list, dict, set, list]:
    """Extend Django's delete preview with the peers the last-referrer rule deletes too
    (in the services' wording of the rule)."""
    deleted_objects, model_count, perms_needed, protected = deleted
    if peers:
        deleted_objects = [
            *deleted_objects,
            *(f"Failover peer: {peer.name} on {peer.server}" for peer in peers),
            [services.orphan_message(list(peers))],
        ]
        model_count = dict(model_count)
        plural = str(FailoverPeer._meta.verbose_name_plural)
        model_count[plural] = model_count.get(plural, 0) + len(peers)
        if not request.user.has_perm("failover.delete_failoverpeer"):
            perms_needed = {*perms_needed, str(FailoverPeer._meta.verbose_name)}
    return deleted_objects, model_count, perms_needed, protected


# --- servers -----------------------------------------------------------------------------


class DhcpServerAdminForm(OmapiKeyFormMixin, forms.ModelForm):
    """The OMAPI key secret write-only, as on the server page (failover/live/secrets.py)."""

    class Meta:
        model = DhcpServer
        fields = SERVER_FORM_FIELDS

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._setup_secret_field(keep_clear=True)


@admin.register(DhcpServer)
class DhcpServerAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("name", "address", "omapi_port", "scope_count", "peer_count", "description")
    search_fields = ("name", "address", "description")
    list_filter = (("omapi_port", admin.EmptyFieldListFilter),)
    ordering = ("name",)
    form = DhcpServerAdminForm  # the OMAPI secret is write-only: never shown again

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                scope_count=count_of(Scope, server=OuterRef("pk")),
                peer_count=count_of(FailoverPeer, server=OuterRef("pk")),
            )
        )

    @admin.display(description="Scopes", ordering="scope_count")
    def scope_count(self, obj: DhcpServer) -> int:
        return int(cast(Any, obj).scope_count)  # annotated by get_queryset

    @admin.display(description="Failover peers", ordering="peer_count")
    def peer_count(self, obj: DhcpServer) -> int:
        return int(cast(Any, obj).peer_count)  # annotated by get_queryset

    def save_model(self, request, obj, form, change):
        fields = _model_fields(form)
        if change:
            services.server_update(server=obj, actor=request.user, **fields)
        else:
            _adopt(obj, services.server_create(actor=request.user, **fields))

    def delete_model(self, request, obj):
        services.server_delete(server=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for server in queryset:
                services.server_delete(server=server, actor=request.user)


# --- scopes ------------------------------------------------------------------------------


@admin.register(Scope)
class ScopeAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("network", "name", "server", "pool_count", "routers", "domain_name")
    # Numeric order over all servers, from an index: a page of 50 costs 50 rows, not a sort
    # of every scope (the cost follows the page, as the app's own pages).
    ordering = ("first_int", "-last_int", "pk")
    list_per_page = 50
    list_filter = ("server",)
    search_fields = ("network", "name", "domain_name", "server__name")
    list_select_related = ("server",)
    fieldsets = (
        (None, {"fields": ("server", "network", "name")}),
        (
            "Options",
            {"fields": Scope.OPTION_FIELDS},
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(pool_count=count_of(AddressPool, scope=OuterRef("pk")))
        )

    def get_readonly_fields(self, request, obj=None):
        # Moving a scope to another server would leave its pools with a foreign peer.
        return ("server",) if obj else ()

    @admin.display(description="Pools", ordering="pool_count")
    def pool_count(self, obj: Scope) -> int:
        return int(cast(Any, obj).pool_count)  # annotated by get_queryset

    def save_model(self, request, obj, form, change):
        if change:
            services.scope_update(
                scope=obj, actor=request.user, **_model_fields(form, exclude=["server"])
            )
        else:
            fields = _model_fields(form)
            server = fields.pop("server")
            _adopt(obj, services.scope_create(server=server, actor=request.user, **fields))

    def get_deleted_objects(self, objs, request):
        scopes = list(objs)
        pools = AddressPool.objects.filter(scope__in=scopes).select_related("failover_peer")
        peers = services.peers_orphaned_by(pools)
        return _add_peers_to_delete(request, super().get_deleted_objects(scopes, request), peers)

    def delete_model(self, request, obj):
        services.scope_delete(scope=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for scope in queryset.select_related("server"):
                services.scope_delete(scope=scope, actor=request.user)


# --- address pools -----------------------------------------------------------------------


class PeerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: FailoverPeer) -> str:
        return f"{obj.server.name}: {obj.name} ({obj.get_role_display()})"


class PeerListFilter(admin.RelatedFieldListFilter):
    """Peers of different servers share names (both partners use the same): show the server."""

    def field_choices(self, field, request, model_admin):
        peers = FailoverPeer.objects.select_related("server").order_by("server__name", "name")
        return [(peer.pk, f"{peer.server.name}: {peer.name}") for peer in peers]


class AddressPoolAdminForm(forms.ModelForm):
    confirm_peer_deletion = forms.BooleanField(
        label="Delete the old failover peer",
        required=False,
        help_text=(
            "Needed when this pool is the last one referring to its old failover peer: "
            "changing the peer then deletes the old one."
        ),
    )

    class Meta:
        model = AddressPool
        fields = ("scope", "first_address", "last_address", "failover_peer")
        field_classes = {"failover_peer": PeerChoiceField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        peer_field = cast(forms.ModelChoiceField | None, self.fields.get("failover_peer"))
        if peer_field is None:
            return
        server_id = self._server_id()
        queryset = FailoverPeer.objects.select_related("server").order_by("server__name", "name")
        if server_id is not None:
            # Only the peers of the pool's own server (the model checks it as well).
            queryset = queryset.filter(server_id=server_id)
        peer_field.queryset = queryset

    def _server_id(self) -> int | None:
        if self.instance.pk:
            return self.instance.scope.server_id
        scope_id = self.data.get("scope") or self.initial.get("scope")
        if scope_id:
            try:
                return Scope.objects.filter(pk=int(scope_id)).values_list("server_id", flat=True)[0]
            except (TypeError, ValueError, IndexError):
                return None
        return None

    def clean(self):
        cleaned = cast(dict[str, Any], super().clean())
        needed = ("first_address", "last_address", "failover_peer")
        if self.instance.pk and all(name in cleaned for name in needed):
            # The last-referrer rule: the stored pool is the last one referring to its peer.
            try:
                plan = services.pool_update_plan(
                    pool=self.instance,
                    first_address=cleaned["first_address"],
                    last_address=cleaned["last_address"],
                    failover_peer=cleaned["failover_peer"],
                )
            except ValidationError:
                return cleaned  # the model's validation reports it on its fields
            if plan.peers_to_delete and not cleaned.get("confirm_peer_deletion"):
                self.add_error(
                    "confirm_peer_deletion",
                    f"{services.orphan_message(plan.peers_to_delete)} Tick the box to confirm.",
                )
        return cleaned


class SetFailoverPeerForm(forms.Form):
    failover_peer = forms.ModelChoiceField(
        label="Failover Peer", queryset=FailoverPeer.objects.none(), empty_label=None
    )
    confirm_peer_deletion = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, peers, **kwargs):
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["failover_peer"])
        field.queryset = peers
        field.label_from_instance = _peer_label  # type: ignore[method-assign,assignment]


@admin.register(AddressPool)
class AddressPoolAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    form = AddressPoolAdminForm
    list_display = ("__str__", "scope", "server", "failover_peer", "size")
    list_display_links = ("__str__",)
    ordering = ("first_int", "last_int", "pk")  # numeric, from an index (see ScopeAdmin)
    list_per_page = 50
    list_filter = (
        ("scope__server", admin.RelatedFieldListFilter),
        ("failover_peer", PeerListFilter),
    )
    search_fields = (
        "first_address",
        "last_address",
        "scope__network",
        "scope__name",
        "scope__server__name",
        "failover_peer__name",
    )
    list_select_related = ("scope__server", "failover_peer")
    actions = ("set_failover_peer", "remove_failover_peer")

    def get_fields(self, request, obj=None):
        fields = ["scope", "first_address", "last_address", "failover_peer"]
        if obj is not None:
            fields.append("confirm_peer_deletion")
        return fields

    def get_readonly_fields(self, request, obj=None):
        # services.pool_update changes addresses and peer; a pool does not move scopes.
        return ("scope",) if obj else ()

    @admin.display(description="Server", ordering="scope__server__name")
    def server(self, obj: AddressPool) -> str:
        return obj.scope.server.name

    @admin.display(description="Addresses")
    def size(self, obj: AddressPool) -> int:
        return obj.size

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            result = services.pool_update(
                pool=obj,
                first_address=data["first_address"],
                last_address=data["last_address"],
                failover_peer=data.get("failover_peer"),
                confirm_peer_deletion=bool(data.get("confirm_peer_deletion")),
                actor=request.user,
            )
            for peer in result.deleted_peers:
                self.message_user(
                    request,
                    f"The failover peer '{peer.name}' was deleted: no address pool refers to it "
                    "any more.",
                    messages.WARNING,
                )
        else:
            pool = services.pool_create(
                scope=data["scope"],
                first_address=data["first_address"],
                last_address=data["last_address"],
                failover_peer=data.get("failover_peer"),
                actor=request.user,
            )
            _adopt(obj, pool)

    def get_deleted_objects(self, objs, request):
        pools = list(objs)
        peers = services.peers_orphaned_by(pools)
        return _add_peers_to_delete(request, super().get_deleted_objects(pools, request), peers)

    def delete_model(self, request, obj):
        services.pool_delete(pool=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for pool in queryset.select_related("scope__server", "failover_peer"):
                services.pool_delete(pool=pool, actor=request.user)

    # --- bulk actions ---

    def _action_context(self, request, pools: list[AddressPool], **extra) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "pools": pools,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media,
            **extra,
        }

    def _report(self, request, result: services.PeerChangeResult, target: str) -> None:
        self.message_user(
            request, f"{result.changed} address pool(s) now refer to {target}.", messages.SUCCESS
        )
        for peer in result.deleted_peers:
            self.message_user(
                request,
                f"The failover peer '{peer.name}' on {peer.server} was deleted: no address pool "
                "refers to it any more.",
                messages.WARNING,
            )

    @admin.action(description="Set failover peer…", permissions=["change"])
    def set_failover_peer(self, request, queryset):
        pools = list(queryset.select_related("scope__server", "failover_peer"))
        servers = sorted({p.scope.server for p in pools}, key=lambda s: s.name)
        if len(servers) > 1:
            names = ", ".join(s.name for s in servers)
            self.message_user(
                request,
                f"The selected pools are on several servers ({names}). A failover peer belongs "
                "to one server: select pools of one server only. Nothing was changed.",
                messages.ERROR,
            )
            return None
        server = servers[0]
        peers = server.failover_peers.select_related("server").order_by("name")
        if not peers.exists():
            self.message_user(
                request,
                f"{server} has no failover peers yet; add one first. Nothing was changed.",
                messages.ERROR,
            )
            return None
        form = SetFailoverPeerForm(request.POST if "apply" in request.POST else None, peers=peers)
        confirmation = None
        if form.is_bound and form.is_valid():
            peer = form.cleaned_data["failover_peer"]
            try:
                result = services.pools_set_failover_peer(
                    pools=pools,
                    failover_peer=peer,
                    confirm_peer_deletion=form.cleaned_data["confirm_peer_deletion"],
                    actor=request.user,
                )
            except services.ConfirmationRequired as exc:
                confirmation = exc
            except ValidationError as exc:
                self.message_user(
                    request, f"Nothing was changed: {_error_text(exc)}", messages.ERROR
                )
                return None
            else:
                self._report(request, result, f"the failover peer '{peer.name}'")
                return None
        return TemplateResponse(
            request,
            "admin/failover/addresspool/set_failover_peer.html",
            self._action_context(
                request,
                pools,
                title="Set failover peer",
                server=server,
                form=form,
                confirmation=confirmation,
                chosen=form.cleaned_data["failover_peer"] if confirmation else None,
            ),
        )

    @admin.action(description="Remove failover peer", permissions=["change"])
    def remove_failover_peer(self, request, queryset):
        pools = list(queryset.select_related("scope__server", "failover_peer"))
        try:
            result = services.pools_set_failover_peer(
                pools=pools,
                failover_peer=None,
                confirm_peer_deletion=request.POST.get("confirm_peer_deletion") == "yes",
                actor=request.user,
            )
        except services.ConfirmationRequired as exc:
            return TemplateResponse(
                request,
                "admin/failover/addresspool/remove_failover_peer.html",
                self._action_context(
                    request, pools, title="Remove failover peer", confirmation=exc
                ),
            )
        self._report(request, result, "no failover peer")
        return None


# --- failover peers ----------------------------------------------------------------------


def _replacement(request: HttpRequest) -> FailoverPeer | None:
    """The replacement the user chose on the delete page (any peer; the services check it)."""
    chosen = request.POST.get("replacement", "") if request.method == "POST" else ""
    if not chosen.isdigit():
        return None
    return FailoverPeer.objects.filter(pk=int(chosen)).first()


def _peer_change_url(peer: FailoverPeer, action: str = "delete") -> str:
    return reverse(f"admin:failover_failoverpeer_{action}", args=[peer.pk])


@admin.action(permissions=["delete"], description="Delete selected failover peers")
def delete_selected_peers(modeladmin, request, queryset):
    """Django's delete_selected, refused when a deletion needs the user's choice."""
    plan = services.peers_delete_plan(peers=queryset)
    if plan.needs_choice:
        for group in plan.needs_choice:
            others = ", ".join(o.name for o in group.remaining)
            for peer in group.peers:
                modeladmin.message_user(
                    request,
                    format_html(
                        "Deleting the failover peer '{}' on {} leaves two or more other failover "
                        "peers ({}): its address pools need a replacement you choose. "
                        'Delete it on its own <a href="{}">delete page</a>, which asks for '
                        "the replacement (or use Manage Failover Peers). Nothing was deleted.",
                        peer.name,
                        group.server,
                        others,
                        _peer_change_url(peer),
                    ),
                    messages.ERROR,
                )
        return None
    return django_delete_selected(modeladmin, request, queryset)


# The peer's statements (FailoverPeer.STATEMENT_FIELDS) in the admin's sections: the
# connection, the failover statements, and the advanced ones (as the peer dialog has them).
_PEER_CONNECTION = ("address", "port", "peer_address", "peer_port")
_PEER_ADVANCED = tuple(n for n in PEER_ADVANCED_FIELDS if n in FailoverPeer.STATEMENT_FIELDS)
_PEER_FAILOVER = tuple(
    n
    for n in FailoverPeer.STATEMENT_FIELDS
    if n not in ("role", *_PEER_CONNECTION, *_PEER_ADVANCED)
)


@admin.register(FailoverPeer)
class FailoverPeerAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "server",
        "role",
        "address",
        "port",
        "peer_address",
        "peer_port",
        "mclt",
        "split",
        "pool_count",
        "partner_server",
    )
    list_filter = ("role", "server")
    search_fields = ("name", "address", "peer_address", "server__name")
    list_select_related = ("server", "partner_server")
    delete_confirmation_template = "admin/failover/failoverpeer/delete_confirmation.html"
    fieldsets = (
        (None, {"fields": ("server", "name", "role")}),
        ("Connection", {"fields": _PEER_CONNECTION}),
        (
            "Failover",
            {
                "fields": (*_PEER_FAILOVER, "partner_server"),
                "description": (
                    "Max Client Lead Time and Split Index are only specified on the primary "
                    "failover peer: clear them for a secondary."
                ),
            },
        ),
        ("Advanced", {"classes": ("collapse",), "fields": _PEER_ADVANCED}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(pool_count=count_of(AddressPool, failover_peer=OuterRef("pk")))
        )

    def get_readonly_fields(self, request, obj=None):
        # A peer's pools are on its server; moving the peer would break them.
        return ("server",) if obj else ()

    def get_actions(self, request):
        actions = super().get_actions(request)
        django_action = actions.get("delete_selected")
        if django_action is not None:
            actions["delete_selected"] = (
                delete_selected_peers,
                "delete_selected",
                django_action[2],
            )
        return actions

    @admin.display(description="Pools", ordering="pool_count")
    def pool_count(self, obj: FailoverPeer) -> int:
        return int(cast(Any, obj).pool_count)  # annotated by get_queryset

    def save_model(self, request, obj, form, change):
        if change:
            services.peer_update(
                peer=obj, actor=request.user, **_model_fields(form, exclude=["server"])
            )
            return
        fields = _model_fields(form)
        server = fields.pop("server")
        result = services.peer_create(server=server, actor=request.user, **fields)
        _adopt(obj, result.peer)
        if result.pools_assigned:
            self.message_user(
                request,
                f"'{result.peer.name}' is the first failover peer of {server}: "
                f"{result.pools_assigned} address pool(s) now refer to it.",
                messages.INFO,
            )

    # --- deletion: the seed's three cases ---

    def get_deleted_objects(self, objs, request):
        plan = services.peers_delete_plan(peers=objs, replacement=_replacement(request))
        perms_needed = set()
        if plan.pool_count and not request.user.has_perm("failover.change_addresspool"):
            perms_needed.add(str(AddressPool._meta.verbose_name))
        count = {str(FailoverPeer._meta.verbose_name_plural): len(plan.peers)}
        return plan.preview(), count, perms_needed, []

    def delete_view(self, request, object_id, extra_context=None):
        peer = self.get_object(request, object_id)
        if peer is None or not self.has_delete_permission(request, peer):
            return super().delete_view(request, object_id, extra_context)
        delete_plan = services.peer_delete_plan(peer=peer)
        context = {"delete_plan": delete_plan, **(extra_context or {})}
        return super().delete_view(request, object_id, context)

    def delete_model(self, request, obj):
        self.delete_queryset(request, FailoverPeer.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        services.peers_delete(peers=queryset, replacement=_replacement(request), actor=request.user)


# --- change records ----------------------------------------------------------------------


@admin.register(ChangeRecord)
class ChangeRecordAdmin(admin.ModelAdmin):
    """What the domain operations changed: written by failover.services, read-only here."""

    list_display = ("created", "user", "action", "summary")
    list_filter = ("action", "created")
    search_fields = ("summary", "action", "user__username")
    list_select_related = ("user",)
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


from failover.kea import admin as _kea_admin  # noqa: E402,F401  (Kea export settings)
