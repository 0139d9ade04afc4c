"""The Kea settings of a server in the admin: every write through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from failover.admin import ServiceErrorsMixin

from . import services
from .models import KeaSettings


@admin.register(KeaSettings)
class KeaSettingsAdmin(ServiceErrorsMixin, admin.ModelAdmin):
    list_display = ("server", "interfaces", "control_agent_address", "control_agent_port", "target")
    list_select_related = ("server",)
    search_fields = ("server__name",)
    list_per_page = 50
    fields = ("server", *services.SETTINGS_FIELDS)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("server",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: KeaSettings, form: Any, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in services.SETTINGS_FIELDS}
        saved = services.kea_settings_save(server=obj.server, actor=request.user, **fields)
        obj.pk = saved.pk
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: KeaSettings) -> None:
        services.kea_settings_delete(settings=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[KeaSettings]) -> None:
        for settings in queryset.select_related("server"):
            services.kea_settings_delete(settings=settings, actor=request.user)
