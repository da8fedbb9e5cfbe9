from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from sessions_app.models import SideEffect

from .base import BigTableAdmin, LogReadsMixin, NoDeleteMixin, StrRelationsMixin
from .clients import CLIENT_SEARCH


class OpenFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "open"

    def lookups(self, request, model_admin):
        return [("yes", "Open: unresolved or not reviewed")]

    def queryset(self, request, queryset):
        # SideEffectQuerySet.open() is the one definition of "open".
        return queryset.open() if self.value() == "yes" else queryset


@admin.register(SideEffect)
class SideEffectAdmin(LogReadsMixin, NoDeleteMixin, StrRelationsMixin, BigTableAdmin, SimpleHistoryAdmin):
    client_field = "client_id"
    list_display = ["kind", "severity", "serious", "client", "onset", "resolved_on", "reviewed_by"]
    list_select_related = ["kind", "client", "reviewed_by"]
    search_fields = ["kind__name", *(f"client__{f}" for f in CLIENT_SEARCH)]
    list_filter = [OpenFilter, "severity", "serious", "kind"]
    date_hierarchy = "onset"
    autocomplete_fields = ["client", "session", "reviewed_by"]
    readonly_fields = ["recorded_by", "recorded_at"]
    fieldsets = [
        (None, {"fields": ["client", "session", "kind", "severity", "serious"]}),
        ("Course", {"fields": ["onset", "resolved_on", "action_taken", "notes"]}),
        ("Record", {"fields": ["recorded_by", "recorded_at", "reviewed_by", "reviewed_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        if obj.recorded_by_id is None:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
